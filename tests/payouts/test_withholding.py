"""Tax withholding (../shared/spec/withholding.md, docs/withholding.md): every vector of
tests/data/withholding-vectors through the pure computation and `manage.py simulate_withholding`,
then the edges the vectors do not reach, each expected figure computed by hand in a comment."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.payouts.withholding import (
    CumulativeWithholding,
    EarlierMonth,
    Method,
    Payment,
    PerPaymentWithholding,
    WithholdingError,
    parse_fen,
    simulate,
    withholding_for_month,
    withholding_schedule,
    withholdings_by_payer,
)

ROOT = Path(settings.BASE_DIR)
VECTORS_DIR = ROOT / "tests" / "data" / "withholding-vectors"
VECTOR_PATHS = sorted(VECTORS_DIR.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _run_command(path: Path | str) -> dict[str, Any]:
    stdout = io.StringIO()
    call_command("simulate_withholding", str(path), stdout=stdout)
    return json.loads(stdout.getvalue())


def _months(method: str, *payments: tuple[str, str], payer: str = "") -> list[dict[str, Any]]:
    """The result document's months for payments given as ("2026-03", "3000.00")."""
    return simulate(
        {"method": method, "payments": [{"month": m, "amount": a, "payer": payer} for m, a in payments]}
    )["months"]


def _per_payment(total: str) -> dict[str, Any]:
    (month,) = _months("per_payment", ("2026-03", total))
    return month


# -- the conformance vectors -------------------------------------------------------------------


def test_the_vectors_are_in_the_repository() -> None:
    # An empty glob would make the parametrised tests below vanish; this one fails instead. The
    # copies live in the repository so a clone runs them without ../shared beside it.
    names = {path.name for path in VECTOR_PATHS}
    assert len(names) >= 8
    assert {"01-per-payment-small.json", "07-cumulative-year.json", "08-none.json"} <= names
    assert VECTORS_DIR.resolve().is_relative_to(ROOT.resolve())


@pytest.mark.parametrize("path", VECTOR_PATHS, ids=lambda path: path.stem)
def test_the_computation_reproduces_the_vector(path: Path) -> None:
    vector = _load(path)
    assert simulate(vector) == vector["expect"]


@pytest.mark.parametrize("path", VECTOR_PATHS, ids=lambda path: path.stem)
def test_simulate_withholding_prints_the_vector_result(path: Path) -> None:
    assert _run_command(path) == _load(path)["expect"]


@pytest.mark.parametrize("path", VECTOR_PATHS, ids=lambda path: path.stem)
def test_each_month_alone_from_the_recorded_earlier_months_gives_the_vector(path: Path) -> None:
    # What a payout batch does: this month's tax from the months already paid and withheld.
    vector = _load(path)
    expected_months = vector["expect"]["months"]
    earlier: list[EarlierMonth] = []
    for expected in expected_months:
        result = withholding_for_month(
            method=vector["method"],
            month=expected["month"],
            gross_fen=parse_fen(expected["gross"]),
            earlier=earlier,
        )
        assert result.tax_fen == parse_fen(expected["tax"])
        earlier.append(EarlierMonth(result.month, result.gross_fen, result.tax_fen))


def test_the_command_ignores_expect(tmp_path: Path) -> None:
    vector = _load(VECTORS_DIR / "01-per-payment-small.json")
    vector["expect"] = {"method": "none", "months": [], "total_tax": "999.99"}
    path = tmp_path / "vector.json"
    path.write_text(json.dumps(vector), encoding="utf-8")
    # 3,000.00: expense 800.00, taxable 2,200.00, x 20 % = 440.00
    assert _run_command(path)["total_tax"] == "440.00"


def test_the_command_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    vector = _load(VECTORS_DIR / "08-none.json")
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(vector)))
    assert _run_command("-") == vector["expect"]


# -- per payment: the 4,000.00 edge of the flat expense ----------------------------------------


