"""XLSX statements: the canonical header in the first sheet's first row (openpyxl, read-only),
or any export's rows as cells for its adapter (`read_cells`).

Formula cells are read as their formula text (data_only=False), so "=HYPERLINK(...)" stays a
string and is never evaluated; numbers come as ints or floats and are turned into their exact
decimal text by canonical.cell_text before any money parsing.

A workbook is a zip of XML, and a few kilobytes of zip can inflate to gigabytes: a 2.6 MB file
whose shared strings inflate to 1.2 GB (openpyxl holds every shared string in memory, even in
read-only mode) took a worker to 1.46 GB; 430 KB of three million blank rows passed 6.5 GB.
So before openpyxl reads anything, the zip's own directory is checked (its size, every member's
inflated size and compression ratio, their total), the shared strings are read with a count
limit, and the sheet is streamed (read-only mode) with a row limit. Python's zipfile never
inflates a member past the size its directory declares (it stops and fails the CRC check), so
the declared sizes are the sizes. Each limit is far above what a real statement needs and
fails the import with a message that says which one and what to do.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Container, Iterator
from typing import IO, Any

from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.income.importers.canonical import HeaderMap, RawRow

# Excel's own sheet limit (header included): no real workbook has more rows.
MAX_ROWS = 1_048_576
MAX_SHARED_STRINGS = 3_000_000
MAX_SHARED_STRINGS_BYTES = 128 * 1024 * 1024  # sharedStrings.xml, inflated
MAX_INFLATED_BYTES = 1024 * 1024 * 1024  # all members together, inflated
MAX_MEMBER_RATIO = 100  # inflated : compressed, for members above RATIO_FLOOR_BYTES inflated
RATIO_FLOOR_BYTES = 1024 * 1024
MAX_DIRECTORY_BYTES = 1024 * 1024  # the zip's central directory: a workbook has a few dozen members
_SHARED_STRINGS_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def _refuse(message: str, code: str) -> ApplicationError:
    return ApplicationError(message, code=code)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f}"


def _check_archive(source: IO[bytes]) -> None:
    """Refuse a workbook whose zip would inflate past the limits, from its directory alone."""
    end = zipfile._EndRecData(source)  # type: ignore[attr-defined]  # stdlib, private since ever
    if end is not None and end[zipfile._ECD_SIZE] > MAX_DIRECTORY_BYTES:  # type: ignore[attr-defined]
        raise _refuse(
            _("This workbook's zip directory is too large for a statement (%(size)s MB).")
            % {"size": _mb(end[zipfile._ECD_SIZE])},  # type: ignore[attr-defined]
            "statement_xlsx_too_large",
        )
    source.seek(0)
    with zipfile.ZipFile(source) as archive:
        members = archive.infolist()
    total = 0
    for member in members:
        total += member.file_size
        ratio_exceeded = member.file_size > RATIO_FLOOR_BYTES and (
            member.file_size > MAX_MEMBER_RATIO * max(member.compress_size, 1)
        )
        if ratio_exceeded:
            raise _refuse(
                _(
                    "This workbook is refused: its part %(name)s inflates %(ratio)s times (%(size)s MB),"
                    " more than a real statement (%(limit)s times at most). Save it again in Excel,"
                    " or export the statement as CSV."
                )
                % {
                    "name": member.filename[:100],
                    "ratio": f"{member.file_size // max(member.compress_size, 1):,}",
                    "size": _mb(member.file_size),
                    "limit": MAX_MEMBER_RATIO,
                },
                "statement_xlsx_too_large",
            )
    if total > MAX_INFLATED_BYTES:
        raise _refuse(
            _(
                "This workbook inflates to %(size)s MB, more than the %(limit)s MB a statement may:"
                " split it, or export the statement as CSV."
            )
            % {"size": _mb(total), "limit": _mb(MAX_INFLATED_BYTES)},
            "statement_xlsx_too_large",
        )
    source.seek(0)


def _read_shared_strings(archive: zipfile.ZipFile, part: str) -> list[str]:
    """openpyxl's read_string_table, with limits: the part's inflated size and its count of
    strings, checked as it is parsed (each string element is dropped once read)."""
    from openpyxl.cell.text import Text
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    if archive.getinfo(part).file_size > MAX_SHARED_STRINGS_BYTES:
        raise _refuse(
            _(
                "This workbook's shared strings inflate to %(size)s MB, more than the %(limit)s MB a"
                " statement may: split it, or export the statement as CSV."
            )
            % {"size": _mb(archive.getinfo(part).file_size), "limit": _mb(MAX_SHARED_STRINGS_BYTES)},
            "statement_xlsx_too_large",
        )
    string_tag = f"{{{SHEET_MAIN_NS}}}si"
    strings: list[str] = []
    root = None
    with archive.open(part) as source:
        for event, node in iterparse(source, events=("start", "end")):
            if root is None:
                root = node
            if event != "end" or node.tag != string_tag:
                continue
            if len(strings) >= MAX_SHARED_STRINGS:
                raise _refuse(
                    _(
                        "This workbook has more than %(limit)s shared strings: split it, or export the"
                        " statement as CSV."
                    )
                    % {"limit": f"{MAX_SHARED_STRINGS:,}"},
                    "statement_xlsx_too_large",
                )
            strings.append(Text.from_tree(node).content.replace("x005F_", ""))
            root.clear()  # the strings read so far are in `strings`: their elements can go
    return strings


def _load_workbook(source: IO[bytes]) -> Any:
    """openpyxl's load_workbook(read_only=True, data_only=False), its shared strings capped."""
    from openpyxl.reader.excel import ExcelReader

    class CappedReader(ExcelReader):
        def read_strings(self) -> None:
            found = self.package.find(_SHARED_STRINGS_CONTENT_TYPE)
            if found is not None:
                self.shared_strings = _read_shared_strings(self.archive, found.PartName[1:])

    reader = CappedReader(source, read_only=True, keep_vba=False, data_only=False, keep_links=False)
    reader.read()
    return reader.wb


