"""Money: integer minor units inside, decimal strings at the edges. Never a float.

Every conversion between a person's or a file's "1,234.56" and the integer 123456 happens
here, so that the rules (ISO 4217 exponents, no silent rounding) live in one place.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

# The exponents are the split engine's ISO 4217 table, the project's one table: the engine must
# import nothing of the project (its algorithm is published to be re-run anywhere), so the table
# lives there, in a data-only module, and the floor reads it (the one import of common above it,
# allowed by name in pyproject.toml's import-linter contract).
from apps.splits.engine.iso4217 import EXPONENTS

# The currencies Fenrun accepts for agencies, contracts, deals, statements and ledger accounts: a
# choice of the product, not a second table. Every code is in the ISO table (a test checks), so
# it has exactly one exponent.
KNOWN_CURRENCIES = frozenset(
    {
        "AED", "AUD", "BHD", "BRL", "CAD", "CHF", "CLP", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD",
        "HUF", "IDR", "ILS", "INR", "IQD", "ISK", "JOD", "JPY", "KRW", "KWD", "LYD", "MOP", "MXN",
        "MYR", "NOK", "NZD", "OMR", "PHP", "PLN", "RUB", "SAR", "SEK", "SGD", "THB", "TND", "TRY",
        "TWD", "UGX", "USD", "VND", "XAF", "XOF", "XPF", "ZAR", "BIF", "DJF", "GNF", "KMF", "PYG",
        "RWF", "UYI", "VUV",
    }
)  # fmt: skip
_SYMBOLS = {
    "CNY": "¥",
    "USD": "US$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "JP¥",
    "HKD": "HK$",
    "TWD": "NT$",
    "KRW": "₩",
}
MAX_ABS_MINOR = 10**15  # beyond any real income line; larger is a typo or an attack
# ASCII digits only. Python's \d, int() and Decimal() also take every other Unicode digit
# (full-width "１２３", Arabic-Indic "٣", Devanagari ...): an amount typed in another script is
# refused with a clear message instead of being read silently, whatever the field.
_AMOUNT = re.compile(r"^([+-]?)([0-9]+)(?:\.([0-9]+))?$", re.ASCII)
_THOUSANDS = re.compile(r"(?<=[0-9]),(?=[0-9]{3}([^0-9]|$))", re.ASCII)


class MoneyError(ValueError):
    """A decimal string that cannot be an amount of the given currency; the message says why."""


def exponent(currency: str) -> int:
    """Minor-unit exponent of an ISO 4217 currency (CNY 2, JPY 0, KWD 3); 2 for a code ISO does
    not list (only formatting reaches here with one: every write checks is_known_currency)."""
    return EXPONENTS.get(currency.upper(), 2)


def is_known_currency(currency: str) -> bool:
    return currency in KNOWN_CURRENCIES


def to_minor(text: str, currency: str, *, allow_thousands: bool = False) -> int:
    """Parse "1234.56" (or "1,234.56" when allowed) into minor units; never rounds."""
    if not isinstance(text, str):
        raise MoneyError('an amount must be a decimal string such as "1234.56"')
    cleaned = text.strip()
    if not cleaned.isascii() and any(character.isdigit() for character in cleaned):
        raise MoneyError(_("Write amounts with the digits 0-9: %(value)r.") % {"value": text[:40]})
    if allow_thousands:
        cleaned = _THOUSANDS.sub("", cleaned)
    match = _AMOUNT.fullmatch(cleaned)
    if not match:
        raise MoneyError(f"{text!r} is not a decimal amount")
    sign, whole, fraction = match.groups()
    # Refuse before int(): Python's int() of thousands of digits is slow, then raises ValueError.
    if len(whole.lstrip("0")) > 16:
        raise MoneyError(f"{text[:24]!r}… is larger than any amount Fenrun accepts")
    fraction = fraction or ""
    places = exponent(currency)
    if len(fraction) > places:
        raise MoneyError(f"{text!r} has more decimals than {currency} allows ({places})")
    minor = int(whole) * 10**places + int(fraction.ljust(places, "0") or "0")
    if abs(minor) > MAX_ABS_MINOR:
        raise MoneyError(f"{text!r} is larger than any amount Fenrun accepts")
    return -minor if sign == "-" else minor


def to_decimal_string(minor: int, currency: str) -> str:
    """123456 CNY -> "1234.56"; -5 CNY -> "-0.05"; 1000 JPY -> "1000"."""
    places = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**places)
    return f"{sign}{whole}.{fraction:0{places}d}" if places else f"{sign}{whole}"


def format_money(minor: int, currency: str) -> str:
    """For people: ¥1,234.56, US$312.77, -¥20.00."""
    text = to_decimal_string(abs(minor), currency)
    whole, _, fraction = text.partition(".")
    grouped = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
    symbol = _SYMBOLS.get(currency.upper(), f"{currency.upper()} ")
    return f"{'-' if minor < 0 else ''}{symbol}{grouped}"
