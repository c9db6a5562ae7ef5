"""The published JSON Schema agrees with the engine's validator wherever a schema can speak."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from apps.splits.engine import RULE_SET_SCHEMA, InvalidRules, parse_rule_set

VALIDATOR = jsonschema.Draft202012Validator(RULE_SET_SCHEMA)


def test_schema_is_a_valid_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(RULE_SET_SCHEMA)


def test_schema_accepts_every_valid_vector_rule_set_and_rejects_the_structurally_invalid(
    vector_path, load_vector
):
    vector = load_vector(vector_path)
    rules = vector["rules"]
    errors = list(VALIDATOR.iter_errors(rules))
    if "error" not in vector["expect"]:
        assert errors == []
        return
    # A schema cannot sum percents or compare thresholds: for those the engine is the authority.
    with pytest.raises(InvalidRules):
        parse_rule_set(rules)


BASE = {
    "version": 1,
    "currency": "CNY",
    "parties": ["creator", "agency"],
    "rules": [{"id": "all", "split": {"creator": "70", "agency": "30"}}],
}


def variant(path: list, value) -> dict:
    document = copy.deepcopy(BASE)
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize(
    "document",
    [
        variant(["rules", 0, "split", "creator"], 70),
        variant(["rules", 0, "split", "creator"], "70.00001"),
        variant(["rules", 0, "split", "creator"], "100.5"),
        variant(["rules", 0, "splitt"], {}),
        variant(["version"], 2),
        variant(["currency"], "XYZ"),
        variant(["parties"], ["creator"]),
        variant(["parties"], ["creator", "agency", "Editor"]),
        variant(["rules"], []),
        variant(["tier_period"], "week"),
        variant(["agency_cap"], {"amount": "10000000000000.01", "period": "month"}),
        variant(["agency_cap"], {"amount": "1.001", "period": "month"}),
        variant(["minimum_guarantee"], {"amount": "5000", "period": "contract"}),
        variant(["rules", 0, "deductions"], [{"id": "expenses", "percent": "5"}]),
        variant(["rules", 0, "tiers"], [{"above": "0.00", "split": {"creator": "70", "agency": "30"}}]),
        {**copy.deepcopy(BASE), "currency": "JPY", "agency_cap": {"amount": "10.5", "period": "month"}},
    ],
)
def test_schema_and_engine_both_reject(document):
    assert list(VALIDATOR.iter_errors(document)), "the schema accepted it"
    with pytest.raises(InvalidRules):
        parse_rule_set(document)


def test_schema_and_engine_both_accept_a_full_rule_set():
    document = {
        **copy.deepcopy(BASE),
        "timezone": "Europe/Berlin",
        "tier_period": "contract",
        "agency_cap": {"amount": "50000.00", "period": "quarter"},
        "recoupment": {"percent": "33.3333"},
        "minimum_guarantee": {"amount": "5000", "period": "year"},
    }
    document["rules"][0].update(
        match={"sources": ["brand_deal"], "platforms": ["douyin"]},
        deductions=[{"id": "platform_fee", "label": "Fee", "percent": "0.0001"}],
        expenses={"label": "Costs", "cap_percent": "100"},
        tiers=[{"above": "0.01", "split": {"creator": "80", "agency": "20"}}],
    )
    assert list(VALIDATOR.iter_errors(document)) == []
    parse_rule_set(document)


@pytest.mark.parametrize(
    ("currency", "limit"),
    [("CNY", "10000000000000.00"), ("JPY", "1000000000000000"), ("KWD", "1000000000000")],
)
def test_schema_and_engine_agree_on_the_largest_amount(currency, limit):
    at_limit = {
        **copy.deepcopy(BASE),
        "currency": currency,
        "agency_cap": {"amount": limit, "period": "month"},
    }
    assert list(VALIDATOR.iter_errors(at_limit)) == []
    parse_rule_set(at_limit)
    over = copy.deepcopy(at_limit)
    over["agency_cap"]["amount"] = limit[:-1] + "1"
    assert list(VALIDATOR.iter_errors(over))
    with pytest.raises(InvalidRules):
        parse_rule_set(over)
