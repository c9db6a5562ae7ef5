"""Amounts and percents of the split rules: parsing at the edge, integer arithmetic inside.

The engine imports nothing of the project's money helpers: the algorithm is published for
anyone to re-run, so this package must stand alone. Its ISO 4217 table (iso4217.py) is the
project's one table; apps/common/money.py reads it from here.
"""

from __future__ import annotations

import re

# Larger than any real income line; such a number is a typo or an attack, and refusing it keeps
# every product in the engine (amount x percent units) well inside exact integer territory.
MAX_MINOR = 10**15
PERCENT_SCALE = 1_000_000  # 100 % in units of 0.0001 %
HALF_PERCENT = PERCENT_SCALE // 2

_AMOUNT = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?")
_PERCENT = re.compile(r"([0-9]+)(?:\.([0-9]+))?")


class AmountError(ValueError):
    """A decimal string that is not an amount of the currency; `reason` is a stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def parse_amount(text: object, exponent: int) -> int:
    """'1234.56' -> 123456 for a 2-decimal currency. Never rounds: extra decimals are an error."""
    if not isinstance(text, str):
        raise AmountError("type", 'must be a decimal string such as "1234.56"')
    # The length guard keeps int() away from megabyte-long digit strings.
    match = _AMOUNT.fullmatch(text) if len(text) <= 40 else None
    if match is None:
        raise AmountError("format", f'{text!r} is not a decimal amount such as "1234.56"')
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > exponent:
        raise AmountError("decimals", f"{text!r} has more decimals than the currency allows ({exponent})")
    minor = int(whole) * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
    if minor > MAX_MINOR:
        raise AmountError("absurd", f"{text!r} exceeds 10^15 minor units")
    return -minor if text.startswith("-") else minor


def format_amount(minor: int, exponent: int) -> str:
    """123456 -> '1234.56'; -5 -> '-0.05'; JPY 1000 -> '1000'. The spec's wire format."""
    sign = "-" if minor < 0 else ""
    if not exponent:
        return f"{sign}{abs(minor)}"
    whole, fraction = divmod(abs(minor), 10**exponent)
    return f"{sign}{whole}.{fraction:0{exponent}d}"


def parse_percent(text: object) -> int:
    """'33.3333' -> 333333 units of 0.0001 %; 0 to 100 inclusive, at most 4 decimals."""
    if not isinstance(text, str):
        raise AmountError("type", 'must be a decimal string such as "33.3333"')
    match = _PERCENT.fullmatch(text) if len(text) <= 20 else None
    if match is None:
        raise AmountError("format", f'{text!r} is not a percent such as "33.3333"')
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > 4:
        raise AmountError("decimals", f"{text!r} has more than 4 decimals")
    units = int(whole) * 10_000 + int(fraction.ljust(4, "0"))
    if units > PERCENT_SCALE:
        raise AmountError("range", f"{text!r} is more than 100")
    return units


def format_percent(units: int) -> str:
    """333333 -> '33.3333'; 700000 -> '70'; 50000 -> '5'."""
    whole, fraction = divmod(units, 10_000)
    return f"{whole}.{fraction:04d}".rstrip("0").rstrip(".") if fraction else str(whole)


def half_up(amount: int, units: int) -> int:
    """amount x percent / 100, rounded half away from zero, so half_up(-x) == -half_up(x)."""
    if amount >= 0:
        return (amount * units + HALF_PERCENT) // PERCENT_SCALE
    return -((-amount * units + HALF_PERCENT) // PERCENT_SCALE)


def allocate(
    amount: int, weights: tuple[int, ...] | list[int], total: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Largest remainder: floors of |amount| x w / total, then one minor unit each to the largest
    remainders (ties to the part listed first), then the sign of amount on every part.

    Returns the parts and the indices that received a leftover unit (the trace shows them).
    `total` is sum(weights), passed in because split weights always sum to PERCENT_SCALE.
    """
    magnitude = -amount if amount < 0 else amount
    if len(weights) == 2:
        # Two parties is the common contract; unrolled, it is a third of the general loop's cost.
        first, second = weights
        part_0, remainder_0 = divmod(magnitude * first, total)
        part_1, remainder_1 = divmod(magnitude * second, total)
        if part_0 + part_1 == magnitude:
            given: tuple[int, ...] = ()
        elif remainder_0 >= remainder_1:
            part_0 += 1
            given = (0,)
        else:
            part_1 += 1
            given = (1,)
        return ((-part_0, -part_1) if amount < 0 else (part_0, part_1)), given
    pairs = [divmod(magnitude * weight, total) for weight in weights]
    parts = [quotient for quotient, _ in pairs]
    leftover = magnitude - sum(parts)
    given = ()
    if leftover:
        # sorted() is stable, so equal remainders keep their listed order: ties go to the first.
        given = tuple(sorted(range(len(parts)), key=lambda index: pairs[index][1], reverse=True)[:leftover])
        for index in given:
            parts[index] += 1
    return tuple(-part for part in parts) if amount < 0 else tuple(parts), given
