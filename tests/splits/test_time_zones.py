"""A rule set's time zone is an IANA zone name, exactly as the tz database spells it.

ZoneInfo alone is not that test: it loads any file under the zoneinfo directories, so it took
"localtime" (whatever this server's clock is set to), "posix/…" and "right/…" copies, and on a
case-insensitive disk "asia/shanghai" — names that mean another zone, or nothing, on the worker
that later splits the contract's income.
"""

from __future__ import annotations

import copy

import pytest

from apps.splits.engine import InvalidRules, parse_rule_set, simulate

RULES = {
    "version": 1,
    "currency": "CNY",
    "parties": ["creator", "agency"],
    "rules": [{"id": "all", "split": {"creator": "70", "agency": "30"}}],
}
LINE = {
    "id": "L1",
    "source": "brand_deal",
    "platform": "douyin",
    "gross": "100.00",
    "occurred_at": "2026-11-03T10:00:00+08:00",
}


def with_zone(zone: object) -> dict:
    return {**copy.deepcopy(RULES), "timezone": zone}


@pytest.mark.parametrize(
    "zone",
    [
        "localtime",
        "Factory",
        "posix/Asia/Shanghai",
        "right/UTC",
        "posixrules",
        "Mars/Olympus",
        "asia/shanghai",
        "Asia/Shanghai ",
        "Asia/../Asia/Shanghai",
        "zone.tab",
        "",
        8,
    ],
)
def test_a_name_that_is_not_an_iana_zone_is_invalid_rules_at_timezone(zone) -> None:
    with pytest.raises(InvalidRules) as raised:
        parse_rule_set(with_zone(zone))
    assert raised.value.path == "/timezone"
    assert simulate({"rules": with_zone(zone), "lines": [LINE]}) == {
        "error": "INVALID_RULES",
        "path": "/timezone",
    }


@pytest.mark.parametrize(
    "zone", ["Asia/Shanghai", "Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires", "Etc/GMT-8"]
)
def test_iana_zones_are_accepted(zone) -> None:
    assert parse_rule_set(with_zone(zone)).timezone == zone
