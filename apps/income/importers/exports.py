"""What the adapters of real platform exports share: the adapter's shape, the report of rows it
skipped, and the parsing of the cells platforms write (amounts with symbols, in yuan or fen,
signed or with a direction column; dates in the forms exports use).

An export is read as rows of cells (a CSV's text, or a workbook's values), numbered as a person
sees them in the file (the first row is 1). Platforms put notes above the header (a title, the
period, "数据更新时间…"), so the header is searched for in the first HEAD_ROWS rows; what comes
above it is reported as skipped note rows, never as errors. A totals row (合计 / 总计 / Total) is
skipped too and reported, and checked against the sum of the rows it totals: when it differs
the rows are imported and the difference is a warning (the file's own arithmetic, not a reason to
refuse income the rows prove).

Every helper here turns text into the canonical columns' *text* (an ISO date, a plain decimal
string): canonical.validate_row still checks each value and reports a bad one in its own words.
"""

from __future__ import annotations

import calendar
import datetime
import decimal
import re
import unicodedata
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.common.money import MoneyError, exponent, to_decimal_string, to_minor
from apps.income.importers.canonical import RawRow, cell_text

HEAD_ROWS = 20
# How many skipped rows and warnings an import keeps one by one; beyond, they are counted.
MAX_NOTED_ROWS = 200

Cells = Sequence[Any]
NumberedRows = Iterator[tuple[int, list[Any]]]


# --- the adapter ---------------------------------------------------------------------------------