def test_exactly_4000_takes_the_flat_800_expense() -> None:
    # 4,000.00 is "at most 4,000.00": expense 800.00, taxable 3,200.00, x 20 % = 640.00
    month = _per_payment("4000.00")
    assert (month["expense"], month["taxable"], month["tax"]) == ("800.00", "3200.00", "640.00")


def test_one_fen_above_4000_takes_20_percent() -> None:
    # 4,000.01 x 20 % = 800.002 -> 800.00 (the same figure as the flat expense, by the 20 % rule);
    # taxable 3,200.01; x 20 % = 640.002 -> 640.00
    assert _per_payment("4000.01") == {
        "month": "2026-03",
        "gross": "4000.01",
        "expense": "800.00",
        "taxable": "3200.01",
        "rate": "20",
        "quick_deduction": "0.00",
        "tax": "640.00",
    }
    # 4,000.03 x 20 % = 800.006 -> 800.01 (a flat 800.00 would leave 3,200.03 taxable)
    assert (_per_payment("4000.03")["expense"], _per_payment("4000.03")["taxable"]) == ("800.01", "3200.02")
    # 4,001.00 x 20 % = 800.20; taxable 3,200.80; x 20 % = 640.16
    month = _per_payment("4001.00")
    assert (month["expense"], month["taxable"], month["tax"]) == ("800.20", "3200.80", "640.16")


def test_a_small_month_below_800_has_nothing_taxable() -> None:
    # 500.00 - 800.00 would be -300.00: taxable is never below 0, nor the tax
    month = _per_payment("500.00")
    assert (month["expense"], month["taxable"], month["tax"]) == ("800.00", "0.00", "0.00")


# -- per payment: the bands' edges -------------------------------------------------------------


def test_taxable_exactly_20000_is_in_the_20_percent_band() -> None:
    # 25,000.00: expense 5,000.00, taxable 20,000.00 ("up to 20,000.00"): 20 %, 0 -> 4,000.00
    month = _per_payment("25000.00")
    assert (month["taxable"], month["rate"], month["quick_deduction"], month["tax"]) == (
        "20000.00",
        "20",
        "0.00",
        "4000.00",
    )


def test_taxable_one_fen_above_20000_is_in_the_30_percent_band() -> None:
    # 25,000.01 x 20 % = 5,000.002 -> 5,000.00; taxable 20,000.01: 30 %, 2,000.00;
    # 20,000.01 x 30 % = 6,000.003 -> 6,000.00; minus 2,000.00 = 4,000.00
    month = _per_payment("25000.01")
    assert (month["taxable"], month["rate"], month["quick_deduction"], month["tax"]) == (
        "20000.01",
        "30",
        "2000.00",
        "4000.00",
    )


def test_taxable_exactly_50000_is_in_the_30_percent_band() -> None:
    # 62,500.00: expense 12,500.00, taxable 50,000.00: 30 % = 15,000.00 - 2,000.00 = 13,000.00
    month = _per_payment("62500.00")
    assert (month["expense"], month["taxable"], month["rate"], month["quick_deduction"], month["tax"]) == (
        "12500.00",
        "50000.00",
        "30",
        "2000.00",
        "13000.00",
    )


def test_taxable_one_fen_above_50000_is_in_the_40_percent_band() -> None:
    # 62,500.01 x 20 % = 12,500.002 -> 12,500.00; taxable 50,000.01: 40 %, 7,000.00;
    # 50,000.01 x 40 % = 20,000.004 -> 20,000.00; minus 7,000.00 = 13,000.00
    month = _per_payment("62500.01")
    assert (month["taxable"], month["rate"], month["quick_deduction"], month["tax"]) == (
        "50000.01",
        "40",
        "7000.00",
        "13000.00",
    )


# -- rounding: half up to the fen --------------------------------------------------------------


