"""Validation of a rule set document into an immutable, precomputed RuleSet.

Everything the evaluator needs per line is computed here once: integer percents, split weights
aligned with the party order, tier bands, match sets. Any problem raises InvalidRules with the
JSON pointer of the offending value; nothing is evaluated against a rule set that failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from apps.splits.engine.iso4217 import EXPONENTS
from apps.splits.engine.money import (
    PERCENT_SCALE,
    AmountError,
    format_percent,
    parse_amount,
    parse_percent,
)

SLUG = re.compile(r"[a-z][a-z0-9_]*")
TIER_PERIODS = ("month", "quarter", "year", "contract")
CALENDAR_PERIODS = ("month", "quarter", "year")
DEFAULT_TIMEZONE = "Asia/Shanghai"
EXPENSES = "expenses"  # the reserved deduction id of capped expenses
# Names ZoneInfo loads that are no zone of the tz database: this machine's own clock (it means
# another zone, or none, on the worker that splits the income) and the placeholder "Factory".
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})

_RULE_SET_KEYS = frozenset(
    {
        "version",
        "currency",
        "timezone",
        "parties",
        "tier_period",
        "rules",
        "agency_cap",
        "recoupment",
        "minimum_guarantee",
    }
)
_RULE_KEYS = frozenset({"id", "label", "match", "deductions", "expenses", "split", "tiers"})


class InvalidRules(ValueError):
    """The rule set is invalid; `path` is the JSON pointer (RFC 6901) of the problem."""

    code = "INVALID_RULES"

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '/'}: {message}")
        self.path = path
        self.message = message


@cache
def iana_zones() -> frozenset[str]:
    """The tz database's zone names as it spells them, read once per process.

    ZoneInfo alone is not the test of a name: it loads any file under the zoneinfo folders, so
    it takes "posix/…" and "right/…" copies, "localtime", and on a case-insensitive disk
    "asia/shanghai"; a rule set naming those would be read differently, or fail, elsewhere.
    """
    return frozenset(available_timezones()) - _NOT_ZONES


def pointer(*parts: str | int) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    """One validated rule; percents in units of 0.0001 %, amounts in minor units, weights in
    party order. eq=False: rules compare by identity, as the evaluator uses them."""

    index: int
    id: str
    label: str
    sources: frozenset[str] | None
    platforms: frozenset[str] | None
    match_keys: tuple[str, ...]
    deductions: tuple[tuple[str, int], ...]
    deduction_ids: tuple[str, ...]
    expenses_cap: int | None
    expenses_label: str | None
    part_ids: tuple[str, ...]
    split: tuple[int, ...]
    tiers: tuple[tuple[int, tuple[int, ...]], ...]
    bands: tuple[tuple[int | None, int | None, tuple[int, ...]], ...]
    thresholds: tuple[int, ...]
    tier_splits: tuple[tuple[int, ...], ...]

    def matches(self, source: str, platform: str) -> bool:
        return (self.sources is None or source in self.sources) and (
            self.platforms is None or platform in self.platforms
        )


@dataclass(frozen=True, slots=True, eq=False)
class RuleSet:
    """A validated rule set. `document` is the original JSON, kept for labels and display."""

    document: dict[str, Any]
    currency: str
    exponent: int
    timezone: str
    zone: ZoneInfo
    parties: tuple[str, ...]
    creator_index: int
    agency_index: int
    tier_period: str
    rules: tuple[Rule, ...]
    agency_cap: int | None
    cap_period: str | None
    recoupment: int | None
    guarantee: int | None
    guarantee_period: str | None

    def rule(self, rule_id: str) -> Rule:
        return next(rule for rule in self.rules if rule.id == rule_id)


def _object(value: Any, path: str, allowed: frozenset[str], required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRules(path, "must be an object")
    for key in value:
        if key not in allowed:
            raise InvalidRules(path + pointer(key), f"unknown key {key!r}")
    for key in required:
        if key not in value:
            raise InvalidRules(path + pointer(key), "is required")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRules(path, "must be a non-empty string")
    return value


def _slug(value: Any, path: str) -> str:
    if not isinstance(value, str) or not SLUG.fullmatch(value):
        raise InvalidRules(path, "must be a slug: a lowercase letter, then lowercase letters, digits or _")
    return value


def _percent(value: Any, path: str) -> int:
    try:
        return parse_percent(value)
    except AmountError as error:
        raise InvalidRules(path, error.message) from None


def _amount(value: Any, path: str, exponent: int, *, positive: bool = False) -> int:
    try:
        minor = parse_amount(value, exponent)
    except AmountError as error:
        raise InvalidRules(path, error.message) from None
    if minor < 0 or (positive and minor == 0):
        raise InvalidRules(path, "must be positive" if positive else "must not be negative")
    return minor


def _period(value: Any, path: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidRules(path, f"must be one of {', '.join(choices)}")
    return value


def _split(value: Any, path: str, parties: tuple[str, ...]) -> tuple[int, ...]:
    if not isinstance(value, dict):
        raise InvalidRules(path, "must be an object of party: percent")
    for party in value:
        if party not in parties:
            raise InvalidRules(path + pointer(party), f"{party!r} is not one of the parties")
    for party in parties:
        if party not in value:
            raise InvalidRules(path, f"must name every party; {party!r} is missing")
    weights = tuple(_percent(value[party], path + pointer(party)) for party in parties)
    if sum(weights) != PERCENT_SCALE:
        raise InvalidRules(path, f"percents sum to {format_percent(sum(weights))}, not exactly 100")
    return weights


def _names(value: Any, path: str) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise InvalidRules(path, "must be a non-empty list")
    return frozenset(_string(item, path + pointer(index)) for index, item in enumerate(value))


def _rule(value: Any, index: int, parties: tuple[str, ...], exponent: int, seen: set[str]) -> Rule:
    path = pointer("rules", index)
    value = _object(value, path, _RULE_KEYS, ("id", "split"))
    rule_id = _slug(value["id"], path + "/id")
    if rule_id in seen:
        raise InvalidRules(path + "/id", f"duplicate rule id {rule_id!r}")
    seen.add(rule_id)
    label = value.get("label", rule_id)
    _string(label, path + "/label")

    match = _object(value.get("match", {}), path + "/match", frozenset({"sources", "platforms"}))
    sources = _names(match["sources"], path + "/match/sources") if "sources" in match else None
    platforms = _names(match["platforms"], path + "/match/platforms") if "platforms" in match else None

    deductions = []
    raw_deductions = value.get("deductions", [])
    if not isinstance(raw_deductions, list):
        raise InvalidRules(path + "/deductions", "must be a list")
    deduction_ids: list[str] = []
    for position, raw in enumerate(raw_deductions):
        at = path + pointer("deductions", position)
        raw = _object(raw, at, frozenset({"id", "label", "percent"}), ("id", "percent"))
        deduction_id = _slug(raw["id"], at + "/id")
        if deduction_id in parties or deduction_id == EXPENSES or deduction_id in deduction_ids:
            raise InvalidRules(at + "/id", f"{deduction_id!r} is a party, 'expenses' or a duplicate")
        _string(raw.get("label", deduction_id), at + "/label")
        deduction_ids.append(deduction_id)
        deductions.append((deduction_id, _percent(raw["percent"], at + "/percent")))

    expenses_cap = None
    expenses_label = None
    if "expenses" in value:
        raw = _object(
            value["expenses"], path + "/expenses", frozenset({"label", "cap_percent"}), ("cap_percent",)
        )
        expenses_label = _string(raw.get("label", EXPENSES), path + "/expenses/label")
        expenses_cap = _percent(raw["cap_percent"], path + "/expenses/cap_percent")

    split = _split(value["split"], path + "/split", parties)

    raw_tiers = value.get("tiers", [])
    if not isinstance(raw_tiers, list):
        raise InvalidRules(path + "/tiers", "must be a list")
    tiers: list[tuple[int, tuple[int, ...]]] = []
    for position, raw in enumerate(raw_tiers):
        at = path + pointer("tiers", position)
        raw = _object(raw, at, frozenset({"above", "split"}), ("above", "split"))
        above = _amount(raw["above"], at + "/above", exponent, positive=True)
        if tiers and above <= tiers[-1][0]:
            raise InvalidRules(at + "/above", "thresholds must be strictly ascending")
        tiers.append((above, _split(raw["split"], at + "/split", parties)))

    # Bands [low, high) of the rule's net in a tier period; None is unbounded. Below the first
    # threshold (including below zero, after refunds) the base split applies.
    thresholds = [above for above, _ in tiers]
    lows: list[int | None] = [None, *thresholds]
    highs: list[int | None] = [*thresholds, None]
    weights = [split, *(tier_split for _, tier_split in tiers)]
    bands: tuple[tuple[int | None, int | None, tuple[int, ...]], ...] = tuple(
        zip(lows, highs, weights, strict=True)
    )

    return Rule(
        index=index,
        id=rule_id,
        label=label,
        sources=sources,
        platforms=platforms,
        match_keys=tuple(key for key in ("sources", "platforms") if key in match),
        deductions=tuple(deductions),
        deduction_ids=tuple(deduction_ids),
        expenses_cap=expenses_cap,
        expenses_label=expenses_label,
        # The parts a refund reverses, in the spec's order: deductions, expenses last.
        part_ids=(*deduction_ids, EXPENSES) if expenses_cap is not None else tuple(deduction_ids),
        split=split,
        tiers=tuple(tiers),
        bands=bands,
        thresholds=tuple(thresholds),
        tier_splits=tuple(weights),
    )


def parse_rule_set(document: Any) -> RuleSet:
    """Validate a rule set document (already decoded JSON) or raise InvalidRules(path, message)."""
    document = _object(document, "", _RULE_SET_KEYS, ("version", "currency", "parties", "rules"))
    version = document["version"]
    if type(version) is not int or version != 1:
        raise InvalidRules("/version", "must be 1")
    currency = document["currency"]
    if not isinstance(currency, str) or currency not in EXPONENTS:
        raise InvalidRules("/currency", 'must be a known ISO 4217 currency code such as "CNY"')
    exponent = EXPONENTS[currency]

    timezone = _string(document.get("timezone", DEFAULT_TIMEZONE), "/timezone")
    if timezone not in iana_zones():
        raise InvalidRules("/timezone", f"{timezone!r} is not an IANA time zone such as Asia/Shanghai")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidRules(
            "/timezone", f"{timezone!r} is not an IANA time zone such as Asia/Shanghai"
        ) from None

    raw_parties = document["parties"]
    if not isinstance(raw_parties, list):
        raise InvalidRules("/parties", "must be a list of party slugs")
    parties: list[str] = []
    for index, party in enumerate(raw_parties):
        _slug(party, pointer("parties", index))
        if party in parties:
            raise InvalidRules(pointer("parties", index), f"duplicate party {party!r}")
        parties.append(party)
    for required in ("creator", "agency"):
        if required not in parties:
            raise InvalidRules("/parties", f"must include {required!r}")
    party_tuple = tuple(parties)

    tier_period = _period(document.get("tier_period", "month"), "/tier_period", TIER_PERIODS)

    raw_rules = document["rules"]
    if not isinstance(raw_rules, list) or not raw_rules:
        raise InvalidRules("/rules", "must be a non-empty list")
    seen: set[str] = set()
    rules = tuple(_rule(raw, index, party_tuple, exponent, seen) for index, raw in enumerate(raw_rules))

    agency_cap = cap_period = None
    if "agency_cap" in document:
        raw = _object(
            document["agency_cap"], "/agency_cap", frozenset({"amount", "period"}), ("amount", "period")
        )
        agency_cap = _amount(raw["amount"], "/agency_cap/amount", exponent)
        cap_period = _period(raw["period"], "/agency_cap/period", CALENDAR_PERIODS)

    recoupment = None
    if "recoupment" in document:
        raw = _object(document["recoupment"], "/recoupment", frozenset({"percent"}), ("percent",))
        recoupment = _percent(raw["percent"], "/recoupment/percent")

    guarantee = guarantee_period = None
    if "minimum_guarantee" in document:
        raw = _object(
            document["minimum_guarantee"],
            "/minimum_guarantee",
            frozenset({"amount", "period"}),
            ("amount", "period"),
        )
        guarantee = _amount(raw["amount"], "/minimum_guarantee/amount", exponent)
        guarantee_period = _period(raw["period"], "/minimum_guarantee/period", CALENDAR_PERIODS)

    return RuleSet(
        document=document,
        currency=currency,
        exponent=exponent,
        timezone=timezone,
        zone=zone,
        parties=party_tuple,
        creator_index=party_tuple.index("creator"),
        agency_index=party_tuple.index("agency"),
        tier_period=tier_period,
        rules=rules,
        agency_cap=agency_cap,
        cap_period=cap_period,
        recoupment=recoupment,
        guarantee=guarantee,
        guarantee_period=guarantee_period,
    )