@dataclass(slots=True)
class ReadReport:
    """What reading a file skipped (note rows, totals rows) and warned about, for people."""

    skipped: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    skipped_count: int = 0
    warning_count: int = 0

    def skip(self, row_number: int, reason: str) -> None:
        self.skipped_count += 1
        if len(self.skipped) < MAX_NOTED_ROWS:
            self.skipped.append((row_number, reason))

    def warn(self, row_number: int, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_NOTED_ROWS:
            self.warnings.append((row_number, message))

    def as_json(self) -> dict[str, Any]:
        return {
            "skipped": [{"row": row, "reason": reason} for row, reason in self.skipped],
            "skipped_count": self.skipped_count,
            "warnings": [{"row": row, "message": message} for row, message in self.warnings],
            "warning_count": self.warning_count,
        }


@dataclass(slots=True)
class ReadContext:
    """What an adapter may need beyond the file: the platform account chosen at upload (YouTube
    Studio's export names no channel), and the report it fills as it reads."""

    account_id: str = ""
    # The month ("2026-11") chosen at upload for an export whose rows carry no date.
    period: str = ""
    report: ReadReport = field(default_factory=ReadReport)
    # Whether the cells are a workbook's values (numbers may be Excel date serials).
    is_workbook: bool = False
    # The StatementImport being read, when there is one (a registered reader may need its agency).
    statement_import: Any = None


@dataclass(frozen=True, slots=True)
class Adapter:
    """One real export. `match(header)` names the header cells that identify it (None when the
    row is not its header); `read(rows, header_row, context)` yields the canonical rows."""

    code: str  # StatementImport.format (16 characters at most)
    label: str  # for people, e.g. "YouTube Studio export" (translated when shown)
    match: Callable[[list[str]], list[str] | None]
    read: Callable[[NumberedRows, int, ReadContext, Container[int] | None], Iterator[RawRow]]
    # The export names no account: the platform account is chosen at upload.
    needs_account: bool = False
    platform: str = ""


# --- the header ----------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def header_key(cell: Any) -> str:
    """A header cell as one key: NFKC (full-width brackets and letters become ASCII), no spaces,
    lower case, so "结算金额（元）", "结算金额(元)" and "结算金额 (元)" are one name."""
    text = unicodedata.normalize("NFKC", cell_text(cell)).lstrip("\ufeff")
    return _SPACES.sub("", text).lower()


def header_keys(cells: Cells) -> list[str]:
    return [header_key(cell) for cell in cells]


def find_columns(keys: list[str], names: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """{field: position} for each field whose first accepted name (in `names` order) the header
    has; names are compared as header_key()s."""
    positions: dict[str, int] = {}
    for field_name, accepted in names.items():
        for name in accepted:
            key = header_key(name)
            if key in keys:
                positions[field_name] = keys.index(key)
                break
    return positions


def header_names(header: Cells, positions: dict[str, int], fields: Sequence[str]) -> list[str]:
    """The header's own names of `fields` (as the file spells them), for the detection reason."""
    return [cell_text(header[positions[name]]) for name in fields if name in positions]


# --- rows ----------------------------------------------------------------------------------------


class Row:
    """One data row's cells, read by field name through the header's positions."""

    __slots__ = ("cells", "number", "positions")

    def __init__(self, number: int, cells: list[Any], positions: dict[str, int]) -> None:
        self.number = number
        self.cells = cells
        self.positions = positions

    def raw(self, field_name: str) -> Any:
        position = self.positions.get(field_name)
        if position is None or position >= len(self.cells):
            return None
        return self.cells[position]

    def get(self, field_name: str) -> str:
        return cell_text(self.raw(field_name))

    def has(self, field_name: str) -> bool:
        return field_name in self.positions

    def metadata(self, header: list[str], used: set[int]) -> dict[str, str]:
        return {
            header[index]: cell_text(cell)
            for index, cell in enumerate(self.cells)
            if index not in used and index < len(header) and header[index] and cell_text(cell)
        }


def is_blank(cells: Cells) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


_TOTAL_WORDS = ("合计", "总计", "汇总", "total", "grandtotal", "totals")


def is_totals_cell(text: str) -> bool:
    """合计 / 总计 / Total (alone, or as "合计：" / "Total:"), the first cell of a totals row."""
    key = header_key(text).rstrip(":：")
    return key in _TOTAL_WORDS


def is_totals_row(cells: Cells) -> bool:
    """A totals row: its first non-empty cell says so (Studio writes "Total" in the first
    column; 抖店 and 百应 write 合计 in the first or second)."""
    for cell in cells:
        text = cell_text(cell)
        if text:
            return is_totals_cell(text)
    return False


class TotalsCheck:
    """Skips and reports totals rows and checks each against the sum of the rows it totals: a
    totals row first totals every row after it, one last (or in the middle, per section) the
    rows before it since the previous totals row."""

    def __init__(
        self, report: ReadReport, currency_of: Callable[[], str], *, is_whole_file: bool = True
    ) -> None:
        self.report = report
        self.currency_of = currency_of
        # Reading only some rows (a re-import retries the rows that failed): no sums to compare.
        self.is_whole_file = is_whole_file
        self.pending: list[tuple[int, int | None]] = []  # a leading totals row: (row, its minor)
        self.section_rows = 0
        self.section_sum = 0
        self.total_sum = 0

    def totals_row(self, row_number: int, amount_text: str, currency: str) -> None:
        self.report.skip(row_number, _("Totals row (合计 / Total): not an income event."))
        amount = minor_or_none(amount_text, currency)
        if self.section_rows:
            self._compare(row_number, amount, self.section_sum, currency)
            self.section_rows = self.section_sum = 0
        else:
            self.pending.append((row_number, amount))

    def add(self, gross_text: str, currency: str) -> None:
        amount = minor_or_none(gross_text, currency)
        self.section_rows += 1
        if amount is not None:
            self.section_sum += amount
            self.total_sum += amount

    def finish(self) -> None:
        currency = self.currency_of()
        for row_number, amount in self.pending:
            self._compare(row_number, amount, self.total_sum, currency)
        self.pending.clear()

    def _compare(self, row_number: int, amount: int | None, rows_sum: int, currency: str) -> None:
        if amount is None or amount == rows_sum or not self.is_whole_file:
            return
        self.report.warn(
            row_number,
            _(
                "The totals row says %(total)s %(currency)s but its rows add up to %(sum)s %(currency)s;"
                " the rows were imported as they are."
            )
            % {
                "total": to_decimal_string(amount, currency),
                "sum": to_decimal_string(rows_sum, currency),
                "currency": currency,
            },
        )


def minor_or_none(text: str, currency: str) -> int | None:
    """A plain decimal string's minor units, or None when it is no amount."""
    if not text:
        return None
    try:
        return to_minor(text, currency, allow_thousands="," in text)
    except MoneyError:
        return None


# --- amounts -------------------------------------------------------------------------------------

# Currency marks exports put around amounts: ¥ (U+00A5) and ￥ (full-width U+FFE5) for yuan, US$
# and $, and the words. NFKC turns ￥ into ¥ and full-width digits into ASCII ones first.
_CURRENCY_MARKS = re.compile(r"(US\$|USD|CNY|RMB|HK\$|\$|¥|元|人民币)", re.IGNORECASE)
_PAREN_NEGATIVE = re.compile(r"^\((.*)\)$")


def amount_text(value: Any, *, fen: bool = False) -> str:
    """A cell's amount as a plain decimal string ("-1234.56"), or the cell's text unchanged when
    it is no amount (validate_row then says why). Currency marks, spaces and thousands separators
    go; (12.00) and 12.00- are negative; with `fen` the integer amount is in fen (分), 1/100
    yuan, shifted by string arithmetic (never a float)."""
    text = unicodedata.normalize("NFKC", cell_text(value)).strip()
    if not text:
        return ""
    cleaned = _CURRENCY_MARKS.sub("", text).replace(" ", "").replace("\u00a0", "")
    negative = False
    parenthesised = _PAREN_NEGATIVE.match(cleaned)
    if parenthesised:
        cleaned, negative = parenthesised[1], True
    if cleaned.endswith("-") and len(cleaned) > 1:
        cleaned, negative = cleaned[:-1], True
    if cleaned.startswith("+"):
        cleaned = cleaned[1:]
    elif cleaned.startswith("-"):
        cleaned, negative = cleaned[1:], not negative
    cleaned = re.sub(r"(?<=[0-9]),(?=[0-9]{3}(?:[^0-9]|$))", "", cleaned)
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", cleaned, re.ASCII):
        return text
    if fen:
        if "." in cleaned:
            whole, fraction = cleaned.split(".", 1)
            if fraction.strip("0"):
                return text  # a fraction of a fen: not an amount in fen
            cleaned = whole
        cleaned = to_decimal_string(int(cleaned), "CNY")
    return ("-" if negative and cleaned.strip("0.") else "") + cleaned


_INCOMING = ("入账", "收入", "进账", "in", "income", "credit")
_OUTGOING = ("出账", "支出", "out", "expense", "debit")


def direction_sign(text: str) -> int | None:
    """+1 for money in (入账 / 收入), -1 for money out (出账 / 支出), 0 for an empty cell (the
    amount's own sign then), None for any other value (a row error that names it)."""
    key = header_key(text)
    if not key:
        return 0
    if key in _INCOMING:
        return 1
    if key in _OUTGOING:
        return -1
    return None


def signed(text: str, sign: int) -> str:
    """An amount with the sign a direction column gives it (an unsigned amount, or one already
    signed the same way); 0: as written."""
    if not sign or not text:
        return text
    unsigned = text[1:] if text.startswith("-") else text
    return unsigned if sign > 0 else negated(unsigned)


def to_minor_unit(text: str, currency: str) -> str:
    """A plain decimal string with more decimals than the currency has, rounded half to even to
    its minor unit (Decimal arithmetic, never a float); any other text unchanged. For estimates
    that platforms write to six decimals (YouTube's reports): a line is in cents."""
    if not re.fullmatch(r"-?[0-9]+\.[0-9]+", text, re.ASCII):
        return text
    places = exponent(currency)
    if len(text.split(".", 1)[1]) <= places:
        return text
    quantum = decimal.Decimal(1).scaleb(-places)
    rounded = decimal.Decimal(text).quantize(quantum, rounding=decimal.ROUND_HALF_EVEN)
    return format(rounded, "f") if rounded else format(abs(rounded), "f")


def negated(text: str) -> str:
    """A plain decimal string with the other sign."""
    if not text:
        return text
    return text[1:] if text.startswith("-") else "-" + text


def is_zero(text: str) -> bool:
    return bool(re.fullmatch(r"[+-]?0+(\.0+)?", text, re.ASCII))


def header_currency(name: str, default: str) -> str:
    """The currency a header names: "Estimated revenue (USD)" -> USD, "(元)" -> CNY."""
    key = header_key(name)
    match = re.search(r"\(([a-z]{3})\)", key)
    if match:
        return match[1].upper()
    if "元" in key or "¥" in key:
        return "CNY"
    return default


def is_fen_column(name: str) -> bool:
    """A column in fen: "(分)", "（分）", "金额(分)", "单位：分"."""
    key = header_key(name)
    return (
        "(分)" in key
        or (key.endswith("分") and ("金额" in key or "佣金" in key or "收入" in key))
        or "单位:分" in key
    )


# --- dates ---------------------------------------------------------------------------------------

_ISO_LIKE = re.compile(
    r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?"
    r"(?:[ T]+([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?(?:\.[0-9]+)?)?$",
    re.ASCII,
)
_COMPACT = re.compile(
    r"^([0-9]{4})([0-9]{2})([0-9]{2})(?:\s*([0-9]{2}):?([0-9]{2}):?([0-9]{2})?)?$", re.ASCII
)
_MONTH_ONLY = re.compile(r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*月?$", re.ASCII)
_COMPACT_MONTH = re.compile(r"^([0-9]{4})([0-9]{2})$", re.ASCII)
_NAMED = re.compile(
    r"^([A-Za-z]{3,9})\.?\s+([0-9]{1,2}),?\s+([0-9]{4})(?:,?\s+([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?\s*([AaPp][Mm])?)?$",
    re.ASCII,
)
_NAMED_MONTH = re.compile(r"^([A-Za-z]{3,9})\.?\s+([0-9]{4})$", re.ASCII)
_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_EXCEL_EPOCH = datetime.date(1899, 12, 30)  # serial 1 is 1900-01-01 with Excel's 1900 leap bug
# Serials of 1954-10-03 .. 2173-10-14: any plausible statement date, and no plausible amount
# column is read as a date (a date column's number is a serial only in a workbook).
_SERIAL_RANGE = (20_000, 100_000)


@dataclass(frozen=True, slots=True)
class Moment:
    """A parsed date: `day` (the calendar date as written), `text` for occurred_at (ISO, with
    +08:00 when the export writes China Standard Time without an offset), `month` for keys."""

    day: datetime.date
    text: str

    @property
    def day_key(self) -> str:
        return self.day.isoformat()

    @property
    def month_key(self) -> str:
        return f"{self.day.year:04d}-{self.day.month:02d}"


def _valid_day(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _with_time(day: datetime.date, hour: Any, minute: Any, second: Any, offset: str) -> str:
    if hour is None:
        return day.isoformat()
    hour_number, minute_number, second_number = int(hour), int(minute), int(second or 0)
    if hour_number > 23 or minute_number > 59 or second_number > 59:
        return ""
    return f"{day.isoformat()}T{hour_number:02d}:{minute_number:02d}:{second_number:02d}{offset}"


def parse_date(value: Any, *, offset: str = "+08:00", is_workbook: bool = False) -> Moment | None:
    """2026-11-03, 2026/11/3, 2026年11月3日, 20261103, 2026-11-03 10:00:00, Nov 3, 2026, a
    workbook's datetime or Excel serial (46329): the day, and occurred_at's text. A time without
    an offset is read in `offset` (China Standard Time for Chinese platforms); a date alone stays
    a date (midnight in the agency's zone). None when it is no date."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            return Moment(value.date(), value.isoformat())
        if value.time() == datetime.time():
            return Moment(value.date(), value.date().isoformat())
        return Moment(value.date(), value.replace(microsecond=0).isoformat() + offset)
    if isinstance(value, datetime.date):
        return Moment(value, value.isoformat())
    if is_workbook and isinstance(value, int | float) and not isinstance(value, bool):
        return _serial(value, offset)
    text = unicodedata.normalize("NFKC", cell_text(value)).strip()
    if not text or (not text.isascii() and not ("年" in text or "月" in text)):
        return None
    if is_workbook and re.fullmatch(r"[0-9]{5}(\.[0-9]+)?", text, re.ASCII):
        # A date serial read as text (a workbook cell formatted as text): a day, not money.
        return _serial(float(text) if "." in text else int(text), offset)
    for pattern in (_ISO_LIKE, _COMPACT):
        match = pattern.match(text)
        if match:
            year, month, day, hour, minute, second = match.groups()[:6]
            parsed = _valid_day(int(year), int(month), int(day))
            if parsed is None:
                return None
            moment = _with_time(parsed, hour, minute, second, offset)
            return Moment(parsed, moment) if moment else None
    named = _NAMED.match(text)
    if named and named[1][:3].lower() in _MONTHS:
        parsed = _valid_day(int(named[3]), _MONTHS[named[1][:3].lower()], int(named[2]))
        if parsed is None:
            return None
        hour = named[4]
        if hour is not None and named[7]:
            hour = str(int(hour) % 12 + (12 if named[7].lower() == "pm" else 0))
        moment = _with_time(parsed, hour, named[5], named[6], offset)
        return Moment(parsed, moment) if moment else None
    try:
        moment_value = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment_value.tzinfo is None:
        return None
    return Moment(moment_value.date(), moment_value.isoformat())


def _serial(value: int | float, offset: str) -> Moment | None:
    whole = int(value)
    if not _SERIAL_RANGE[0] <= whole <= _SERIAL_RANGE[1]:
        return None
    day = _EXCEL_EPOCH + datetime.timedelta(days=whole)
    seconds = round((value - whole) * 86_400) if isinstance(value, float) else 0
    if not seconds:
        return Moment(day, day.isoformat())
    hour, rest = divmod(min(seconds, 86_399), 3600)
    return Moment(day, _with_time(day, hour, rest // 60, rest % 60, offset))


def parse_month(value: Any) -> datetime.date | None:
    """A month as its first day: 2026-11, 2026/11, 2026年11月, 202611, Nov 2026, November 2026;
    a full date gives its month."""
    if isinstance(value, datetime.date):
        return datetime.date(value.year, value.month, 1)
    text = unicodedata.normalize("NFKC", cell_text(value)).strip()
    for pattern in (_MONTH_ONLY, _COMPACT_MONTH):
        match = pattern.match(text)
        if match:
            year, month = int(match[1]), int(match[2])
            return datetime.date(year, month, 1) if 1 <= month <= 12 and year >= 1 else None
    named = _NAMED_MONTH.match(text)
    if named and named[1][:3].lower() in _MONTHS:
        year = int(named[2])  # "Nov 0000": four digits, but no year a date can hold
        return datetime.date(year, _MONTHS[named[1][:3].lower()], 1) if year >= 1 else None
    moment = parse_date(value)
    return None if moment is None else datetime.date(moment.day.year, moment.day.month, 1)


def month_end(first_day: datetime.date) -> datetime.date:
    return datetime.date(
        first_day.year, first_day.month, calendar.monthrange(first_day.year, first_day.month)[1]
    )


# --- keys ----------------------------------------------------------------------------------------


def order_key(value: Any) -> str:
    """An order or serial number as one key. Exports write long numbers as text, but a workbook
    (or Excel re-saving a CSV) turns them into numbers or 6.9E+18, and Chinese exports often put
    a tab or an apostrophe in front to stop exactly that: all are folded back to the digits when
    they are exact, full-width forms become ASCII (NFKC)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = unicodedata.normalize("NFKC", cell_text(value)).strip().lstrip("'\t`").strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text


def is_scientific(text: str) -> bool:
    """6.91E+18: an order number Excel rounded; it cannot be a key any more."""
    return bool(re.fullmatch(r"[0-9](\.[0-9]+)?[eE]\+?[0-9]+", text, re.ASCII))


def header_and_rows(
    rows: NumberedRows, header_row: int, context: ReadContext, only_rows: Container[int] | None
) -> tuple[list[Any], Iterator[tuple[int, list[Any]]]]:
    """The header's cells and the data rows below it (blank rows left out). Rows above the
    header are reported as notes (skipped); with `only_rows`, only those row numbers come out."""
    header: list[Any] | None = None
    for number, cells in rows:
        if number < header_row:
            if not is_blank(cells) and (only_rows is None or number in only_rows):
                context.report.skip(number, _("Note above the header: not a statement row."))
            continue
        header = list(cells)
        break
    if header is None:
        raise ApplicationError(_("The file is empty."), code="statement_empty")
    return header, _data_rows(rows, only_rows)


def _data_rows(rows: NumberedRows, only_rows: Container[int] | None) -> Iterator[tuple[int, list[Any]]]:
    for number, cells in rows:
        if only_rows is not None and number not in only_rows:
            continue
        if not cells or is_blank(cells):
            continue
        yield number, list(cells)


def require_columns(positions: dict[str, int], required: dict[str, str], label: str) -> None:
    """Refuse a header without a column the adapter needs: {field: the column's name}."""
    missing = [name for field_name, name in required.items() if field_name not in positions]
    if missing:
        raise ApplicationError(
            _("This %(label)s has no %(columns)s column.") % {"label": label, "columns": ", ".join(missing)},
            code="statement_bad_header",
        )


@dataclass(slots=True)
class ExportTable:
    """An export opened for reading: the header's names, where each field is, the data rows,
    which columns the adapter reads itself (the rest go to the line's metadata), whether the
    gross column is in fen, and the totals check. Every adapter opens its file the same way."""

    names: list[str]
    positions: dict[str, int]
    data: Iterator[tuple[int, list[Any]]]
    used: set[int]
    fen: bool
    totals: TotalsCheck


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """How an adapter reads its export: its columns' names, the ones it cannot do without
    ({field: the column's name, for the refusal}), the fields it reads itself (the rest of the
    row goes to the line's metadata), its label for messages (gettext_noop) and its currency."""

    columns: Mapping[str, Sequence[str]]
    required: Mapping[str, str]
    used: Sequence[str]
    label: str
    currency: str
    gross: str = "gross"


def open_export(
    rows: NumberedRows,
    header_row: int,
    context: ReadContext,
    only_rows: Container[int] | None,
    spec: ExportSpec,
) -> ExportTable:
    """Find the header, refuse it without a required column, and set up the reading of the rows
    below it."""
    header, data = header_and_rows(rows, header_row, context, only_rows)
    names = [cell_text(cell) for cell in header]
    positions = find_columns(header_keys(header), spec.columns)
    require_columns(positions, dict(spec.required), _(spec.label))
    currency = spec.currency
    return ExportTable(
        names=names,
        positions=positions,
        data=data,
        used={positions[name] for name in spec.used if name in positions},
        fen=is_fen_column(names[positions[spec.gross]]),
        totals=TotalsCheck(context.report, lambda: currency, is_whole_file=only_rows is None),
    )


def require_shop_account(context: ReadContext) -> str:
    """A Douyin Shop bill names no shop in its rows: the account chosen at upload is the shop."""
    if not context.account_id:
        raise ApplicationError(
            _("A Douyin Shop bill names no shop: choose the shop's account when you upload it."),
            code="statement_account_required",
        )
    return context.account_id


def matched(keys: list[str], names: Mapping[str, Sequence[str]], fields: Sequence[str]) -> list[str]:
    """The header keys of `fields` (all of which the header must have), for Adapter.match."""
    positions = find_columns(keys, names)
    return [keys[positions[name]] for name in fields if name in positions]


def raw_row(number: int, values: dict[str, str], metadata: dict[str, str]) -> RawRow:
    return RawRow(number, values, metadata)
