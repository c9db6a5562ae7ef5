"""A vector-shaped document in, the spec's result document out.

The document shape (names, types, unknown keys, dates with offsets) is checked first and a
problem raises InvalidDocument(path, message): a malformed request, not a result. An invalid
rule set *is* a result ({"error": "INVALID_RULES", "path": ...}), and so are line errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apps.splits.engine.evaluator import (
    CURRENCY_MISMATCH,
    INVALID_AMOUNT,
    Evaluator,
    Line,
    LineResult,
    line_error,
)
from apps.splits.engine.money import AmountError, format_amount, parse_amount
from apps.splits.engine.periods import is_period_key
from apps.splits.engine.rules import InvalidRules, RuleSet, parse_rule_set, pointer

_DOCUMENT_KEYS = frozenset({"name", "description", "rules", "initial", "lines", "close", "expect"})
_LINE_KEYS = frozenset(
    {"id", "source", "platform", "gross", "currency", "occurred_at", "refund_of", "expenses"}
)
_REQUIRED_LINE_KEYS = ("id", "source", "platform", "gross", "occurred_at")
_OPTIONAL_STRINGS = ("currency", "refund_of", "expenses")


class InvalidDocument(ValueError):
    """The document is not vector-shaped; `path` is the JSON pointer of the problem."""

    code = "INVALID_DOCUMENT"

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '/'}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class LineInput:
    """A line as the document gives it: strings, checked for shape, amounts not yet parsed."""

    id: str
    source: str
    platform: str
    gross: str
    occurred_at: datetime
    currency: str | None
    refund_of: str | None
    expenses: str | None


@dataclass
class Simulation:
    """Everything a simulation produced: the spec's document, and per line its result for traces."""

    document: dict[str, Any]
    rule_set: RuleSet | None
    results: dict[str, LineResult]
    invalid_rules: InvalidRules | None = None


def _parse_moment(text: Any, path: str) -> datetime:
    if not isinstance(text, str):
        raise InvalidDocument(path, "must be an ISO 8601 date-time string with an offset")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidDocument(path, f"{text!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidDocument(path, f"{text!r} has no UTC offset; write e.g. 2026-11-03T10:00:00+08:00")
    return moment


def parse_lines(raw_lines: Any) -> list[LineInput]:
    if not isinstance(raw_lines, list):
        raise InvalidDocument("/lines", "must be a list of lines")
    lines = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_lines):
        path = pointer("lines", index)
        if not isinstance(raw, dict):
            raise InvalidDocument(path, "must be an object")
        for key in raw:
            if key not in _LINE_KEYS:
                raise InvalidDocument(path + pointer(key), f"unknown key {key!r}")
        for key in _REQUIRED_LINE_KEYS:
            if key not in raw:
                raise InvalidDocument(path + pointer(key), "is required")
        for key in ("id", "source", "platform", "gross", *_OPTIONAL_STRINGS):
            if key in raw and (not isinstance(raw[key], str) or not raw[key]):
                raise InvalidDocument(path + pointer(key), "must be a non-empty string")
        if raw["id"] in seen:
            raise InvalidDocument(path + "/id", f"duplicate line id {raw['id']!r}")
        seen.add(raw["id"])
        lines.append(
            LineInput(
                id=raw["id"],
                source=raw["source"],
                platform=raw["platform"],
                gross=raw["gross"],
                occurred_at=_parse_moment(raw["occurred_at"], path + "/occurred_at"),
                currency=raw.get("currency"),
                refund_of=raw.get("refund_of"),
                expenses=raw.get("expenses"),
            )
        )
    return lines


def to_line(line: LineInput, rule_set: RuleSet) -> Line | LineResult:
    """Parse the amounts of a line; amounts the currency cannot hold are that line's error."""
    if line.currency is not None and line.currency != rule_set.currency:
        return line_error(line.id, CURRENCY_MISMATCH, "currency", "currency", line.currency)
    amounts = {}
    for field in ("gross", "expenses"):
        text = getattr(line, field)
        try:
            amounts[field] = 0 if text is None else parse_amount(text, rule_set.exponent)
        except AmountError as error:
            return line_error(line.id, INVALID_AMOUNT, field, error.reason, error.message)
    return Line(
        id=line.id,
        source=line.source,
        platform=line.platform,
        gross=amounts["gross"],
        occurred_at=line.occurred_at,
        currency=line.currency,
        refund_of=line.refund_of,
        expenses=amounts["expenses"],
    )


def run(document: Any) -> Simulation:
    """Simulate a vector-shaped document. Raises InvalidDocument for a malformed one."""
    if not isinstance(document, dict):
        raise InvalidDocument("", "must be a JSON object with 'rules' and 'lines'")
    for key in document:
        if key not in _DOCUMENT_KEYS:
            raise InvalidDocument(pointer(key), f"unknown key {key!r}")
    for key in ("rules", "lines"):
        if key not in document:
            raise InvalidDocument(pointer(key), "is required")
    lines = parse_lines(document["lines"])
    close = document.get("close", [])
    if not isinstance(close, list) or not all(isinstance(key, str) for key in close):
        raise InvalidDocument("/close", 'must be a list of period keys such as "2026-11"')
    initial = document.get("initial", {})
    if not isinstance(initial, dict):
        raise InvalidDocument("/initial", "must be an object")
    for key in initial:
        if key != "advance_outstanding":
            raise InvalidDocument(pointer("initial", key), f"unknown key {key!r}")

    try:
        rule_set = parse_rule_set(document["rules"])
    except InvalidRules as error:
        return Simulation({"error": InvalidRules.code, "path": error.path}, None, {}, error)

    advance = 0
    if "advance_outstanding" in initial:
        try:
            advance = parse_amount(initial["advance_outstanding"], rule_set.exponent)
        except AmountError as error:
            raise InvalidDocument("/initial/advance_outstanding", error.message) from None
        if advance < 0:
            raise InvalidDocument("/initial/advance_outstanding", "must not be negative")
    if rule_set.guarantee_period is not None:
        for index, key in enumerate(close):
            if not is_period_key(key, rule_set.guarantee_period):
                raise InvalidDocument(
                    pointer("close", index), f"{key!r} is not a {rule_set.guarantee_period} period key"
                )

    evaluator = Evaluator(rule_set, advance_outstanding=advance)
    results: dict[str, LineResult] = {}
    for line_input in lines:
        line = to_line(line_input, rule_set)
        results[line_input.id] = line if isinstance(line, LineResult) else evaluator.evaluate(line)

    exponent = rule_set.exponent
    output: dict[str, Any] = {
        "lines": {line_id: result.as_json(rule_set) for line_id, result in results.items()},
        "advance_outstanding": format_amount(evaluator.advance_outstanding, exponent),
    }
    if rule_set.guarantee is not None:
        closing = {}
        for key in sorted(set(evaluator.creator_share) | set(close)):
            creator_total, top_up = evaluator.close_period(key)
            closing[key] = {
                "creator_total": format_amount(creator_total, exponent),
                "top_up": format_amount(top_up, exponent),
            }
        output["period_close"] = closing
    return Simulation(output, rule_set, results)


def simulate(document: Any) -> dict[str, Any]:
    """The spec's result document for a vector-shaped document (its `expect` is ignored)."""
    return run(document).document
