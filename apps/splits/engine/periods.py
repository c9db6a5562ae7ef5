"""Calendar periods of a moment, read in the rule set's time zone: '2026-11', '2026-Q4', '2026'."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

CONTRACT = "contract"
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)
_KEY_PATTERNS = {
    "month": re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])"),
    "quarter": re.compile(r"[0-9]{4}-Q[1-4]"),
    "year": re.compile(r"[0-9]{4}"),
    CONTRACT: re.compile(CONTRACT),
}


def period_key(moment: datetime, kind: str, zone: ZoneInfo) -> str:
    if kind == CONTRACT:
        return CONTRACT
    local = moment.astimezone(zone)
    if kind == "month":
        return f"{local.year:04d}-{local.month:02d}"
    if kind == "quarter":
        return f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"
    return f"{local.year:04d}"


def is_period_key(text: object, kind: str) -> bool:
    return isinstance(text, str) and _KEY_PATTERNS[kind].fullmatch(text) is not None


class PeriodClock:
    """Remembers the bounds of the last period it answered for.

    Income arrives mostly in time order, so nearly every line falls in the period of the line
    before: two comparisons instead of a time zone conversion and a string format. The bounds
    are UTC datetimes because comparing two datetimes that share a tzinfo object is a plain field
    comparison, while mixed zones cost a utcoffset() call on each side.
    """

    __slots__ = ("end", "key", "kind", "start", "zone")

    def __init__(self, kind: str, zone: ZoneInfo) -> None:
        self.kind = kind
        self.zone = zone
        # An empty interval: the first lookup always computes.
        self.start = _LATEST
        self.end = _EARLIEST
        self.key = CONTRACT

    def locate(self, moment: datetime) -> str:
        """The period key of moment, and remember its bounds for the next line."""
        kind = self.kind
        if kind == CONTRACT:
            self.start, self.end = _EARLIEST, _LATEST
            self.key = CONTRACT
            return CONTRACT
        local = moment.astimezone(self.zone)
        year = local.year
        if kind == "month":
            first, months = local.month, 1
        elif kind == "quarter":
            first, months = (local.month - 1) // 3 * 3 + 1, 3
        else:
            first, months = 1, 12
        start = datetime(year, first, 1, tzinfo=self.zone)
        after = first - 1 + months
        end = datetime(year + after // 12, after % 12 + 1, 1, tzinfo=self.zone)
        self.start = start.astimezone(UTC)
        self.end = end.astimezone(UTC)
        self.key = period_key(moment, kind, self.zone)
        return self.key
