"""What a template says and how it reads a file's rows into canonical rows.

A mapping (stored as JSON on ImportTemplateVersion.mapping) gives each canonical field
(canonical.COLUMNS) either a column of the file or a constant, with the transforms real exports
need:

    {"fields": {
        "external_id": {"columns": ["流水号", "日期"]},            # one or more columns, joined
        "occurred_at": {"column": "日期", "date_format": "%Y/%m/%d %H:%M"},   # "" = automatic
        "platform":    {"constant": "douyin"},
        "account_id":  {"column": "抖音号"},
        "source":      {"column": "收入类型", "values": {"直播礼物": "live_gifts"}},
        "gross":       {"column": "金额(分)", "minor_units": true,
                        "direction": {"column": "收支", "positive": ["入账"], "negative": ["出账"]}},
        "currency":    {"constant": "CNY"}},
     "skip": ["合计*", "注：*"],
     "separator": "-"}

Columns are named by their header key (exports.header_key: NFKC, no spaces, lower case), so
"金额（分）" and "金额(分)" are one column. `mapping_from_data` checks a mapping against the
header it is for and says, per field, what is wrong.

Reading (`template_rows`): rows above the header are notes and totals rows (合计 / Total, or a
row whose first filled cell matches a skip pattern) are skipped and reported, never errors; the
rest become RawRow dicts of canonical *text*, which canonical.validate_row then checks exactly as
it checks every adapter's rows. What only the template can know is an error of its own, reported
on the row with the file's column name: a direction value it does not map, an amount in minor
units that is not whole, a date that does not fit the template's format, and an external id that
an earlier row of the same file already has (the template's columns do not tell the rows apart:
the later row is refused, so nothing is imported twice).
"""

from __future__ import annotations

import datetime
import fnmatch
import hashlib
import re
import unicodedata
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.common.catalog import Platform, Source
from apps.common.exceptions import ApplicationError
from apps.common.money import is_known_currency, to_decimal_string
from apps.income.importers import exports
from apps.income.importers.canonical import COLUMNS, REQUIRED, RawRow, cell_text

FIELD_LABELS = {
    "external_id": gettext_lazy("External id"),
    "occurred_at": gettext_lazy("Date"),
    "platform": gettext_lazy("Platform"),
    "account_id": gettext_lazy("Creator's account id"),
    "source": gettext_lazy("Income source"),
    "gross": gettext_lazy("Amount"),
    "currency": gettext_lazy("Currency"),
    "order_ref": gettext_lazy("Order reference"),
    "refund_of": gettext_lazy("Refund of"),
    "description": gettext_lazy("Description"),
}

# Fields whose values a map may translate, and what the translation must give.
MAPPED_VALUE_FIELDS = ("platform", "source", "currency")
MAX_SKIP_PATTERNS = 20
MAX_PATTERN_LENGTH = 100
MAX_VALUE_MAP = 200
MAX_EXTERNAL_ID_COLUMNS = 5
_ERROR_COLUMN = 64  # ImportRowError.column

# strptime directives a date format may use; anything else is a typo (or a format for another
# language's strptime).
_DIRECTIVES = set("YymdHIMSpbBfz%")
_TIME_DIRECTIVES = set("HIMSpf")
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)
_OFFSET = re.compile(r"([+-][0-9]{2}:?[0-9]{2}|Z)$", re.ASCII)
_TOTALS_CELL_LENGTH = 16
DATE_FORMAT_CHOICES = (
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y%m%d",
    "%Y年%m月%d日",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%b %d, %Y",
    "%Y-%m",
)


def header_key(cell: Any) -> str:
    return exports.header_key(cell)


def value_key(value: str) -> str:
    """A cell value as a map compares it: NFKC, trimmed, lower case (入账 and ＩＮ alike)."""
    return unicodedata.normalize("NFKC", value).strip().lower()


def header_keys(cells: Sequence[Any]) -> list[str]:
    """The header's keys without its trailing empty cells (exports pad rows to the widest)."""
    keys = exports.header_keys(cells)
    while keys and not keys[-1]:
        keys.pop()
    return keys


