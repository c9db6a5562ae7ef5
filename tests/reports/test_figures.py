"""The reports' figures against what they must equal: the sums of the allocations (each read with
the engine's own parse of its rule set, by party name) and the ledger's balances, which the
report never reads for the creators' share or the other parties."""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

import pytest

from apps.ledger.models import Account, AccountBalance, AccountPeriodBalance
from apps.ledger.services import PostingSpec, ledger_account_get_or_create, ledger_post
from apps.recognition.models import LineAllocation, RuleSetSnapshot
from apps.reports.selectors import (
    Figures,
    ReportPeriod,
    report_period_parse,
    revenue_report,
)
from apps.splits.engine import parse_rule_set

pytestmark = pytest.mark.django_db

PERIOD = ReportPeriod(first="2026-10", last="2026-11")
Purpose = Account.Purpose


def _expected(agency: Any, key: Any) -> dict[tuple[str, str], list[int]]:
    """[lines, gross, deductions, creators' share, other parties, agency] by (currency, key(allocation))."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 6)
    for allocation in LineAllocation.objects.filter(agency=agency).select_related("line", "creator"):
        rule_set = parse_rule_set(RuleSetSnapshot.objects.get(pk=allocation.rule_set_id).document)
        deductions = len(rule_set.rules[allocation.rule_index].part_ids)
        amounts = allocation.amounts_minor
        payable = dict(zip(rule_set.parties, amounts[deductions:-1], strict=True))
        others = sum(amount for party, amount in payable.items() if party not in ("creator", "agency"))
        row = sums[(allocation.currency, key(allocation))]
        for index, value in enumerate(
            [
                1,
                allocation.gross_minor,
                sum(amounts[:deductions]),
                payable["creator"] + amounts[-1],
                others,
                payable["agency"],
            ]
        ):
            row[index] += value
    return dict(sums)


def _figures(figures: Figures) -> list[int]:
    return [
        figures.line_count,
        figures.gross_minor,
        figures.deductions_minor,
        figures.creators_minor,
        figures.others_minor,
        figures.agency_minor,
    ]


def _rows(report: Any) -> dict[tuple[str, str], list[int]]:
    return {(row.figures.currency, row.key): _figures(row.figures) for row in report.rows}


def _report(world: Any, group: str, agency: Any = None) -> Any:
    agency = agency or world.agency_a
    actor = world.manager_a if agency == world.agency_a else world.owner_b
    return revenue_report(actor=actor, agency=agency, group=group, period=PERIOD)


def _net(agency: Any, period: str, purpose: str, key: str | None = "") -> int:
    """The people's-sign movement of the agency's `purpose` accounts in the month (credit positive
    for the credit-normal ones), straight from the ledger's roll-ups."""
    months = AccountPeriodBalance.objects.filter(
        account__agency=agency, account__purpose=purpose, period=period
    )
    if key is not None:
        months = months.filter(account__key=key)
    net = sum(month.net_minor for month in months)
    return -net if purpose in Account.CREDIT_NORMAL else net


def test_each_month_equals_the_allocations_and_the_ledger_balances(reported) -> None:
    world = reported
    report = _report(world, "month")

    rows = _rows(report)
    expected = _expected(world.agency_a, lambda a: f"{a.effective_date:%Y-%m}")
    assert rows == expected
    assert set(rows) == {("CNY", "2026-10"), ("CNY", "2026-11")}
    for row in report.rows:
        month, figures = row.key, row.figures
        # The ledger, account by account: what recognition posted for these lines.
        assert figures.gross_minor == _net(world.agency_a, month, Purpose.INCOME_CLEARING) > 0
        assert figures.deductions_minor == _net(world.agency_a, month, Purpose.DEDUCTION, None) > 0
        assert figures.agency_minor == _net(world.agency_a, month, Purpose.AGENCY_REVENUE) > 0
        assert figures.creators_minor == _net(world.agency_a, month, Purpose.CREATOR_PAYABLE) + _net(
            world.agency_a, month, Purpose.ADVANCES_RECEIVABLE
        )
        assert (
            figures.others_minor == _net(world.agency_a, month, Purpose.PARTY_PAYABLE, None) > 0
        )  # the editor
        # ...and the report's own ledger figures, read from the same roll-ups.
        assert row.ledger.gross_minor == figures.gross_minor
        assert row.ledger.deductions_minor == figures.deductions_minor
        assert row.ledger.agency_total_minor == row.ledger.agency_minor == figures.agency_minor
        assert row.ledger.corrections_minor == 0


def test_months_follow_the_agencys_calendar_and_a_refund_counts_negative_in_its_month(reported) -> None:
    rows = _rows(_report(reported, "month"))

    # B-2 at 23:59:59 on 30 October and B-3 at midnight on 1 November, Shanghai time (UTC+8): the
    # agency's months, not UTC's. A-5 refunds 250.00 of October's A-1 in November.
    assert rows[("CNY", "2026-10")][:2] == [5, 1000_00 + 300_00 + 45_67 + 333_33 + 12_34]
    assert rows[("CNY", "2026-11")][:2] == [4, 800_01 - 250_00 + 1200_00 + 700_00]


