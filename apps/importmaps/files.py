"""The first rows of a statement file, for the mapping form and the preview: its header and a
few data rows, never the whole file.

A workbook's first sheet through the importers' capped reader (xlsx.read_cells: its zip limits
apply); text as UTF-8 (with or without BOM), else GB18030, decoded strictly from the first
block only: the pipeline decodes all of the bytes when it imports, this only shows the head.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import IO, Any

from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.importmaps.mapping import header_signature
from apps.income.importers import exports, xlsx
from apps.income.importers.canonical import cell_text

# Enough for notes above the header, the header and a preview's rows with skipped ones between.
HEAD_ROWS = 60
_HEAD_BYTES = 512 * 1024

Opener = Callable[[], AbstractContextManager[IO[bytes]]]


@dataclass(frozen=True, slots=True)
class FileHead:
    rows: tuple[tuple[int, tuple[Any, ...]], ...]  # (row number, cells), the first row is 1
    is_workbook: bool

    def cells(self) -> list[tuple[Any, ...]]:
        return [cells for _number, cells in self.rows]

    def detection_cells(self) -> list[tuple[Any, ...]]:
        """The rows the importers search for a header (exports.HEAD_ROWS): a template matches
        here exactly when it will match on import."""
        return self.cells()[: exports.HEAD_ROWS]

    def row(self, number: int) -> tuple[Any, ...]:
        for row_number, cells in self.rows:
            if row_number == number:
                return cells
        return ()

    def likely_header_row(self) -> int:
        """The first row with as many named cells as the widest of the head (a note above a
        header fills one or two), among rows that can be a header at all."""
        counts = [
            (sum(1 for cell in cells if cell_text(cell)), number)
            for number, cells in self.rows[:20]
            if header_signature(cells) is not None
        ]
        if not counts:
            return 1
        widest = max(count for count, _number in counts)
        return next(number for count, number in counts if count == widest)


def _decoded_head(data: bytes, *, is_complete: bool) -> str:
    for codec in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(codec)(errors="strict")
        try:
            # final only when the whole file is here: a block may end inside a character.
            return decoder.decode(data, final=is_complete)
        except UnicodeDecodeError:
            continue
    raise ApplicationError(
        _("The file is neither UTF-8 nor GB18030/GBK text; save it as CSV UTF-8 and upload it again."),
        code="statement_bad_encoding",
    )


def read_head(open_file: Opener, *, limit: int = HEAD_ROWS) -> FileHead:
    """The file's first `limit` rows as cells; refused with the importers' messages when the
    file cannot be read."""
    with open_file() as stream:
        start = stream.read(_HEAD_BYTES)
        if start[:2] == b"PK":
            stream.seek(0)  # openpyxl reads the zip's directory at its end: a seekable stream
            rows = tuple((number, tuple(cells)) for number, cells in xlsx.read_cells(stream, limit=limit))
            return FileHead(rows, is_workbook=True)
        is_complete = not stream.read(1)
    text = _decoded_head(start, is_complete=is_complete)
    if not is_complete:
        text = text[: text.rfind("\n") + 1] if "\n" in text else text
    try:
        cells = [tuple(row) for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as error:
        raise ApplicationError(
            _("The file cannot be read as CSV (%(error)s).") % {"error": error}, code="statement_bad_csv"
        ) from None
    if not any(any(cell.strip() for cell in row) for row in cells):
        raise ApplicationError(_("The file is empty."), code="statement_empty")
    return FileHead(tuple(enumerate(cells[:limit], start=1)), is_workbook=False)


def upload_opener(file: Any) -> Opener:
    """An opener for an uploaded file (Django's UploadedFile): read from its start each time."""

    class _Opened(AbstractContextManager[IO[bytes]]):
        def __enter__(self) -> IO[bytes]:
            file.seek(0)
            return file

        def __exit__(self, *exc: object) -> None:
            file.seek(0)

    return _Opened


def stored_opener(stored: Any) -> Opener:
    """An opener for a stored FieldFile (a waiting import's file): a new handle each time."""

    class _Opened(AbstractContextManager[IO[bytes]]):
        def __enter__(self) -> IO[bytes]:
            self.stream = stored.storage.open(stored.name, "rb")
            return self.stream

        def __exit__(self, *exc: object) -> None:
            self.stream.close()

    return _Opened
