"""The canonical statement (shared/spec/statement-csv.md): reading its CSV and validating rows.

Every adapter (XLSX, YouTube, Douyin) yields the same `RawRow`: the file's row number (the
header is row 1), a dict of canonical column -> text, and the unknown columns as metadata.
`validate_row` turns one into a `CanonicalRow` of typed values (minor units, an aware
datetime) or into (column, reason) errors; it runs once per row of every file, so it is
written for speed.

Cells that start with =, +, -, @, tab or CR are only ever *text* here: nothing is evaluated,
an amount such as "=1+2" is simply not a decimal amount. Exports escape them (`escape_cell`).
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _

from apps.common.catalog import Platform, Source
from apps.common.exceptions import ApplicationError
from apps.common.money import MoneyError, is_known_currency, to_minor
from apps.common.validators import EARLIEST_DATE, LATEST_DATE, is_business_date
from apps.income.models import ImportRowError, IncomeLine, StagedLine

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
)
REQUIRED = ("external_id", "occurred_at", "platform", "account_id", "source", "gross", "currency")
PLATFORMS = frozenset(Platform.values)
SOURCES = frozenset(Source.values)
_DATE_ONLY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)


def _text_limits() -> dict[str, int]:
    """Each text column's limit, from the models (the staging table's and the line's, the
    smaller): a longer value is a row error here, never a failed COPY. Columns with choices
    (platform, source, currency) are checked against their choices instead."""
    limits: dict[str, int] = {}
    for model in (StagedLine, IncomeLine):
        for column in COLUMNS:
            try:
                model_field = model._meta.get_field(column)
            except FieldDoesNotExist:  # gross is gross_minor: an integer
                continue
            limit = getattr(model_field, "max_length", None)
            if limit and column not in ("platform", "source", "currency"):
                limits[column] = min(limit, limits.get(column, limit))
    return limits


_LIMITS = _text_limits()
_ERROR_COLUMN_LIMIT = cast(int, ImportRowError._meta.get_field("column").max_length)


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__, three
# times the cost; with a million rows per file that was 0.3 s per 100,000 rows of staging. Rows
# are built once and only read.
@dataclass(slots=True)
class RawRow:
    row_number: int
    values: dict[str, str]
    metadata: dict[str, str]
    # What the reader itself found wrong, (column, reason): a value only it can judge, such as an
    # import template's unknown direction. validate_row refuses the row with these and its own.
    errors: list[tuple[str, str]] | None = None


@dataclass(slots=True)
class CanonicalRow:
    row_number: int
    external_id: str
    occurred_at: datetime.datetime
    platform: str
    account_id: str
    source: str
    gross_minor: int
    currency: str
    order_ref: str
    refund_of: str
    description: str
    metadata: dict[str, str]


class HeaderMap:
    """Which position of a file's header is which canonical column (case-insensitive, trimmed)."""

    def __init__(self, header: list[Any], *, aliases: dict[str, str] | None = None) -> None:
        self.positions: dict[str, int] = {}
        self.extra: list[tuple[int, str]] = []
        aliases = aliases or {}
        for position, cell in enumerate(header):
            name = str(cell if cell is not None else "").strip()
            key = aliases.get(name.lower(), name.lower())
            if key in COLUMNS and key not in self.positions:
                self.positions[key] = position
            elif name:
                self.extra.append((position, name))
        missing = [column for column in REQUIRED if column not in self.positions]
        if missing:
            raise ApplicationError(
                _("The header has no %(columns)s column. Expected: %(expected)s.")
                % {"columns": ", ".join(missing), "expected": ", ".join(COLUMNS)},
                code="statement_bad_header",
            )

    def row(self, row_number: int, cells: list[Any]) -> RawRow:
        length = len(cells)
        values = {
            column: cell_text(cells[position]) if position < length else ""
            for column, position in self.positions.items()
        }
        metadata = {
            name: cell_text(cells[position])
            for position, name in self.extra
            if position < length and cells[position] not in (None, "")
        }
        return RawRow(row_number, values, metadata)

    def text_row(self, row_number: int, cells: list[str]) -> RawRow:
        """`row` for a CSV's cells, which are always text: no cell_text() per cell (a tenth of
        staging's time at a million rows)."""
        length = len(cells)
        values = {
            column: cells[position].strip() if position < length else ""
            for column, position in self.positions.items()
        }
        metadata = {
            name: cells[position].strip()
            for position, name in self.extra
            if position < length and cells[position]
        }
        return RawRow(row_number, values, metadata)


