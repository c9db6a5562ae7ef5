"""Recompute allocations with the engine from what was stored: explanations and verification.

A version's lines were evaluated in ordinal order by one engine state that moved from line to
line. To recompute line n, start from the latest checkpoint at or before n (or from the empty
state at 0), and evaluate the version's allocations from there up to n, each with its stored
inputs: the line's own fields, the allocation's gross (converted), expenses offered and
outstanding advance, and for a refund of an original the state does not hold, that original's
allocation. The engine is deterministic, so every recomputed result must equal the stored one.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

from django.db import connection

from apps.income.selectors import income_line_facts_many
from apps.recognition.batch import originals_of, remember_original
from apps.recognition.models import StateCheckpoint
from apps.splits.engine import Evaluator, Line, LineResult, RuleSet, parse_rule_set

# An allocation's own columns in StoredAllocation's order, but for the five facts of its line
# (public id, platform, external id, source, moment), which income's selector gives and
# with_line_facts puts in their place (after the 17th column).
ALLOCATION_COLUMNS = """
    a.line_id, a.ordinal, a.rule_index, a.gross_minor, a.expenses_claimed_minor, a.advance_before_minor,
    a.amounts_minor, a.currency, a.entry_id, a.rule_set_id, a.engine_version, a.original_gross_minor,
    a.original_currency, a.fx_rate, a.fx_source, a.fx_date, a.effective_date, a.refund_of_line_id, a.creator_id
"""
_FACTS_AT = 17
_NO_FACTS = (None, None, None, None, None)

_ROWS_SQL = f"""
    SELECT {ALLOCATION_COLUMNS}
    FROM recognition_lineallocation a
    WHERE a.agency_id = %s AND a.contract_version_id = %s AND a.ordinal >= %s AND a.ordinal <= %s
    ORDER BY a.ordinal
"""  # noqa: S608 (a constant column list)


def with_line_facts(
    rows: list[tuple[Any, ...]], *, offset: int = 0, keep_missing: bool
) -> list[tuple[Any, ...]]:
    """Allocation rows (ALLOCATION_COLUMNS from column `offset` on) with their lines' facts put in
    place, read from income in one query. A row whose line is gone keeps None facts when
    `keep_missing` (verification reports it), else is left out (as a join would)."""
    facts = income_line_facts_many(line_ids=[row[offset] for row in rows])
    at = offset + _FACTS_AT
    merged = []
    for row in rows:
        found = facts.get(row[offset])
        if found is None and not keep_missing:
            continue
        merged.append((*row[:at], *(found or _NO_FACTS), *row[at:]))
    return merged


@dataclass
class StoredAllocation:
    line_id: int
    ordinal: int
    rule_index: int
    gross: int
    expenses: int
    advance_before: int
    amounts: list[int]
    currency: str
    entry_id: int
    rule_set_id: int
    engine_version: int
    original_gross: int | None
    original_currency: str
    fx_rate: Any
    fx_source: str
    fx_date: datetime.date | None
    effective_date: datetime.date
    public_id: Any
    platform: str
    external_id: str
    source: str
    occurred_at: datetime.datetime
    refund_of_id: int | None
    creator_id: int

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> StoredAllocation:
        """A row of _ROWS_SQL (or verification's query), whose seventh column is the amounts array."""
        values = [*row[:6], [int(v) for v in row[6]], *row[7:]]
        return cls(**dict(zip(_STORED_FIELDS, values, strict=True)))

    @property
    def engine_id(self) -> str:
        return f"{self.platform}:{self.external_id}"


_STORED_FIELDS = tuple(field.name for field in fields(StoredAllocation))


@dataclass
class Recomputed:
    stored: StoredAllocation
    result: LineResult
    refund_of_engine_id: str | None
    refund_of_public_id: Any

    @property
    def matches(self) -> bool:
        result = self.result
        if result.error is not None or result.rule is None:
            return False
        return (
            result.rule.index == self.stored.rule_index
            and result.gross == self.stored.gross
            and [*result.deductions, *result.payable, result.recouped] == self.stored.amounts
        )


def _rows(
    agency_id: int, version_id: int, first: int, last: int, chunk: int = 5000
) -> Iterator[StoredAllocation]:
    while first <= last:
        with connection.cursor() as cursor:
            cursor.execute(_ROWS_SQL, [agency_id, version_id, first, min(last, first + chunk - 1)])
            rows = cursor.fetchall()
        for row in with_line_facts(rows, keep_missing=False):
            yield StoredAllocation.from_row(row)
        first += chunk


def rule_set_of_snapshot(snapshot_id: int, cache: dict[int, tuple[RuleSet, str]]) -> tuple[RuleSet, str]:
    """(parsed rule set, stored sha256) of a snapshot."""
    cached = cache.get(snapshot_id)
    if cached is None:
        from apps.recognition.models import RuleSetSnapshot

        snapshot = RuleSetSnapshot.objects.get(pk=snapshot_id)
        cached = cache[snapshot_id] = (parse_rule_set(snapshot.document), snapshot.sha256)
    return cached


def replay(
    *, agency_id: int, version_id: int, rule_set: RuleSet, last: int, first: int | None = None
) -> Iterator[Recomputed]:
    """Recompute the version's allocations up to ordinal `last`, yielding those from `first`
    (default: the one at `last` alone); the engine starts at the nearest checkpoint."""
    start = last if first is None else first
    checkpoint = (
        StateCheckpoint.objects.filter(
            agency_id=agency_id, contract_version_id=version_id, ordinal__lte=start
        )
        .order_by("-ordinal")
        .values_list("ordinal", "state")
        .first()
    )
    if checkpoint is None:
        evaluator, begin = Evaluator(rule_set), 0
    else:
        begin = checkpoint[0]
        state = checkpoint[1] if isinstance(checkpoint[1], dict) else json.loads(checkpoint[1])
        evaluator = Evaluator.from_state(rule_set, state)
    pending: list[StoredAllocation] = []
    for stored in _rows(agency_id, version_id, begin, last):
        pending.append(stored)
        if len(pending) >= 2000:
            yield from _evaluate(evaluator, pending, start)
            pending = []
    yield from _evaluate(evaluator, pending, start)


def _evaluate(evaluator: Evaluator, rows: list[StoredAllocation], start: int) -> Iterator[Recomputed]:
    originals = originals_of({row.refund_of_id for row in rows if row.refund_of_id is not None})
    for stored in rows:
        original = originals.get(stored.refund_of_id) if stored.refund_of_id is not None else None
        refund_of = f"{original.platform}:{original.external_id}" if original is not None else None
        if (
            original is not None
            and original.allocated
            and refund_of
            and not evaluator.knows_original(refund_of)
        ):
            remember_original(evaluator, refund_of, original)
        evaluator.advance_outstanding = stored.advance_before
        result = evaluator.evaluate(
            Line(
                id=stored.engine_id,
                source=stored.source,
                platform=stored.platform,
                gross=stored.gross,
                occurred_at=stored.occurred_at,
                currency=evaluator.rule_set.currency,
                refund_of=refund_of,
                expenses=stored.expenses,
            )
        )
        if stored.ordinal >= start:
            yield Recomputed(
                stored=stored,
                result=result,
                refund_of_engine_id=refund_of,
                refund_of_public_id=original.public_id if original is not None else None,
            )
