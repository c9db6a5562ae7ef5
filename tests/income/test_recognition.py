"""Recognition: the engine under the contract in force, the ledger, refunds, FX, period close."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from apps.income.models import FxRate, IncomeLine
from apps.ledger.models import Account, AccountBalance, JournalEntry
from apps.ledger.selectors import creator_balances
from apps.recognition.batch import convert_minor
from apps.recognition.selectors import line_split as income_line_split
from apps.recognition.services import period_close
from tests.income.conftest import SIMPLE_RULES, run_import, sign_contract

pytestmark = pytest.mark.django_db
HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"


def _payable(creator) -> int:
    balance = AccountBalance.objects.filter(
        account__creator=creator, account__purpose=Account.Purpose.CREATOR_PAYABLE
    ).first()
    return -balance.balance_minor if balance else 0


def test_matched_lines_are_split_posted_and_refunds_reverse_in_proportion(statement_world) -> None:
    world = statement_world
    sign_contract(world, world.creator_a, ["douyin"])
    data = (
        HEADER
        + "G-1,2026-11-03T10:00:00+08:00,douyin,dy_88231,live_gifts,1000.00,CNY,,,\n"
        + "G-2,2026-11-04T10:00:00+08:00,douyin,dy_88231,live_gifts,-250.00,CNY,,G-1,refund\n"
        + "Y-1,2026-11-04,youtube,UCx9f3,platform_revenue_share,10.00,USD,,,no contract on youtube\n"
    ).encode()

    done = run_import(world, "s.csv", data)

    first, refund, youtube = (IncomeLine.objects.get(external_id=key) for key in ("G-1", "G-2", "Y-1"))
    # Recognised lines are written once: their state is their allocation (issue 12).
    assert (first.state, refund.state) == ("recognised", "recognised")
    assert (youtube.state, youtube.exception_reason) == ("exception", "no_contract")
    first_entry = JournalEntry.objects.get(pk=first.allocation.entry_id)
    assert first_entry.idempotency_key.startswith(f"recognition:{first.allocation.batch_id}:")
    assert first_entry.kind == JournalEntry.Kind.INCOME_LINE
    assert JournalEntry.objects.get(pk=refund.allocation.entry_id).kind == JournalEntry.Kind.REFUND
    # 60 % of 1000.00 to the creator, less 60 % of the 250.00 refund.
    assert _payable(world.creator_a) == 600_00 - 150_00
    assert done.exception_count == 1
    split = income_line_split(line=first)
    assert split["result"]["payable"] == {"creator": "600.00", "agency": "400.00"}
    assert any("60" in sentence for sentence in split["steps"])
    assert split["proof"]["verified"] is True


def test_recognising_again_posts_nothing_twice(statement_world) -> None:
    world = statement_world
    sign_contract(world, world.creator_a, ["douyin"])
    data = (HEADER + "G-1,2026-11-03T10:00:00+08:00,douyin,dy_88231,live_gifts,1000.00,CNY,,,\n").encode()
    run_import(world, "s.csv", data)
    entries = JournalEntry.objects.count()

    run_import(world, "s-again.csv", data)

    assert JournalEntry.objects.count() == entries
    assert _payable(world.creator_a) == 600_00


def test_foreign_currency_is_converted_at_the_recorded_rate(statement_world) -> None:
    world = statement_world
    sign_contract(world, world.creator_a, ["youtube"])
    FxRate.objects.create(
        base="USD", quote="CNY", date=datetime.date(2026, 11, 1), rate=Decimal("7.1234"), source="PBOC"
    )
    data = (HEADER + "Y-1,2026-11-30,youtube,UCx9f3,platform_revenue_share,312.77,USD,,,\n").encode()

    run_import(world, "y.csv", data)

    line = IncomeLine.objects.get(external_id="Y-1")
    assert line.state == "recognised"
    # The line keeps the statement's amount; its allocation holds the conversion (issue 12).
    assert (line.gross_minor, line.currency) == (31277, "USD")
    allocation = line.allocation
    assert (allocation.original_gross_minor, allocation.original_currency) == (31277, "USD")
    converted = convert_minor(31277, "USD", "CNY", Decimal("7.1234"))
    assert (allocation.gross_minor, allocation.currency) == (converted, "CNY")
    assert allocation.gross_minor == 222799  # 312.77 × 7.1234 = 2227.985… → 2227.99
    assert (allocation.fx_source, allocation.fx_date) == ("PBOC", datetime.date(2026, 11, 1))


def test_without_a_rate_the_line_waits_in_the_queue(statement_world) -> None:
    world = statement_world
    sign_contract(world, world.creator_a, ["youtube"])
    run_import(
        world,
        "y.csv",
        (HEADER + "Y-1,2026-11-30,youtube,UCx9f3,platform_revenue_share,1.00,USD,,,\n").encode(),
    )

    assert IncomeLine.objects.get(external_id="Y-1").exception_reason == "no_fx_rate"


def test_engine_errors_go_to_the_queue_with_the_code(statement_world) -> None:
    world = statement_world
    rules = {**SIMPLE_RULES, "rules": [SIMPLE_RULES["rules"][0]]}  # brand deals only
    sign_contract(world, world.creator_a, ["douyin"], rules)
    run_import(world, "g.csv", (HEADER + "G-1,2026-11-03,douyin,dy_88231,live_gifts,10.00,CNY,,,\n").encode())

    line = IncomeLine.objects.get(external_id="G-1")
    assert (line.state, line.exception_reason) == ("exception", "engine_error")
    assert line.exception_detail.startswith("NO_MATCHING_RULE")


def test_period_close_posts_guarantee_top_ups_and_moves_late_lines(statement_world) -> None:
    world = statement_world
    rules = {**SIMPLE_RULES, "minimum_guarantee": {"amount": "1000.00", "period": "month"}}
    sign_contract(world, world.creator_a, ["douyin"], rules)
    run_import(
        world, "g.csv", (HEADER + "G-1,2026-10-03,douyin,dy_88231,live_gifts,1000.00,CNY,,,\n").encode()
    )

    closed = period_close(agency=world.agency_a, period="2026-10", actor=world.owner_a)

    assert closed.top_up_count == 1
    top_up = JournalEntry.objects.get(kind=JournalEntry.Kind.GUARANTEE_TOP_UP)
    assert top_up.idempotency_key.endswith(":2026-10")
    assert _payable(world.creator_a) == 1000_00  # 600.00 earned + 400.00 top-up
    run_import(
        world, "late.csv", (HEADER + "G-2,2026-10-20,douyin,dy_88231,live_gifts,100.00,CNY,,,\n").encode()
    )
    late = IncomeLine.objects.get(external_id="G-2")
    split = income_line_split(line=late)
    assert split["allocation"]["posted_period"] == "2026-11"
    assert "2026-10" in split["allocation"]["posting_note"]
    assert JournalEntry.objects.get(pk=late.allocation.entry_id).effective_date == datetime.date(2026, 11, 1)
    assert creator_balances(creator_id=world.creator_a.pk)["balances"]
