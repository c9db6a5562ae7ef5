"""verify_ledger's check of recognition (registered with the ledger in apps.py).

For each contract version of the agency: every allocation, in ordinal order from 0, is
recomputed by the engine from its stored inputs and must equal what is stored; the ordinals must
run 0 … n-1 without a gap (a removed allocation leaves one), n must be the engine state's count,
and each allocation's income line must still exist. Then every leaf is rebuilt, and each journal
entry that names lines must have exactly the Merkle root and count of the allocations that name
it; an entry whose lines are gone, or an allocation naming an entry that does not name it, is
reported.

One pass over each version's allocations in ordinal order, read in chunks over their unique index
(agency, version, ordinal) with the version fixed: a range of one version whatever the table's
statistics say (a keyset over (version, ordinal) across versions was planned as a scan of
everything after the key on a table not yet analysed, once per chunk). Allocations of a version
without engine state are found by one anti-join.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import connection

from apps.agencies.models import Agency
from apps.ledger.models import JournalEntry
from apps.recognition.batch import originals_of, remember_original, rule_set_sha256
from apps.recognition.leaves import LeafWriter
from apps.recognition.merkle import merkle_root
from apps.recognition.models import EngineState, LineAllocation, RuleSetSnapshot
from apps.recognition.replay import (
    ALLOCATION_COLUMNS,
    StoredAllocation,
    rule_set_of_snapshot,
    with_line_facts,
)
from apps.splits.engine import Evaluator, InvalidRules, Line, RuleSet

CHUNK = 10_000
MAX_PROBLEMS = 50

_CHUNK_SQL = f"""
    SELECT a.contract_version_id, {ALLOCATION_COLUMNS}
    FROM recognition_lineallocation a
    WHERE a.agency_id = %s AND a.contract_version_id = %s AND a.ordinal > %s
    ORDER BY a.ordinal
    LIMIT %s
"""  # noqa: S608 (a constant column list)


class _Version:
    """One contract version's pass: its engine, its leaf writer, where its ordinals stand."""

    def __init__(self, version_id: int, rule_set: RuleSet | None, sha: str, snapshot_id: int) -> None:
        self.version_id = version_id
        self.snapshot_id = snapshot_id
        self.evaluator = Evaluator(rule_set) if rule_set is not None else None
        self.writers: dict[int, LeafWriter] = {}
        self.rule_set, self.sha = rule_set, sha
        self.expected = 0

    def writer(self, engine_version: int) -> LeafWriter:
        writer = self.writers.get(engine_version)
        if writer is None:
            assert self.rule_set is not None
            writer = self.writers[engine_version] = LeafWriter(
                rule_set=self.rule_set,
                rule_set_sha256=self.sha,
                contract_version_id=self.version_id,
                engine_version=engine_version,
            )
        return writer