def header_signature(cells: Sequence[Any]) -> str | None:
    """The SHA-256 of a header row's keys; None for a row that cannot be a header (fewer than
    two named columns: a note, a title, a blank row)."""
    keys = header_keys(cells)
    if sum(1 for key in keys if key) < 2:
        return None
    return hashlib.sha256("\x1f".join(keys).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Direction:
    column: str
    positive: frozenset[str]
    negative: frozenset[str]
    # As the person wrote them, for messages.
    positive_names: tuple[str, ...] = ()
    negative_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldRule:
    columns: tuple[str, ...] = ()  # one column, or several for external_id (joined)
    constant: str = ""
    values: dict[str, str] = field(default_factory=dict)  # value_key -> canonical value
    date_format: str = ""
    minor_units: bool = False
    direction: Direction | None = None

    @property
    def column(self) -> str:
        return self.columns[0] if self.columns else ""


@dataclass(frozen=True, slots=True)
class Mapping:
    fields: dict[str, FieldRule]
    skip: tuple[str, ...] = ()
    separator: str = "-"

    def columns_used(self) -> set[str]:
        used: set[str] = set()
        for rule in self.fields.values():
            used.update(rule.columns)
            if rule.direction is not None:
                used.add(rule.direction.column)
        return used


class MappingInvalid(ApplicationError):
    """A mapping that cannot be saved or applied: `errors` says what, per field."""

    def __init__(self, errors: dict[str, str]) -> None:
        first = next(iter(errors.items()))
        super().__init__(
            _("The mapping is not complete: %(field)s: %(message)s")
            % {"field": first[0], "message": first[1]},
            code="template_invalid",
            extra={"errors": errors},
        )
        self.errors = errors


# --- reading a mapping ---------------------------------------------------------------------------


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part for part in re.split(r"[,，;；\n]", value)]
    if not isinstance(value, list | tuple):
        return []
    return [str(item).strip() for item in value if str(item).strip()]


def _check_date_format(pattern: str) -> str | None:
    """Why `pattern` is no date format, or None."""
    if len(pattern) > 40:
        return _("A date format has at most 40 characters.")
    directives = re.findall(r"%(.)", pattern)
    if any(directive not in _DIRECTIVES for directive in directives):
        return _("Use only %(directives)s in a date format.") % {
            "directives": " ".join(f"%{d}" for d in sorted(_DIRECTIVES - {"%"}))
        }
    if not ({"Y", "y"} & set(directives)) or not ({"m", "b", "B"} & set(directives)):
        return _("A date format needs a year (%(year)s) and a month (%(month)s).") % {
            "year": "%Y",
            "month": "%m / %b",
        }
    return None


def _canonical_value(field_name: str, value: str) -> tuple[str, str | None]:
    """(value as the canonical field wants it, why it is not one)."""
    if field_name == "platform":
        code = value.strip().lower()
        if code not in Platform.values:
            return code, _("%(value)r is not a platform; one of %(choices)s.") % {
                "value": value,
                "choices": ", ".join(Platform.values),
            }
        return code, None
    if field_name == "source":
        code = value.strip().lower()
        if code not in Source.values:
            return code, _("%(value)r is not a source; one of %(choices)s.") % {
                "value": value,
                "choices": ", ".join(Source.values),
            }
        return code, None
    if field_name == "currency":
        code = value.strip().upper()
        if not is_known_currency(code):
            return code, _("%(value)r is not an ISO 4217 currency code.") % {"value": value}
        return code, None
    return value.strip(), None


def _column_key(value: Any, header: set[str], errors: dict[str, str], field_name: str) -> str:
    key = header_key(value) if value not in (None, "") else ""
    if key and key not in header:
        errors[field_name] = _("The file has no column %(column)r.") % {"column": str(value)}
    return key


