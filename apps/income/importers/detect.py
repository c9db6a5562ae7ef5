"""Which format and which encoding a statement file is in: detected, never guessed silently.

Encodings: UTF-8 (with or without BOM) strictly first, then GB18030 strictly (a superset of
GBK and GB2312, what Chinese Excel and platform exports write); a file that is neither is
refused with a message. UTF-8 goes first because a GB18030 decoder accepts many UTF-8 byte
strings as (wrong) Chinese, while valid GB18030 text with Chinese in it is almost never valid
UTF-8.

Formats: an XLSX is a ZIP (it starts with "PK"); text is CSV. Either way the first HEAD_ROWS
rows (`FileFacts.head`) are searched for a header that one adapter of a real export knows
(exports put notes above it); the adapter found on the earliest row wins, and among adapters of
one row the one that recognised most columns. `detect` says which and why ("YouTube Studio
export: columns Content, Video title, Estimated revenue (USD)"). A file no adapter knows is the
canonical statement when its first row has the canonical columns; otherwise detectors other
apps registered (`register_detector`: the agency's import templates) are asked, and when none
fits the file is refused with the code `statement_unknown_format` and its header in the error's
extra fields (`header`, `header_row`, `head`): what a "map this file" step starts from.

The API (kept stable for the apps that hook in):

* `inspect(open_file) -> FileFacts`: SHA-256, workbook or text, encoding, first line, head rows;
  `inspect_head(stream)`: the head only, for a check while an upload waits.
* `detect(facts, *, agency_id=None) -> Detection`: the format and the reason, or the refusal.
* `resolve_format(facts, requested, *, agency_id=None) -> str`: `requested`, or detected for "auto".
* `detection_for(facts, chosen, *, agency_id=None) -> Detection`: the detection of a chosen format.
* `read_rows(stream, facts, chosen, *, only_rows=None, statement_import=None)`: the canonical
  rows. With `statement_import`, the adapter reads the platform account chosen at upload from
  it, and once every row is read the detection and what was skipped are stored on its
  `detection` field (the caller saves the import).
* `register_adapter(adapter)`, `register_detector(detector)`: for readers and detectors defined
  elsewhere (templates); built-in adapters are listed in ADAPTERS.

Streaming: `inspect` reads the bytes once in blocks (their SHA-256, and a strict incremental
decoder over *all* of them: a file whose first megabyte is ASCII and whose Chinese comes later
is still detected right; a second pass only when UTF-8 fails), then `read_rows` parses them
again through a decoding stream. Neither holds the file or its rows: the pipeline's memory no
longer grows with the file.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.common.exceptions import ApplicationError
from apps.income.importers import (
    buyin_orders,
    canonical,
    doudian_funds,
    doudian_settle,
    douyin,
    taobao_union,
    xlsx,
    youtube,
    youtube_reporting,
    youtube_studio,
)
from apps.income.importers.canonical import RawRow, cell_text, readable_rows
from apps.income.importers.exports import HEAD_ROWS, Adapter, NumberedRows, ReadContext, header_keys

_BLOCK = 1 << 20
# The head is cut at this many characters: enough for HEAD_ROWS rows of any real export.
_HEAD_CHARACTERS = 256 * 1024

# Formats read by their own text readers (the canonical CSV; the first YouTube and Douyin
# adapters, which take the header in the first row).
TEXT_FORMATS: dict[str, Callable[..., Iterator[RawRow]]] = {
    "canonical": canonical.read_csv,
    "youtube": youtube.read,
    "douyin": douyin.read,
}

# Adapters of real exports, in the order a tie on one header row is broken (most specific first).
ADAPTERS: list[Adapter] = [
    youtube_reporting.ADAPTER,
    youtube_studio.ADAPTER,
    doudian_settle.ADAPTER,
    doudian_funds.ADAPTER,
    buyin_orders.ADAPTER,
    taobao_union.ADAPTER,
]
_REGISTERED: dict[str, Adapter] = {}
# How a registered adapter finds its header for one import, when that depends on the import
# (an import template: the agency's templates, or the one chosen at upload): code -> callable.
RegisteredDetection = Callable[["FileFacts", Any], "Detection"]
_REGISTERED_DETECTIONS: dict[str, RegisteredDetection] = {}

Opener = Callable[[], AbstractContextManager[IO[bytes]]]
# The codec each encoding name is read with: "utf-8-sig" drops a BOM and reads plain UTF-8 too.
_CODECS = {"utf-8": "utf-8-sig", "gb18030": "gb18030"}


@dataclass(frozen=True, slots=True)
class FileFacts:
    sha256: str
    is_zip: bool
    encoding: str  # "" for a workbook
    first_line: str  # decoded, lower-cased: what the first adapters' detection looked at
    # The first HEAD_ROWS rows as cells (CSV text, or a workbook's values): where headers are.
    head: tuple[tuple[Any, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Detection:
    """The format a file is read as, and why: shown on the import."""

    format: str  # StatementImport.format
    label: str
    reason: str
    header_row: int = 1  # the header's row number in the file (1 = first row)
    columns: tuple[str, ...] = ()  # the header cells that decided it
    needs_account: bool = False  # the export names no account: one is chosen at upload

    def as_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "label": self.label,
            "reason": self.reason,
            "header_row": self.header_row,
            "columns": list(self.columns),
        }


# (facts, agency id) -> a Detection, or None when the detector does not know the file.
Detector = Callable[[FileFacts, int | None], Detection | None]
_DETECTORS: list[Detector] = []


def register_adapter(adapter: Adapter, *, detection: RegisteredDetection | None = None) -> None:
    """A reader for a format detected elsewhere (e.g. an import template's); `read_rows` uses it.
    With `detection`, `detection_for` asks it, with the import, where the header is and why."""
    _REGISTERED[adapter.code] = adapter
    if detection is not None:
        _REGISTERED_DETECTIONS[adapter.code] = detection


def register_detector(detector: Detector) -> None:
    """Asked, in registration order, for a file no built-in adapter knows and that is not the
    canonical statement, before it is refused as statement_unknown_format."""
    if detector not in _DETECTORS:
        _DETECTORS.append(detector)


def adapter_for(code: str) -> Adapter | None:
    for adapter in ADAPTERS:
        if adapter.code == code:
            return adapter
    return _REGISTERED.get(code)


# --- inspecting the bytes ------------------------------------------------------------------------


def _head_rows(text: str) -> tuple[tuple[Any, ...], ...]:
    lines = text[:_HEAD_CHARACTERS].splitlines(keepends=True)[:HEAD_ROWS]
    rows: list[tuple[Any, ...]] = []
    reader = csv.reader(io.StringIO("".join(lines), newline=""))
    # Up to the first row csv cannot read (a NUL byte, a field past csv's limit, a head cut
    # inside a huge cell): the header and the rows above it still tell the format, and the
    # import refuses that row itself. (A file whose last row held a 5 MB cell was refused as
    # "match no export" with its fine rows: found by `make attack`.)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            break
        rows.append(tuple(row))
    return tuple(rows)


def _decodes(open_file: Opener, codec: str) -> str | None:
    """The file's head (its first block, decoded) when every byte decodes strictly, else None."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    head: str | None = None
    with open_file() as stream:
        try:
            while block := stream.read(_BLOCK):
                text = decoder.decode(block)
                if head is None:
                    head = text[:_HEAD_CHARACTERS]
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None
    return head or ""


def _workbook_head(open_file: Opener) -> tuple[tuple[Any, ...], ...]:
    with open_file() as stream:
        return tuple(tuple(cells) for _number, cells in xlsx.read_cells(stream, limit=HEAD_ROWS))


def inspect(open_file: Opener) -> FileFacts:
    """SHA-256, workbook or text, the text's encoding and the file's head rows: one read of the
    bytes (two when they are not UTF-8; a workbook's head is read again through openpyxl); a
    text file in neither encoding is a clear refusal."""
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    is_utf8 = True
    head: str | None = None
    is_zip = False
    with open_file() as stream:
        while block := stream.read(_BLOCK):
            if head is None:
                is_zip = block[:2] == b"PK"
            digest.update(block)
            if is_utf8 and not is_zip:
                try:
                    text = utf8.decode(block)
                except UnicodeDecodeError:
                    is_utf8 = False
                else:
                    if head is None:
                        head = text[:_HEAD_CHARACTERS]
            if head is None:
                head = ""
    if is_zip:
        return FileFacts(digest.hexdigest(), True, "", "", _workbook_head(open_file))
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
        else:
            text = head or ""
            return FileFacts(
                digest.hexdigest(), False, "utf-8", text.split("\n", 1)[0].lower(), _head_rows(text)
            )
    gb_head = _decodes(open_file, "gb18030")
    if gb_head is None:
        raise ApplicationError(
            _("The file is neither UTF-8 nor GB18030/GBK text; save it as CSV UTF-8 and upload it again."),
            code="statement_bad_encoding",
        )
    return FileFacts(
        digest.hexdigest(), False, "gb18030", gb_head.split("\n", 1)[0].lower(), _head_rows(gb_head)
    )


def inspect_head(stream: IO[bytes]) -> FileFacts:
    """An uploaded file's head only (no SHA-256, no decoding of the rest): enough to detect its
    format while the upload waits. The worker inspects the whole file again (`inspect`)."""
    start = stream.read(_HEAD_CHARACTERS)
    stream.seek(0)
    if start[:2] == b"PK":
        try:
            head = tuple(tuple(cells) for _number, cells in xlsx.read_cells(stream, limit=HEAD_ROWS))
        finally:
            stream.seek(0)
        return FileFacts("", True, "", "", head)
    for encoding in ("utf-8", "gb18030"):
        # Incremental and not final: a character cut at the end of the head is no error.
        try:
            text = codecs.getincrementaldecoder(_CODECS[encoding])(errors="strict").decode(start)
        except UnicodeDecodeError:
            continue
        return FileFacts("", False, encoding, text.split("\n", 1)[0].lower(), _head_rows(text))
    raise ApplicationError(
        _("The file is neither UTF-8 nor GB18030/GBK text; save it as CSV UTF-8 and upload it again."),
        code="statement_bad_encoding",
    )


# --- detecting the format ------------------------------------------------------------------------


def _adapter_detection(adapter: Adapter, row_number: int, columns: list[str]) -> Detection:
    label = _(adapter.label)
    return Detection(
        format=adapter.code,
        label=label,
        reason=_("%(label)s: columns %(columns)s") % {"label": label, "columns": ", ".join(columns)},
        header_row=row_number,
        columns=tuple(columns),
        needs_account=adapter.needs_account,
    )


def _find_header(head: Iterable[tuple[Any, ...]], adapters: Iterable[Adapter]) -> Detection | None:
    """The earliest head row some adapter knows; on one row, the adapter that named most columns."""
    adapters = list(adapters)
    for row_number, cells in enumerate(head, start=1):
        keys = header_keys(cells)
        if not any(keys):
            continue
        best: tuple[Adapter, list[str]] | None = None
        for adapter in adapters:
            columns = adapter.match(keys)
            if columns is not None and (best is None or len(columns) > len(best[1])):
                best = (adapter, [_header_name(cells, keys, column) for column in columns])
        if best is not None:
            return _adapter_detection(best[0], row_number, best[1])
    return None


def _header_name(cells: tuple[Any, ...], keys: list[str], key: str) -> str:
    """A matched column as the file writes it (the adapter names it by its key)."""
    return cell_text(cells[keys.index(key)]) if key in keys else key


def _canonical_columns(facts: FileFacts) -> list[str]:
    if not facts.head:
        return []
    names = {cell_text(cell).lower() for cell in facts.head[0]}
    return [column for column in canonical.COLUMNS if column in names]


def _canonical_detection(facts: FileFacts, columns: list[str]) -> Detection:
    code = "xlsx" if facts.is_zip else "canonical"
    label = _("Excel (canonical header)") if facts.is_zip else _("Canonical CSV")
    return Detection(
        format=code,
        label=label,
        reason=_("%(label)s: columns %(columns)s") % {"label": label, "columns": ", ".join(columns)},
        header_row=1,
        columns=tuple(columns),
    )


def _likely_header(head: tuple[tuple[Any, ...], ...]) -> tuple[int, list[str]]:
    """The row that looks most like a header: the first with as many filled cells as the widest
    row of the head (a note above a header fills one or two cells)."""
    filled = [sum(1 for cell in cells if cell_text(cell)) for cells in head]
    if not filled or not max(filled):
        return 0, []
    widest = max(filled)
    index = next(index for index, count in enumerate(filled) if count == widest)
    return index + 1, [cell_text(cell) for cell in head[index]]


def _storable(text: str) -> str:
    return text.replace("\x00", "") if "\x00" in text else text


def unknown_format(facts: FileFacts) -> ApplicationError:
    """The refusal of a file nothing knows: its code and header tell a client to offer mapping."""
    header_row, header = _likely_header(facts.head)
    return ApplicationError(
        _(
            "This file's columns match no export Fenrun knows, and it is not the canonical statement"
            " (%(columns)s): map its columns to an import template."
        )
        % {"columns": ", ".join(canonical.COLUMNS)},
        code="statement_unknown_format",
        # Bounded (an import keeps these in its detection): 100 columns of the header, 50 of
        # each head row, 100 characters a cell.
        # Without NUL characters: an import keeps this in a jsonb column, which refuses "\u0000"
        # (a UTF-16 file without a BOM decodes as UTF-8 with a NUL in every other byte; it was a
        # 500 at upload, found by `make attack`).
        extra={
            "header": [_storable(name)[:100] for name in header[:100]],
            "header_row": header_row,
            "head": [[_storable(cell_text(cell))[:100] for cell in cells[:50]] for cells in facts.head],
        },
    )


_LEGACY_LABELS = {
    "youtube": gettext_noop("YouTube revenue report"),
    "douyin": gettext_noop("Douyin settlement bill"),
}


def _legacy_detection(facts: FileFacts) -> Detection | None:
    """The first two adapters (a CSV with their header in its first row): a YouTube report
    grouped by channel, a Douyin/Xingtu settlement bill."""
    if facts.is_zip or not facts.head:
        return None
    for code, is_header in (("youtube", youtube.is_header), ("douyin", douyin.is_header)):
        if is_header(facts.first_line):
            label = _(_LEGACY_LABELS[code])
            columns = [cell_text(cell) for cell in facts.head[0] if cell_text(cell)]
            return Detection(
                format=code,
                label=label,
                reason=_("%(label)s: columns %(columns)s") % {"label": label, "columns": ", ".join(columns)},
                columns=tuple(columns),
            )
    return None


def detect(facts: FileFacts, *, agency_id: int | None = None) -> Detection:
    """The format of a file (detected from its head rows) and why; refused when nothing fits."""
    found = _find_header(facts.head, ADAPTERS)
    if found is not None:
        return found
    legacy = _legacy_detection(facts)
    if legacy is not None:
        return legacy
    columns = _canonical_columns(facts)
    if all(column in columns for column in canonical.REQUIRED):
        return _canonical_detection(facts, columns)
    for detector in _DETECTORS:
        detection = detector(facts, agency_id)
        if detection is not None:
            return detection
    # Some canonical columns but not all: the canonical reader names the missing ones.
    if len(columns) >= 3:
        return _canonical_detection(facts, columns)
    raise unknown_format(facts)


def detection_for(
    facts: FileFacts, chosen: str, *, agency_id: int | None = None, statement_import: Any = None
) -> Detection:
    """The detection of a format chosen at upload (or detected): its header row and columns."""
    if chosen in _REGISTERED_DETECTIONS:
        return _REGISTERED_DETECTIONS[chosen](facts, statement_import)
    adapter = adapter_for(chosen)
    if adapter is not None:
        found = _find_header(facts.head, [adapter])
        if found is None:
            raise ApplicationError(
                _("This file has no header of a %(label)s in its first %(rows)s rows.")
                % {"label": _(adapter.label), "rows": HEAD_ROWS},
                code="statement_bad_header",
            )
        return found
    if chosen in ("canonical", "xlsx"):
        return _canonical_detection(facts, _canonical_columns(facts))
    if chosen in _LEGACY_LABELS:
        legacy = _legacy_detection(facts)
        if legacy is not None and legacy.format == chosen:
            return legacy
    label = _(_LEGACY_LABELS[chosen]) if chosen in _LEGACY_LABELS else chosen
    return Detection(format=chosen, label=label, reason=label)


def resolve_format(facts: FileFacts, requested: str, *, agency_id: int | None = None) -> str:
    """The format a file is read as: `requested`, or detected when it is "auto"; a workbook
    asked for as text (or text as a workbook) is refused."""
    if requested == "auto":
        return detect(facts, agency_id=agency_id).format
    if requested == "xlsx" and not facts.is_zip:
        raise ApplicationError(_("This file is not an XLSX workbook."), code="statement_not_xlsx")
    if adapter_for(requested) is not None or requested == "xlsx":
        return requested
    if facts.is_zip:
        raise ApplicationError(
            _("This is a spreadsheet workbook: choose the Excel format (or automatic detection)."),
            code="statement_unexpected_xlsx",
        )
    if requested not in TEXT_FORMATS:
        raise ApplicationError(
            _("Unknown statement format %(format)r.") % {"format": requested}, code="invalid"
        )
    return requested


def detect_text_format(text: str) -> str:
    """The format of a text file whose head is `text` (kept for callers of the first API)."""
    return detect(FileFacts("", False, "utf-8", text.split("\n", 1)[0].lower(), _head_rows(text))).format


# --- reading -------------------------------------------------------------------------------------


class _Raw(io.RawIOBase):
    """Any object with read(n) (a Django File of any storage) as a raw stream for io's buffers."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _text(stream: IO[bytes], facts: FileFacts) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.BufferedReader(_Raw(stream), _BLOCK), encoding=_CODECS[facts.encoding], newline=""
    )


def _numbered(stream: IO[bytes], facts: FileFacts) -> NumberedRows:
    if facts.is_zip:
        return xlsx.read_cells(stream)
    return enumerate(readable_rows(csv.reader(_text(stream, facts))), start=1)


@dataclass(slots=True)
class _Reading:
    detection: Detection
    context: ReadContext = field(default_factory=ReadContext)

    def as_json(self) -> dict[str, Any]:
        return {**self.detection.as_json(), **self.context.report.as_json()}


def read_context(statement_import: Any) -> ReadContext:
    """What an adapter reads from its import: the platform account and the month chosen at upload."""
    account = getattr(statement_import, "platform_account", None) if statement_import is not None else None
    return ReadContext(
        account_id=account.account_id if account is not None else "",
        period=getattr(statement_import, "statement_period", "") or "",
    )


def read_rows(
    stream: IO[bytes],
    facts: FileFacts,
    chosen: str,
    *,
    only_rows: Container[int] | None = None,
    statement_import: Any = None,
) -> Iterator[RawRow]:
    """The rows of an inspected file, streamed; `only_rows`: yield just these row numbers (the
    others are still read, so the numbers stay the file's). With `statement_import`, see the
    module's docstring."""
    adapter = adapter_for(chosen)
    if adapter is None:
        if chosen == "xlsx":
            rows = xlsx.read(stream, only_rows=only_rows)
        else:
            rows = TEXT_FORMATS[chosen](_text(stream, facts), only_rows=only_rows)
        if statement_import is not None:
            statement_import.detection = detection_for(facts, chosen).as_json()
        return rows
    reading = _Reading(
        detection_for(facts, chosen, statement_import=statement_import), read_context(statement_import)
    )
    reading.context.is_workbook = facts.is_zip
    reading.context.statement_import = statement_import
    return _adapter_rows(adapter, stream, facts, reading, only_rows, statement_import)


def _adapter_rows(
    adapter: Adapter,
    stream: IO[bytes],
    facts: FileFacts,
    reading: _Reading,
    only_rows: Container[int] | None,
    statement_import: Any,
) -> Iterator[RawRow]:
    yield from adapter.read(
        _numbered(stream, facts), reading.detection.header_row, reading.context, only_rows
    )
    if statement_import is not None:
        statement_import.detection = reading.as_json()