def cell_text(value: Any) -> str:
    """A cell as text. Spreadsheet numbers arrive as int or float: repr() of a float is the
    shortest text that reads back as the same number, i.e. what the sheet stored ("1204.5"), so
    to_minor then parses exact decimal text and never multiplies a float."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    if isinstance(value, datetime.datetime):
        # A spreadsheet date is a naive datetime: midnight means "a date" (read in the agency's
        # zone); any other time without an offset stays naive and is refused by parse_moment.
        if value.tzinfo is None and value.time() == datetime.time():
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def csv_lines(text: str | Iterable[str]) -> Iterable[str]:
    """Decoded text, or an already decoding stream opened with newline="" (detect.read_rows)."""
    return io.StringIO(text, newline="") if isinstance(text, str) else text


def readable_rows(reader: Iterator[list[str]], *, first: int = 1) -> Iterator[list[str]]:
    """The rows of a csv reader; a row csv cannot read (a field past its 131,072-character limit)
    refuses the file with its row number, instead of an exception the import cannot explain
    (a 5 MB cell failed the import without a message: found by `make attack`)."""
    number = first - 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ApplicationError(
                _(
                    "Row %(row)s cannot be read as CSV (%(reason)s): a cell that long is no statement's."
                    " Check the file and upload it again."
                )
                % {"row": number + 1, "reason": error},
                code="statement_unreadable_row",
            ) from None
        number += 1
        yield row


def read_csv(
    text: str | Iterable[str],
    *,
    aliases: dict[str, str] | None = None,
    only_rows: Container[int] | None = None,
) -> Iterator[RawRow]:
    """Rows of a canonical CSV (decoded text or a decoding stream); blank lines are skipped.
    With `only_rows`, the other rows are read (their numbers count) but not built."""
    reader = readable_rows(csv.reader(csv_lines(text)))
    header = next(reader, None)
    if header is None:
        raise ApplicationError(_("The file is empty."), code="statement_empty")
    columns = HeaderMap(header, aliases=aliases)
    for row_number, cells in enumerate(reader, start=2):
        if only_rows is not None and row_number not in only_rows:
            continue
        # A blank line; the first cell settles it for almost every row, without a generator.
        if not cells or (not cells[0].strip() and all(not cell.strip() for cell in cells)):
            continue
        yield columns.text_row(row_number, cells)


def parse_moment(text: str, zone: ZoneInfo) -> datetime.datetime:
    """ISO 8601 with an offset, or a date read as midnight in the agency's time zone; digits
    0-9 only (fromisoformat takes some other Unicode digits in places)."""
    if not text.isascii():
        raise ValueError("not ASCII")
    if _DATE_ONLY.match(text):
        day = datetime.date.fromisoformat(text)
        return datetime.datetime(day.year, day.month, day.day, tzinfo=zone)
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no offset")
    return moment


def _metadata_text(metadata: dict[str, str]) -> Iterator[str]:
    for name, value in metadata.items():
        yield name
        yield value


def _column_label(name: str) -> str:
    """A column's name as a row error can store it (ImportRowError.column: 64, no NUL)."""
    return name.replace("\x00", "\\x00")[:_ERROR_COLUMN_LIMIT]


def _nul_errors(raw: RawRow) -> list[tuple[str, str]]:
    reason = _("Contains a NUL character (\\x00), which a statement cannot store; remove it.")
    errors = [(column, reason) for column, value in raw.values.items() if "\x00" in value]
    errors += [
        (_column_label(name), reason) for name, value in raw.metadata.items() if "\x00" in name + value
    ]
    return errors


