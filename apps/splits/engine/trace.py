"""Trace steps as JSON objects with named fields and decimal-string amounts (for the API)."""

from __future__ import annotations

from typing import Any

from apps.splits.engine.money import format_amount, format_percent
from apps.splits.engine.rules import RuleSet

# Field names of each step, after its tag, and which of them are amounts / percents.
_FIELDS = {
    "match": ("rule", "source", "platform", "matched_on"),
    "deduction": ("deduction", "base", "percent", "amount"),
    "expenses": ("claimed", "cap_percent", "cap_amount", "available", "amount"),
    "tiers": ("period", "net_so_far", "net"),
    "portion": ("band", "low", "high", "amount", "split", "shares", "rounding_units_to"),
    "cap": ("period", "cap", "agency_so_far", "room", "moved_to_creator"),
    "recoupment": ("outstanding_before", "percent", "amount"),
    "refund": ("original", "remaining_before", "parts", "rounding_units_to"),
    "error": ("code", "field", "reason", "detail"),
}
_AMOUNTS = frozenset(
    {
        "base",
        "amount",
        "claimed",
        "cap_amount",
        "available",
        "net_so_far",
        "net",
        "low",
        "high",
        "cap",
        "agency_so_far",
        "room",
        "moved_to_creator",
        "outstanding_before",
    }
)
_PERCENTS = frozenset({"percent", "cap_percent"})


def step_as_json(step: tuple, rule_set: RuleSet) -> dict[str, Any]:
    tag, *values = step
    exponent = rule_set.exponent
    parties = rule_set.parties
    out: dict[str, Any] = {"step": tag}
    for name, value in zip(_FIELDS[tag], values, strict=True):
        if name in _AMOUNTS:
            value = format_amount(value, exponent)
        elif name in _PERCENTS:
            value = format_percent(value)
        elif name in ("split",):
            value = dict(zip(parties, map(format_percent, value), strict=True))
        elif name == "shares":
            value = dict(zip(parties, (format_amount(amount, exponent) for amount in value), strict=True))
        elif name == "rounding_units_to" and tag == "portion":
            value = [parties[index] for index in value]
        elif name in ("remaining_before", "parts"):
            value = [format_amount(amount, exponent) for amount in value]
        elif name == "matched_on" or (name == "detail" and isinstance(value, tuple)):
            value = list(value)
        out[name] = value
    return out


def trace_as_json(trace: list[tuple], rule_set: RuleSet) -> list[dict[str, Any]]:
    return [step_as_json(step, rule_set) for step in trace]
