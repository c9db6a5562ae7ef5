"""Douyin settlement bill (抖音 / 巨量星图 结算账单), as the MCN back office exports it: CSV, usually
GBK-encoded, times in China Standard Time without an offset.

Columns read (the others are kept as metadata):

| Douyin column                  | canonical column | how                                                |
| ------------------------------ | ---------------- | -------------------------------------------------- |
| `结算单号` (settlement no.)     | `external_id`    | Douyin's own id of the settlement line, NFKC-normalised (full-width letters and digits, as Excel and IMEs sometimes write them, become ASCII): one settlement line is one key however it was typed |
| `结算时间` (settled at)         | `occurred_at`    | "2026-11-03 10:00:00" or "2026/11/03 10:00" read as +08:00; a date alone as midnight in the agency's zone; digits 0-9 only |
| `达人抖音号` / `抖音号`          | `account_id`     | as is                                              |
| `收入类型` (income type)        | `source`         | 星图任务/商单/品牌合作 → brand_deal; 直播礼物/直播打赏/直播收入 → live_gifts; 带货佣金/商品分佣/电商佣金 → ecommerce_commission; 平台激励/创作者分成/中视频计划/流量分成 → platform_revenue_share; anything else → other |
| `结算金额(元)` / `结算金额`      | `gross`          | yuan, CNY; negative for a refund                  |
| `订单号` (order no.)            | `order_ref`      | the Xingtu order a brand deal payment belongs to   |
| `关联结算单号` (related no.)     | `refund_of`      | the settlement line a refund reverses, normalised as `external_id` |
| `备注` (note)                  | `description`    | as is, else the income type                        |
| —                              | `platform`, `currency` | `douyin`, `CNY`                              |
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Container, Iterable, Iterator

from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.income.importers.canonical import RawRow, cell_text, csv_lines, readable_rows

_COLUMNS = {
    "结算单号": "external_id",
    "结算时间": "occurred_at",
    "达人抖音号": "account_id",
    "抖音号": "account_id",
    "收入类型": "type",
    "结算金额(元)": "gross",
    "结算金额（元）": "gross",
    "结算金额": "gross",
    "订单号": "order_ref",
    "关联结算单号": "refund_of",
    "备注": "description",
}
_SOURCES = {
    "brand_deal": ("星图任务", "商单", "品牌合作", "星图"),
    "live_gifts": ("直播礼物", "直播打赏", "直播收入", "礼物"),
    "ecommerce_commission": ("带货佣金", "商品分佣", "电商佣金", "佣金"),
    "platform_revenue_share": ("平台激励", "创作者分成", "中视频计划", "流量分成"),
}
_LOCAL_TIME = re.compile(
    r"^([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?$", re.ASCII
)


def is_header(first_line: str) -> bool:
    return "结算单号" in first_line


def source_of(income_type: str) -> str:
    for source, words in _SOURCES.items():
        if any(word in income_type for word in words):
            return source
    return "other"


def _moment(text: str) -> str:
    """Douyin's China Standard Time without offset -> ISO 8601 with +08:00 (a date stays a date)."""
    match = _LOCAL_TIME.match(text.strip())
    if not match:
        return text
    year, month, day, hour, minute, second = match.groups()
    date = f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    if hour is None:
        return date
    return f"{date}T{int(hour):02d}:{minute}:{second or '00'}+08:00"


def settlement_key(text: str) -> str:
    """A settlement number as one key: NFKC folds full-width forms (ＪＳ１２３ -> JS123) and
    odd spaces; the ASCII text of an ordinary number is unchanged (a no-op for it)."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text).strip()


def _getter(positions: dict[str, int], cells: list[str]) -> Callable[[str], str]:
    def get(key: str) -> str:
        position = positions.get(key)
        return cell_text(cells[position]) if position is not None and position < len(cells) else ""

    return get


def read(text: str | Iterable[str], *, only_rows: Container[int] | None = None) -> Iterator[RawRow]:
    reader = readable_rows(csv.reader(csv_lines(text)))
    header = [cell.strip() for cell in next(reader, [])]
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        key = _COLUMNS.get(name)
        if key and key not in positions:
            positions[key] = index
    missing = [name for name, key in (("结算单号", "external_id"), ("结算时间", "occurred_at"), ("达人抖音号", "account_id"), ("结算金额(元)", "gross")) if key not in positions]  # fmt: skip
    if missing:
        raise ApplicationError(
            _("This Douyin settlement bill has no %(columns)s column.") % {"columns": ", ".join(missing)},
            code="statement_bad_header",
        )
    used = set(positions.values())
    for row_number, cells in enumerate(reader, start=2):
        if only_rows is not None and row_number not in only_rows:
            continue
        if not cells or all(not cell.strip() for cell in cells):
            continue
        get = _getter(positions, cells)
        income_type = get("type")
        values = {
            "external_id": settlement_key(get("external_id")),
            "occurred_at": _moment(get("occurred_at")),
            "platform": "douyin",
            "account_id": get("account_id"),
            "source": source_of(income_type),
            "gross": get("gross"),
            "currency": "CNY",
            "order_ref": get("order_ref"),
            "refund_of": settlement_key(get("refund_of")),
            "description": get("description") or income_type,
        }
        metadata = {
            header[index]: cell_text(cell)
            for index, cell in enumerate(cells)
            if index not in used and index < len(header) and cell.strip()
        }
        yield RawRow(row_number, values, metadata)
