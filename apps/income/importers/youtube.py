"""YouTube revenue report (YouTube Studio › Analytics › Advanced mode › Export, "Table data.csv",
grouped by channel and month; a content owner's export lists every channel it manages).

Columns read (case-insensitive; the others are kept as metadata):

| YouTube column                     | canonical column | how                                             |
| ---------------------------------- | ---------------- | ----------------------------------------------- |
| `Channel` (the channel id, UC…)    | `account_id`     | as is                                           |
| `Month` (2026-11 or "Nov 2026") or `Date` (2026-11-30) | `occurred_at` | a month is its last day; a date as is (midnight, agency time zone) |
| `Your estimated revenue (USD)` / `Estimated partner revenue (USD)` / `Estimated revenue (USD)` | `gross`, `currency` | the currency is the one the header names (USD if none) |
| —                                  | `external_id`    | `YT-<channel>-<YYYY-MM>` for a month, `YT-<channel>-<YYYY-MM-DD>` for a date, built from the *parsed* period: "Nov 2026", "November 2026" and "2026-11" are one key, so one month exported twice in two spellings is a duplicate, not twice the income |
| —                                  | `platform`, `source` | `youtube`, `platform_revenue_share`         |
| `Channel title`                    | `description`    | "YouTube ad revenue <month> · <title>"          |

The "Total" row Studio puts first and rows with zero revenue (channels that earned nothing that
month) are skipped: they are not income events, and reporting them as row errors would bury the
real ones.
"""

from __future__ import annotations

import calendar
import csv
import datetime
import re
from collections.abc import Callable, Container, Iterable, Iterator

from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.income.importers.canonical import RawRow, cell_text, csv_lines, readable_rows

_REVENUE = re.compile(
    r"^(your estimated revenue|estimated partner revenue|estimated revenue)\s*(\((\w{3})\))?$"
)
_MONTH_NAME = re.compile(r"^([A-Za-z]{3})[a-z]*\.?\s+([0-9]{4})$", re.ASCII)
_YEAR_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$", re.ASCII)
_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$", re.ASCII)
_ZERO = re.compile(r"[+-]?0+(\.0+)?", re.ASCII)
_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}


def is_header(first_line: str) -> bool:
    return "channel" in first_line and "estimated" in first_line and "revenue" in first_line


def _period(text: str) -> tuple[str, str]:
    """The period's key and its occurred_at: '2026-11' | 'Nov 2026' -> ('2026-11', the month's
    last day); '2026-11-30' -> ('2026-11-30', itself); anything else -> the text twice (the
    canonical validator then reports it as a bad date, and the row makes no line)."""
    text = text.strip()
    day = _DATE.match(text)
    if day:
        return f"{day[1]}-{day[2]}-{day[3]}", text
    match = _YEAR_MONTH.match(text)
    if match:
        year, month = int(match[1]), int(match[2])
    else:
        named = _MONTH_NAME.match(text)
        if not named or named[1].lower() not in _MONTHS:
            return text, text
        year, month = int(named[2]), _MONTHS[named[1].lower()]
    if not (1 <= month <= 12 and datetime.MINYEAR <= year <= datetime.MAXYEAR):
        return text, text
    last_day = datetime.date(year, month, calendar.monthrange(year, month)[1])
    return f"{year:04d}-{month:02d}", last_day.isoformat()


def _getter(positions: dict[str, int], cells: list[str]) -> Callable[[str], str]:
    def get(key: str) -> str:
        position = positions.get(key)
        return cell_text(cells[position]) if position is not None and position < len(cells) else ""

    return get


def read(text: str | Iterable[str], *, only_rows: Container[int] | None = None) -> Iterator[RawRow]:
    reader = readable_rows(csv.reader(csv_lines(text)))
    header = [cell.strip() for cell in next(reader, [])]
    lower = [cell.lower() for cell in header]
    positions: dict[str, int] = {}
    currency = "USD"
    for index, name in enumerate(lower):
        revenue = _REVENUE.match(name)
        if revenue and "gross" not in positions:
            positions["gross"] = index
            currency = (revenue[3] or "USD").upper()
        elif name in ("channel", "channel id") and "account_id" not in positions:
            positions["account_id"] = index
        elif name in ("month", "date") and "period" not in positions:
            positions["period"] = index
        elif name == "channel title":
            positions["title"] = index
    missing = [label for key, label in (("account_id", "Channel"), ("period", "Month"), ("gross", "Your estimated revenue (USD)")) if key not in positions]  # fmt: skip
    if missing:
        raise ApplicationError(
            _("This YouTube report has no %(columns)s column.") % {"columns": ", ".join(missing)},
            code="statement_bad_header",
        )
    used = set(positions.values())
    for row_number, cells in enumerate(reader, start=2):
        if only_rows is not None and row_number not in only_rows:
            continue
        if not cells or all(not cell.strip() for cell in cells):
            continue
        get = _getter(positions, cells)
        channel = get("account_id")
        if channel.lower() == "total":
            continue
        gross = get("gross")
        if _ZERO.fullmatch(gross):
            continue
        period_text = get("period")
        period_key, occurred_at = _period(period_text)
        title = get("title") if "title" in positions else ""
        description = f"YouTube ad revenue {period_text}" + (f" · {title}" if title else "")
        values = {
            "external_id": f"YT-{channel}-{period_key}" if channel and period_text else "",
            "occurred_at": occurred_at,
            "platform": "youtube",
            "account_id": channel,
            "source": "platform_revenue_share",
            "gross": gross,
            "currency": currency,
            "description": description,
        }
        metadata = {
            header[index]: cell_text(cell)
            for index, cell in enumerate(cells)
            if index not in used and index < len(header) and cell.strip()
        }
        yield RawRow(row_number, values, metadata)
