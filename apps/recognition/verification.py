"""verify_ledger's check of recognition (registered with the ledger in apps.py).

For each contract version of the agency: every allocation, in ordinal order from 0, is
recomputed by the engine from its stored inputs and must equal what is stored; the ordinals must
run 0 … n-1 without a gap (a removed line or allocation leaves one) and n must be the engine
state's count. Then every leaf is rebuilt, and each journal entry that names lines must have
exactly the Merkle root and count of the allocations that name it; an entry whose lines are gone,
or an allocation naming an entry that does not name it, is reported.
"""

from __future__ import annotations

from collections import defaultdict

from apps.agencies.models import Agency
from apps.ledger.models import JournalEntry
from apps.recognition.leaves import allocation_leaf
from apps.recognition.merkle import merkle_root
from apps.recognition.models import EngineState, LineAllocation
from apps.recognition.replay import replay, rule_set_of_snapshot
from apps.recognition.selectors import leaf_document


def recognition_verify_agency(agency: Agency) -> tuple[dict[str, int], list[str]]:
    problems: list[str] = []
    leaves: dict[int, list[bytes]] = defaultdict(list)
    creators: dict[int, int] = {}
    counts = dict(EngineState.objects.filter(agency=agency).values_list("contract_version_id", "line_count"))
    snapshots: dict[int, tuple] = {}
    recomputed = 0
    for version_id in sorted(counts):
        first = (
            LineAllocation.objects.filter(agency=agency, contract_version_id=version_id)
            .values_list("rule_set_id", flat=True)
            .first()
        )
        if first is None:
            if counts[version_id]:
                problems.append(
                    f"contract version {version_id}: the engine state counts {counts[version_id]} allocated "
                    "lines but none is stored: allocations were removed"
                )
            continue
        rule_set, sha = rule_set_of_snapshot(first, snapshots)
        expected = 0
        for item in replay(
            agency_id=agency.pk,
            version_id=version_id,
            rule_set=rule_set,
            first=0,
            last=counts[version_id] - 1,
        ):
            stored = item.stored
            recomputed += 1
            if stored.ordinal != expected:
                problems.append(
                    f"contract version {version_id}: allocations {expected}…{stored.ordinal - 1} are missing "
                    "(a line or its allocation was removed)"
                )
            expected = stored.ordinal + 1
            if stored.rule_set_id != first:
                problems.append(f"line {stored.public_id}: its rule set snapshot differs from its version's")
            if not item.matches:
                problems.append(
                    f"line {stored.public_id}: its stored allocation {stored.amounts} (rule #{stored.rule_index}, "
                    f"gross {stored.gross}) differs from the engine's recomputation "
                    f"({item.result.error or [*item.result.deductions, *item.result.payable, item.result.recouped]})"
                )
            document = leaf_document(item, rule_set, sha, version_id, item.refund_of_public_id)
            leaves[stored.entry_id].append(allocation_leaf(document))
            creators.setdefault(stored.entry_id, stored.creator_id)
        if expected != counts[version_id]:
            problems.append(
                f"contract version {version_id}: {expected} allocations found, the engine state counts "
                f"{counts[version_id]}: allocations were removed"
            )
    stray = LineAllocation.objects.filter(agency=agency).exclude(contract_version_id__in=list(counts)).count()
    if stray:
        problems.append(f"{stray} allocations name a contract version without engine state")
    entries = 0
    for entry_id, seq, root, count, creator_id in (
        JournalEntry.objects.filter(agency=agency)
        .exclude(lines_root="")
        .values_list("pk", "seq", "lines_root", "line_count", "creator_id")
    ):
        entries += 1
        found = leaves.pop(entry_id, [])
        if len(found) != count:
            problems.append(
                f"entry #{seq}: it covers {count} lines, {len(found)} allocations name it (lines were removed)"
            )
        elif merkle_root(found).hex() != root:
            problems.append(
                f"entry #{seq}: the Merkle root of its lines' allocations differs from the one it holds"
            )
        if found and creators.get(entry_id) != creator_id:
            problems.append(f"entry #{seq}: its lines belong to another creator than the entry names")
    for entry_id in sorted(leaves):
        problems.append(
            f"{len(leaves[entry_id])} allocations name ledger entry {entry_id}, which names no lines"
        )
    return {"line allocations recomputed": recomputed, "entry roots recomputed": entries}, problems
