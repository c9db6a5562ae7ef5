"""YouTube Reporting API content-owner revenue reports ("bulk data reports" a content owner's
job writes daily: `content_owner_estimated_revenue_a1`, `content_owner_asset_estimated_revenue_a1`),
as a CSV the agency downloads, or the same columns saved from a spreadsheet.

Sources, read for the columns and quirks (nothing copied):

* YouTube Reporting API, content owner reports and their fields
  (developers.google.com/youtube/reporting/v1/reports/content_owner_reports; the system-managed
  reports' overview developers.google.com/youtube/reporting/v1/reports/system_managed).
* Fivetran's YouTube Analytics connector schema (fivetran.com/docs/connectors/applications/youtube-analytics/connector-schema.md):
  `content_owner_asset_estimated_revenue_a_1_report` = `date`, `channel_id`, `video_id`,
  `asset_id`, `claimed_status`, `uploader_type`, `country_code`, `estimated_partner_revenue`,
  `estimated_partner_ad_revenue`, `estimated_partner_ad_auction_revenue`,
  `estimated_partner_ad_reserved_revenue`, `estimated_partner_red_revenue`,
  `estimated_partner_transaction_revenue`.

Quirks: `date` is written `YYYYMMDD` (20261103); one row per (day, channel, video, claimed status,
uploader type, country) and most rows earn nothing; the report names no currency (the API's
revenue is USD: read as USD); the total of a row is `estimated_partner_revenue` (the other
revenue columns are its parts and stay as metadata); amounts have up to six decimals: each row
is rounded half to even to the cent (Decimal arithmetic), its own figure kept in the metadata.

| report column | canonical column | how |
| --- | --- | --- |
| `channel_id` | `account_id` | the channel (UC…) |
| `date` | `occurred_at` | 20261103, 2026-11-03: the day, midnight in the agency's zone |
| `estimated_partner_revenue` | `gross`, `currency` | USD |
| — | `platform`, `source` | `youtube`, `platform_revenue_share` |

`external_id` = `yt:<channel>:<video>:<YYYY-MM-DD>` followed by the row's other dimensions that
the report has (`:<country>:<claimed_status>:<uploader_type>:<asset>`), so the key is unique in
the file. Without those dimensions (a sheet summed by video and day) the key is the one a Studio
"Chart data" row of the same channel, video and day gives (youtube_studio.py): one income. The
real report's rows are per country, and Studio shows their sum: Fenrun does not match a sum with
its parts, so a channel's month is imported from one of the two (docs/platform-exports.md).
Rows with no revenue are skipped and reported, not errors.
"""

from __future__ import annotations

from collections.abc import Container, Iterator

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.income.importers.canonical import RawRow
from apps.income.importers.exports import (
    Adapter,
    ExportSpec,
    NumberedRows,
    ReadContext,
    Row,
    amount_text,
    is_totals_row,
    is_zero,
    matched,
    open_export,
    parse_date,
    to_minor_unit,
)

LABEL = gettext_noop("YouTube reporting revenue report")
COLUMNS = {
    "channel": ("channel_id",),
    "date": ("date",),
    "gross": ("estimated_partner_revenue",),
    "video": ("video_id",),
    "country": ("country_code",),
    "claimed": ("claimed_status",),
    "uploader": ("uploader_type",),
    "asset": ("asset_id",),
}
_DIMENSIONS = ("country", "claimed", "uploader", "asset")


def match(keys: list[str]) -> list[str] | None:
    found = matched(keys, COLUMNS, ("channel", "date", "gross"))
    return found if len(found) == 3 else None


SPEC = ExportSpec(
    columns=COLUMNS,
    required={"channel": "channel_id", "date": "date", "gross": "estimated_partner_revenue"},
    used=("channel", "date", "gross"),
    label=LABEL,
    currency="USD",
)


def read(
    rows: NumberedRows, header_row: int, context: ReadContext, only_rows: Container[int] | None
) -> Iterator[RawRow]:
    table = open_export(rows, header_row, context, only_rows, SPEC)
    names, positions, used, totals = table.names, table.positions, table.used, table.totals
    for number, cells in table.data:
        row = Row(number, cells, positions)
        written = amount_text(row.raw("gross"))
        gross = to_minor_unit(written, "USD")
        if is_totals_row(cells):
            totals.totals_row(number, gross, "USD")
            continue
        totals.add(gross, "USD")
        if is_zero(gross):
            context.report.skip(number, _("No revenue on this row."))
            continue
        channel = row.get("channel")
        moment = parse_date(row.raw("date"), is_workbook=context.is_workbook)
        day = moment.day_key if moment is not None else row.get("date")
        parts = [channel, row.get("video") or "-", day]
        parts += [row.get(name) or "-" for name in _DIMENSIONS if row.has(name)]
        values = {
            "external_id": "yt:" + ":".join(parts) if channel and day else "",
            "occurred_at": day,
            "platform": "youtube",
            "account_id": channel,
            "source": "platform_revenue_share",
            "gross": gross,
            "currency": "USD",
            "description": f"YouTube partner revenue {day}"
            + (f", video {row.get('video')}" if row.get("video") else ""),
        }
        metadata = row.metadata(names, used)
        if gross != written:  # rounded to the cent: the report's own figure is kept
            metadata[names[positions["gross"]]] = written
        yield RawRow(number, values, metadata)
    totals.finish()


ADAPTER = Adapter(code="yt_reporting", label=LABEL, match=match, read=read, platform="youtube")
