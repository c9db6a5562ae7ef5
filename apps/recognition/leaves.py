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
from functools import lru_cache
from json.encoder import encode_basestring as _text
from typing import Any

from apps.recognition.merkle import leaf_hash
from apps.splits.engine import RuleSet

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


@lru_cache(maxsize=65536)  # statement lines share their moments (a day's midnight, a month's first)
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


class LeafWriter:
    """The same canonical bytes as canonical_bytes(allocation_document(...)), written straight
    from the values for one contract version: a recognition batch makes one leaf per line, and
    the dict and the encoder's key sort were two thirds of a leaf's cost. The names and ids that
    do not change from line to line are encoded once; tests/recognition/ checks that both paths
    give the same bytes."""

    def __init__(
        self, *, rule_set: RuleSet, rule_set_sha256: str, contract_version_id: int, engine_version: int
    ) -> None:
        self.head = f'"contract_version":{contract_version_id},"currency":{_text(rule_set.currency)},'
        self.engine = f',"engine":{engine_version},'
        self.tail = f',"rule_set":{_text(rule_set_sha256)},"source":'
        self.rule_set = rule_set
        self._rules: dict[int, tuple[list[tuple[str, int]], list[tuple[str, int]], str]] = {}

    def _rule(self, rule_index: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]], str]:
        cached = self._rules.get(rule_index)
        if cached is None:
            rule = self.rule_set.rules[rule_index]
            count = len(rule.part_ids)
            # Sorted by the id itself, as json's sort_keys does, then encoded.
            deductions = [
                (_text(part), position)
                for part, position in sorted((p, i) for i, p in enumerate(rule.part_ids))
            ]
            payable = [
                (_text(party), count + position)
                for party, position in sorted((p, i) for i, p in enumerate(self.rule_set.parties))
            ]
            cached = self._rules[rule_index] = (deductions, payable, _text(rule.id))
        return cached

    def leaf(
        self,
        *,
        line_public_id: Any,
        platform: str,
        external_id: str,
        source: str,
        occurred_at: datetime.datetime,
        refund_of_public_id: Any,
        ordinal: int,
        rule_index: int,
        gross: int,
        expenses_claimed: int,
        advance_before: int,
        amounts: tuple[int, ...],
        original_gross: int | None,
        original_currency: str,
        fx_rate: Decimal | None,
        fx_date: datetime.date | None,
        fx_source: str,
        effective_date: datetime.date,
    ) -> bytes:
        deductions, payable, rule_id = self._rule(rule_index)
        fx = (
            "null"
            if fx_rate is None
            else (
                f'{{"date":{_text(fx_date.isoformat()) if fx_date else "null"},'
                f'"original_currency":{_text(original_currency)},'
                f'"original_gross":{"null" if original_gross is None else original_gross},'
                f'"rate":{_text(format(fx_rate.normalize(), "f"))},"source":{_text(fx_source)}}}'
            )
        )
        text = (
            f'{{"advance_before":{advance_before},{self.head}"deductions":{{'
            + ",".join(f"{key}:{amounts[position]}" for key, position in deductions)
            + f'}},"effective_date":"{effective_date.isoformat()}"{self.engine}'
            f'"expenses_claimed":{expenses_claimed},"external_id":{_text(external_id)},"fx":{fx},'
            f'"gross":{gross},"line":"{line_public_id}","occurred_at":"{_moment(occurred_at)}",'
            f'"ordinal":{ordinal},"payable":{{'
            + ",".join(f"{key}:{amounts[position]}" for key, position in payable)
            + f'}},"platform":{_text(platform)},"recouped":{amounts[-1]},'
            f'"refund_of":{"null" if refund_of_public_id is None else f"{chr(34)}{refund_of_public_id}{chr(34)}"},'
            f'"rule":{rule_id}{self.tail}{_text(source)}}}'
        )
        return leaf_hash(text.encode())
