"""A seeded October 2026 of agency A, built through the real services, with figures to redo by hand.

Creator A, built-in exclusive management contract (brand deals: 5 % platform fee, approved
expenses up to 15 %, creator 70 %; everything else creator 60 %), statement 10 days and payment
20 days after the month, late interest 7.30 % a year:
* September: a 1,000.00 gift → 600.00 (October's opening balance);
* October: a 60,000.00 brand payment with 9,000.00 approved expenses → 70 % × 48,000.00 = 33,600.00;
  a 1,000.00 gift → 600.00 and its refund of 200.00 → −120.00; income share 34,080.00, closing 34,680.00.
Creator A2, bilibili, creator 60 %, half of each share recoups an advance, a monthly minimum
guarantee of 1,000.00: a 300.00 advance in September, a 500.00 gift in October; the close tops up.
October is closed (`october`; `october_open` before the close); November and December are open.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.deals.services import deal_create, deal_expense_approve, deal_expense_submit
from apps.income.models import StatementImport
from apps.ledger.models import Account, JournalEntry
from apps.ledger.services import PostingSpec, ledger_account_get_or_create, ledger_post
from apps.recognition.period_close import period_close
from tests.contracts.conftest import active_contract
from tests.income.conftest import SIMPLE_RULES, run_import, sign_contract, statement_world

__all__ = ["statement_world"]

Purpose = Account.Purpose
MONTH = "2026-10"
HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
A2_RULES = {
    **SIMPLE_RULES,
    "minimum_guarantee": {"amount": "1000.00", "period": "month"},
    "recoupment": {"percent": "50"},
}


def import_rows(world: Any, name: str, *rows: str) -> None:
    done = run_import(world, name, (HEADER + "".join(f"{row}\n" for row in rows)).encode())
    assert done.status == StatementImport.Status.DONE, done.message


def post_payout(world: Any, creator: Any, *, day: datetime.date, gross: int, tax: int, key: str) -> None:
    """The payout app's two entries (tax withheld, then the net approved), as it posts them."""
    agency = world.agency_a
    payable = ledger_account_get_or_create(
        agency=agency, purpose=Purpose.CREATOR_PAYABLE, currency="CNY", creator=creator
    )
    tax_account = ledger_account_get_or_create(
        agency=agency, purpose=Purpose.TAX_WITHHOLDING_PAYABLE, currency="CNY"
    )
    in_flight = ledger_account_get_or_create(agency=agency, purpose=Purpose.PAYOUTS_IN_FLIGHT, currency="CNY")
    if tax:
        ledger_post(
            agency=agency,
            idempotency_key=f"{key}:tax",
            kind=JournalEntry.Kind.PAYOUT,
            effective_date=day,
            creator=creator,
            postings=[PostingSpec(payable, tax), PostingSpec(tax_account, -tax)],
        )
    ledger_post(
        agency=agency,
        idempotency_key=f"{key}:approved",
        kind=JournalEntry.Kind.PAYOUT,
        effective_date=day,
        creator=creator,
        postings=[PostingSpec(payable, gross - tax), PostingSpec(in_flight, -(gross - tax))],
    )


@pytest.fixture
def october(october_open: Any) -> Any:
    period_close(agency=october_open.agency_a, period=MONTH, actor=october_open.finance_a)
    return october_open


@pytest.fixture
def october_open(statement_world: Any) -> Any:
    """The seeded October before it is closed (a test may pay in it first)."""
    world = statement_world
    active_contract(world, statement_days=10, payment_days=20, late_interest_percent=Decimal("7.30"))
    sign_contract(world, world.creator_a2, ["bilibili"], A2_RULES)
    agency = world.agency_a
    advances = ledger_account_get_or_create(
        agency=agency, purpose=Purpose.ADVANCES_RECEIVABLE, currency="CNY", creator=world.creator_a2
    )
    bank = ledger_account_get_or_create(agency=agency, purpose=Purpose.BANK, currency="CNY")
    ledger_post(
        agency=agency,
        idempotency_key="advance:a2",
        kind=JournalEntry.Kind.ADVANCE,
        effective_date=datetime.date(2026, 9, 15),
        creator=world.creator_a2,
        postings=[PostingSpec(advances, 300_00), PostingSpec(bank, -300_00)],
    )
    deal = deal_create(
        actor=world.manager_a,
        agency=agency,
        creator=world.creator_a,
        brand="Tea Co",
        platform="douyin",
        fee_minor=60_000_00,
        currency="CNY",
        due_on=datetime.date(2026, 10, 30),
        order_ref="XT-9000",
    )
    expense = deal_expense_submit(
        deal=deal,
        actor=world.manager_a,
        description="Studio",
        amount_minor=9_000_00,
        receipt=SimpleUploadedFile("receipt.pdf", b"%PDF-1.7\n%receipt\n", content_type="application/pdf"),
    )
    deal_expense_approve(expense=expense, actor=world.creator_a.user)
    import_rows(
        world,
        "sep-oct.csv",
        "G-9,2026-09-20T10:00:00+08:00,douyin,dy_a,live_gifts,1000.00,CNY,,,September gifts",
        "P-1,2026-10-10T10:00:00+08:00,douyin,dy_a,brand_deal,60000.00,CNY,XT-9000,,Tea Co video",
        'G-10,2026-10-12T10:00:00+08:00,douyin,dy_a,live_gifts,1000.00,CNY,,,=HYPERLINK("http://evil")',
        "R-10,2026-10-20T10:00:00+08:00,douyin,dy_a,live_gifts,-200.00,CNY,,G-10,@refund",
        "B-10,2026-10-04T10:00:00+08:00,bilibili,bl_552,live_gifts,500.00,CNY,,,Live gifts",
    )
    world.month = MONTH
    return world
