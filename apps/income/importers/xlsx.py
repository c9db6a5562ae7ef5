"""XLSX statements: the canonical header in the first sheet's first row (openpyxl, read-only).

Formula cells are read as their formula text (data_only=False), so "=HYPERLINK(...)" stays a
string and is never evaluated; numbers come as ints or floats and are turned into their exact
decimal text by canonical.cell_text before any money parsing.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Container, Iterator
from typing import IO

from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.income.importers.canonical import HeaderMap, RawRow


def read(data: bytes | IO[bytes], *, only_rows: Container[int] | None = None) -> Iterator[RawRow]:
    """Rows of the first sheet; `data` is the bytes or a seekable file (read-only mode streams
    the sheet's XML from it, so a large workbook is never held whole)."""
    from openpyxl import load_workbook

    try:
        source = io.BytesIO(data) if isinstance(data, bytes) else data
        workbook = load_workbook(source, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise ApplicationError(
            _("The workbook cannot be read (%(error)s).") % {"error": error}, code="statement_bad_xlsx"
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ApplicationError(_("The file is empty."), code="statement_empty")
        columns = HeaderMap(list(header))
        for row_number, cells in enumerate(rows, start=2):
            if only_rows is not None and row_number not in only_rows:
                continue
            if not cells or all(cell in (None, "") for cell in cells):
                continue
            yield columns.row(row_number, list(cells))
    finally:
        workbook.close()
