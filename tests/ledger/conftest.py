"""Ledger fixtures: a few accounts of agency A and agency B, built through the real services."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest

from apps.ledger.models import Account, JournalEntry
from apps.ledger.services import PostingSpec, ledger_account_get_or_create, ledger_post

Purpose = Account.Purpose
Kind = JournalEntry.Kind
DAY = datetime.date(2026, 3, 14)

# A published rule set in the spec's shape: brand deals with a platform fee and tiers, an
# agency cap, recoupment of advances.
RULES: dict[str, Any] = {
    "version": 1,
    "currency": "CNY",
    "timezone": "Asia/Shanghai",
    "parties": ["creator", "agency"],
    "tier_period": "month",
    "rules": [
        {
            "id": "brand",
            "label": "Brand deals",
            "match": {"sources": ["brand_deal"]},
            "deductions": [{"id": "platform_fee", "label": "Platform service fee", "percent": "5"}],
            "split": {"creator": "70", "agency": "30"},
            "tiers": [{"above": "100000.00", "split": {"creator": "80", "agency": "20"}}],
        },
        {"id": "other", "label": "Everything else", "split": {"creator": "60", "agency": "40"}},
    ],
    "agency_cap": {"amount": "50000.00", "period": "month"},
    "recoupment": {"percent": "50"},
}


@dataclass
class Books:
    """Agency A's bank, clearing, revenue and creator A's payable; agency B's bank and clearing."""

    world: Any
    bank: Account
    clearing: Account
    revenue: Account
    payable: Account
    advances: Account
    usd_bank: Account
    bank_b: Account
    clearing_b: Account


@pytest.fixture
def books(world: Any) -> Books:
    def account(agency: Any, purpose: str, creator: Any = None, currency: str = "CNY") -> Account:
        return ledger_account_get_or_create(
            agency=agency, purpose=purpose, currency=currency, creator=creator
        )

    a, b = world.agency_a, world.agency_b
    return Books(
        world=world,
        bank=account(a, Purpose.BANK),
        clearing=account(a, Purpose.INCOME_CLEARING),
        revenue=account(a, Purpose.AGENCY_REVENUE),
        payable=account(a, Purpose.CREATOR_PAYABLE, world.creator_a),
        advances=account(a, Purpose.ADVANCES_RECEIVABLE, world.creator_a),
        usd_bank=account(a, Purpose.BANK, currency="USD"),
        bank_b=account(b, Purpose.BANK),
        clearing_b=account(b, Purpose.INCOME_CLEARING),
    )


def receive(books: Books, amount: int, *, key: str, day: datetime.date = DAY) -> JournalEntry:
    """Agency A receives income from a platform: bank debit, clearing credit."""
    return ledger_post(
        agency=books.world.agency_a,
        idempotency_key=key,
        kind=Kind.INCOME_LINE,
        effective_date=day,
        cause_reference=f"statement:{key}",
        postings=[PostingSpec(books.bank, amount), PostingSpec(books.clearing, -amount)],
    )


def advance(books: Books, amount: int, *, key: str) -> JournalEntry:
    """Agency A pays creator A an advance: advances receivable debit, bank credit."""
    return ledger_post(
        agency=books.world.agency_a,
        idempotency_key=key,
        kind=Kind.ADVANCE,
        effective_date=DAY,
        creator=books.world.creator_a,
        cause_reference=f"advance:{key}",
        postings=[PostingSpec(books.advances, amount), PostingSpec(books.bank, -amount)],
    )
