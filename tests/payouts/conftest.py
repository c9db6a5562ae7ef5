"""Payout fixtures: agency A with a second finance member (four eyes) and creators owed real
ledger balances, posted through the ledger's services (bank debit, creator payable credit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from apps.agencies.time import agency_today
from apps.ledger.models import Account, AccountBalance, JournalEntry
from apps.ledger.services import PostingSpec, ledger_account_get_or_create, ledger_post
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
        """The agency received money for `creator` and owes it to them (creator payable credit)."""
        agency = agency or self.agency
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


@pytest.fixture
def payouts(world: Any) -> Payouts:
    return Payouts(world=world, finance_b=member(world.agency_a, Role.FINANCE))
