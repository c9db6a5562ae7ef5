"""Individual income tax withheld on payments to individual creators (劳务报酬所得 预扣预缴).

The rules are ../shared/spec/withholding.md, told in the project's words in docs/withholding.md.

Design
------
* One 次 per month. The tax base is everything one payer (the agency's legal entity) paid one
  creator in one calendar month, added up before any tax is computed. A month split into three
  transfers must cost the creator exactly what one transfer would, so payments are grouped by
  month first and each month is computed once, on its total.
* Integers only. Amounts are integer fen; rates are integer percents; the one rounding, half up
  to the fen (away from zero, so a negative amount rounds like its mirror), is `_percent_of`.
  Decimal strings ("1234.56") exist only in `parse_fen`, `format_fen` and the document functions
  at the bottom, which give the conformance vectors' shape.
* Three methods. `none` withholds nothing (a studio or company invoices instead); `per_payment`
  treats each month on its own (expense 800.00 or 20 %, then 20/30/40 %); `cumulative` carries a
  year-to-date state inside one calendar year and withholds this month the difference between
  the year's tax so far and what was withheld before, never a negative amount.
* Two entry points. `withholding_schedule` computes a run of months from payments (what the
  command and the vectors use). `withholding_for_month` computes ONE month from the earlier
  months of the year as they were recorded (their totals and the tax actually withheld), which is
  what a payout batch knows when it pays this month.
* Bad input raises WithholdingError, a ValueError whose message says what is wrong in words a
  person understands; callers at the edges turn it into a CommandError or a 4xx.
* No Django and nothing else of the project (an import-linter contract in pyproject.toml), so the
  computation can be published and re-run by anyone checking their statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

# Larger than any real payment; such a number is a typo or an attack, and refusing it keeps every
# product (amount x percent) far inside exact integer arithmetic.
MAX_ABS_FEN = 10**15

# Per payment (劳务报酬 预扣率表二), on the month's taxable amount:
# up to this many fen, this percent, minus this quick deduction (fen). "Up to" includes the edge.
PER_PAYMENT_TABLE: tuple[tuple[int | None, int, int], ...] = (
    (2_000_000, 20, 0),
    (5_000_000, 30, 200_000),
    (None, 40, 700_000),
)
# Below this month's total (inclusive) the expense is a flat 800.00, above it 20 % of the total.
FLAT_EXPENSE_CEILING = 400_000
FLAT_EXPENSE = 80_000
EXPENSE_PERCENT = 20

# Cumulative (累计预扣法): the annual comprehensive-income table on the year's taxable amount.
ANNUAL_TABLE: tuple[tuple[int | None, int, int], ...] = (
    (3_600_000, 3, 0),
    (14_400_000, 10, 252_000),
    (30_000_000, 20, 1_692_000),
    (42_000_000, 25, 3_192_000),
    (66_000_000, 30, 5_292_000),
    (96_000_000, 35, 8_592_000),
    (None, 45, 18_192_000),
)
# The basic deduction of 5,000.00 a month, for each month of the year in which the payer paid.
MONTHLY_ALLOWANCE = 500_000

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
_FEN = re.compile(r"(-?)([0-9]+)(?:\.([0-9]{1,2}))?", re.ASCII)


class WithholdingError(ValueError):
    """Input the computation cannot take (an unknown method, a month that is not YYYY-MM, an
    amount that is not fen); the message says what is wrong and how to write it."""


class Method(StrEnum):
    NONE = "none"
    PER_PAYMENT = "per_payment"
    CUMULATIVE = "cumulative"


@dataclass(frozen=True, slots=True)
class Payment:
    """One payout to the creator: its calendar month ("2026-03"), its amount in fen (negative for
    a clawback) and, optionally, the paying legal entity (one computation is for one payer)."""

    month: str
    amount_fen: int
    payer: str = ""


@dataclass(frozen=True, slots=True)
class EarlierMonth:
    """A month of the year already paid, as recorded: its total and the tax actually withheld.

    The cumulative method subtracts what was withheld, not what a recomputation would give, so a
    payout batch passes the recorded figures of its earlier items."""

    month: str
    gross_fen: int
    withheld_fen: int


@dataclass(frozen=True, slots=True)
class MonthWithholding:
    """The computation of one month: the month's total (gross) and the tax withheld on it."""

    method: ClassVar[Method]
    month: str
    gross_fen: int
    tax_fen: int