def test_a_half_fen_rounds_up() -> None:
    # 25,000.06 x 20 % = 5,000.012 -> 5,000.01; taxable 20,000.05 (30 % band);
    # 20,000.05 x 30 % = 6,000.015 -> 6,000.02 (half up; half down or to even would give .01);
    # minus 2,000.00 = 4,000.02
    month = _per_payment("25000.06")
    assert (month["expense"], month["taxable"], month["tax"]) == ("5000.01", "20000.05", "4000.02")


def test_20_percent_of_an_odd_fen_amount_rounds_to_the_nearer_fen() -> None:
    # 4,000.02 x 20 % = 800.004 -> 800.00 (down); taxable 3,200.02 x 20 % = 640.004 -> 640.00
    month = _per_payment("4000.02")
    assert (month["expense"], month["taxable"], month["tax"]) == ("800.00", "3200.02", "640.00")
    # 3,999.99: expense 800.00; taxable 3,199.99 x 20 % = 639.998 -> 640.00 (up)
    assert _per_payment("3999.99")["tax"] == "640.00"
    # 1,000.03: expense 800.00; taxable 200.03 x 20 % = 40.006 -> 40.01
    assert _per_payment("1000.03")["tax"] == "40.01"


def test_cumulative_half_fen_rounds_up() -> None:
    # 6,250.63 x 20 % = 1,250.126 -> 1,250.13; taxable 6,250.63 - 1,250.13 - 5,000.00 = 0.50;
    # 0.50 x 3 % = 0.015 -> 0.02
    (month,) = _months("cumulative", ("2026-01", "6250.63"))
    assert (month["ytd_expense"], month["ytd_taxable"], month["ytd_tax"], month["tax"]) == (
        "1250.13",
        "0.50",
        "0.02",
        "0.02",
    )


# -- the annual table ---------------------------------------------------------------------------


def test_annual_table_edge_at_36000_and_the_top_band() -> None:
    # 51,250.00: expense 10,250.00, allowance 5,000.00, taxable 36,000.00 (up to 36,000: 3 %)
    # -> 1,080.00
    (edge,) = _months("cumulative", ("2026-01", "51250.00"))
    assert (edge["ytd_taxable"], edge["rate"], edge["ytd_tax"]) == ("36000.00", "3", "1080.00")
    # 51,250.01 x 20 % = 10,250.002 -> 10,250.00; taxable 36,000.01: 10 %, 2,520.00;
    # 3,600.001 -> 3,600.00 - 2,520.00 = 1,080.00
    (above,) = _months("cumulative", ("2026-01", "51250.01"))
    assert (above["ytd_taxable"], above["rate"], above["quick_deduction"], above["ytd_tax"]) == (
        "36000.01",
        "10",
        "2520.00",
        "1080.00",
    )
    # 1,500,000.00: expense 300,000.00, allowance 5,000.00, taxable 1,195,000.00 (above 960,000):
    # 45 % = 537,750.00 - 181,920.00 = 355,830.00
    (top,) = _months("cumulative", ("2026-01", "1500000.00"))
    assert (top["ytd_taxable"], top["rate"], top["quick_deduction"], top["tax"]) == (
        "1195000.00",
        "45",
        "181920.00",
        "355830.00",
    )


# -- zero and negative months ------------------------------------------------------------------


def test_a_zero_month_and_a_negative_month_withhold_nothing_per_payment() -> None:
    # March: 1,000.00 paid and 1,000.00 clawed back = 0.00; April: -500.00 (a clawback).
    # Both are "at most 4,000.00" (expense 800.00), taxable 0.00 (never below 0), tax 0.00.
    march, april = _months(
        "per_payment", ("2026-03", "1000.00"), ("2026-03", "-1000.00"), ("2026-04", "-500.00")
    )
    assert (march["gross"], march["taxable"], march["tax"]) == ("0.00", "0.00", "0.00")
    assert (april["gross"], april["taxable"], april["tax"]) == ("-500.00", "0.00", "0.00")


