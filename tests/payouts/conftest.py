"""Payout fixtures: agency A with a second finance member (four eyes) and creators owed real
ledger balances, posted through the ledger's services (bank debit, creator payable credit)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from apps.agencies.time import agency_today
from apps.ledger.models import Account, AccountBalance, JournalEntry
from apps.ledger.services import PostingSpec, ledger_account_get_or_create, ledger_post
from apps.payouts.details import payout_details_set
from apps.payouts.models import PayoutDetails
from tests.factories import Role, creator_for, member

Purpose = Account.Purpose


@dataclass
class Payouts:
    world: Any
    finance_b: Any  # a second finance member of agency A: approves what finance_a prepares

    @property
    def agency(self) -> Any:
        return self.world.agency_a

    def account(self, purpose: str, creator: Any = None, agency: Any = None) -> Account:
        return ledger_account_get_or_create(
            agency=agency or self.agency, purpose=purpose, currency="CNY", creator=creator
        )

    def owe(self, creator: Any, amount_minor: int, *, key: str, agency: Any = None) -> JournalEntry:
        """The agency received money for `creator` and owes it to them (creator payable credit);
        the creator has payout details past their 24-hour hold, so a batch can pay them."""
        agency = agency or self.agency
        give_payout_details(creator)
        return ledger_post(
            agency=agency,
            idempotency_key=key,
            kind=JournalEntry.Kind.INCOME_LINE,
            effective_date=agency_today(agency),
            creator=creator,
            cause_reference=f"test:{key}",
            postings=[
                PostingSpec(self.account(Purpose.BANK, agency=agency), amount_minor),
                PostingSpec(self.account(Purpose.CREATOR_PAYABLE, creator, agency=agency), -amount_minor),
            ],
        )

    def clawback(self, creator: Any, amount_minor: int, *, key: str) -> JournalEntry:
        """A refund: the platform took money back, so the agency owes the creator less."""
        return ledger_post(
            agency=self.agency,
            idempotency_key=key,
            kind=JournalEntry.Kind.REFUND,
            effective_date=agency_today(self.agency),
            creator=creator,
            postings=[
                PostingSpec(self.account(Purpose.CREATOR_PAYABLE, creator), amount_minor),
                PostingSpec(self.account(Purpose.BANK), -amount_minor),
            ],
        )

    def owed(self, creator: Any) -> int:
        """What the agency owes the creator now, in fen (the payable balance, shown positive)."""
        return -self.balance(Purpose.CREATOR_PAYABLE, creator)

    def balance(self, purpose: str, creator: Any = None) -> int:
        row = AccountBalance.objects.filter(account=self.account(purpose, creator)).first()
        return row.balance_minor if row is not None else 0

    def new_creator(self, name: str) -> Any:
        return creator_for(agency=self.agency, name=name)


def give_payout_details(creator: Any, *, hours_ago: float = 48, real_name: str = "") -> PayoutDetails:
    """The creator's bank details, given through the service `hours_ago` hours ago (kept if given)."""
    existing = PayoutDetails.objects.filter(creator=creator).first()
    if existing is not None:
        return existing
    details = payout_details_set(
        creator=creator,
        actor=creator.user,
        method="bank",
        real_name=real_name or creator.legal_name,
        account=f"62220212345678{creator.pk:05d}",
        bank_name="中国工商银行",
        bank_branch="北京朝阳支行",
    )
    # The hold counts from changed_at: a test moves it back rather than waiting a day.
    PayoutDetails.objects.filter(pk=details.pk).update(
        changed_at=timezone.now() - datetime.timedelta(hours=hours_ago)
    )
    details.refresh_from_db()
    return details


@pytest.fixture
def payouts(world: Any) -> Payouts:
    return Payouts(world=world, finance_b=member(world.agency_a, Role.FINANCE))