@dataclass(frozen=True, slots=True)
class NoneWithholding(MonthWithholding):
    """`none`: the creator invoices (studio, 个体工商户, company); nothing is withheld."""

    method: ClassVar[Method] = Method.NONE


@dataclass(frozen=True, slots=True)
class PerPaymentWithholding(MonthWithholding):
    """`per_payment`: tax = (gross - expense) x rate - quick deduction, the month on its own."""

    method: ClassVar[Method] = Method.PER_PAYMENT
    expense_fen: int
    taxable_fen: int
    rate_percent: int
    quick_deduction_fen: int


@dataclass(frozen=True, slots=True)
class CumulativeWithholding(MonthWithholding):
    """`cumulative`: the year-to-date figures after this month and the tax withheld this month.

    `months_counted` is the spec's m: the months of this year so far (this one included) in which
    the payer paid the creator; the allowance is 5,000.00 for each."""

    method: ClassVar[Method] = Method.CUMULATIVE
    months_counted: int
    ytd_income_fen: int
    ytd_expense_fen: int
    ytd_allowance_fen: int
    ytd_taxable_fen: int
    rate_percent: int
    quick_deduction_fen: int
    ytd_tax_fen: int
    withheld_before_fen: int

    @property
    def ytd_withheld_fen(self) -> int:
        """Withheld in the year up to and including this month."""
        return self.withheld_before_fen + self.tax_fen


@dataclass(frozen=True, slots=True)
class WithholdingSchedule:
    """The months of one payer's payments, in calendar order, each computed once on its total."""

    method: Method
    months: tuple[MonthWithholding, ...]

    @property
    def total_tax_fen(self) -> int:
        return sum(month.tax_fen for month in self.months)


# -- validation --------------------------------------------------------------------------------


def parse_method(value: object) -> Method:
    """ "per_payment" -> Method.PER_PAYMENT; anything else a clear WithholdingError."""
    if isinstance(value, Method):
        return value
    if isinstance(value, str):
        try:
            return Method(value)
        except ValueError:
            pass
    shown = repr(value)[:40]
    raise WithholdingError(f"{shown} is not a withholding method: use none, per_payment or cumulative")


def check_month(value: object) -> str:
    """A calendar month written YYYY-MM ("2026-03"); returns it unchanged."""
    if isinstance(value, str):
        match = _MONTH.fullmatch(value)
        if match is not None and 1 <= int(match.group(2)) <= 12 and match.group(1) != "0000":
            return value
    shown = repr(value)[:40]
    raise WithholdingError(f"{shown} is not a month: write it as YYYY-MM, for example 2026-03")


def check_fen(value: object, *, what: str = "an amount") -> int:
    """An amount in whole fen (an int, not a bool or a float), within any real payment's size."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise WithholdingError(f"{what} must be a whole number of fen, not {type(value).__name__}")
    if abs(value) > MAX_ABS_FEN:
        raise WithholdingError(f"{what} of {value} fen is larger than any payment Fenrun accepts")
    return value


def parse_fen(text: object) -> int:
    """ "1234.56" -> 123456. Never rounds: an amount has at most two decimals (yuan and fen)."""
    if not isinstance(text, str):
        raise WithholdingError(f'an amount must be a decimal string such as "1234.56", not {text!r}'[:120])
    # The length guard keeps int() away from megabyte-long digit strings.
    match = _FEN.fullmatch(text) if len(text) <= 24 else None
    if match is None:
        raise WithholdingError(
            f'{text[:30]!r} is not an amount: write yuan with at most two decimals, such as "1234.56"'
        )
    sign, whole, fraction = match.groups()
    fen = int(whole) * 100 + int((fraction or "").ljust(2, "0"))
    return check_fen(-fen if sign == "-" else fen, what=repr(text))


def format_fen(fen: int) -> str:
    """123456 -> "1234.56"; -5 -> "-0.05". The vectors' wire format."""
    sign = "-" if fen < 0 else ""
    whole, fraction = divmod(abs(fen), 100)
    return f"{sign}{whole}.{fraction:02d}"


