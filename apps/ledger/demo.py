"""Ledger entries for the demo world: an advance, income received and split, a refund, a reversal.

Every entry has a fixed idempotency key and fixed content, so seeding again posts nothing new.
"""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apps.agencies.models import Agency
from apps.creators.models import Creator
from apps.ledger.models import Account, JournalEntry
from apps.ledger.services import (
    AccountResolver,
    PostingSpec,
    ledger_post,
    ledger_post_split,
    ledger_reverse,
)
from apps.splits.engine import Evaluator, Line, parse_rule_set

Kind = JournalEntry.Kind
Purpose = Account.Purpose
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_RULES: dict[str, Any] = {
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
    "recoupment": {"percent": "50"},
}
# (line id, source, platform, gross in fen, day of March 2026, refund_of)
DEMO_LINES = [
    ("brand-001", "brand_deal", "douyin", 1_200_000, 3, None),
    ("live-001", "live_gifts", "douyin", 385_050, 9, None),
    ("brand-002", "brand_deal", "bilibili", 640_000, 15, None),
    ("brand-001-refund", "brand_deal", "douyin", -200_000, 22, "brand-001"),
]
ADVANCE_MINOR = 500_000


def _moment(day: int) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, 12, tzinfo=SHANGHAI)


def ledger_demo_seed(*, agency: Agency, author: Any) -> list[JournalEntry]:
    """Post the demo entries for the agency's first creators (idempotent)."""
    creators = list(Creator.objects.filter(representations__agency=agency).distinct().order_by("pk")[:3])
    accounts = AccountResolver(agency=agency, currency="CNY")
    bank, clearing = accounts(Purpose.BANK), accounts(Purpose.INCOME_CLEARING)
    rule_set = parse_rule_set(DEMO_RULES)
    entries: list[JournalEntry] = []
    for number, creator in enumerate(creators):
        advance = ADVANCE_MINOR if number == 0 else 0
        if advance:
            entries.append(
                ledger_post(
                    agency=agency,
                    idempotency_key=f"demo:{creator.public_id}:advance",
                    kind=Kind.ADVANCE,
                    effective_date=datetime.date(2026, 2, 20),
                    creator=creator,
                    cause_reference="demo advance agreement",
                    postings=[
                        PostingSpec(accounts(Purpose.ADVANCES_RECEIVABLE, "", creator.pk), advance),
                        PostingSpec(bank, -advance),
                    ],
                )
            )
        evaluator = Evaluator(rule_set, advance_outstanding=advance)
        for line_id, source, platform, gross, day, refund_of in DEMO_LINES:
            key = f"demo:{creator.public_id}:{line_id}"
            if gross > 0:
                # The platform pays the agency first: bank debit, income clearing credit.
                entries.append(
                    ledger_post(
                        agency=agency,
                        idempotency_key=f"{key}:received",
                        kind=Kind.INCOME_LINE,
                        effective_date=_moment(day).date(),
                        creator=creator,
                        cause_reference=f"statement line {line_id}",
                        postings=[PostingSpec(bank, gross), PostingSpec(clearing, -gross)],
                    )
                )
            line = Line(
                id=line_id,
                source=source,
                platform=platform,
                gross=gross,
                occurred_at=_moment(day),
                currency="CNY",
                refund_of=refund_of,
            )
            entries.append(
                ledger_post_split(
                    agency=agency, creator=creator, evaluator=evaluator, line=line, idempotency_key=key
                )
            )
    if creators:
        # A mistaken adjustment and its reversal, as finance would correct it.
        mistaken = ledger_post(
            agency=agency,
            idempotency_key="demo:bank-fee-typo",
            kind=Kind.MANUAL_ADJUSTMENT,
            effective_date=datetime.date(2026, 3, 25),
            reason="Bank charges for March (typed 1,000.00 instead of 10.00)",
            author=author,
            postings=[
                PostingSpec(accounts(Purpose.DEDUCTION, "bank_charges"), 100_000),
                PostingSpec(bank, -100_000),
            ],
        )
        entries.append(mistaken)
        entries.append(
            ledger_reverse(
                entry=mistaken,
                idempotency_key="demo:bank-fee-typo:reversal",
                reason="Typo: the bank charged 10.00, not 1,000.00",
                author=author,
                effective_date=datetime.date(2026, 3, 26),
            )
        )
    return entries
