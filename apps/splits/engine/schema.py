"""JSON Schema (2020-12) of a rule set, for editors and integrations to check before sending.

The engine's validator stays the authority: a schema cannot say that a split's percents sum to
exactly 100, that a split names every declared party, that deduction ids differ from party
names, that tier thresholds ascend, or that a time zone is one of the tz database's names.
Everything else it states as the engine enforces it.
"""

from __future__ import annotations

from typing import Any

from apps.splits.engine.iso4217 import EXPONENTS

SLUG_PATTERN = "^[a-z][a-z0-9_]*$"
# 0 to 100 inclusive with at most 4 decimals (leading zeros tolerated, as the engine does).
PERCENT_PATTERN = r"^0*(?:100(?:\.0{1,4})?|[0-9]{1,2}(?:\.[0-9]{1,4})?)$"


def _amount_pattern(exponent: int) -> str:
    # At most 10^15 minor units: up to 15 - exponent digits before the point, or exactly the limit.
    if exponent == 0:
        return r"^0*(?:[0-9]{1,15}|10{15})$"
    digits = 15 - exponent
    return rf"^0*(?:[0-9]{{1,{digits}}}(?:\.[0-9]{{1,{exponent}}})?|10{{{digits}}}(?:\.0{{1,{exponent}}})?)$"


def _with_amount(pattern: str) -> dict[str, Any]:
    """The parts of a rule set that hold amounts, with the pattern of one currency's amounts."""
    amount = {"pattern": pattern}
    return {
        "properties": {
            "rules": {"items": {"properties": {"tiers": {"items": {"properties": {"above": amount}}}}}},
            "agency_cap": {"properties": {"amount": amount}},
            "minimum_guarantee": {"properties": {"amount": amount}},
        }
    }


def build_schema() -> dict[str, Any]:
    by_exponent: dict[int, list[str]] = {}
    for code, exponent in sorted(EXPONENTS.items()):
        by_exponent.setdefault(exponent, []).append(code)
    per_currency = [
        {"if": {"properties": {"currency": {"enum": codes}}}, "then": _with_amount(_amount_pattern(exponent))}
        for exponent, codes in sorted(by_exponent.items())
    ]
    calendar_period = {"enum": ["month", "quarter", "year"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://fenrun.org/schemas/split-rules-v1.json",
        "title": "Fenrun split rule set, version 1",
        "description": "See split-rules.md. Amounts are decimal strings in the rule set's currency; "
        "percents are decimal strings, 0 to 100, at most 4 decimals.",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "currency", "parties", "rules"],
        "properties": {
            "version": {"const": 1},
            "currency": {"enum": sorted(EXPONENTS)},
            "timezone": {
                "description": "An IANA zone name as the tz database spells it (the engine checks the name).",
                "type": "string",
                "minLength": 1,
                "default": "Asia/Shanghai",
            },
            "parties": {
                "type": "array",
                "items": {"$ref": "#/$defs/slug"},
                "uniqueItems": True,
                "allOf": [{"contains": {"const": "creator"}}, {"contains": {"const": "agency"}}],
            },
            "tier_period": {"enum": ["month", "quarter", "year", "contract"], "default": "month"},
            "rules": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/rule"}},
            "agency_cap": {
                "type": "object",
                "additionalProperties": False,
                "required": ["amount", "period"],
                "properties": {"amount": {"$ref": "#/$defs/amount"}, "period": calendar_period},
            },
            "recoupment": {
                "type": "object",
                "additionalProperties": False,
                "required": ["percent"],
                "properties": {"percent": {"$ref": "#/$defs/percent"}},
            },
            "minimum_guarantee": {
                "type": "object",
                "additionalProperties": False,
                "required": ["amount", "period"],
                "properties": {"amount": {"$ref": "#/$defs/amount"}, "period": calendar_period},
            },
        },
        "allOf": per_currency,
        "$defs": {
            "slug": {"type": "string", "pattern": SLUG_PATTERN},
            "label": {"type": "string", "minLength": 1},
            "percent": {"type": "string", "pattern": PERCENT_PATTERN},
            "amount": {"type": "string", "pattern": r"^[0-9]+(?:\.[0-9]+)?$"},
            "names": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
            "split": {
                "description": "Every party exactly once; the percents sum to exactly 100.",
                "type": "object",
                "required": ["creator", "agency"],
                "propertyNames": {"pattern": SLUG_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/percent"},
            },
            "rule": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "split"],
                "properties": {
                    "id": {"$ref": "#/$defs/slug"},
                    "label": {"$ref": "#/$defs/label"},
                    "match": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "sources": {"$ref": "#/$defs/names"},
                            "platforms": {"$ref": "#/$defs/names"},
                        },
                    },
                    "deductions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["id", "percent"],
                            "properties": {
                                "id": {"allOf": [{"$ref": "#/$defs/slug"}, {"not": {"const": "expenses"}}]},
                                "label": {"$ref": "#/$defs/label"},
                                "percent": {"$ref": "#/$defs/percent"},
                            },
                        },
                    },
                    "expenses": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["cap_percent"],
                        "properties": {
                            "label": {"$ref": "#/$defs/label"},
                            "cap_percent": {"$ref": "#/$defs/percent"},
                        },
                    },
                    "split": {"$ref": "#/$defs/split"},
                    "tiers": {
                        "description": "Thresholds strictly ascending and positive.",
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["above", "split"],
                            "properties": {
                                "above": {"allOf": [{"$ref": "#/$defs/amount"}, {"pattern": "[1-9]"}]},
                                "split": {"$ref": "#/$defs/split"},
                            },
                        },
                    },
                },
            },
        },
    }


RULE_SET_SCHEMA = build_schema()