def recognition_verify_agency(agency: Agency) -> tuple[dict[str, int], list[str]]:
    problems: list[str] = []

    def problem(text: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(text)

    counts = dict(EngineState.objects.filter(agency=agency).values_list("contract_version_id", "line_count"))
    leaves: dict[int, list[bytes]] = defaultdict(list)
    creators: dict[int, set[int]] = defaultdict(set)  # entry -> the creators its allocations name
    snapshots: dict[int, tuple[RuleSet, str]] = {}
    seen: set[int] = set()
    current: _Version | None = None
    recomputed = 0

    def finish(version: _Version | None) -> None:
        if version is None:
            return
        expected = counts.get(version.version_id)
        if expected is None:
            problem(f"contract version {version.version_id}: allocations without an engine state")
        elif version.expected != expected:
            problem(
                f"contract version {version.version_id}: {version.expected} allocations found, the engine "
                f"state counts {expected}: allocations were removed"
            )

    for rows in _chunks(agency.pk, sorted(counts)):
        originals = originals_of({row[23] for row in rows if row[23] is not None})
        for row in rows:
            version_id = row[0]
            stored = StoredAllocation.from_row(row[1:])
            if current is None or current.version_id != version_id:
                finish(current)
                seen.add(version_id)
                snapshot = _snapshot(stored.rule_set_id, snapshots)
                if snapshot is None:
                    problem(
                        f"contract version {version_id}: its rule set snapshot {stored.rule_set_id} is missing, "
                        "no longer parses or no longer matches its hash: its lines cannot be recomputed"
                    )
                current = _Version(
                    version_id,
                    snapshot[0] if snapshot else None,
                    snapshot[1] if snapshot else "",
                    stored.rule_set_id,
                )
            if current.rule_set is None:
                current.expected = stored.ordinal + 1
                leaves[stored.entry_id].append(b"")  # counts, and can never match a root
                continue
            recomputed += 1
            if stored.ordinal != current.expected:
                problem(
                    f"contract version {version_id}: allocations {current.expected}…{stored.ordinal - 1} are "
                    "missing (a line's allocation was removed)"
                )
            current.expected = stored.ordinal + 1
            if stored.public_id is None:
                problem(f"allocation of line {stored.line_id}: the income line is gone (a line was removed)")
                leaves[stored.entry_id].append(b"")  # counts, and can never match a root
                continue
            if stored.rule_set_id != current.snapshot_id:
                problem(f"line {stored.public_id}: its rule set snapshot differs from its version's")
            _check(current, stored, originals, problem)
            original = originals.get(stored.refund_of_id) if stored.refund_of_id is not None else None
            leaves[stored.entry_id].append(
                current.writer(stored.engine_version).leaf(
                    line_public_id=stored.public_id,
                    platform=stored.platform,
                    external_id=stored.external_id,
                    source=stored.source,
                    occurred_at=stored.occurred_at,
                    refund_of_public_id=original.public_id if original is not None else None,
                    ordinal=stored.ordinal,
                    rule_index=stored.rule_index,
                    gross=stored.gross,
                    expenses_claimed=stored.expenses,
                    advance_before=stored.advance_before,
                    amounts=tuple(stored.amounts),
                    original_gross=stored.original_gross,
                    original_currency=stored.original_currency,
                    fx_rate=stored.fx_rate,
                    fx_date=stored.fx_date,
                    fx_source=stored.fx_source,
                    effective_date=stored.effective_date,
                )
            )
            creators[stored.entry_id].add(stored.creator_id)
    finish(current)
    stray = (
        LineAllocation.objects.filter(agency=agency)
        .exclude(contract_version_id__in=list(counts))
        .values_list("contract_version_id", flat=True)
        .distinct()
    )
    for version_id in stray:
        problem(f"contract version {version_id}: allocations without an engine state")
    for version_id in sorted(set(counts) - seen):
        if counts[version_id]:
            problem(
                f"contract version {version_id}: the engine state counts {counts[version_id]} allocated lines "
                "but none is stored: allocations were removed"
            )
    entries = 0
    for entry_id, seq, root, count, creator_id in (
        JournalEntry.objects.filter(agency=agency)
        .exclude(lines_root="")
        .values_list("pk", "seq", "lines_root", "line_count", "creator_id")
        .iterator(chunk_size=CHUNK)
    ):
        entries += 1
        found = leaves.pop(entry_id, [])
        if len(found) != count:
            problem(
                f"entry #{seq}: it covers {count} lines, {len(found)} allocations name it (lines were removed)"
            )
        elif merkle_root(found).hex() != root:
            problem(f"entry #{seq}: the Merkle root of its lines' allocations differs from the one it holds")
        if found and creators.get(entry_id, {creator_id}) != {creator_id}:
            problem(f"entry #{seq}: its lines belong to another creator than the entry names")
    for entry_id in sorted(leaves):
        problem(f"{len(leaves[entry_id])} allocations name ledger entry {entry_id}, which names no lines")
    return {"line allocations recomputed": recomputed, "entry roots recomputed": entries}, problems


def _chunks(agency_id: int, version_ids: list[int]) -> Any:
    for version_id in version_ids:
        after = -1
        while True:
            with connection.cursor() as cursor:
                cursor.execute(_CHUNK_SQL, [agency_id, version_id, after, CHUNK])
                rows = cursor.fetchall()
            if not rows:
                break
            yield with_line_facts(rows, offset=1, keep_missing=True)
            after = rows[-1][2]
            if len(rows) < CHUNK:
                break


def _snapshot(snapshot_id: int, cache: dict[int, tuple[RuleSet, str]]) -> tuple[RuleSet, str] | None:
    """The snapshot's rule set and hash, or None when it is gone, does not parse, or its document
    no longer hashes to its sha256 (a rewritten snapshot)."""
    try:
        rule_set, sha = rule_set_of_snapshot(snapshot_id, cache)
    except (RuleSetSnapshot.DoesNotExist, InvalidRules):
        return None
    if rule_set_sha256(rule_set.document) != sha:
        return None
    return rule_set, sha


def _check(version: _Version, stored: StoredAllocation, originals: dict[int, Any], problem: Any) -> None:
    """Evaluate the stored line with the version's engine and compare with what is stored."""
    evaluator = version.evaluator
    assert evaluator is not None
    original = originals.get(stored.refund_of_id) if stored.refund_of_id is not None else None
    refund_of = f"{original.platform}:{original.external_id}" if original is not None else None
    if original is not None and original.allocated and refund_of and not evaluator.knows_original(refund_of):
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
    if (
        result.error is not None
        or result.rule is None
        or result.rule.index != stored.rule_index
        or [*result.deductions, *result.payable, result.recouped] != stored.amounts
    ):
        got = result.error or [*result.deductions, *result.payable, result.recouped]
        problem(
            f"line {stored.public_id}: its stored allocation {stored.amounts} (rule #{stored.rule_index}, gross "
            f"{stored.gross}) differs from the engine's recomputation ({got})"
        )
