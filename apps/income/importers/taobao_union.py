"""Taobao Live creators' commission: the 淘宝联盟 (Alimama) order report (淘宝联盟后台 › 效果报表 ›
订单明细 › 下载), one row per sub-order a creator promoted (in a live room, a video or a link), with
its status and the creator's estimated income. CSV (GBK) or XLSX.

Sources, read for the columns and quirks (nothing copied):

* bububa/opentaobao `model/tbk/PublisherOrderDto.go` (`taobao.tbk.order.details.get`): 订单编号
  `trade_parent_id`, 子订单号 `trade_id`, 创建时间, 付款时间, 结算时间 `tk_earning_time` "订单确认收货后且商家
  完成佣金支付的时间", 付款金额, 结算金额, 佣金比率, 佣金金额, 付款预估收入, 结算预估收入 `pub_share_fee`
  "结算预付收入=结算预估佣金收入+结算预估补贴收入", 媒体ID `site_id`, 推广位ID `adzone_id`, 维权标签
  `refund_tag`, 订单状态 `tk_status` 3 订单结算 / 12 订单付款 / 13 订单失效 / 14 订单成功 (已付款, 已收货,
  已结算, 已失效).
* "淘客订单POST字段" (kancloud.cn/zhijian/tkzs/2258179), the report's columns as a tool that reads it
  lists them: 订单编号 ("非唯一值"), 子订单编号 ("唯一值"), 点击时间, 创建时间, 付款时间, 结算时间, 商品ID,
  商品标题, 掌柜旺旺, 店铺名称, 商品数量, 商品单价, 订单状态, 订单类型, 付款金额, 结算金额, 佣金比率, 佣金金额,
  付款预估收入, 结算预估收入, 推广者身份, 媒体ID, 媒体名称, 推广位ID, 推广位名称, 成交平台, 维权标签.

Not found in public sources: how the report writes a refund after settlement (维权). A row whose
订单状态 says 维权 or 退款, or whose income is negative, is read as a refund of the same 子订单编号.

| report column | canonical column | how |
| --- | --- | --- |
| `子订单编号` / `子订单号` | `external_id` | `tb:<子订单编号>` (a refund: `tb:<子订单编号>:refund:<fen>`, refund of `tb:<子订单编号>`) |
| `订单编号` | `order_ref` | |
| `媒体ID` / `来源媒体ID` (else `推广位ID`, else the account chosen at upload) | `account_id` | the creator's Alimama media |
| `结算时间` | `occurred_at` | China Standard Time |
| `结算预估收入` / `预估收入` | `gross` | CNY |
| `订单状态` | what the row is | 订单结算 / 已结算: income; 订单付款 / 已付款 / 订单成功 / 已收货: not settled, skipped; 订单失效 / 已失效: skipped; 维权 / 退款: a refund; any other value: a row error naming it |
| `商品标题` / `商品信息` | `description` | |
| — | `platform`, `source` | `taobao`, `ecommerce_commission` |
"""

from __future__ import annotations

from collections.abc import Container, Iterator

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.income.importers.canonical import RawRow
from apps.income.importers.exports import (
    Adapter,
    ExportSpec,
    NumberedRows,
    ReadContext,
    Row,
    amount_text,
    is_totals_row,
    is_zero,
    matched,
    minor_or_none,
    negated,
    open_export,
    order_key,
    parse_date,
)

LABEL = gettext_noop("Taobao Union order report")
COLUMNS = {
    "sub_order": ("子订单编号", "子订单号"),
    "order": ("订单编号", "淘宝订单编号"),
    "status": ("订单状态",),
    "gross": ("结算预估收入", "预估收入", "结算预估收入(元)"),
    "settled_at": ("结算时间",),
    "media": ("媒体ID", "来源媒体ID"),
    "adzone": ("推广位ID", "广告位ID"),
    "title": ("商品标题", "商品信息", "商品名称"),
}
_SETTLED = ("订单结算", "已结算", "结算成功")
_PENDING = ("订单付款", "已付款", "订单成功", "已收货")
_INVALID = ("订单失效", "已失效")


def match(keys: list[str]) -> list[str] | None:
    found = matched(keys, COLUMNS, ("sub_order", "status", "gross"))
    return [*found, *matched(keys, COLUMNS, ("settled_at",))] if len(found) == 3 else None


SPEC = ExportSpec(
    columns=COLUMNS,
    required={"sub_order": "子订单编号", "status": "订单状态", "gross": "结算预估收入"},
    used=("sub_order", "order", "status", "gross", "settled_at"),
    label=LABEL,
    currency="CNY",
)


def read(
    rows: NumberedRows, header_row: int, context: ReadContext, only_rows: Container[int] | None
) -> Iterator[RawRow]:
    table = open_export(rows, header_row, context, only_rows, SPEC)
    names, positions, used, totals = table.names, table.positions, table.used, table.totals
    for number, cells in table.data:
        row = Row(number, cells, positions)
        gross = amount_text(row.raw("gross"))
        if is_totals_row(cells):
            totals.totals_row(number, gross, "CNY")
            continue
        totals.add(gross, "CNY")
        status = row.get("status")
        is_refund = "维权" in status or "退款" in status or gross.startswith("-")
        errors: list[tuple[str, str]] = []
        if not is_refund:
            if status in _PENDING:
                context.report.skip(
                    number, _("Not settled yet (%(status)s): no commission paid.") % {"status": status}
                )
                continue
            if status in _INVALID:
                context.report.skip(
                    number, _("Order invalid (%(status)s): no commission.") % {"status": status}
                )
                continue
            if status not in _SETTLED:
                errors.append(
                    (
                        "订单状态",
                        _("Unknown order status %(value)r: expected 订单结算, 订单付款 or 订单失效.")
                        % {"value": status},
                    )
                )
            elif is_zero(gross):
                context.report.skip(number, _("Settled with no commission."))
                continue
        sub_order = order_key(row.raw("sub_order"))
        moment = parse_date(row.raw("settled_at"), is_workbook=context.is_workbook)
        values = {
            "occurred_at": moment.text if moment is not None else row.get("settled_at"),
            "platform": "taobao",
            "account_id": order_key(row.raw("media")) or order_key(row.raw("adzone")) or context.account_id,
            "source": "ecommerce_commission",
            "gross": gross,
            "currency": "CNY",
            "order_ref": order_key(row.raw("order")),
            "description": row.get("title") or _("Taobao Union commission"),
        }
        key = f"tb:{sub_order}" if sub_order else ""
        if is_refund:
            refund = gross if gross.startswith("-") else negated(gross)
            minor = minor_or_none(refund, "CNY")
            values |= {
                "external_id": f"{key}:refund:{abs(minor) if minor is not None else refund}" if key else "",
                "gross": refund,
                "refund_of": key,
            }
        else:
            values["external_id"] = key
        yield RawRow(number, values, row.metadata(names, used), errors or None)
    totals.finish()


ADAPTER = Adapter(code="taobao_union", label=LABEL, match=match, read=read, platform="taobao")
