"""Reads of recognition: a line's split explained (recomputed, never stored), its Merkle proof,
and what refunds of a line may still reverse.

Callers have already checked that the person may see the line (income selectors scope lines);
nothing here widens what they see: a creator reads their own line's allocation and the hashes
of its entry's other leaves, which reveal nothing of those lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from apps.common.money import to_decimal_string
from apps.income.models import IncomeLine
from apps.ledger.models import JournalEntry
from apps.recognition.leaves import allocation_document, allocation_leaf
from apps.recognition.merkle import merkle_proof, merkle_root, merkle_verify
from apps.recognition.models import EngineState, EntryCover, LineAllocation
from apps.recognition.replay import Recomputed, StoredAllocation, replay, rule_set_of_snapshot
from apps.splits.engine import Line, RuleSet
from apps.splits.engine.rules import Rule


def allocation_of(line: IncomeLine) -> LineAllocation | None:
    return LineAllocation.objects.filter(line_id=line.pk).first()


def leaf_document(
    item: Recomputed | StoredAllocation,
    rule_set: RuleSet,
    sha: str,
    version_id: int,
    refund_of_public_id: Any,
) -> dict[str, Any]:
    stored = item.stored if isinstance(item, Recomputed) else item
    return allocation_document(
        rule_set=rule_set,
        rule_set_sha256=sha,
        line_public_id=stored.public_id,
        platform=stored.platform,
        external_id=stored.external_id,
        source=stored.source,
        occurred_at=stored.occurred_at,
        refund_of_public_id=refund_of_public_id,
        contract_version_id=version_id,
        engine_version=stored.engine_version,
        ordinal=stored.ordinal,
        rule_index=stored.rule_index,
        gross=stored.gross,
        expenses_claimed=stored.expenses,
        advance_before=stored.advance_before,
        amounts=stored.amounts,
        original_gross=stored.original_gross,
        original_currency=stored.original_currency,
        fx_rate=stored.fx_rate,
        fx_date=stored.fx_date,
        fx_source=stored.fx_source,
        effective_date=stored.effective_date,
    )


def entry_leaves(allocation: LineAllocation, rule_set: RuleSet, sha: str) -> list[tuple[int, bytes]]:
    """(line id, leaf) of every allocation the line's entry covers, in ordinal order. The other
    lines' leaves are recomputed from their stored rows (not re-evaluated): their hashes are what
    the proof needs."""
    cover = EntryCover.objects.filter(entry_id=allocation.entry_id).first()
    first, last = (
        (cover.first_ordinal, cover.last_ordinal) if cover else (allocation.ordinal, allocation.ordinal)
    )
    from apps.recognition.batch import originals_of
    from apps.recognition.replay import _rows

    rows = [
        row
        for row in _rows(allocation.agency_id, allocation.contract_version_id, first, last)
        if row.entry_id == allocation.entry_id
    ]
    originals = originals_of({row.refund_of_id for row in rows if row.refund_of_id is not None})
    leaves = []
    for row in rows:
        original = originals.get(row.refund_of_id) if row.refund_of_id is not None else None
        document = leaf_document(
            row, rule_set, sha, allocation.contract_version_id, original.public_id if original else None
        )
        leaves.append((row.line_id, allocation_leaf(document)))
    return leaves


def posting_note(allocation: LineAllocation, line: IncomeLine) -> str:
    """Why a line counts in another month than it occurred in (its month was closed), or ''."""
    from apps.agencies.time import agency_local_date

    occurred = agency_local_date(line.agency, line.occurred_at)
    posted = allocation.effective_date
    if (occurred.year, occurred.month) == (posted.year, posted.month):
        return ""
    return _("Occurred in %(month)s, which was closed; posted in %(posted)s.") % {
        "month": f"{occurred.year:04d}-{occurred.month:02d}",
        "posted": f"{posted.year:04d}-{posted.month:02d}",
    }


def allocation_summary(allocation: LineAllocation, line: IncomeLine) -> dict[str, Any]:
    """The allocation's plain facts for pages and the API (amounts as decimal strings)."""
    return {
        "contract_version": allocation.contract_version_id,
        "gross": to_decimal_string(allocation.gross_minor, allocation.currency),
        "gross_minor": allocation.gross_minor,
        "currency": allocation.currency,
        "original_gross": None
        if allocation.original_gross_minor is None
        else to_decimal_string(allocation.original_gross_minor, allocation.original_currency),
        "original_gross_minor": allocation.original_gross_minor,
        "original_currency": allocation.original_currency,
        "fx_rate": None if allocation.fx_rate is None else format(allocation.fx_rate.normalize(), "f"),
        "fx_source": allocation.fx_source,
        "fx_date": allocation.fx_date.isoformat() if allocation.fx_date else None,
        "effective_date": allocation.effective_date.isoformat(),
        "posted_period": f"{allocation.effective_date.year:04d}-{allocation.effective_date.month:02d}",
        "posting_note": posting_note(allocation, line),
        "engine_version": allocation.engine_version,
    }


