"""An agency's revenue reports (issue 14): by month, creator, platform and source, for a range of
months, each currency on its own (amounts are never added across currencies).

Where the figures come from
---------------------------
Every figure is a sum over the agency's line allocations (apps/recognition), the split each
recognised line got, whose ledger day (`effective_date`, the agency's calendar) falls in the
chosen months: the day the ledger counts the line for, so a month here is the month of the
ledger's roll-ups, of the statements and of the creator's home (a line recognised after its month
closed counts in the next open month, as in the ledger). Lines not recognised yet (waiting in the
exceptions queue) are in no report. A refund is a negative line in the month it posts.

An allocation keeps its amounts in one array: the deductions in its rule's part order, each
party's payable in the rule set's party order, then what was recouped of the creator's advance.
Where each figure sits depends on the rule and the rule set, so a report first learns the layout
of the rule sets the period used (one query for their snapshots, each parsed once per content
hash and process), then lets PostgreSQL pick the figures with one CASE per distinct layout inside
one GROUP BY. A layout is a handful of positions, so an agency with thousands of contracts still
has a few layouts: the (snapshot, rule) pairs of one layout are a single IN list (hashed by
PostgreSQL), not a WHEN each. No allocation is decoded in Python to be summed.

The figures of a group, in the rule set's currency:

* gross: the engine's gross (converted when the statement was in another currency);
* deductions: every deduction of the rule (platform fee, tax reserve, approved deal expenses);
* creators' share: the creator's payable plus what was recouped of their advance from it (the
  creator's money either way: the recouped part repays what the agency advanced them);
* other parties: any further party of the rule set (an editor, a studio);
* agency revenue: the agency's own share.

gross = deductions + creators' share + other parties + agency revenue, to the fen (the split
spec's invariant); "other parties" is computed as that difference.

The month report adds the ledger's own figures from its monthly roll-ups (AccountPeriodBalance):
income clearing (gross), the deduction accounts, the agency revenue account the splits post to,
and corrections: the dispute corrections account (a dispute resolved with money) and the agency's
other revenue accounts (a manual adjustment; disputes resolved before issue 14). They equal the allocations' figures unless something was corrected by hand.

Recognition's and the ledger's tables are read here read-only, like the statements do: neither
app has a selector that groups an agency's months. Cost: the allocations are read through the
(agency, effective_date) index (recognition migration 0005) and joined to their lines by primary
key for the platform and source; the roll-ups are a few agency-level accounts times the months.
A report runs a fixed number of queries whatever the number of lines or creators.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, overload

from django.db.models import BigIntegerField, Case, Count, F, QuerySet, Sum, Value, When
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from apps.agencies.models import Agency
from apps.agencies.selectors import agency_get_for_actor, agency_list_for_actor
from apps.agencies.time import agency_today
from apps.common.catalog import platform_name, source_name
from apps.common.exceptions import ApplicationError, PermissionDenied
from apps.common.money import exponent
from apps.common.rollups import rollup_cached, rollup_key
from apps.common.tenancy import require_agency_role, scope_for
from apps.ledger.models import Account, AccountPeriodBalance
from apps.ledger.selectors import ledger_version
from apps.recognition.models import LineAllocation, RuleSetSnapshot
from apps.recognition.period_close import period_bounds
from apps.splits.engine import parse_rule_set

# Every member may read the agency's reports: they hold no personal data beyond creators' names.
REPORT_READERS = ("owner", "manager", "finance", "viewer")
GROUPS = ("month", "creator", "platform", "source")
DEFAULT_MONTHS = 12
MAX_MONTHS = 36


# --- the period and the group ---------------------------------------------------------------------


def _month_number(period: str) -> int:
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def _month_key(number: int) -> str:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


@dataclass(frozen=True)
class ReportPeriod:
    """A range of whole months, "2026-01" to "2026-12", both included (the agency's calendar)."""

    first: str
    last: str

    @property
    def months(self) -> list[str]:
        return [
            _month_key(number) for number in range(_month_number(self.first), _month_number(self.last) + 1)
        ]

    @property
    def bounds(self) -> tuple[datetime.date, datetime.date]:
        """The first day of the first month and the last day of the last."""
        return period_bounds(self.first)[0], period_bounds(self.last)[1]


def report_period_parse(*, first: Any, last: Any, today: datetime.date) -> ReportPeriod:
    """The months asked for ("YYYY-MM" each; either may be empty): by default the twelve months
    ending with `today`'s (the agency's today), twelve from `first` or twelve up to `last` when only
    one is given. A 400 with a sentence for a malformed month, `first` after `last`, or more
    than MAX_MONTHS months (a report reads every allocation of its months)."""
    first = str(first or "").strip()
    last = str(last or "").strip()
    for value in (first, last):
        if value:
            period_bounds(value)  # the project's one month check and its message
    span = DEFAULT_MONTHS - 1
    if not first and not last:
        last = f"{today.year:04d}-{today.month:02d}"
    if not first:
        first = _month_key(_month_number(last) - span)
    if not last:
        last = _month_key(_month_number(first) + span)
    for value in (first, last):
        period_bounds(value)  # a default may fall outside the years Fenrun accepts
    if first > last:  # "YYYY-MM" strings sort as the months do
        raise ApplicationError(
            _("The first month (%(first)s) is after the last (%(last)s): swap them.")
            % {"first": first, "last": last},
            code="invalid_range",
        )
    count = _month_number(last) - _month_number(first) + 1
    if count > MAX_MONTHS:
        raise ApplicationError(
            _("A report covers at most %(max)d months; %(first)s to %(last)s is %(count)d months.")
            % {"max": MAX_MONTHS, "first": first, "last": last, "count": count},
            code="range_too_long",
        )
    return ReportPeriod(first=first, last=last)


def report_group_parse(value: Any) -> str:
    """ "month" by default; a 400 naming the choices for anything else."""
    group = str(value or "").strip() or "month"
    if group not in GROUPS:
        raise ApplicationError(
            _("Choose a report by month, creator, platform or source (group=%(choices)s).")
            % {"choices": "|".join(GROUPS)},
            code="invalid_group",
        )
    return group


def report_agency_for_actor(*, actor: Any, public_id: Any = None) -> Agency:
    """The agency whose reports the actor reads: the one named (another agency answers 404) or
    their first by name. Someone who is a member of no agency (a creator) is told 403: reports
    are the agency's view of its revenue; a creator's own figures are on their home page."""
    if not scope_for(actor).agency_ids:
        raise PermissionDenied(
            _("Reports are for an agency's members: your account is not a member of any agency."),
            code="not_an_agency_member",
        )
    chosen = str(public_id or "").strip()
    agency = (
        agency_get_for_actor(actor=actor, public_id=chosen)
        if chosen
        else agency_list_for_actor(actor=actor).first()
    )
    assert agency is not None  # a member of at least one agency
    require_agency_role(actor, agency, REPORT_READERS)
    return agency


def report_default_period(*, agency: Agency) -> ReportPeriod:
    return report_period_parse(first="", last="", today=agency_today(agency))


# --- figures --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """One group's recognised lines in one currency, in minor units."""

    currency: str
    line_count: int = 0
    gross_minor: int = 0
    deductions_minor: int = 0
    creators_minor: int = 0
    agency_minor: int = 0

    @property
    def others_minor(self) -> int:
        """Other parties' share: what the spec's invariant leaves (gross = the four parts)."""
        return self.gross_minor - self.deductions_minor - self.creators_minor - self.agency_minor

    def plus(self, other: Figures) -> Figures:
        if other.currency != self.currency:  # never add two currencies
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return replace(
            self,
            line_count=self.line_count + other.line_count,
            gross_minor=self.gross_minor + other.gross_minor,
            deductions_minor=self.deductions_minor + other.deductions_minor,
            creators_minor=self.creators_minor + other.creators_minor,
            agency_minor=self.agency_minor + other.agency_minor,
        )


@dataclass(frozen=True)
class LedgerMonth:
    """One month and currency of the ledger's roll-ups, signed as people read them."""

    gross_minor: int = 0  # income clearing
    deductions_minor: int = 0  # the deduction accounts
    agency_minor: int = 0  # the agency revenue account the splits post to
    # The dispute corrections account and the agency's other revenue accounts (manual adjustments,
    # disputes resolved before issue 14).
    corrections_minor: int = 0

    @property
    def agency_total_minor(self) -> int:
        return self.agency_minor + self.corrections_minor


@dataclass(frozen=True)
class RevenueRow:
    """A row of a report: its key (a month "2026-11", a creator's public id, a platform or source
    code), a label for people, its figures, and for a month the ledger's figures."""

    key: str
    label: str
    figures: Figures
    ledger: LedgerMonth | None = None


@dataclass(frozen=True)
class _Layout:
    """Where one rule's figures sit in amounts_minor (0-based positions)."""

    deductions: tuple[int, ...]
    creators: tuple[int, ...]  # the creator's payable and the recouped advance
    agency: tuple[int, ...]


# sha256 of a snapshot's document -> the layout of each of its rules. Content-addressed, never
# stale (a snapshot is never updated); bounded so a long-lived process cannot grow without end.
_LAYOUTS: dict[str, tuple[_Layout, ...]] = {}
_LAYOUTS_KEPT = 10_000
# (snapshot id, rule index) as one bigint, so that the pairs of a layout are one IN list of
# constants (PostgreSQL hashes long ones): rule indexes are smallints, below 2**16.
_PAIR = 65_536


def _rule_layouts(sha256: str, document: Any) -> tuple[_Layout, ...]:
    layouts = _LAYOUTS.get(sha256)
    if layouts is None:
        rule_set = parse_rule_set(document)
        parties = len(rule_set.parties)
        layouts = tuple(
            _Layout(
                deductions=tuple(range(len(rule.part_ids))),
                creators=(len(rule.part_ids) + rule_set.creator_index, len(rule.part_ids) + parties),
                agency=(len(rule.part_ids) + rule_set.agency_index,),
            )
            for rule in rule_set.rules
        )
        if len(_LAYOUTS) >= _LAYOUTS_KEPT:
            _LAYOUTS.clear()
        _LAYOUTS[sha256] = layouts
    return layouts


def _sum_of(positions: tuple[int, ...]) -> Any:
    if not positions:
        return Value(0, output_field=BigIntegerField())
    expression: Any = F(f"amounts_minor__{positions[0]}")
    for position in positions[1:]:
        expression = expression + F(f"amounts_minor__{position}")
    return expression


@dataclass(frozen=True)
class _Columns:
    """The SQL of each figure of an allocation, for the rule sets one report's allocations use."""

    pairs_by_layout: dict[_Layout, list[int]] = field(default_factory=dict)

    def _pick(self, part: Callable[[_Layout], tuple[int, ...]]) -> Any:
        pairs: dict[tuple[int, ...], list[int]] = {}
        for layout, keys in self.pairs_by_layout.items():
            pairs.setdefault(part(layout), []).extend(keys)
        if not pairs:
            return Value(0, output_field=BigIntegerField())
        return Case(
            *[
                When(layout_pair__in=sorted(keys), then=_sum_of(positions))
                for positions, keys in sorted(pairs.items())
            ],
            output_field=BigIntegerField(),
        )

    def aggregates(self) -> dict[str, Any]:
        return {
            "line_count": Count("pk"),
            "gross": Sum("gross_minor"),
            "deductions": Sum(self._pick(lambda layout: layout.deductions)),
            "creators": Sum(self._pick(lambda layout: layout.creators)),
            "agency": Sum(self._pick(lambda layout: layout.agency)),
        }


FIGURE_NAMES = ("line_count", "gross", "deductions", "creators", "agency")


def _figures(currency: str, values: Any) -> Figures:
    """Figures from the five aggregates, in FIGURE_NAMES order (a SUM of no rows is NULL)."""
    count, gross, deductions, creators, agency = (int(value or 0) for value in values)
    return Figures(currency, count, gross, deductions, creators, agency)


def _allocations(*, agency: Agency, period: ReportPeriod) -> QuerySet[LineAllocation]:
    first, last = period.bounds
    return LineAllocation.objects.filter(
        agency_id=agency.pk, effective_date__gte=first, effective_date__lte=last
    ).order_by()


def _columns(allocations: QuerySet[LineAllocation]) -> _Columns:
    """The layouts of the rule sets the allocations use: one query."""
    snapshots = RuleSetSnapshot.objects.filter(pk__in=allocations.values("rule_set_id")).values_list(
        "pk", "sha256", "document"
    )
    pairs: dict[_Layout, list[int]] = {}
    for snapshot_id, sha256, document in snapshots:
        for rule_index, layout in enumerate(_rule_layouts(sha256, document)):
            pairs.setdefault(layout, []).append(snapshot_id * _PAIR + rule_index)
    return _Columns(pairs_by_layout=pairs)


def _grouped(allocations: QuerySet[LineAllocation], columns: _Columns, *keys: str) -> QuerySet[Any]:
    return (
        allocations.alias(layout_pair=F("rule_set_id") * _PAIR + F("rule_index"))
        .values(*keys)
        .annotate(**columns.aggregates())
    )


# --- the report -----------------------------------------------------------------------------------


class CreatorRows:
    """The creator report's rows, largest gross first within each currency, read a page at a
    time: `count()` and a slice are one query each (Django's Paginator and DRF's pagination
    call exactly these), iterating reads them all in chunks (the CSV)."""

    def __init__(self, queryset: QuerySet[Any]) -> None:
        self._queryset = queryset

    @staticmethod
    def _row(values: dict[str, Any]) -> RevenueRow:
        return RevenueRow(
            key=str(values["creator__public_id"]),
            label=values["creator__display_name"],
            figures=_figures(values["currency"], (values[name] for name in FIGURE_NAMES)),
        )

    def count(self) -> int:
        # order_by(): the number of groups needs no sort of them by gross.
        return self._queryset.order_by().count()

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> RevenueRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[RevenueRow]: ...
    def __getitem__(self, index: int | slice) -> RevenueRow | list[RevenueRow]:
        if isinstance(index, slice):
            return [self._row(values) for values in self._queryset[index]]
        return self._row(self._queryset[index])

    def __iter__(self) -> Iterator[RevenueRow]:
        return (self._row(values) for values in self._queryset.iterator(chunk_size=2_000))


@dataclass
class RevenueReport:
    agency: Agency
    group: str
    period: ReportPeriod
    totals: list[Figures]  # one per currency, by currency code
    rows: list[RevenueRow] | CreatorRows
    chart: dict[str, Any]  # the charts' data (apps/reports/templates, static/js/reports.js)


def _ledger_months(*, agency: Agency, period: ReportPeriod) -> dict[tuple[str, str], LedgerMonth]:
    """The ledger's figures per (month, currency) from its roll-ups: the agency-level income
    clearing, deduction, agency revenue and dispute corrections accounts of the months, one
    grouped query. Corrections: the dispute corrections account and any agency revenue account
    but the splits' own (key ""), where disputes posted before issue 14 and manual adjustments go."""
    purpose = Account.Purpose
    rows = (
        AccountPeriodBalance.objects.filter(
            account__agency_id=agency.pk,
            account__creator__isnull=True,
            account__purpose__in=[
                purpose.INCOME_CLEARING,
                purpose.DEDUCTION,
                purpose.AGENCY_REVENUE,
                purpose.DISPUTE_CORRECTION,
            ],
            period__gte=period.first,
            period__lte=period.last,
        )
        .order_by()
        .values("period", "currency", "account__purpose", "account__key")
        .annotate(net=Sum("net_minor"))
        .values_list("period", "currency", "account__purpose", "account__key", "net")
    )
    found: dict[tuple[str, str], LedgerMonth] = {}
    for month, currency, account_purpose, key, net in rows:
        figures = found.get((month, currency), LedgerMonth())
        # net is debit - credit: income clearing is debited, the others credited.
        if account_purpose == purpose.INCOME_CLEARING:
            figures = replace(figures, gross_minor=figures.gross_minor + int(net))
        elif account_purpose == purpose.DEDUCTION:
            figures = replace(figures, deductions_minor=figures.deductions_minor - int(net))
        elif account_purpose == purpose.AGENCY_REVENUE and key == "":
            figures = replace(figures, agency_minor=figures.agency_minor - int(net))
        else:
            figures = replace(figures, corrections_minor=figures.corrections_minor - int(net))
        found[(month, currency)] = figures
    return found


def _by_key(
    rows: list[tuple[str, str, str, str, Figures]], pick: Callable[[tuple[str, str, str, str]], str]
) -> dict[tuple[str, str], Figures]:
    """Sums of the month × source × platform rows by (currency, the picked key)."""
    sums: dict[tuple[str, str], Figures] = {}
    for row in rows:
        key = (row[4].currency, pick(row[:4]))
        sums[key] = sums[key].plus(row[4]) if key in sums else row[4]
    return sums


def _chart(
    period: ReportPeriod, rows: list[tuple[str, str, str, str, Figures]], currencies: list[str]
) -> dict[str, Any]:
    """Per currency, the gross and the agency's revenue of each month by source and by
    platform, in minor units (the script divides by 10^exponent to draw, never to add)."""
    months = period.months
    charts = []
    for currency in currencies:
        series: dict[str, dict[str, dict[str, list[int]]]] = {"source": {}, "platform": {}}
        for month, row_currency, source, platform, figures in rows:
            if row_currency != currency:
                continue
            at = months.index(month)
            for kind, name in (("source", source_name(source)), ("platform", platform_name(platform))):
                values = series[kind].setdefault(
                    name, {"gross": [0] * len(months), "agency": [0] * len(months)}
                )
                values["gross"][at] += figures.gross_minor
                values["agency"][at] += figures.agency_minor
        charts.append(
            {
                "currency": currency,
                "exponent": exponent(currency),
                "months": months,
                **{
                    f"by_{kind}": [{"label": name, **values} for name, values in sorted(series[kind].items())]
                    for kind in ("source", "platform")
                },
            }
        )
    return {"charts": charts}


_MonthRow = tuple[str, str, str, str, Figures]  # month, currency, source, platform, figures


def _month_sums(
    *, agency: Agency, period: ReportPeriod, allocations: QuerySet[LineAllocation]
) -> tuple[list[_MonthRow], dict[tuple[str, str], LedgerMonth]]:
    """The period's GROUP BY month × currency × source × platform and the ledger's months, kept
    under the agency's ledger head (apps/common/rollups.py): allocations and roll-ups are only
    ever written with a new entry, so while the head stands still (an import staging its rows,
    a quiet day) every reader shares one computation: 700 ms of PostgreSQL's CPU at a million
    lines (bench/load_pages.py). Labels are not kept: each reader's language names them."""

    def compute() -> tuple[list[_MonthRow], dict[tuple[str, str], LedgerMonth]]:
        grouped = _grouped(
            allocations.annotate(month=TruncMonth("effective_date")),
            _columns(allocations),
            "month",
            "currency",
            "line__source",
            "line__platform",
        ).values_list("month", "currency", "line__source", "line__platform", *FIGURE_NAMES)
        rows = [
            (f"{month.year:04d}-{month.month:02d}", currency, source, platform, _figures(currency, values))
            for month, currency, source, platform, *values in grouped
        ]
        return rows, _ledger_months(agency=agency, period=period)

    version = ledger_version(agency_id=agency.pk)
    key = rollup_key("revenue-months", agency.pk, period.first, period.last, version)
    return rollup_cached(key, compute)


def revenue_report(*, actor: Any, agency: Agency, group: str, period: ReportPeriod) -> RevenueReport:
    """The agency's revenue by `group` for the period, with each currency's totals and the
    charts' data. Any member of the agency (another agency's people get 404 through
    report_agency_for_actor or require_agency_role). Queries: the rule sets' layouts, one
    GROUP BY month × currency × source × platform (totals, charts and the month, platform and
    source reports), and the ledger's roll-ups for the month report; the creator report adds a
    page of its own GROUP BY and its count when read. Invariant: each currency's totals are
    the sums of the rows of every report of the same period."""
    require_agency_role(actor, agency, REPORT_READERS)
    allocations = _allocations(agency=agency, period=period)
    rows, ledger = _month_sums(agency=agency, period=period, allocations=allocations)
    totals_by_currency = _by_key(rows, lambda row: "")
    currencies = sorted(currency for currency, _key in totals_by_currency)
    report_rows: list[RevenueRow] | CreatorRows
    if group == "month":
        months = _by_key(rows, lambda row: row[0])
        report_rows = [
            RevenueRow(
                key=month,
                label=month,
                figures=months.get((currency, month), Figures(currency)),
                ledger=ledger.get((month, currency), LedgerMonth()),
            )
            for currency in currencies
            for month in period.months
        ]
    elif group in ("platform", "source"):
        position, name_of = (3, platform_name) if group == "platform" else (2, source_name)
        sums = _by_key(rows, lambda row: row[position])
        report_rows = [
            RevenueRow(key=key, label=name_of(key), figures=figures)
            for (_currency, key), figures in sorted(
                sums.items(), key=lambda item: (item[0][0], -item[1].gross_minor, item[0][1])
            )
        ]
    else:
        report_rows = CreatorRows(
            _grouped(
                allocations,
                _columns(allocations),
                "creator_id",
                "creator__public_id",
                "creator__display_name",
                "currency",
            )
            .values("creator__public_id", "creator__display_name", "currency", *FIGURE_NAMES)
            .order_by("currency", "-gross", "creator__display_name", "creator_id")
        )
    return RevenueReport(
        agency=agency,
        group=group,
        period=period,
        totals=[totals_by_currency[(currency, "")] for currency in currencies],
        rows=report_rows,
        chart=_chart(period, rows, currencies),
    )
