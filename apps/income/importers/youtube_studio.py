"""YouTube Studio Analytics export ("Advanced mode" › Export › CSV or Google Sheets/Excel): the
"Table data.csv" (one row per video, or per day) and "Chart data.csv" (one row per video and
day) of a zip Studio names after the period and the channel. The files name no channel: the
channel (the creator's platform account) is chosen at upload.

Sources, read for the columns and quirks (nothing copied):

* bobbyroe/yt-dash `main.py`: a Studio "Table data" with `Content` (the video id), `Video title`,
  `Duration`, `Views`, `Watch time (hours)`, `Subscribers`…, whose row with `Content` == "Total"
  holds the channel's totals ("get totals row").
* Asifdotexe/30-days-with-streamlit `code/day_4.py` and PlayingNumbers/YT_Dashboard_st
  `Ken_Dashboard.py` (the Kaggle "Ken Jee YouTube data" export `Aggregated_Metrics_By_Video.csv`:
  `Video`, `Video title`, `Video publish time`, …, `Your estimated revenue (USD)`, `Impressions`,
  read with `.iloc[1:, :]` "skip first row of totals").
* YouTube Help, "Export data from YouTube Analytics" (support.google.com/youtube/answer/9088722,
  listed in youtube-fans/youtube-help-doc-in-zhCN `docs/channel-management/analyze-performance-with-analytis/index.md`).

The revenue column is `Estimated revenue (USD)` in current Studio and `Your estimated revenue
(USD)` in older exports (both accepted, any three-letter currency in the brackets, which follows
the channel's currency setting). `Date` is written 2026-11-03 or "Nov 3, 2026"; `Video publish
time` "Nov 3, 2026" (metadata only: publishing is not earning). Revenue with more decimals than
the currency has is rounded half to even to the cent, the export's figure kept in the metadata.

| Studio column | canonical column | how |
| --- | --- | --- |
| (chosen at upload) | `account_id` | the channel's platform account |
| `Content` / `Video` | part of `external_id` | the video id |
| `Date` | `occurred_at` | the day, midnight in the agency's zone |
| — (a per-video table has no date) | `occurred_at` | the last day of the month chosen at upload (`period`) |
| `Estimated revenue (USD)` / `Your estimated revenue (USD)` | `gross`, `currency` | the header's currency |
| `Video title` | `description` | "YouTube: <title>, <day or month>" |
| — | `platform`, `source` | `youtube`, `platform_revenue_share` |

`external_id`, from parsed values: `yt:<channel>:<video>:<YYYY-MM-DD>` (video and day: the
Chart data), `yt:<channel>:<YYYY-MM-DD>` (a day of the whole channel), `yt:<channel>:<video>:<YYYY-MM>`
(a video over the chosen month). "Nov 3, 2026" and "2026-11-03" are one key, and so is a
Reporting API row of the same channel, video and day when it has no country (`youtube_reporting.py`).
The three shapes overlap (a channel's day is the sum of its videos' days): import one of them
per channel and period; Fenrun cannot tell a total from its parts.

Skipped and reported (not errors): the "Total" row (checked against the sum of the rows: a
difference is a warning), rows with no revenue (a video that earned nothing that day).
"""

from __future__ import annotations

from collections.abc import Container, Iterator

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.common.exceptions import ApplicationError
from apps.income.importers.canonical import RawRow, cell_text
from apps.income.importers.exports import (
    Adapter,
    NumberedRows,
    ReadContext,
    Row,
    TotalsCheck,
    amount_text,
    find_columns,
    header_and_rows,
    header_currency,
    header_keys,
    is_totals_row,
    is_zero,
    month_end,
    parse_date,
    parse_month,
    to_minor_unit,
)

LABEL = gettext_noop("YouTube Studio export")
COLUMNS = {
    "video": ("Content", "Video", "Video ID"),
    "title": ("Video title",),
    "date": ("Date", "Day"),
    "gross": ("Estimated revenue (USD)", "Your estimated revenue (USD)"),
    "channel": ("Channel", "Channel ID"),
}
_REVENUE_PREFIXES = ("estimatedrevenue(", "yourestimatedrevenue(")


