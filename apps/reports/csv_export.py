"""A revenue report as CSV: one row per group and currency, amounts as decimal strings.

UTF-8 with a byte-order mark (spreadsheets then read Chinese names right), RFC 4180 quoting and
CRLF line ends (Python's csv module), column names in English for scripts (docs/reports.md). A
creator's name, or any text cell, that a spreadsheet would run as a formula (= + - @, a tab or a
carriage return first) gets a leading apostrophe: apps.income.importers.canonical.escape_cell,
the one rule for every CSV Fenrun exports. Plain numbers such as -20.00 are left as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from apps.common.money import to_decimal_string
from apps.income.importers.canonical import escape_cell
from apps.reports.selectors import RevenueReport, RevenueRow

FIGURE_COLUMNS = (
    "currency",
    "lines",
    "gross",
    "deductions",
    "creators_share",
    "other_parties",
    "agency_revenue",
)
KEY_COLUMNS = {
    "month": ("month",),
    "creator": ("creator", "creator_name"),
    "platform": ("platform", "platform_name"),
    "source": ("source", "source_name"),
}
LEDGER_COLUMNS = ("ledger_gross", "ledger_deductions", "ledger_agency_revenue", "ledger_corrections")


def report_filename(report: RevenueReport) -> str:
    return f"revenue-by-{report.group}-{report.period.first}-to-{report.period.last}.csv"


def _cells(report: RevenueReport, row: RevenueRow) -> list[str]:
    figures = row.figures
    currency = figures.currency

    def money(minor: int) -> str:
        return to_decimal_string(minor, currency)

    keys = [row.key] if report.group == "month" else [row.key, row.label]
    cells = [
        *keys,
        currency,
        str(figures.line_count),
        money(figures.gross_minor),
        money(figures.deductions_minor),
        money(figures.creators_minor),
        money(figures.others_minor),
        money(figures.agency_minor),
    ]
    if report.group == "month" and row.ledger is not None:
        ledger = row.ledger
        cells += [
            money(ledger.gross_minor),
            money(ledger.deductions_minor),
            money(ledger.agency_minor),
            money(ledger.corrections_minor),
        ]
    return [escape_cell(cell) for cell in cells]


def report_csv_chunks(report: RevenueReport) -> Iterable[bytes]:
    """The CSV in pieces (a creator report may have thousands of rows): header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # excel dialect: RFC 4180 quoting, \r\n
    header = [*KEY_COLUMNS[report.group], *FIGURE_COLUMNS]
    if report.group == "month":
        header += LEDGER_COLUMNS
    buffer.write("\ufeff")
    writer.writerow(header)
    for index, row in enumerate(report.rows):
        writer.writerow(_cells(report, row))
        if index % 500 == 499:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def report_csv(report: RevenueReport) -> bytes:
    return b"".join(report_csv_chunks(report))