def test_a_negative_month_withholds_nothing_and_counts_no_allowance_cumulative() -> None:
    # January 25,000.00: taxable 15,000.00, 3 % = 450.00 withheld.
    # February -5,000.00: nobody was paid, so m stays 1; ytd income 20,000.00, expense 4,000.00,
    # allowance 5,000.00, taxable 11,000.00, ytd tax 330.00; 330.00 - 450.00 < 0 -> 0.00 (no refund).
    # March 25,000.00: m = 2; ytd income 45,000.00, expense 9,000.00, allowance 10,000.00,
    # taxable 26,000.00, ytd tax 780.00; 780.00 - 450.00 = 330.00; withheld so far 780.00.
    january, february, march = _months(
        "cumulative", ("2026-01", "25000.00"), ("2026-02", "-5000.00"), ("2026-03", "25000.00")
    )
    assert january["tax"] == "450.00"
    assert february == {
        "month": "2026-02",
        "gross": "-5000.00",
        "months_counted": 1,
        "ytd_income": "20000.00",
        "ytd_expense": "4000.00",
        "ytd_allowance": "5000.00",
        "ytd_taxable": "11000.00",
        "rate": "3",
        "quick_deduction": "0.00",
        "ytd_tax": "330.00",
        "tax": "0.00",
        "ytd_withheld": "450.00",
    }
    assert (march["months_counted"], march["ytd_tax"], march["tax"], march["ytd_withheld"]) == (
        2,
        "780.00",
        "330.00",
        "780.00",
    )


def test_a_zero_month_counts_no_allowance_cumulative() -> None:
    # February 0.00 (paid and clawed back): m stays 1, the year's figures are January's, tax 0.00.
    _, february = _months("cumulative", ("2026-01", "25000.00"), ("2026-02", "0.00"))
    assert (february["months_counted"], february["ytd_allowance"], february["ytd_tax"], february["tax"]) == (
        1,
        "5000.00",
        "450.00",
        "0.00",
    )


def test_a_month_whose_ytd_tax_falls_below_what_was_withheld_withholds_zero() -> None:
    # January 25,000.00 -> 450.00 withheld.
    # February 1,000.00: m = 2; ytd income 26,000.00, expense 5,200.00, allowance 10,000.00,
    # taxable 10,800.00, ytd tax 324.00; 324.00 - 450.00 = -126.00 -> 0.00, not a refund.
    # March 25,000.00: m = 3; ytd income 51,000.00, expense 10,200.00, allowance 15,000.00,
    # taxable 25,800.00, ytd tax 774.00; 774.00 - 450.00 = 324.00.
    schedule = withholding_schedule(
        method="cumulative",
        payments=[
            Payment("2026-01", 2_500_000),
            Payment("2026-02", 100_000),
            Payment("2026-03", 2_500_000),
        ],
    )
    january, february, march = schedule.months
    assert january.tax_fen == 45_000
    assert isinstance(february, CumulativeWithholding)
    assert (february.ytd_tax_fen, february.tax_fen, february.ytd_withheld_fen) == (32_400, 0, 45_000)
    assert isinstance(march, CumulativeWithholding)
    assert (march.withheld_before_fen, march.tax_fen) == (45_000, 32_400)
    assert schedule.total_tax_fen == 45_000 + 0 + 32_400


def test_none_withholds_nothing_whatever_the_amount() -> None:
    result = simulate(
        {
            "method": "none",
            "payments": [
                {"month": "2026-02", "amount": "1000000.00"},
                {"month": "2026-03", "amount": "-20.00"},
            ],
        }
    )
    assert result == {
        "method": "none",
        "months": [
            {"month": "2026-02", "gross": "1000000.00", "tax": "0.00"},
            {"month": "2026-03", "gross": "-20.00", "tax": "0.00"},
        ],
        "total_tax": "0.00",
    }


