"""The canonical bytes of a line allocation: what its Merkle leaf hashes.

One JSON object, keys sorted, no spaces, UTF-8 (the same rule as the ledger's chain). It names
the line as the creator knows it (public id, platform, external id, source, moment), the rule
set and rule it was split under, the engine inputs that are not the line's own, and every
amount, deductions and payables by name. Batch, verification and the proof page build it with
this one function, so any drift fails verification.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

from apps.recognition.merkle import leaf_hash
from apps.splits.engine import RuleSet

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _moment(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def allocation_document(
    *,
    rule_set: RuleSet,
    rule_set_sha256: str,
    line_public_id: Any,
    platform: str,
    external_id: str,
    source: str,
    occurred_at: datetime.datetime,
    refund_of_public_id: Any,
    contract_version_id: int,
    engine_version: int,
    ordinal: int,
    rule_index: int,
    gross: int,
    expenses_claimed: int,
    advance_before: int,
    amounts: list[int] | tuple[int, ...],
    original_gross: int | None,
    original_currency: str,
    fx_rate: Decimal | None,
    fx_date: datetime.date | None,
    fx_source: str,
    effective_date: datetime.date,
) -> dict[str, Any]:
    rule = rule_set.rules[rule_index]
    deduction_count = len(rule.part_ids)
    parties = rule_set.parties
    return {
        "advance_before": advance_before,
        "contract_version": contract_version_id,
        "currency": rule_set.currency,
        "deductions": dict(zip(rule.part_ids, amounts[:deduction_count], strict=True)),
        "effective_date": effective_date.isoformat(),
        "engine": engine_version,
        "expenses_claimed": expenses_claimed,
        "external_id": external_id,
        "fx": None
        if fx_rate is None
        else {
            "date": fx_date.isoformat() if fx_date else None,
            "original_currency": original_currency,
            "original_gross": original_gross,
            "rate": format(fx_rate.normalize(), "f"),
            "source": fx_source,
        },
        "gross": gross,
        "line": str(line_public_id),
        "occurred_at": _moment(occurred_at),
        "ordinal": ordinal,
        "payable": dict(zip(parties, amounts[deduction_count : deduction_count + len(parties)], strict=True)),
        "platform": platform,
        "recouped": amounts[-1],
        "refund_of": None if refund_of_public_id is None else str(refund_of_public_id),
        "rule": rule.id,
        "rule_set": rule_set_sha256,
        "source": source,
    }


def canonical_bytes(document: dict[str, Any]) -> bytes:
    return _CANONICAL(document).encode()


def allocation_leaf(document: dict[str, Any]) -> bytes:
    return leaf_hash(canonical_bytes(document))
