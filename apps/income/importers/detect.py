"""Which format and which encoding a statement file is in: detected, never guessed silently.

Encodings: UTF-8 (with or without BOM) strictly first, then GB18030 strictly (a superset of
GBK and GB2312, what Chinese Excel and platform exports write); a file that is neither is
refused with a message. UTF-8 goes first because a GB18030 decoder accepts many UTF-8 byte
strings as (wrong) Chinese, while valid GB18030 text with Chinese in it is almost never valid
UTF-8.

Formats: an XLSX is a ZIP (it starts with "PK"); a text file is a YouTube report or a Douyin
bill when its header has that adapter's marker columns, else the canonical CSV.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.income.importers import canonical, douyin, xlsx, youtube
from apps.income.importers.canonical import RawRow

TEXT_FORMATS: dict[str, Callable[[str], Iterator[RawRow]]] = {
    "canonical": canonical.read_csv,
    "youtube": youtube.read,
    "douyin": douyin.read,
}


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of a text file, or a clear refusal."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise ApplicationError(
            _("The file is neither UTF-8 nor GB18030/GBK text; save it as CSV UTF-8 and upload it again."),
            code="statement_bad_encoding",
        ) from None


def detect_text_format(text: str) -> str:
    first_line = text.split("\n", 1)[0].lower()
    if youtube.is_header(first_line):
        return "youtube"
    if douyin.is_header(first_line):
        return "douyin"
    return "canonical"


def open_rows(data: bytes, requested: str) -> tuple[str, str, Iterator[RawRow]]:
    """(format, encoding, rows) of a file; `requested` is a format name or "auto"."""
    is_zip = data[:2] == b"PK"
    if requested == "xlsx" or (requested == "auto" and is_zip):
        if not is_zip:
            raise ApplicationError(_("This file is not an XLSX workbook."), code="statement_not_xlsx")
        return "xlsx", "", xlsx.read(data)
    if is_zip:
        raise ApplicationError(
            _("This is a spreadsheet workbook: choose the Excel format (or automatic detection)."),
            code="statement_unexpected_xlsx",
        )
    text, encoding = decode(data)
    chosen = detect_text_format(text) if requested == "auto" else requested
    reader: Any = TEXT_FORMATS.get(chosen)
    if reader is None:
        raise ApplicationError(
            _("Unknown statement format %(format)r.") % {"format": requested}, code="invalid"
        )
    return chosen, encoding, reader(text)
