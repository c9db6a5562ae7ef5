"""A statement's lines as CSV in the canonical statement format (docs/statement-csv.md, version 1):
its ten columns in the spec's order, then two columns Fenrun adds (kept as metadata by any
reader of the format): `creator_share` and `share_currency`, the creator's share of the line in
the statement's currency.

UTF-8 with a byte-order mark (allowed by the format; spreadsheets then read the Chinese right),
RFC 4180 quoting and CRLF line ends (Python's csv module). `occurred_at` is ISO 8601 with the
agency's UTC offset; amounts are plain decimal strings. Every cell that starts with = + - @, a
tab or a carriage return gets a leading apostrophe unless it is a plain number such as -20.00
(apps.income.importers.canonical.escape_cell, the one rule for every CSV Fenrun exports).

Also the quarter's income per creator for the platform tax-information report
(quarter_income_csv, docs/statements.md): one row per creator and currency, same encoding and
the same escaping (a creator's name or an invoice note starting with = is text, not a formula).
"""

from __future__ import annotations

import csv
import io

from apps.agencies.time import agency_local_datetime
from apps.common.catalog import Source
from apps.common.money import to_decimal_string
from apps.income.importers.canonical import escape_cell
from apps.statements.models import Statement
from apps.statements.selectors import Quarter, QuarterIncome, StatementLine

COLUMNS = (
    "external_id",
    "occurred_at",
    "platform",
    "account_id",
    "source",
    "gross",
    "currency",
    "order_ref",
    "refund_of",
    "description",
    "creator_share",
    "share_currency",
)


def statement_csv(*, statement: Statement, lines: list[StatementLine]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # excel dialect: RFC 4180 quoting, \r\n
    writer.writerow(COLUMNS)
    for line in lines:
        occurred = agency_local_datetime(statement.agency, line.occurred_at).isoformat()
        cells = (
            line.external_id,
            occurred,
            line.platform,
            line.account_id,
            line.source,
            to_decimal_string(line.gross_minor, line.line_currency),
            line.line_currency,
            line.order_ref,
            line.refund_of,
            line.description,
            to_decimal_string(line.creator_share_minor, statement.currency),
            statement.currency,
        )
        writer.writerow([escape_cell(cell) for cell in cells])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


QUARTER_COLUMNS = (
    "quarter",
    "creator_id",
    "legal_name",
    "display_name",
    "creator_type",
    "withholding_method",
    "invoice_note",
    "currency",
    *(f"income_{source}" for source in Source.values),
    "gross_income",
    "refunds",
    "net_income",
    "tax_withheld",
    "line_count",
)


def quarter_income_csv(*, quarter: Quarter, rows: list[QuarterIncome]) -> bytes:
    """The quarter report as CSV: income by source (gross), gross, refunds, net, tax withheld."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(QUARTER_COLUMNS)
    for row in rows:

        def money(minor: int, currency: str = row.currency) -> str:
            return to_decimal_string(minor, currency)

        cells = (
            str(quarter),
            str(row.creator_public_id),
            row.legal_name,
            row.display_name,
            row.creator_type,
            row.withholding_method,
            row.invoice_note,
            row.currency,
            *(money(row.by_source_minor.get(source, 0)) for source in Source.values),
            money(row.gross_minor),
            money(row.refunds_minor),
            money(row.net_minor),
            money(row.tax_withheld_minor),
            str(row.line_count),
        )
        writer.writerow([escape_cell(cell) for cell in cells])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