def line_split(*, line: IncomeLine) -> dict[str, Any] | None:
    """A recognised line's split and the engine's explanation, recomputed from the stored inputs,
    with the Merkle proof that its allocation is in its ledger entry. None if not recognised."""
    allocation = allocation_of(line)
    if allocation is None:
        return None
    from apps.splits.explain import explain_steps, explain_summary

    rule_set, sha = rule_set_of_snapshot(allocation.rule_set_id, {})
    recomputed = next(
        replay(
            agency_id=allocation.agency_id,
            version_id=allocation.contract_version_id,
            rule_set=rule_set,
            last=allocation.ordinal,
        ),
        None,
    )
    if recomputed is None:
        return None
    result = recomputed.result
    document = leaf_document(
        recomputed, rule_set, sha, allocation.contract_version_id, recomputed.refund_of_public_id
    )
    leaf = allocation_leaf(document)
    leaves = entry_leaves(allocation, rule_set, sha)
    hashes = [item for _line_id, item in leaves]
    index = next((position for position, (line_id, _leaf) in enumerate(leaves) if line_id == line.pk), None)
    entry = (
        JournalEntry.objects.filter(pk=allocation.entry_id)
        .only("public_id", "seq", "hash", "lines_root", "line_count")
        .first()
    )
    proof_path = merkle_proof(hashes, index) if index is not None else []
    root = bytes.fromhex(entry.lines_root) if entry is not None and entry.lines_root else b""
    return {
        "result": result.as_json(rule_set) if result.error is None else {"error": result.error},
        "summary": explain_summary(
            result, rule_set, source=line.source, platform=line.platform, viewer="creator"
        ),
        "steps": explain_steps(
            result, rule_set, source=line.source, platform=line.platform, viewer="creator"
        ),
        "currency": rule_set.currency,
        "matches_stored": recomputed.matches,
        "allocation": allocation_summary(allocation, line),
        "proof": {
            "entry": str(entry.public_id) if entry else None,
            "entry_seq": entry.seq if entry else None,
            "entry_hash": entry.hash if entry else None,
            "root": entry.lines_root if entry else None,
            "line_count": entry.line_count if entry else 0,
            "index": index,
            "leaf": leaf.hex(),
            "leaf_document": document,
            "path": [{"side": side, "hash": sibling.hex()} for side, sibling in proof_path],
            "verified": bool(root)
            and index is not None
            and merkle_verify(leaf, proof_path, root)
            and merkle_root(hashes) == root,
        },
    }


@dataclass(frozen=True)
class Refundable:
    """What refunds of a recognised positive line may still reverse, as the engine holds it."""

    rule_set: RuleSet
    rule: Rule
    unrefunded: int  # of the gross, in the rule set's minor units
    remaining: tuple[int, ...]  # deductions (rule.part_ids order), payables (party order), recouped
    engine_line: Line  # the line as the engine read it


def line_refundable(*, line: IncomeLine) -> Refundable | None:
    """A recognised positive line's refundable state: from its contract version's carried state
    if it was refunded before, else its own allocation. None for a line that is not a recognised
    positive split. Call it under the agency's recognition lock for an answer that stays true."""
    allocation = allocation_of(line)
    if allocation is None or allocation.gross_minor <= 0 or allocation.refund_of_line_id is not None:
        return None
    rule_set, _sha = rule_set_of_snapshot(allocation.rule_set_id, {})
    engine_line = Line(
        id=f"{line.platform}:{line.external_id}",
        source=line.source,
        platform=line.platform,
        gross=allocation.gross_minor,
        occurred_at=line.occurred_at,
        currency=rule_set.currency,
        expenses=allocation.expenses_claimed_minor,
    )
    state = (
        EngineState.objects.filter(pk=allocation.contract_version_id).values_list("state", flat=True).first()
    )
    carried = (state or {}).get("originals", {}).get(engine_line.id)
    if carried is not None:
        return Refundable(
            rule_set=rule_set,
            rule=rule_set.rule(carried["rule"]),
            unrefunded=int(carried["unrefunded"]),
            remaining=tuple(int(value) for value in carried["remaining"]),
            engine_line=engine_line,
        )
    return Refundable(
        rule_set=rule_set,
        rule=rule_set.rules[allocation.rule_index],
        unrefunded=allocation.gross_minor,
        remaining=tuple(int(value) for value in allocation.amounts_minor),
        engine_line=engine_line,
    )