# -- the calendar: years, order, gaps ----------------------------------------------------------


def test_cumulative_restarts_in_january() -> None:
    # November 2025: m 1, 450.00. December 2025: m 2, ytd 50,000.00, ytd tax 900.00, 450.00.
    # January 2026: a new year, m 1 again, ytd income 25,000.00, nothing withheld before: 450.00.
    result = simulate(
        {
            "method": "cumulative",
            "payments": [
                {"month": "2025-11", "amount": "25000.00"},
                {"month": "2025-12", "amount": "25000.00"},
                {"month": "2026-01", "amount": "25000.00"},
            ],
        }
    )
    december, january = result["months"][1], result["months"][2]
    assert (december["months_counted"], december["ytd_tax"], december["ytd_withheld"]) == (
        2,
        "900.00",
        "900.00",
    )
    assert (
        january["months_counted"],
        january["ytd_income"],
        january["ytd_allowance"],
        january["tax"],
        january["ytd_withheld"],
    ) == (1, "25000.00", "5000.00", "450.00", "450.00")
    assert result["total_tax"] == "1350.00"


def test_months_given_out_of_order_are_computed_in_calendar_order() -> None:
    # The same months as vector 07's first quarter: 450.00, 450.00, 1,080.00 (the 10 % band in March).
    months = _months(
        "cumulative",
        ("2026-03", "25000.00"),
        ("2026-01", "20000.00"),
        ("2026-02", "25000.00"),
        ("2026-01", "5000.00"),
    )
    assert [(month["month"], month["months_counted"], month["tax"]) for month in months] == [
        ("2026-01", 1, "450.00"),
        ("2026-02", 2, "450.00"),
        ("2026-03", 3, "1080.00"),
    ]


def test_m_counts_the_months_paid_not_the_calendar_months() -> None:
    # January and April paid, nothing in between: in April m = 2 (not 4), allowance 10,000.00;
    # ytd income 50,000.00, expense 10,000.00, taxable 30,000.00, ytd tax 900.00; 900.00 - 450.00.
    _, april = _months("cumulative", ("2026-01", "25000.00"), ("2026-04", "25000.00"))
    assert (april["months_counted"], april["ytd_allowance"], april["ytd_tax"], april["tax"]) == (
        2,
        "10000.00",
        "900.00",
        "450.00",
    )


def test_several_transfers_in_a_month_cost_what_one_transfer_costs() -> None:
    # 2,000.00 + 2,000.00 in one month is one 4,000.00 month: 640.00, not 2 x 240.00 = 480.00.
    (month,) = _months("per_payment", ("2026-05", "2000.00"), ("2026-05", "2000.00"))
    assert (month["gross"], month["tax"]) == ("4000.00", "640.00")


# -- payers ------------------------------------------------------------------------------------


def test_two_payers_are_never_mixed() -> None:
    # Each payer's 2,000.00 is its own month: expense 800.00, taxable 1,200.00, 240.00 each
    # (mixed they would be one 4,000.00 month and 640.00).
    payments = [Payment("2026-05", 200_000, payer="Entity A"), Payment("2026-05", 200_000, payer="Entity B")]
    schedules = withholdings_by_payer(method="per_payment", payments=payments)
    assert {payer: schedule.total_tax_fen for payer, schedule in schedules.items()} == {
        "Entity A": 24_000,
        "Entity B": 24_000,
    }
    # Cumulative: each payer counts its own months; B's first month is m = 1 and owes 450.00.
    cumulative = withholdings_by_payer(
        method="cumulative",
        payments=[Payment("2026-01", 2_500_000, payer="A"), Payment("2026-02", 2_500_000, payer="B")],
    )
    (b_month,) = cumulative["B"].months
    assert isinstance(b_month, CumulativeWithholding)
    assert (b_month.months_counted, b_month.tax_fen) == (1, 45_000)