def _rule(field_name: str, data: Any, header: set[str], errors: dict[str, str]) -> FieldRule | None:
    if data in (None, "", {}):
        return None
    if not isinstance(data, dict):
        errors[field_name] = _("Give a column or a constant.")
        return None
    raw_columns = data.get("columns") if field_name == "external_id" else None
    if raw_columns is None:
        raw_columns = [data["column"]] if data.get("column") not in (None, "") else []
    if not isinstance(raw_columns, list):
        errors[field_name] = _("Give the columns as a list.")
        return None
    columns = tuple(
        key for key in (_column_key(name, header, errors, field_name) for name in raw_columns) if key
    )
    if len(columns) > (MAX_EXTERNAL_ID_COLUMNS if field_name == "external_id" else 1):
        errors[field_name] = _("At most %(count)s columns.") % {"count": MAX_EXTERNAL_ID_COLUMNS}
    constant = str(data.get("constant") or "").strip()
    if columns and constant:
        errors[field_name] = _("Choose a column or a constant, not both.")
    if field_name == "external_id" and constant:
        errors[field_name] = _("The external id comes from the file's columns, never a constant.")
    if constant:
        constant, problem = _canonical_value(field_name, constant)
        if problem:
            errors[field_name] = problem
    values: dict[str, str] = {}
    raw_values = data.get("values") or {}
    if raw_values and (not isinstance(raw_values, dict) or len(raw_values) > MAX_VALUE_MAP):
        errors[field_name] = _("A value map has at most %(count)s entries.") % {"count": MAX_VALUE_MAP}
        raw_values = {}
    for written, meant in raw_values.items():
        target, problem = _canonical_value(field_name, str(meant))
        if problem:
            errors[field_name] = _("The value map's %(value)r: %(problem)s") % {
                "value": str(written),
                "problem": problem,
            }
        values[value_key(str(written))] = target
    date_format = str(data.get("date_format") or "") if field_name == "occurred_at" else ""
    if date_format and (problem := _check_date_format(date_format)):
        errors["date_format"] = problem
    direction = None
    if field_name == "gross" and data.get("direction"):
        direction = _direction(data["direction"], header, errors)
    if not columns and not constant and field_name not in errors:
        errors[field_name] = _("Give a column or a constant.")
    return FieldRule(
        columns=columns,
        constant=constant,
        values=values,
        date_format=date_format,
        minor_units=bool(data.get("minor_units")) if field_name == "gross" else False,
        direction=direction,
    )


def _direction(data: Any, header: set[str], errors: dict[str, str]) -> Direction | None:
    if not isinstance(data, dict):
        errors["direction"] = _("Give the direction's column and its values.")
        return None
    column = _column_key(data.get("column"), header, errors, "direction")
    positive, negative = _texts(data.get("positive")), _texts(data.get("negative"))
    if not column:
        errors.setdefault("direction", _("Choose the column that says in or out."))
    elif not positive or not negative:
        errors["direction"] = _("Give the values that mean income (+) and those that mean money out (−).")
    positive_keys = frozenset(value_key(value) for value in positive)
    negative_keys = frozenset(value_key(value) for value in negative)
    if positive_keys & negative_keys:
        errors["direction"] = _("%(values)s cannot mean both + and −.") % {
            "values": ", ".join(sorted(positive_keys & negative_keys))
        }
    return Direction(column, positive_keys, negative_keys, tuple(positive), tuple(negative))


def mapping_from_data(data: Any, header: Sequence[Any]) -> Mapping:
    """The mapping `data` describes for a file with this header row, or MappingInvalid saying
    what is missing or wrong, field by field."""
    if not isinstance(data, dict):
        raise MappingInvalid({"fields": _("A mapping is an object with its fields.")})
    keys = {key for key in header_keys(header) if key}
    errors: dict[str, str] = {}
    raw_fields = data.get("fields") or {}
    if not isinstance(raw_fields, dict):
        raise MappingInvalid({"fields": _("A mapping is an object with its fields.")})
    for name in raw_fields:
        if name not in COLUMNS:
            errors[str(name)] = _("Not a canonical field; the fields are %(fields)s.") % {
                "fields": ", ".join(COLUMNS)
            }
    fields: dict[str, FieldRule] = {}
    for name in COLUMNS:
        rule = _rule(name, raw_fields.get(name), keys, errors)
        if rule is not None:
            fields[name] = rule
        elif name in REQUIRED:
            errors.setdefault(name, _("Give a column or a constant."))
    skip = _texts(data.get("skip") or [])
    if len(skip) > MAX_SKIP_PATTERNS or any(len(pattern) > MAX_PATTERN_LENGTH for pattern in skip):
        errors["skip"] = _("At most %(count)s skip patterns of %(length)s characters.") % {
            "count": MAX_SKIP_PATTERNS,
            "length": MAX_PATTERN_LENGTH,
        }
    separator = str(data.get("separator", "-"))
    if len(separator) > 5:
        errors["separator"] = _("The separator has at most 5 characters.")
    if errors:
        raise MappingInvalid(errors)
    return Mapping(fields=fields, skip=tuple(skip), separator=separator)