def validate_row(raw: RawRow, zone: ZoneInfo) -> CanonicalRow | list[tuple[str, str]]:
    """The typed row, or every (column, reason) that is wrong with it."""
    if raw.errors:
        found = validate_row(RawRow(raw.row_number, raw.values, raw.metadata), zone)
        return raw.errors + (found if isinstance(found, list) else [])
    values = raw.values
    errors: list[tuple[str, str]] = []
    for column in REQUIRED:
        if not values.get(column):
            errors.append((column, _("A value is required.")))
    if errors:
        return errors
    # PostgreSQL stores no NUL character in text or jsonb: one search of all the row's text
    # (one join, in C), and only a row that has one is looked at column by column.
    if "\x00" in "".join(values.values()) or (
        raw.metadata and "\x00" in "".join(_metadata_text(raw.metadata))
    ):
        return _nul_errors(raw)
    for column, limit in _LIMITS.items():
        if len(values.get(column, "")) > limit:
            errors.append((column, _("Longer than %(limit)s characters.") % {"limit": limit}))
    errors += _rounded_ids(values)
    platform = values["platform"].lower()
    if platform not in PLATFORMS:
        errors.append(
            ("platform", _("Unknown platform %(value)r; one of %(choices)s.")
             % {"value": values["platform"], "choices": ", ".join(sorted(PLATFORMS))})
        )  # fmt: skip
    source = values["source"].lower()
    if source not in SOURCES:
        errors.append(
            ("source", _("Unknown source %(value)r; one of %(choices)s.")
             % {"value": values["source"], "choices": ", ".join(sorted(SOURCES))})
        )  # fmt: skip
    currency = values["currency"].upper()
    gross = 0
    if not is_known_currency(currency):
        errors.append(("currency", _("Unknown currency %(value)r.") % {"value": values["currency"]}))
    else:
        try:
            # Thousands separators are removed by a regex substitution: only when there is one.
            gross = to_minor(values["gross"], currency, allow_thousands="," in values["gross"])
        except MoneyError as error:
            errors.append(("gross", str(error)))
        else:
            if gross == 0:
                errors.append(("gross", _("The amount is zero; a line must move money.")))
    try:
        occurred_at = parse_moment(values["occurred_at"], zone)
    except ValueError:
        errors.append(
            (
                "occurred_at",
                _(
                    "Not a date (2026-11-03) or a date-time with offset (2026-11-03T10:00:00+08:00): %(value)r."
                )
                % {"value": values["occurred_at"]},
            )
        )
    else:
        # The date as written (in its own offset, or the agency's zone): outside the business
        # bounds a date is a typo (0001-01-01 is stored as a BC instant, which no page can read).
        if not is_business_date(occurred_at.date()):
            errors.append(
                (
                    "occurred_at",
                    _("The date %(value)r is outside the accepted range, %(earliest)s to %(latest)s.")
                    % {
                        "value": values["occurred_at"],
                        "earliest": EARLIEST_DATE.isoformat(),
                        "latest": LATEST_DATE.isoformat(),
                    },
                )
            )
    refund_of = values.get("refund_of", "")
    if refund_of and gross > 0:
        errors.append(("gross", _("A refund must be a negative amount.")))
    if errors:
        return errors
    return CanonicalRow(
        row_number=raw.row_number,
        external_id=values["external_id"],
        occurred_at=occurred_at,
        platform=platform,
        account_id=values["account_id"],
        source=source,
        gross_minor=gross,
        currency=currency,
        order_ref=values.get("order_ref", ""),
        refund_of=refund_of,
        description=values.get("description", ""),
        metadata=raw.metadata,
    )


# An id Excel rounded into scientific notation (6953547102608758621 saved as 6.95355E+18): the
# digits are gone, so the row can no longer be told from another order's; as a key it would
# record the same money again under a new id (found by `make attack`'s importer fuzzer).
_ROUNDED_ID = re.compile(r"(?<![0-9A-Za-z.])[0-9]\.[0-9]+[eE]\+?[0-9]{2}(?![0-9A-Za-z])", re.ASCII)
_KEY_COLUMNS = ("external_id", "refund_of", "order_ref")


def _rounded_ids(values: dict[str, str]) -> list[tuple[str, str]]:
    errors = []
    for column in _KEY_COLUMNS:
        text = values.get(column, "")
        # The substring test first (this runs for every row of every import); the same letters
        # the pattern takes, so 6.95355E18 (no plus) is caught as well as 6.95355E+18.
        if ("E" in text or "e" in text) and (found := _ROUNDED_ID.search(text)):
            errors.append(
                (
                    column,
                    _(
                        "%(value)r is a number a spreadsheet rounded (scientific notation): the"
                        " original id is lost. Export the file again, or format the column as text"
                        " before saving it."
                    )
                    % {"value": found.group()},
                )
            )
    return errors


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9,]+(\.[0-9]+)?$", re.ASCII)


def escape_cell(text: str) -> str:
    """For CSV exports: a cell a spreadsheet would run as a formula gets a leading apostrophe."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text