def test_one_computation_refuses_payments_of_two_payers() -> None:
    with pytest.raises(WithholdingError, match="more than one payer"):
        withholding_schedule(
            method="per_payment",
            payments=[Payment("2026-05", 100, payer="A"), Payment("2026-05", 100, payer="B")],
        )


# -- one month at a time (what a payout batch calls) -------------------------------------------


def test_one_month_from_the_recorded_earlier_months() -> None:
    # Vector 07's March: m 3, ytd income 75,000.00, ytd tax 1,980.00, 900.00 withheld before -> 1,080.00.
    # February arrives as two recorded payouts (one month adds up); 2025 is another year, ignored.
    earlier = [
        EarlierMonth("2025-12", 9_999_900, 100_000),
        EarlierMonth("2026-01", 2_500_000, 45_000),
        EarlierMonth("2026-02", 1_000_000, 20_000),
        EarlierMonth("2026-02", 1_500_000, 25_000),
    ]
    march = withholding_for_month(
        method=Method.CUMULATIVE, month="2026-03", gross_fen=2_500_000, earlier=earlier
    )
    assert isinstance(march, CumulativeWithholding)
    assert (march.months_counted, march.ytd_income_fen, march.withheld_before_fen, march.tax_fen) == (
        3,
        7_500_000,
        90_000,
        108_000,
    )


def test_one_month_uses_what_was_withheld_not_a_recomputation() -> None:
    # January was withheld 0.00 (say the creator invoiced then): February's ytd tax 900.00 is all due.
    february = withholding_for_month(
        method="cumulative",
        month="2026-02",
        gross_fen=2_500_000,
        earlier=[EarlierMonth("2026-01", 2_500_000, 0)],
    )
    assert february.tax_fen == 90_000


def test_one_month_per_payment_needs_no_history() -> None:
    month = withholding_for_month(method="per_payment", month="2026-03", gross_fen=300_000)
    assert isinstance(month, PerPaymentWithholding)
    assert (month.expense_fen, month.taxable_fen, month.rate_percent, month.tax_fen) == (
        80_000,
        220_000,
        20,
        44_000,
    )