def mapping_to_data(mapping: Mapping, header: Sequence[Any]) -> dict[str, Any]:
    """The JSON stored on a version; columns by the file's own names (readable, and read back
    as keys by mapping_from_data)."""
    names = {key: cell_text(cell) for key, cell in zip(exports.header_keys(header), header, strict=False)}
    fields: dict[str, Any] = {}
    for name, rule in mapping.fields.items():
        entry: dict[str, Any] = {}
        if rule.columns:
            if name == "external_id":
                entry["columns"] = [names.get(column, column) for column in rule.columns]
            else:
                entry["column"] = names.get(rule.column, rule.column)
        if rule.constant:
            entry["constant"] = rule.constant
        if rule.values:
            entry["values"] = dict(rule.values)
        if rule.date_format:
            entry["date_format"] = rule.date_format
        if rule.minor_units:
            entry["minor_units"] = True
        if rule.direction is not None:
            entry["direction"] = {
                "column": names.get(rule.direction.column, rule.direction.column),
                "positive": list(rule.direction.positive_names),
                "negative": list(rule.direction.negative_names),
            }
        fields[name] = entry
    return {"fields": fields, "skip": list(mapping.skip), "separator": mapping.separator}


# --- reading rows --------------------------------------------------------------------------------


@dataclass(slots=True)
class MappedRow:
    """One data row through the template: the canonical text, and the template's own errors
    (column as the file names it, reason)."""

    raw: RawRow
    errors: list[tuple[str, str]]


