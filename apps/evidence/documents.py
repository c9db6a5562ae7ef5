"""A contract version's allocations as the leaf documents their Merkle leaves hash.

Read in ordinal order (the engine's) over recognition's unique index (agency, version, ordinal),
in chunks; each allocation's document is built by recognition's own functions (leaf_document,
canonical_bytes), the ones its batch, verification and the proof page use, so a bundle's leaf is
byte for byte the leaf the entry's root was computed over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from apps.recognition.batch import originals_of
from apps.recognition.leaves import canonical_bytes
from apps.recognition.models import LineAllocation
from apps.recognition.replay import StoredAllocation, with_line_facts
from apps.recognition.selectors import leaf_document
from apps.splits.engine import RuleSet

# recognition.replay.ALLOCATION_COLUMNS, as model fields (StoredAllocation.from_row's order).
ALLOCATION_FIELDS = (
    "line_id",
    "ordinal",
    "rule_index",
    "gross_minor",
    "expenses_claimed_minor",
    "advance_before_minor",
    "amounts_minor",
    "currency",
    "entry_id",
    "rule_set_id",
    "engine_version",
    "original_gross_minor",
    "original_currency",
    "fx_rate",
    "fx_source",
    "fx_date",
    "effective_date",
    "refund_of_line_id",
    "creator_id",
)

Allocation = tuple[int, StoredAllocation]  # (contract version id, the stored allocation)


def allocation_rows(*, agency_id: int, version_id: int, chunk: int) -> Iterator[list[Allocation]]:
    """The version's allocations from ordinal 0, a chunk at a time. A row whose income line is
    gone is left out (the bundle's replay then reports the gap; verify_ledger names the line)."""
    after = -1
    while True:
        rows = list(
            LineAllocation.objects.filter(
                agency_id=agency_id, contract_version_id=version_id, ordinal__gt=after
            )
            .order_by("ordinal")
            .values_list(*ALLOCATION_FIELDS)[:chunk]
        )
        if not rows:
            return
        after = rows[-1][1]
        yield [
            (version_id, StoredAllocation.from_row(row)) for row in with_line_facts(rows, keep_missing=False)
        ]
        if len(rows) < chunk:
            return


def allocations_of_lines(*, agency_id: int, line_ids: list[int]) -> list[Allocation]:
    """The allocations of these lines (any versions), for comparing a bundle with the live rows."""
    rows = list(
        LineAllocation.objects.filter(agency_id=agency_id, line_id__in=line_ids)
        .order_by("contract_version_id", "ordinal")
        .values_list("contract_version_id", *ALLOCATION_FIELDS)
    )
    return [
        (row[0], StoredAllocation.from_row(row[1:]))
        for row in with_line_facts(rows, offset=1, keep_missing=False)
    ]


def stored_documents(
    rows: list[Allocation], *, rule_sets: Callable[[int], tuple[RuleSet, str]]
) -> Iterator[tuple[StoredAllocation, dict[str, Any], bytes]]:
    """(allocation, leaf document, its canonical bytes) of each (version id, allocation);
    `rule_sets` gives a snapshot's (rule set, sha256)."""
    originals = originals_of({row.refund_of_id for _version, row in rows if row.refund_of_id is not None})
    for version_id, stored in rows:
        rule_set, sha = rule_sets(stored.rule_set_id)
        original = originals.get(stored.refund_of_id) if stored.refund_of_id is not None else None
        document = leaf_document(
            stored, rule_set, sha, version_id, original.public_id if original is not None else None
        )
        yield stored, document, canonical_bytes(document)