@pytest.mark.parametrize(
    ("earlier", "message"),
    [
        ([EarlierMonth("2026-03", 100, 0)], "not before 2026-03"),
        ([EarlierMonth("2026-04", 100, 0)], "not before 2026-03"),
        ([EarlierMonth("2026-02", 100, -1)], "cannot be negative"),
        ([EarlierMonth("2026-2", 100, 0)], "not a month"),
        ([EarlierMonth("2026-02", 1.5, 0)], "whole number of fen"),  # type: ignore[arg-type]
    ],
)
def test_one_month_refuses_a_history_it_cannot_use(earlier: list[EarlierMonth], message: str) -> None:
    with pytest.raises(WithholdingError, match=message):
        withholding_for_month(method="cumulative", month="2026-03", gross_fen=100, earlier=earlier)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: withholding_schedule(method="progressive", payments=[]),
            "'progressive' is not a withholding method",
        ),
        (
            lambda: withholding_schedule(method="none", payments=[Payment("2026-13", 100)]),
            "'2026-13' is not a month",
        ),
        (
            lambda: withholding_schedule(method="none", payments=[Payment("26-03", 100)]),
            "write it as YYYY-MM",
        ),
        (
            lambda: withholding_schedule(method="none", payments=[Payment("2026-03", True)]),
            "whole number of fen",
        ),  # type: ignore[arg-type]
        (
            lambda: withholding_schedule(method="none", payments=[Payment("2026-03", 10**16)]),
            "larger than any",
        ),
        (lambda: withholding_for_month(method="none", month="2026-03", gross_fen=1.0), "whole number of fen"),  # type: ignore[arg-type]
        (lambda: parse_fen("12.345"), "at most two decimals"),
        (lambda: parse_fen("1,234.56"), "at most two decimals"),
        (lambda: parse_fen(3000), "decimal string"),
    ],
)
def test_bad_input_is_a_withholding_error_a_person_can_read(call: Any, message: str) -> None:
    with pytest.raises(WithholdingError, match=message) as caught:
        call()
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[1, 2]", "must be a JSON object"),
        ('{"payments": []}', 'no "method"'),
        ('{"method": "flat", "payments": []}', "'flat' is not a withholding method"),
        ('{"method": "none"}', '"payments" must be a list'),
        ('{"method": "none", "payments": ["2026-03"]}', r"payments\[0\] must be an object"),
        ('{"method": "none", "payments": [{"month": "2026-03"}]}', r'payments\[0\] has no "amount"'),
        (
            '{"method": "none", "payments": [{"month": "2026-00", "amount": "1.00"}]}',
            r"payments\[0\]\.month: '2026-00' is not a month",
        ),
        (
            '{"method": "none", "payments": [{"month": "2026-03", "amount": 3000.5}]}',
            r"payments\[0\]\.amount: an amount must be a decimal string",
        ),
        (
            '{"method": "none", "payments": [{"month": "2026-03", "amount": "3000.005"}]}',
            r"payments\[0\]\.amount: '3000.005' is not an amount",
        ),
        (
            '{"method": "none", "payments": [{"month": "2026-03", "amount": "1.00", "payer": "A"}, {"month": "2026-03", "amount": "1.00", "payer": "B"}]}',
            "more than one payer",
        ),
        ('{"method": "none", "payments": [', "malformed JSON at line 1"),
    ],
)
def test_the_command_says_what_is_wrong_with_a_vector(tmp_path: Path, document: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(document, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        _run_command(path)


def test_the_command_says_when_the_file_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        _run_command(tmp_path / "missing.json")
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"method": "none", "note": "\xe9"}')
    with pytest.raises(CommandError, match="not UTF-8"):
        _run_command(latin)


def test_a_bad_vector_exits_non_zero_with_one_sentence_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        '{"method": "none", "payments": [{"month": "March", "amount": "1.00"}]}', encoding="utf-8"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    completed = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "simulate_withholding", str(path)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert completed.returncode != 0
    assert completed.stdout == ""
    assert "'March' is not a month: write it as YYYY-MM" in completed.stderr
    assert "Traceback" not in completed.stderr


# -- the computation stays pure ----------------------------------------------------------------


def test_the_purity_contract_names_every_other_app_and_every_payouts_module() -> None:
    # import-linter's contract lists modules one by one; a payouts module added later (models,
    # services) must be added to it, or the pure computation could import it unnoticed.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["source_modules"] == ["apps.payouts.withholding"]]
    forbidden = set(contract["forbidden_modules"])

    def children(package: str) -> set[str]:
        folder = ROOT / package.replace(".", "/")
        return {
            f"{package}.{path.stem}"
            for path in folder.iterdir()
            if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
        }

    others = (children("apps") - {"apps.payouts"}) | (children("apps.payouts") - {"apps.payouts.withholding"})
    assert others - forbidden == set()
    assert {"django", "rest_framework", "config"} <= forbidden


def test_the_documents_example_gives_the_figures_it_shows() -> None:
    # docs/withholding.md runs this vector through the command and works it by hand:
    # 30,000.00: expense 6,000.00, taxable 24,000.00, x 30 % = 7,200.00 - 2,000.00 = 5,200.00
    text = (ROOT / "docs" / "withholding.md").read_text(encoding="utf-8")
    example = next(line for line in text.splitlines() if line.startswith("echo '"))
    vector = json.loads(example.split("'")[1])
    (month,) = simulate(vector)["months"]
    assert (month["expense"], month["taxable"], month["tax"]) == ("6000.00", "24000.00", "5200.00")
    assert "**5,200.00**" in text