class RowMapper:
    """Applies one mapping to the rows under one header."""

    def __init__(
        self, mapping: Mapping, header: Sequence[Any], *, zone: ZoneInfo, is_workbook: bool = False
    ) -> None:
        self.mapping = mapping
        self.zone = zone
        self.is_workbook = is_workbook
        keys = exports.header_keys(header)
        self.names = [cell_text(cell) for cell in header]
        self.positions: dict[str, int] = {}
        for position, key in enumerate(keys):
            if key and key not in self.positions:  # a name twice: the first column is the one
                self.positions[key] = position
        used = {self.positions[column] for column in mapping.columns_used() if column in self.positions}
        self.extra = [
            (position, name) for position, name in enumerate(self.names) if name and position not in used
        ]
        # Compiled once: a pattern is tried on every row.
        self.skip = [
            (re.compile(fnmatch.translate(value_key(pattern)), re.DOTALL), pattern)
            for pattern in mapping.skip
        ]
        # Per text field: (constant, position, value map), so a row costs a look-up per field.
        self.plans: dict[str, tuple[str, int | None, dict[str, str]]] = {
            name: (rule.constant, self.positions.get(rule.column), rule.values)
            for name, rule in mapping.fields.items()
        }
        date_format = mapping.fields["occurred_at"].date_format if "occurred_at" in mapping.fields else ""
        self.date_has_time = bool(set(re.findall(r"%(.)", date_format)) & _TIME_DIRECTIVES)

    def _cell(self, cells: Sequence[Any], column: str) -> Any:
        position = self.positions.get(column)
        return cells[position] if position is not None and position < len(cells) else None

    def _name(self, column: str) -> str:
        position = self.positions.get(column)
        name = self.names[position] if position is not None else column
        return name.replace("\x00", "")[:_ERROR_COLUMN]

    def skip_reason(self, cells: Sequence[Any]) -> tuple[str, str] | None:
        """("pattern", why) for a row whose first filled cell matches a skip pattern, ("totals",
        "") for a totals row (合计 / Total), None for a row to read."""
        first = next((text for text in (cell_text(cell) for cell in cells) if text), "")
        if not first:
            return None
        if self.skip:
            key = value_key(first)
            for pattern, written in self.skip:
                if pattern.match(key):
                    return "pattern", _("Matches the template's skip pattern %(pattern)r.") % {
                        "pattern": written
                    }
        # The totals words are short ("grand total:"): a longer first cell is no totals cell, and
        # costs no normalisation.
        if len(first) <= _TOTALS_CELL_LENGTH and exports.is_totals_cell(first):
            return "totals", ""
        return None

    def text(self, field_name: str, cells: Sequence[Any]) -> str:
        plan = self.plans.get(field_name)
        if plan is None:
            return ""
        constant, position, values = plan
        if constant:
            return constant
        text = cell_text(cells[position]) if position is not None and position < len(cells) else ""
        if values:
            return values.get(value_key(text), text)
        return text

    def currency(self, cells: Sequence[Any]) -> str:
        return self.text("currency", cells).upper()

    def external_id(self, cells: Sequence[Any], errors: list[tuple[str, str]]) -> str:
        rule = self.mapping.fields["external_id"]
        parts = []
        for column in rule.columns:
            part = exports.order_key(self._cell(cells, column))
            if exports.is_scientific(part):
                errors.append(
                    (
                        self._name(column),
                        _(
                            "%(value)r is a number Excel rounded; the id is lost. Export the column as"
                            " text and import again."
                        )
                        % {"value": part},
                    )
                )
            parts.append(part)
        return self.mapping.separator.join(parts) if any(parts) else ""

    def gross(self, cells: Sequence[Any], currency: str, errors: list[tuple[str, str]]) -> str:
        rule = self.mapping.fields["gross"]
        if rule.constant:
            return rule.constant
        value = self._cell(cells, rule.column)
        text = exports.amount_text(value)
        if not text:
            return ""
        if not _PLAIN_DECIMAL.fullmatch(text):
            return text  # no amount: validate_row says so in its words
        if rule.minor_units:
            whole, _dot, fraction = text.partition(".")
            if fraction.strip("0"):
                errors.append(
                    (
                        self._name(rule.column),
                        _("%(value)r is not a whole number of minor units (fen, cents).")
                        % {"value": cell_text(value)},
                    )
                )
                return text
            text = to_decimal_string(int(whole), currency if is_known_currency(currency) else "CNY")
        if rule.direction is not None:
            direction = rule.direction
            written = cell_text(self._cell(cells, direction.column))
            key = value_key(written)
            unsigned = text.lstrip("-")
            if key in direction.positive:
                return unsigned
            if key in direction.negative:
                return exports.negated(unsigned)
            errors.append(
                (
                    self._name(direction.column),
                    _(
                        "Unknown direction %(value)r: this template reads %(positive)s as + and %(negative)s as −."
                    )
                    % {
                        "value": written,
                        "positive": " / ".join(direction.positive_names),
                        "negative": " / ".join(direction.negative_names),
                    },
                )
            )
        return text

    def occurred_at(self, cells: Sequence[Any], errors: list[tuple[str, str]]) -> str:
        rule = self.mapping.fields["occurred_at"]
        if rule.constant:
            return rule.constant
        value = self._cell(cells, rule.column)
        if isinstance(value, datetime.datetime):
            return (
                self._aware(value)
                if value.time() != datetime.time() or value.tzinfo
                else value.date().isoformat()
            )
        if isinstance(value, datetime.date):
            return value.isoformat()
        text = unicodedata.normalize("NFKC", cell_text(value)).strip()
        if not text:
            return ""
        if rule.date_format:
            try:
                parsed = datetime.datetime.strptime(text, rule.date_format)  # noqa: DTZ007 (the zone is attached below)
            except ValueError:
                errors.append(
                    (
                        self._name(rule.column),
                        _("%(value)r does not match the date format %(format)s.")
                        % {"value": text, "format": rule.date_format},
                    )
                )
                return text
            if parsed.tzinfo is not None:
                return parsed.isoformat()
            return self._aware(parsed) if self.date_has_time else parsed.date().isoformat()
        moment = exports.parse_date(value, offset="", is_workbook=self.is_workbook)
        if moment is None:
            return text  # validate_row names what it expects
        if "T" in moment.text and not _has_offset(moment.text):
            return self._aware(datetime.datetime.fromisoformat(moment.text))
        return moment.text

    def _aware(self, moment: datetime.datetime) -> str:
        """A wall-clock time without an offset, read in the agency's time zone."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.isoformat()

    def map(self, number: int, cells: Sequence[Any]) -> MappedRow:
        errors: list[tuple[str, str]] = []
        currency = self.currency(cells)
        values = {
            "external_id": self.external_id(cells, errors),
            "occurred_at": self.occurred_at(cells, errors),
            "platform": self.text("platform", cells),
            "account_id": exports.order_key(self.text("account_id", cells)),
            "source": self.text("source", cells),
            "gross": self.gross(cells, currency, errors),
            "currency": currency,
            "order_ref": exports.order_key(self.text("order_ref", cells)),
            "refund_of": self.refund_of(cells),
            "description": self.text("description", cells),
        }
        length = len(cells)
        metadata = {
            name: text
            for position, name in self.extra
            if position < length and (text := cell_text(cells[position]))
        }
        return MappedRow(RawRow(number, values, metadata), errors)

    def refund_of(self, cells: Sequence[Any]) -> str:
        rule = self.mapping.fields.get("refund_of")
        if rule is None:
            return ""
        return exports.order_key(self.text("refund_of", cells))


def _has_offset(text: str) -> bool:
    return bool(_OFFSET.search(text))


def find_header(head: Iterable[Sequence[Any]], signature: str) -> int | None:
    """The row number (1 = first) of the first head row with this signature."""
    for number, cells in enumerate(head, start=1):
        if header_signature(cells) == signature:
            return number
    return None


def template_rows(
    mapper: RowMapper,
    rows: Iterable[tuple[int, Sequence[Any]]],
    header_row: int,
    *,
    report: exports.ReadReport,
    only_rows: Container[int] | None = None,
) -> Iterator[MappedRow]:
    """The mapped data rows below the header (numbered as the file's rows, the first is 1).

    Note rows above the header, totals rows and rows matching a skip pattern go to `report` as
    skipped; a totals row that differs from the sum of its rows is a warning there. An external
    id seen on an earlier row of the file is an error of the later row (every row's key is
    computed, even with `only_rows`, so a retried row still meets the rows before it)."""
    totals = exports.TotalsCheck(
        report, lambda: mapper.currency(()) or "CNY", is_whole_file=only_rows is None
    )
    seen: dict[tuple[str, str], int] = {}
    for number, cells in rows:
        wanted = only_rows is None or number in only_rows
        if number <= header_row:
            if number < header_row and wanted and not exports.is_blank(cells):
                report.skip(number, _("Note above the header: not a statement row."))
            continue
        if not cells or exports.is_blank(cells):
            continue
        skipped = mapper.skip_reason(cells)
        if skipped is not None and wanted:
            if skipped[0] == "totals":
                currency = mapper.currency(cells) or "CNY"
                totals.totals_row(number, mapper.gross(cells, currency, []), currency)
            else:
                report.skip(number, skipped[1])
        if skipped is not None:
            continue
        mapped = mapper.map(number, cells)
        values = mapped.raw.values
        totals.add(values["gross"], values["currency"])
        key = (values["platform"].lower(), values["external_id"])
        if values["external_id"]:
            first = seen.setdefault(key, number)
            if first != number:
                mapped.errors.append(
                    (
                        "external_id",
                        _(
                            "Row %(row)s of this file has the same external id %(id)r: the template's"
                            " external id columns do not tell these rows apart (add a column to them);"
                            " this row is not imported."
                        )
                        % {"row": first, "id": values["external_id"]},
                    )
                )
        if wanted:
            yield mapped
    totals.finish()
