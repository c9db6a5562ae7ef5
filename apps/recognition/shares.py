"""The creator's share of recognised lines, read in sets (issue 14): a page of the income list,
the totals of a filtered set of lines, and one creator's months by source and platform.

An allocation keeps its amounts in one array: the deductions in its rule's part order, the
payables in the rule set's party order, then what was recouped (models.py). Where the creator's
payable sits depends on the rule (how many parts come first) and on the rule set (the creator's
place among its parties), so each read first learns the positions for the rule sets involved (one
query for their snapshots, each parsed once per content hash and process), then lets PostgreSQL
pick that element with a CASE inside one grouped query: no allocation is decoded in Python to be
summed, and the number of queries does not depend on the number of lines.

The creator's share here is what the ledger credits to the creator's payable for a line: after
deductions, expenses, tiers and the agency cap, and after the advance recouped from it (the
statements' "income share"). Callers scope the lines or the creator first (income's selectors,
tenancy); nothing here widens what anyone sees.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import BigIntegerField, Case, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Cast, TruncMonth

from apps.common.rollups import rollup_cached, rollup_key
from apps.common.tenancy import scope_for
from apps.income.models import IncomeLine
from apps.ledger.selectors import creator_ledger_version
from apps.recognition.models import LineAllocation, RuleSetSnapshot
from apps.splits.engine import parse_rule_set

# sha256 of a rule set document -> the creator's payable's index in amounts_minor, per rule index.
# Content-addressed, so never stale: a snapshot's document is its hash (and never updated).
_POSITIONS: dict[str, tuple[int, ...]] = {}
_POSITIONS_KEPT = 10_000  # rule sets per process before the cache starts again


def _positions_of(sha256: str, document: dict[str, Any]) -> tuple[int, ...]:
    positions = _POSITIONS.get(sha256)
    if positions is None:
        rule_set = parse_rule_set(document)
        positions = tuple(len(rule.part_ids) + rule_set.creator_index for rule in rule_set.rules)
        if len(_POSITIONS) >= _POSITIONS_KEPT:
            _POSITIONS.clear()
        _POSITIONS[sha256] = positions
    return positions


@dataclass(frozen=True)
class SharePositions:
    """Where the creator's payable is in amounts_minor, per (rule set snapshot id, rule index)."""

    by_rule: dict[tuple[int, int], int]

    def share_of(self, allocation: LineAllocation) -> int:
        return int(allocation.amounts_minor[self.by_rule[(allocation.rule_set_id, allocation.rule_index)]])

    def expression(self, prefix: str = "") -> Any:
        """The creator's payable of an allocation as SQL (`prefix`: the path from the queried
        model to the allocation, e.g. "allocation__"); one WHEN per distinct position."""
        conditions: dict[int, Q] = {}
        for (snapshot_id, rule_index), position in self.by_rule.items():
            condition = Q(**{f"{prefix}rule_set_id": snapshot_id, f"{prefix}rule_index": rule_index})
            conditions[position] = conditions[position] | condition if position in conditions else condition
        if not conditions:  # no recognised line: a typed NULL (SUM of a bare NULL is ambiguous)
            return Cast(Value(None), output_field=BigIntegerField())
        return Case(
            *[
                When(condition, then=F(f"{prefix}amounts_minor__{position}"))
                for position, condition in sorted(conditions.items())
            ],
            output_field=BigIntegerField(),
        )


def share_positions(*, snapshots: QuerySet[RuleSetSnapshot]) -> SharePositions:
    """The positions for every rule of these snapshots: one query."""
    by_rule: dict[tuple[int, int], int] = {}
    for snapshot_id, sha256, document in snapshots.order_by().values_list("pk", "sha256", "document"):
        for rule_index, position in enumerate(_positions_of(sha256, document)):
            by_rule[(snapshot_id, rule_index)] = position
    return SharePositions(by_rule=by_rule)


# --- the income list: a page of lines and the totals of the filtered set ---------------------------


@dataclass(frozen=True)
class Total:
    currency: str
    amount_minor: int
    line_count: int


@dataclass(frozen=True)
class LineShares:
    """The creator's payable of each recognised line of a page ({line id: (amount, currency)},
    in the rule set's currency), and when asked the totals of the whole filtered set: the gross in
    each line currency (every line) and the creator's share in each rule set currency (recognised
    lines)."""

    shares: dict[int, tuple[int, str]]
    gross_totals: list[Total] | None = None
    share_totals: list[Total] | None = None


def _allocation(line: IncomeLine) -> LineAllocation | None:
    return line.allocation if line.is_recognised else None  # type: ignore[attr-defined]