def read_cells(data: bytes | IO[bytes], *, limit: int | None = None) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cells) of the first sheet, blank rows included, the first row numbered 1;
    `data` is the bytes or a seekable file (read-only mode streams the sheet's XML from it, so a
    large workbook is never held whole). With `limit`, only the first `limit` rows (detection)."""
    try:
        source = io.BytesIO(data) if isinstance(data, bytes) else data
        _check_archive(source)
        workbook = _load_workbook(source)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as error:
        raise ApplicationError(
            _("The workbook cannot be read (%(error)s).") % {"error": error}, code="statement_bad_xlsx"
        ) from None
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        for row_number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if limit is not None and row_number > limit:
                return
            if row_number > MAX_ROWS:
                # Blank rows count: openpyxl yields every row up to the last one the sheet names.
                raise _refuse(
                    _(
                        "The sheet has more than %(limit)s rows (Excel's own limit), blank rows"
                        " included: delete the empty rows below the statement, split it, or export"
                        " it as CSV."
                    )
                    % {"limit": f"{MAX_ROWS:,}"},
                    "statement_xlsx_too_many_rows",
                )
            yield row_number, list(cells)
    finally:
        workbook.close()


def read(data: bytes | IO[bytes], *, only_rows: Container[int] | None = None) -> Iterator[RawRow]:
    """Rows of a canonical workbook: its header in the first sheet's first row."""
    rows = read_cells(data)
    first = next(rows, None)
    if first is None:
        raise ApplicationError(_("The file is empty."), code="statement_empty")
    columns = HeaderMap(first[1])
    for row_number, cells in rows:
        if only_rows is not None and row_number not in only_rows:
            continue
        if not cells or all(cell in (None, "") for cell in cells):
            continue
        yield columns.row(row_number, cells)