# -- arithmetic --------------------------------------------------------------------------------


def _percent_of(fen: int, percent: int) -> int:
    """fen x percent / 100, rounded half up to the fen (half away from zero for a negative)."""
    if fen >= 0:
        return (fen * percent + 50) // 100
    return -((-fen * percent + 50) // 100)


def _bracket(table: tuple[tuple[int | None, int, int], ...], taxable_fen: int) -> tuple[int, int]:
    """(rate percent, quick deduction fen) of the band the taxable amount falls in; a band's upper
    edge belongs to it ("up to 20,000.00" includes 20,000.00)."""
    for ceiling, rate, deduction in table:
        if ceiling is None or taxable_fen <= ceiling:
            return rate, deduction
    raise AssertionError("the last band has no ceiling")  # pragma: no cover


def _year(month: str) -> int:
    return int(month[:4])


@dataclass(frozen=True, slots=True)
class _YearToDate:
    """What the cumulative method carries from month to month inside one calendar year."""

    year: int
    months_counted: int = 0
    income_fen: int = 0
    withheld_fen: int = 0


def _none(month: str, gross_fen: int) -> NoneWithholding:
    return NoneWithholding(month=month, gross_fen=gross_fen, tax_fen=0)


def _per_payment(month: str, gross_fen: int) -> PerPaymentWithholding:
    # The expense is a flat 800.00 up to a 4,000.00 month (inclusive), 20 % of the month above it.
    # A zero or negative month is "at most 4,000.00" too; its taxable amount is then 0 and so is
    # the tax, which is what the spec asks of such a month.
    if gross_fen <= FLAT_EXPENSE_CEILING:
        expense_fen = FLAT_EXPENSE
    else:
        expense_fen = _percent_of(gross_fen, EXPENSE_PERCENT)
    taxable_fen = max(gross_fen - expense_fen, 0)
    rate, deduction = _bracket(PER_PAYMENT_TABLE, taxable_fen)
    tax_fen = max(_percent_of(taxable_fen, rate) - deduction, 0)
    if gross_fen <= 0:
        tax_fen = 0  # a month that paid nothing (or clawed back) withholds nothing
    return PerPaymentWithholding(
        month=month,
        gross_fen=gross_fen,
        tax_fen=tax_fen,
        expense_fen=expense_fen,
        taxable_fen=taxable_fen,
        rate_percent=rate,
        quick_deduction_fen=deduction,
    )


def _cumulative(month: str, gross_fen: int, before: _YearToDate) -> tuple[CumulativeWithholding, _YearToDate]:
    # m counts the months in which the payer paid: a month whose total is zero or negative paid
    # nothing, so it earns no 5,000.00 allowance. Its total still belongs to "the year's totals
    # so far" (a clawback lowers the year's income).
    months_counted = before.months_counted + (1 if gross_fen > 0 else 0)
    income_fen = before.income_fen + gross_fen
    expense_fen = _percent_of(income_fen, EXPENSE_PERCENT)
    allowance_fen = MONTHLY_ALLOWANCE * months_counted
    taxable_fen = max(income_fen - expense_fen - allowance_fen, 0)
    rate, deduction = _bracket(ANNUAL_TABLE, taxable_fen)
    ytd_tax_fen = _percent_of(taxable_fen, rate) - deduction
    # What the year owes so far minus what was already withheld; a negative difference is not
    # refunded here (the creator's annual settlement does that), so the month withholds 0.
    tax_fen = max(ytd_tax_fen - before.withheld_fen, 0)
    if gross_fen <= 0:
        tax_fen = 0  # already 0 by the arithmetic above; said outright because the spec says it
    result = CumulativeWithholding(
        month=month,
        gross_fen=gross_fen,
        tax_fen=tax_fen,
        months_counted=months_counted,
        ytd_income_fen=income_fen,
        ytd_expense_fen=expense_fen,
        ytd_allowance_fen=allowance_fen,
        ytd_taxable_fen=taxable_fen,
        rate_percent=rate,
        quick_deduction_fen=deduction,
        ytd_tax_fen=ytd_tax_fen,
        withheld_before_fen=before.withheld_fen,
    )
    after = _YearToDate(
        year=before.year,
        months_counted=months_counted,
        income_fen=income_fen,
        withheld_fen=before.withheld_fen + tax_fen,
    )
    return result, after


def _month_totals(payments: Iterable[Payment]) -> list[tuple[str, int]]:
    """Payments added up per month (one 次 per month), months in calendar order."""
    totals: dict[str, int] = {}
    payers: set[str] = set()
    for index, payment in enumerate(payments):
        if not isinstance(payment, Payment):
            raise WithholdingError(f"payment {index + 1} is not a Payment")
        month = check_month(payment.month)
        totals[month] = totals.get(month, 0) + check_fen(payment.amount_fen)
        payers.add(payment.payer)
    if len(payers) > 1:
        # Each payer withholds on what it pays and counts its own months: mixing two payers'
        # payments would merge two tax bases into one.
        names = ", ".join(sorted(repr(payer) for payer in payers))
        raise WithholdingError(
            f"the payments come from more than one payer ({names}): compute each payer on its own"
        )
    # "YYYY-MM" strings sort as calendar months.
    return sorted(totals.items())


# -- entry points ------------------------------------------------------------------------------


def withholding_schedule(*, method: Method | str, payments: Iterable[Payment]) -> WithholdingSchedule:
    """The tax of every month one payer paid, in calendar order: each month's payments added up
    first, the cumulative year state carried month to month and restarted in January."""
    chosen = parse_method(method)
    months: list[MonthWithholding] = []
    state: _YearToDate | None = None
    for month, gross_fen in _month_totals(payments):
        if chosen is Method.NONE:
            months.append(_none(month, gross_fen))
        elif chosen is Method.PER_PAYMENT:
            months.append(_per_payment(month, gross_fen))
        else:
            if state is None or state.year != _year(month):
                state = _YearToDate(year=_year(month))  # a new year: count and totals restart
            result, state = _cumulative(month, gross_fen, state)
            months.append(result)
    return WithholdingSchedule(method=chosen, months=tuple(months))


def withholdings_by_payer(
    *, method: Method | str, payments: Iterable[Payment]
) -> dict[str, WithholdingSchedule]:
    """One schedule per payer (sorted by payer), so that no payer's months count for another."""
    grouped: dict[str, list[Payment]] = {}
    for payment in payments:
        grouped.setdefault(payment.payer if isinstance(payment, Payment) else "", []).append(payment)
    return {payer: withholding_schedule(method=method, payments=grouped[payer]) for payer in sorted(grouped)}


def withholding_for_month(
    *, method: Method | str, month: str, gross_fen: int, earlier: Sequence[EarlierMonth] = ()
) -> MonthWithholding:
    """The tax of ONE month, given the earlier months of the payer's history as recorded.

    `gross_fen` is the month's whole total from this payer (one 次 per month): a second payout in
    a month passes the month's total so far, and withholds the result minus what the month's
    earlier payouts already withheld. `earlier` may hold any months before `month` (other years
    are ignored, the year restarts in January; two records of one month add up); a month not
    before `month` is refused, since the cumulative state of a later month cannot come first.
    `per_payment` and `none` need no history: each month stands alone.
    """
    chosen = parse_method(method)
    check_month(month)
    check_fen(gross_fen, what="the month's total")
    if chosen is Method.NONE:
        return _none(month, gross_fen)
    if chosen is Method.PER_PAYMENT:
        return _per_payment(month, gross_fen)
    state = _year_to_date_before(month, earlier)
    result, _after = _cumulative(month, gross_fen, state)
    return result


def _year_to_date_before(month: str, earlier: Sequence[EarlierMonth]) -> _YearToDate:
    totals: dict[str, int] = {}
    withheld = 0
    for record in earlier:
        if not isinstance(record, EarlierMonth):
            raise WithholdingError("an earlier month must be an EarlierMonth (month, gross, withheld)")
        earlier_month = check_month(record.month)
        if earlier_month >= month:
            raise WithholdingError(
                f"earlier month {earlier_month} is not before {month}: pass only the months already paid"
            )
        gross_fen = check_fen(record.gross_fen, what=f"the total of {earlier_month}")
        withheld_fen = check_fen(record.withheld_fen, what=f"the tax withheld in {earlier_month}")
        if withheld_fen < 0:
            raise WithholdingError(f"the tax withheld in {earlier_month} cannot be negative")
        if _year(earlier_month) != _year(month):
            continue  # another year: the cumulative count and totals restart in January
        totals[earlier_month] = totals.get(earlier_month, 0) + gross_fen
        withheld += withheld_fen
    return _YearToDate(
        year=_year(month),
        months_counted=sum(1 for total in totals.values() if total > 0),
        income_fen=sum(totals.values()),
        withheld_fen=withheld,
    )


# -- documents (the conformance vectors' JSON shape) -------------------------------------------


def month_document(month: MonthWithholding) -> dict[str, Any]:
    """One month as the vectors write it: decimal strings for money, integer percents as strings."""
    document: dict[str, Any] = {"month": month.month, "gross": format_fen(month.gross_fen)}
    if isinstance(month, PerPaymentWithholding):
        document |= {
            "expense": format_fen(month.expense_fen),
            "taxable": format_fen(month.taxable_fen),
            "rate": str(month.rate_percent),
            "quick_deduction": format_fen(month.quick_deduction_fen),
            "tax": format_fen(month.tax_fen),
        }
    elif isinstance(month, CumulativeWithholding):
        document |= {
            "months_counted": month.months_counted,
            "ytd_income": format_fen(month.ytd_income_fen),
            "ytd_expense": format_fen(month.ytd_expense_fen),
            "ytd_allowance": format_fen(month.ytd_allowance_fen),
            "ytd_taxable": format_fen(month.ytd_taxable_fen),
            "rate": str(month.rate_percent),
            "quick_deduction": format_fen(month.quick_deduction_fen),
            "ytd_tax": format_fen(month.ytd_tax_fen),
            "tax": format_fen(month.tax_fen),
            "ytd_withheld": format_fen(month.ytd_withheld_fen),
        }
    else:
        document["tax"] = format_fen(month.tax_fen)
    return document


def schedule_document(schedule: WithholdingSchedule) -> dict[str, Any]:
    return {
        "method": schedule.method.value,
        "months": [month_document(month) for month in schedule.months],
        "total_tax": format_fen(schedule.total_tax_fen),
    }


def simulate(vector: object) -> dict[str, Any]:
    """A vector-shaped document (method, payments; expect is ignored) in, the result document out."""
    if not isinstance(vector, Mapping):
        raise WithholdingError("the document must be a JSON object with method and payments")
    if "method" not in vector:
        raise WithholdingError('the document has no "method" (none, per_payment or cumulative)')
    method = parse_method(vector["method"])
    raw_payments = vector.get("payments")
    if not isinstance(raw_payments, list):
        raise WithholdingError('"payments" must be a list of objects with month and amount')
    payments = [_payment(index, raw) for index, raw in enumerate(raw_payments)]
    return schedule_document(withholding_schedule(method=method, payments=payments))


def _payment(index: int, raw: object) -> Payment:
    where = f"payments[{index}]"
    if not isinstance(raw, Mapping):
        raise WithholdingError(f"{where} must be an object with month and amount")
    for key in ("month", "amount"):
        if key not in raw:
            raise WithholdingError(f'{where} has no "{key}"')
    payer = raw.get("payer", "")
    if not isinstance(payer, str):
        raise WithholdingError(f"{where}.payer must be a string")
    try:
        month = check_month(raw["month"])
    except WithholdingError as error:
        raise WithholdingError(f"{where}.month: {error}") from None
    try:
        amount_fen = parse_fen(raw["amount"])
    except WithholdingError as error:
        raise WithholdingError(f"{where}.amount: {error}") from None
    return Payment(month=month, amount_fen=amount_fen, payer=payer)
