"""The one interface every rail (bank 代发 sheet, Alipay batch transfer, WeChat Pay merchant
transfers, later a live API) keeps:

    refusal(line)        -> str: why this rail cannot carry the line ("" when it can)
    export(batch, lines) -> ExportFile(filename, content, content_type)
    parse_result(file)   -> list[ResultRow]

A rail formats and parses; it reads no table and decides nothing about the money. It knows its
format's own limits (WeChat Pay needs the payee's real name from 2,000.00): `refusal` names the
lines the format cannot hold, and the export leaves those out with that sentence, as it leaves
out held items, instead of writing a file the provider will refuse. The lines it exports are
built by apps/payouts/exports.py from the approved items and the creators' payout details (the
only place those leave unmasked), and the rows it parses are applied there, one at a time,
through the core services (payout_item_mark_paid / payout_item_mark_failed).

The result file is Fenrun's own CSV, the same for every rail, because the banks' and Alipay's
result downloads differ by bank and change without notice; finance fills it from the rail's
download (or a later live adapter writes it): columns `item_reference, status, reference,
reason, amount` (RESULT_COLUMNS), status `paid` or `failed`, amount in yuan with two decimals.
A rail may accept its provider's own words as well (`parse_result_csv`'s `statuses` and
`aliases`), e.g. WeChat Pay's SUCCESS / FAIL, and its states still in progress (`pending`) are a
row error that changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from django.utils.translation import gettext as _

from apps.common.money import MoneyError, to_minor
from apps.income.importers.canonical import escape_cell

__all__ = ["ExportFile", "ExportLine", "Rail", "ResultRow", "parse_result_csv", "read_result_text"]

# The result file's columns (English, with the Chinese a finance team may type instead).
RESULT_COLUMNS = ("item_reference", "status", "reference", "reason", "amount")
_ALIASES = {
    "商户流水号": "item_reference",
    "状态": "status",
    "流水号": "reference",
    "银行流水号": "reference",
    "支付宝流水号": "reference",
    "失败原因": "reason",
    "金额": "amount",
}
STATUSES = {"paid": "paid", "成功": "paid", "failed": "failed", "失败": "failed"}
MAX_RESULT_ROWS = 20_000  # a batch has at most one row per creator; 10,000 creators, twice over
MAX_RESULT_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ExportLine:
    """One payment as a rail writes it: unmasked details, the net in fen."""

    item_reference: str  # the payout item's public id: the result file names the item by it
    real_name: str
    account: str
    bank_name: str
    bank_branch: str
    amount_minor: int
    memo: str
    wechat_appid: str = ""  # WeChat Pay: the AppID the openid (`account`) belongs to


@dataclass(frozen=True, slots=True)
class ExportFile:
    filename: str
    content: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One row of a result file; `error` set when the row itself cannot be read."""

    row: int  # 1-based line number in the file, the header being row 1
    item_reference: str
    status: str  # paid | failed ("" when unreadable)
    reference: str
    reason: str
    amount_minor: int | None
    error: str = ""


class Rail(Protocol):
    name: str
    label: str
    method: str  # which payout details it pays to: bank | alipay | wechat

    def refusal(self, line: ExportLine) -> str: ...

    def export(self, batch: Any, lines: list[ExportLine]) -> ExportFile: ...

    def parse_result(self, file: Any) -> list[ResultRow]: ...


def yuan(minor: int) -> str:
    """Amounts as the rails want them: yuan with two decimals, "1234.50", never a float."""
    sign = "-" if minor < 0 else ""
    whole, fen = divmod(abs(minor), 100)
    return f"{sign}{whole}.{fen:02d}"


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    """UTF-8 with a byte order mark (Excel, which finance opens these in, then reads the Chinese
    right), CRLF rows, every cell escaped against formulas (the project's one CSV rule)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([escape_cell(cell) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


def read_result_text(file: Any) -> str:
    """A result file's text (UTF-8, or GBK as Chinese Excel saves CSV), at most MAX_RESULT_BYTES."""
    raw = file.read(MAX_RESULT_BYTES + 1) if hasattr(file, "read") else bytes(file)
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > MAX_RESULT_BYTES:
        raise ResultFileError(_("A result file is at most 5 MB."))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return str(raw.decode(encoding))
        except UnicodeDecodeError:
            continue
    raise ResultFileError(_("The result file is neither UTF-8 nor GBK text."))


class ResultFileError(ValueError):
    """The file as a whole cannot be read (not CSV, no header, too large)."""