def test_creators_platforms_and_sources_equal_the_allocations_and_add_up_to_the_totals(reported) -> None:
    world = reported
    by_creator = _report(world, "creator")
    by_platform = _report(world, "platform")
    by_source = _report(world, "source")

    assert _rows(by_creator) == _expected(world.agency_a, lambda a: str(a.creator.public_id))
    assert _rows(by_platform) == _expected(world.agency_a, lambda a: a.line.platform)
    assert _rows(by_source) == _expected(world.agency_a, lambda a: a.line.source)
    assert {row.key for row in by_platform.rows} == {"douyin", "bilibili"}
    assert {row.label for row in by_creator.rows} == {"Creator A", "Creator A2"}
    # Each creator's share is what the ledger owes them (nothing paid out yet).
    for row in by_creator.rows:
        creator = world.creator_a if row.key == str(world.creator_a.public_id) else world.creator_a2
        payable = AccountBalance.objects.get(
            account__agency=world.agency_a, account__purpose=Purpose.CREATOR_PAYABLE, account__creator=creator
        )
        assert row.figures.creators_minor == -payable.balance_minor
    # Every report of the period adds up to the same totals, which are the allocations' sums.
    (total,) = by_creator.totals
    assert _figures(total) == [
        sum(column) for column in zip(*_expected(world.agency_a, lambda a: "").values(), strict=True)
    ]
    for report in (by_creator, by_platform, by_source, _report(world, "month")):
        assert report.totals == [total]
        assert [sum(column) for column in zip(*_rows(report).values(), strict=True)] == _figures(total)
    assert total.gross_minor == (
        total.deductions_minor + total.creators_minor + total.others_minor + total.agency_minor
    )


def test_another_agencys_lines_never_appear(reported) -> None:
    world = reported

    report_a = _report(world, "platform")
    report_b = _report(world, "platform", agency=world.agency_b)

    assert "youtube" not in {row.key for row in report_a.rows}
    assert str(world.creator_b.public_id) not in {row.key for row in _report(world, "creator").rows}
    (total_b,) = report_b.totals
    assert total_b.gross_minor == 1_200_000 and total_b.line_count == 2
    assert _rows(report_b) == _expected(world.agency_b, lambda a: a.line.platform)
    (total_a,) = report_a.totals
    assert total_a.line_count == 9  # agency A's nine lines only
    # B's ledger months are not A's either.
    assert all(row.ledger.gross_minor == row.figures.gross_minor for row in _report(world, "month").rows)


def test_a_month_outside_the_period_is_left_out_and_empty_months_are_zero(reported) -> None:
    world = reported
    november = revenue_report(
        actor=world.manager_a, agency=world.agency_a, group="month", period=ReportPeriod("2026-11", "2026-12")
    )
    assert [row.key for row in november.rows] == ["2026-11", "2026-12"]
    assert november.rows[1].figures == Figures("CNY")
    assert (
        _figures(november.rows[0].figures)
        == _expected(world.agency_a, lambda a: f"{a.effective_date:%Y-%m}")[("CNY", "2026-11")]
    )
    assert november.totals[0].line_count == 4  # A-4, A-5 (the refund), A-6 and B-3: no October line
    assert november.chart["charts"][0]["months"] == ["2026-11", "2026-12"]


def test_a_dispute_style_correction_shows_beside_the_splits_in_the_month_report(reported) -> None:
    world = reported
    agency = world.agency_a
    adjustments = ledger_account_get_or_create(
        agency=agency, purpose=Purpose.AGENCY_REVENUE, currency="CNY", key="dispute_adjustments"
    )
    payable = ledger_account_get_or_create(
        agency=agency, purpose=Purpose.CREATOR_PAYABLE, currency="CNY", creator=world.creator_a
    )
    ledger_post(
        agency=agency,
        idempotency_key="test:correction",
        kind="manual_adjustment",
        effective_date=datetime.date(2026, 11, 20),
        postings=[PostingSpec(adjustments, 1_500), PostingSpec(payable, -1_500)],
        reason="The creator was owed 15.00 more",
        author=world.owner_a,
        creator=world.creator_a,
    )

    november = next(row for row in _report(world, "month").rows if row.key == "2026-11")

    assert november.ledger.corrections_minor == -1_500
    assert november.ledger.agency_total_minor == november.figures.agency_minor - 1_500
    assert november.ledger.agency_minor == november.figures.agency_minor  # the splits' figure is unchanged


def test_the_charts_stack_each_months_gross_by_source_and_by_platform(reported) -> None:
    world = reported
    (chart,) = _report(world, "month").chart["charts"]
    months = _rows(_report(world, "month"))

    assert chart["currency"] == "CNY" and chart["exponent"] == 2
    assert chart["months"] == ["2026-10", "2026-11"]
    for by in ("by_source", "by_platform"):
        stacked = [sum(series["gross"][index] for series in chart[by]) for index in range(2)]
        assert stacked == [months[("CNY", "2026-10")][1], months[("CNY", "2026-11")][1]]
    assert {series["label"] for series in chart["by_platform"]} == {"Douyin", "Bilibili"}
    assert {series["label"] for series in chart["by_source"]} == {"Live gifts", "Platform revenue share"}


def test_the_default_period_is_the_twelve_months_ending_this_month() -> None:
    assert report_period_parse(first="", last="", today=datetime.date(2026, 3, 9)) == ReportPeriod(
        "2025-04", "2026-03"
    )
    assert report_period_parse(first="2026-02", last=None, today=datetime.date(2026, 3, 9)) == ReportPeriod(
        "2026-02", "2027-01"
    )
    assert report_period_parse(first=None, last="2026-01", today=datetime.date(2026, 3, 9)) == ReportPeriod(
        "2025-02", "2026-01"
    )
    assert (
        len(report_period_parse(first="2024-01", last="2026-12", today=datetime.date(2026, 3, 9)).months)
        == 36
    )
