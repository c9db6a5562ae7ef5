"""One ISO 4217 table (apps/splits/engine/iso4217.py): the money helpers and the split engine read
the same exponents, and they are the exponents each side used before the two tables became one."""

from __future__ import annotations

import pytest

from apps.common import money
from apps.splits.engine import iso4217, parse_rule_set
from apps.splits.engine.schema import RULE_SET_SCHEMA

# The exponents apps/common/money.py listed before it read the engine's table (any other code
# it knew was 2).
COMMON_BEFORE = {
    "BHD": 3, "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0,
    "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3, "UGX": 0,
    "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip
# The engine's table before it moved to iso4217.py: every code not listed here was 2.
ENGINE_BEFORE_NOT_2 = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}


def test_every_currency_fenrun_accepts_keeps_its_exponent() -> None:
    assert iso4217.EXPONENTS.keys() >= money.KNOWN_CURRENCIES
    for currency in sorted(money.KNOWN_CURRENCIES):
        assert money.exponent(currency) == COMMON_BEFORE.get(currency, 2), currency
        assert money.exponent(currency) == iso4217.EXPONENTS[currency], currency


def test_the_engine_table_is_unchanged() -> None:
    assert len(iso4217.EXPONENTS) == 169
    for currency, places in iso4217.EXPONENTS.items():
        assert places == ENGINE_BEFORE_NOT_2.get(currency, 2), currency
    assert RULE_SET_SCHEMA["properties"]["currency"]["enum"] == sorted(iso4217.EXPONENTS)


def test_the_money_helpers_read_the_same_table_as_the_engine() -> None:
    for currency in sorted(iso4217.EXPONENTS):
        assert money.exponent(currency) == iso4217.EXPONENTS[currency], currency
        rule_set = parse_rule_set(
            {"version": 1, "currency": currency, "parties": ["creator", "agency"],
             "rules": [{"id": "all", "split": {"creator": "70", "agency": "30"}}]}
        )  # fmt: skip
        assert rule_set.exponent == money.exponent(currency), currency


@pytest.mark.parametrize(("currency", "text", "minor"), [("JPY", "1000", 1000), ("KWD", "1.234", 1234)])
def test_amounts_parse_by_the_shared_exponent(currency: str, text: str, minor: int) -> None:
    assert money.to_minor(text, currency) == minor
    assert money.to_decimal_string(minor, currency) == text


def test_a_code_iso_does_not_list_formats_with_two_decimals_as_before() -> None:
    assert "XYZ" not in iso4217.EXPONENTS
    assert money.exponent("XYZ") == 2
    assert not money.is_known_currency("XYZ")
