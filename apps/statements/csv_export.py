"""A statement's lines as CSV in the canonical statement format (docs/statement-csv.md, version 1):
its ten columns in the spec's order, then two columns Fenrun adds (kept as metadata by any
reader of the format): `creator_share` and `share_currency`, the creator's share of the line in
the statement's currency.

UTF-8 with a byte-order mark (allowed by the format; spreadsheets then read the Chinese right),
RFC 4180 quoting and CRLF line ends (Python's csv module). `occurred_at` is ISO 8601 with the
agency's UTC offset; amounts are plain decimal strings. Every cell that starts with = + - @, a
tab or a carriage return gets a leading apostrophe unless it is a plain number such as -20.00
(apps.income.importers.canonical.escape_cell, the one rule for every CSV Fenrun exports).
"""

from __future__ import annotations

import csv
import io

from apps.agencies.time import agency_local_datetime
from apps.common.money import to_decimal_string
from apps.income.importers.canonical import escape_cell
from apps.statements.models import Statement
from apps.statements.selectors import StatementLine

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
