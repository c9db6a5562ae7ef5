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
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import lru_cache
from json.encoder import encode_basestring as _text
from operator import itemgetter
from typing import Any

from apps.recognition.merkle import leaf_hash
from apps.splits.engine import RuleSet

_Picker = Callable[[Sequence[int]], tuple[int, ...]]
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


@lru_cache(maxsize=65536)  # statement lines share their moments (a day's midnight, a month's first)
def _moment(value: datetime.datetime) -> str:
    # isoformat is strftime's "%Y-%m-%dT%H:%M:%S.%f" at half the cost for the years a line may
    # have (1899 to 2200: four digits, which strftime does not pad below 1000).
    return value.astimezone(datetime.UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


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
        self._rules: dict[int, tuple[str, _Picker, _Picker]] = {}
        self._texts: dict[str, str] = {}  # platforms and sources, encoded once

    def _rule(self, rule_index: int) -> tuple[str, _Picker, _Picker]:
        """The leaf's text for the rule with a %-placeholder for every value that changes from
        line to line, and what picks the amounts in the order the sorted keys print them."""
        cached = self._rules.get(rule_index)
        if cached is None:
            rule = self.rule_set.rules[rule_index]
            count = len(rule.part_ids)
            # Sorted by the id itself, as json's sort_keys does, then encoded.
            deductions = sorted((part, position) for position, part in enumerate(rule.part_ids))
            payable = sorted(
                (party, count + position) for position, party in enumerate(self.rule_set.parties)
            )

            def fixed(text: str) -> str:
                return text.replace("%", "%%")

            template = (
                '{"advance_before":%d,'
                + fixed(self.head)
                + '"deductions":{'
                + ",".join(f"{fixed(_text(part))}:%d" for part, _position in deductions)
                + '},"effective_date":"%s"'
                + fixed(self.engine)
                + '"expenses_claimed":%d,"external_id":%s,"fx":%s,"gross":%d,"line":"%s","occurred_at":"%s",'
                + '"ordinal":%d,"payable":{'
                + ",".join(f"{fixed(_text(party))}:%d" for party, _position in payable)
                + '},"platform":%s,"recouped":%d,"refund_of":%s,"rule":'
                + fixed(_text(rule.id))
                + fixed(self.tail)
                + "%s}"
            )
            positions = (
                [position for _part, position in deductions],
                [position for _party, position in payable],
            )
            cached = self._rules[rule_index] = (template, _picker(positions[0]), _picker(positions[1]))
        return cached

    def _text(self, value: str) -> str:
        encoded = self._texts.get(value)
        if encoded is None:
            encoded = self._texts[value] = _text(value)
        return encoded

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
        template, pick_deductions, pick_payable = self._rule(rule_index)
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
        text = template % (
            advance_before,
            *pick_deductions(amounts),
            effective_date.isoformat(),
            expenses_claimed,
            _text(external_id),
            fx,
            gross,
            line_public_id,
            _moment(occurred_at),
            ordinal,
            *pick_payable(amounts),
            self._text(platform),
            amounts[-1],
            "null" if refund_of_public_id is None else f'"{refund_of_public_id}"',
            self._text(source),
        )
        return leaf_hash(text.encode())


def _picker(positions: list[int]) -> _Picker:
    """The amounts at `positions`, in that order, as a tuple (itemgetter returns a bare value
    for one position and fails for none)."""
    if not positions:
        return lambda amounts: ()
    if len(positions) == 1:
        only = positions[0]
        return lambda amounts: (amounts[only],)
    return itemgetter(*positions)