def _revenue_position(keys: list[str]) -> int | None:
    """Any currency: "Estimated revenue (EUR)" as well as (USD)."""
    for index, key in enumerate(keys):
        if key.startswith(_REVENUE_PREFIXES) and key.endswith(")"):
            return index
    return None


def match(keys: list[str]) -> list[str] | None:
    """A Studio export: a revenue column, a video or a date, and no channel column (a report with
    one is the channel-grouped report of youtube.py)."""
    revenue = _revenue_position(keys)
    positions = find_columns(keys, COLUMNS)
    if revenue is None or "channel" in positions or not ("video" in positions or "date" in positions):
        return None
    found = [keys[positions[name]] for name in ("video", "title", "date") if name in positions]
    return [*found, keys[revenue]]


def needs_period(header_keys_: list[str]) -> bool:
    """A per-video table without a date: the month it covers is chosen at upload."""
    positions = find_columns(header_keys_, COLUMNS)
    return "video" in positions and "date" not in positions


def read(
    rows: NumberedRows, header_row: int, context: ReadContext, only_rows: Container[int] | None
) -> Iterator[RawRow]:
    header, data = header_and_rows(rows, header_row, context, only_rows)
    keys = header_keys(header)
    names = [cell_text(cell) for cell in header]
    positions = find_columns(keys, COLUMNS)
    revenue = _revenue_position(keys)
    if revenue is None or not ("video" in positions or "date" in positions):
        raise ApplicationError(
            _("This YouTube Studio export has no Estimated revenue column, or neither Content nor Date."),
            code="statement_bad_header",
        )
    positions["gross"] = revenue
    currency = header_currency(names[revenue], "USD")
    channel = context.account_id
    if not channel:
        raise ApplicationError(
            _("A YouTube Studio export names no channel: choose the channel's account when you upload it."),
            code="statement_account_required",
        )
    month = None
    if "date" not in positions:
        month = parse_month(context.period) if context.period else None
        if month is None:
            raise ApplicationError(
                _(
                    "This YouTube Studio table has one row per video for its whole period and no date:"
                    " choose the month it covers when you upload it."
                ),
                code="statement_period_required",
            )
    used = set(positions.values())
    totals = TotalsCheck(context.report, lambda: currency, is_whole_file=only_rows is None)
    for number, cells in data:
        row = Row(number, cells, positions)
        written = amount_text(row.raw("gross"))
        gross = to_minor_unit(written, currency)
        if is_totals_row(cells):
            totals.totals_row(number, gross, currency)
            continue
        totals.add(gross, currency)
        if is_zero(gross):
            context.report.skip(number, _("No revenue on this row."))
            continue
        video = row.get("video")
        if month is not None:
            period_key, occurred_at, when = f"{month:%Y-%m}", month_end(month).isoformat(), f"{month:%Y-%m}"
        else:
            moment = parse_date(row.raw("date"), is_workbook=context.is_workbook)
            if moment is None:
                # Left as written: the canonical check names it as a bad date.
                period_key, occurred_at, when = row.get("date"), row.get("date"), row.get("date")
            else:
                period_key, occurred_at, when = moment.day_key, moment.day_key, moment.day_key
        parts = [channel, video, period_key] if video else [channel, period_key]
        title = row.get("title")
        values = {
            "external_id": "yt:" + ":".join(parts) if period_key else "",
            "occurred_at": occurred_at,
            "platform": "youtube",
            "account_id": channel,
            "source": "platform_revenue_share",
            "gross": gross,
            "currency": currency,
            "description": f"YouTube: {title or video or channel}, {when}",
        }
        metadata = row.metadata(names, used)
        if gross != written:  # rounded to the cent: the report's own figure is kept
            metadata[names[positions["gross"]]] = written
        yield RawRow(number, values, metadata)
    totals.finish()


ADAPTER = Adapter(
    code="yt_studio", label=LABEL, match=match, read=read, needs_account=True, platform="youtube"
)