def line_shares(*, page: Iterable[IncomeLine], lines: QuerySet[IncomeLine] | None = None) -> LineShares:
    """The shares of `page` (lines read with their allocation, as income's list selector does)
    and, when `lines` is given, the totals of that filtered set: two queries with the totals
    (the snapshots the set uses; one grouped sum), one without."""
    page = list(page)
    if lines is not None:
        snapshot_ids: Any = (
            lines.filter(allocation__isnull=False).order_by().values("allocation__rule_set_id")
        )
    else:
        snapshot_ids = sorted({a.rule_set_id for line in page if (a := _allocation(line)) is not None})
    positions = share_positions(snapshots=RuleSetSnapshot.objects.filter(pk__in=snapshot_ids))
    shares = {
        line.pk: (positions.share_of(allocation), allocation.currency)
        for line in page
        if (allocation := _allocation(line)) is not None
    }
    if lines is None:
        return LineShares(shares=shares)
    rows = (
        lines.order_by()
        .values("currency", "allocation__currency")
        .annotate(
            gross=Sum("gross_minor"),
            share=Sum(positions.expression("allocation__")),
            count=Count("pk"),
            recognised=Count("allocation"),
        )
        .values_list("currency", "allocation__currency", "gross", "share", "count", "recognised")
    )
    gross: dict[str, list[int]] = {}
    share: dict[str, list[int]] = {}
    for line_currency, share_currency, gross_minor, share_minor, count, recognised in rows:
        into = gross.setdefault(line_currency, [0, 0])
        into[0] += int(gross_minor or 0)
        into[1] += count
        if share_currency is not None:
            into = share.setdefault(share_currency, [0, 0])
            into[0] += int(share_minor or 0)
            into[1] += recognised
    return LineShares(
        shares=shares,
        gross_totals=[Total(currency, amount, count) for currency, (amount, count) in sorted(gross.items())],
        share_totals=[Total(currency, amount, count) for currency, (amount, count) in sorted(share.items())],
    )


# --- the creator's months -----------------------------------------------------------------------


@dataclass(frozen=True)
class MonthShare:
    """A creator's recognised income of one month (by ledger day), one source and one platform,
    in one currency: the gross the splits worked on and the creator's share of it."""

    period: str  # "2026-11"
    currency: str
    source: str
    platform: str
    gross_minor: int
    share_minor: int
    line_count: int


def creator_month_shares_for_actor(
    *, actor: Any, first: datetime.date, last: datetime.date, ledger_version: int | None = None
) -> list[MonthShare]:
    """The actor's own income as a creator from `first` to `last` (ledger days, inclusive), per
    month, currency, source and platform; [] for someone who is not a creator.

    Why it stays fast at 10 million postings: it never reads the ledger's postings (the share is
    on the allocation), and both queries (the snapshots used, then one GROUP BY) read only this
    creator's allocations of those months through the (creator, effective_date) index, each
    joined to its line by primary key for the source and platform. The cost follows the
    creator's own lines in the window, not the size of the tables or the number of creators
    (bench/creator_pages.py measures it)."""
    creator_id = scope_for(actor).creator_id
    if creator_id is None:
        return []
    # Kept under the number of the creator's ledger entries (a new one commits with every
    # allocation of theirs): the home's two queries become one count while nothing was posted.
    # `ledger_version`: the caller's reading of creator_ledger_version for this creator.
    version = creator_ledger_version(creator_id=creator_id) if ledger_version is None else ledger_version
    key = rollup_key("creator-months", creator_id, first.isoformat(), last.isoformat(), version)
    return rollup_cached(key, lambda: _creator_month_shares(creator_id, first, last))


def _creator_month_shares(creator_id: int, first: datetime.date, last: datetime.date) -> list[MonthShare]:
    allocations = LineAllocation.objects.filter(
        creator_id=creator_id, effective_date__gte=first, effective_date__lte=last
    )
    positions = share_positions(
        snapshots=RuleSetSnapshot.objects.filter(pk__in=allocations.order_by().values("rule_set_id"))
    )
    rows = (
        allocations.annotate(month=TruncMonth("effective_date"))
        .order_by()
        .values("month", "currency", "line__source", "line__platform")
        .annotate(gross=Sum("gross_minor"), share=Sum(positions.expression()), count=Count("pk"))
        .values_list("month", "currency", "line__source", "line__platform", "gross", "share", "count")
    )
    return sorted(
        (
            MonthShare(
                period=f"{month.year:04d}-{month.month:02d}",
                currency=currency,
                source=source,
                platform=platform,
                gross_minor=int(gross or 0),
                share_minor=int(share or 0),
                line_count=count,
            )
            for month, currency, source, platform, gross, share, count in rows
        ),
        key=lambda row: (row.period, row.currency, row.source, row.platform),
    )