def parse_result_csv(
    file: Any,
    *,
    text: str | None = None,
    statuses: Mapping[str, str] = STATUSES,
    aliases: Mapping[str, str] | None = None,
    pending: Mapping[str, str] | None = None,
    describe: Callable[[str, str], str] | None = None,
) -> list[ResultRow]:
    """Read a result file into rows; a row that cannot be read carries its error, the others stand.

    `statuses` maps a status cell (lower-cased) to paid or failed; `aliases` adds column names (a
    provider's own, e.g. out_bill_no), and the column `amount_fen` may stand for `amount` (an
    integer of fen, as WeChat Pay writes amounts); `pending` maps the statuses of a payment still
    in progress to the sentence its row gets; `describe(status, reason)` writes a failed row's
    reason as a person reads it (a provider's code with its meaning)."""
    names = {**_ALIASES, **(aliases or {})}
    reader = csv.reader(io.StringIO(read_result_text(file) if text is None else text))
    try:
        header = [
            names.get(cell.strip(), names.get(cell.strip().lower(), cell.strip().lower()))
            for cell in next(reader)
        ]
    except (StopIteration, csv.Error):
        raise ResultFileError(_("The result file is empty.")) from None
    if "amount" not in header and "amount_fen" in header:
        header = ["amount" if name == "amount_fen" else name for name in header]
        in_fen = True
    else:
        in_fen = False
    missing = [column for column in ("item_reference", "status", "amount") if column not in header]
    if missing:
        raise ResultFileError(
            _("The result file needs the columns %(columns)s; it lacks %(missing)s.")
            % {"columns": ", ".join(RESULT_COLUMNS), "missing": ", ".join(missing)}
        )
    position = {name: header.index(name) for name in RESULT_COLUMNS if name in header}
    rows: list[ResultRow] = []
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_RESULT_ROWS:
                raise ResultFileError(_("A result file has at most 20,000 rows."))
            rows.append(
                _row(number, cells, position, statuses, pending or {}, in_fen=in_fen, describe=describe)
            )
    except csv.Error as error:
        raise ResultFileError(_("The result file is not valid CSV: %(error)s") % {"error": error}) from None
    return rows


def amount_from_fen(text: str) -> int:
    """An amount written as an integer of fen ("420000"), as WeChat Pay writes them."""
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        raise MoneyError(text)
    return int(text)


def result_row(
    *,
    row: int,
    item_reference: str,
    status_text: str,
    reference: str,
    reason: str,
    amount_text: str,
    statuses: Mapping[str, str],
    pending: Mapping[str, str],
    in_fen: bool,
    describe: Callable[[str, str], str] | None = None,
) -> ResultRow:
    """One result row from its cells, with the first thing wrong with it as its error."""
    status = statuses.get(status_text.lower(), "")
    if status == "failed" and describe is not None:
        reason = describe(status_text, reason)
    amount: int | None = None
    error = ""
    try:
        amount = (
            amount_from_fen(amount_text) if in_fen else to_minor(amount_text, "CNY", allow_thousands=True)
        )
    except MoneyError:
        if in_fen:
            error = _("The amount %(amount)s is not a whole number of fen such as 123450.") % {
                "amount": repr(amount_text[:24])
            }
        else:
            error = _("The amount %(amount)s is not a decimal amount such as 1234.50.") % {
                "amount": repr(amount_text[:24])
            }
    if not status:
        error = pending.get(status_text.upper(), "") or _(
            "The status must be paid or failed, not %(status)s."
        ) % {"status": repr(status_text[:24])}
    if not item_reference:
        error = _("The row names no payout item (item_reference).")
    return ResultRow(
        row=row,
        item_reference=item_reference,
        status=status,
        reference=reference[:200],
        reason=reason[:500],
        amount_minor=amount,
        error=error,
    )


def _row(
    number: int,
    cells: list[str],
    position: dict[str, int],
    statuses: Mapping[str, str],
    pending: Mapping[str, str],
    *,
    in_fen: bool,
    describe: Callable[[str, str], str] | None,
) -> ResultRow:
    def cell(name: str) -> str:
        index = position.get(name)
        value = cells[index].strip() if index is not None and index < len(cells) else ""
        # Our own export escaped cells with a leading apostrophe; a copied reference may keep it.
        return value[1:] if value.startswith("'") else value

    return result_row(
        row=number,
        item_reference=cell("item_reference"),
        status_text=cell("status"),
        reference=cell("reference"),
        reason=cell("reason"),
        amount_text=cell("amount"),
        statuses=statuses,
        pending=pending,
        in_fen=in_fen,
        describe=describe,
    )
