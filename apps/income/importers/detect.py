"""Which format and which encoding a statement file is in: detected, never guessed silently.

Encodings: UTF-8 (with or without BOM) strictly first, then GB18030 strictly (a superset of
GBK and GB2312, what Chinese Excel and platform exports write); a file that is neither is
refused with a message. UTF-8 goes first because a GB18030 decoder accepts many UTF-8 byte
strings as (wrong) Chinese, while valid GB18030 text with Chinese in it is almost never valid
UTF-8.

Formats: an XLSX is a ZIP (it starts with "PK"); a text file is a YouTube report or a Douyin
bill when its header has that adapter's marker columns, else the canonical CSV.

Streaming: `inspect` reads the bytes once in blocks (their SHA-256, and a strict incremental
decoder over *all* of them: a file whose first megabyte is ASCII and whose Chinese comes later
is still detected right; a second pass only when UTF-8 fails), then `read_rows` parses them
again through a decoding stream. Neither holds the file or its rows: the pipeline's memory no
longer grows with the file.
"""

from __future__ import annotations

import codecs
import hashlib
import io
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import IO, Any

from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.income.importers import canonical, douyin, xlsx, youtube
from apps.income.importers.canonical import RawRow

_BLOCK = 1 << 20

TEXT_FORMATS: dict[str, Callable[..., Iterator[RawRow]]] = {
    "canonical": canonical.read_csv,
    "youtube": youtube.read,
    "douyin": douyin.read,
}


Opener = Callable[[], AbstractContextManager[IO[bytes]]]
# The codec each encoding name is read with: "utf-8-sig" drops a BOM and reads plain UTF-8 too.
_CODECS = {"utf-8": "utf-8-sig", "gb18030": "gb18030"}


@dataclass(frozen=True, slots=True)
class FileFacts:
    sha256: str
    is_zip: bool
    encoding: str  # "" for a workbook
    first_line: str  # decoded, lower-cased: what format detection looks at


def _decodes(open_file: Opener, codec: str) -> str | None:
    """The file's first line (lower-cased) when every byte decodes strictly, else None."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    first_line: str | None = None
    with open_file() as stream:
        try:
            while block := stream.read(_BLOCK):
                text = decoder.decode(block)
                if first_line is None:
                    first_line = text.split("\n", 1)[0].lower()
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None
    return first_line or ""


def inspect(open_file: Opener) -> FileFacts:
    """SHA-256, workbook or text, and the text's encoding: one read of the bytes (two when
    they are not UTF-8); a text file in neither encoding is a clear refusal."""
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    is_utf8 = True
    first_line: str | None = None
    is_zip = False
    with open_file() as stream:
        while block := stream.read(_BLOCK):
            if first_line is None:
                is_zip = block[:2] == b"PK"
            digest.update(block)
            if is_utf8 and not is_zip:
                try:
                    text = utf8.decode(block)
                except UnicodeDecodeError:
                    is_utf8 = False
                else:
                    if first_line is None:
                        first_line = text.split("\n", 1)[0].lower()
            if first_line is None:
                first_line = ""
    if is_zip:
        return FileFacts(digest.hexdigest(), True, "", "")
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
        else:
            return FileFacts(digest.hexdigest(), False, "utf-8", first_line or "")
    gb_first_line = _decodes(open_file, "gb18030")
    if gb_first_line is None:
        raise ApplicationError(
            _("The file is neither UTF-8 nor GB18030/GBK text; save it as CSV UTF-8 and upload it again."),
            code="statement_bad_encoding",
        )
    return FileFacts(digest.hexdigest(), False, "gb18030", gb_first_line)


def resolve_format(facts: FileFacts, requested: str) -> str:
    """The format a file is read as: `requested`, or detected when it is "auto"; a workbook
    asked for as text (or text as a workbook) is refused."""
    if requested == "xlsx" or (requested == "auto" and facts.is_zip):
        if not facts.is_zip:
            raise ApplicationError(_("This file is not an XLSX workbook."), code="statement_not_xlsx")
        return "xlsx"
    if facts.is_zip:
        raise ApplicationError(
            _("This is a spreadsheet workbook: choose the Excel format (or automatic detection)."),
            code="statement_unexpected_xlsx",
        )
    chosen = detect_text_format(facts.first_line) if requested == "auto" else requested
    if chosen not in TEXT_FORMATS:
        raise ApplicationError(
            _("Unknown statement format %(format)r.") % {"format": requested}, code="invalid"
        )
    return chosen


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


def read_rows(
    stream: IO[bytes], facts: FileFacts, chosen: str, *, only_rows: Container[int] | None = None
) -> Iterator[RawRow]:
    """The rows of an inspected file, streamed; `only_rows`: yield just these row numbers (the
    others are still read, so the numbers stay the file's)."""
    if chosen == "xlsx":
        return xlsx.read(stream, only_rows=only_rows)
    lines: Iterable[str] = io.TextIOWrapper(
        io.BufferedReader(_Raw(stream), _BLOCK), encoding=_CODECS[facts.encoding], newline=""
    )
    return TEXT_FORMATS[chosen](lines, only_rows=only_rows)


def detect_text_format(text: str) -> str:
    first_line = text.split("\n", 1)[0].lower()
    if youtube.is_header(first_line):
        return "youtube"
    if douyin.is_header(first_line):
        return "douyin"
    return "canonical"
