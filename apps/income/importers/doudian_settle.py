"""抖店 settlement bill (抖店后台 › 资产 › 结算账单 › 导出): one row per settled sub-order of a
Douyin shop, CSV (often GBK) or XLSX. The file names no shop: the shop's platform account is
chosen at upload.

Sources, read for the columns and quirks (nothing copied):

* zsmhub/doudian-sdk `api/order_getSettleBillDetailV3/response/order_getSettleBillDetailV3_response.go`
  (the same data through the open platform's `/order/getSettleBillDetailV3`; also on
  pkg.go.dev/gitea.weitiangame.com/adamxu/dou_sdk/api/order_getSettleBillDetailV3/response):
  结算时间 `settle_time`, 结算单号 `request_no`, 订单号 `shop_order_id`, 子订单号 `order_id`,
  商家实收 `settle_amount` (in fen in the API), 结算账户 `pay_type_desc`, 结算单类型 `trade_type`
  (0 已结算, 1 结算后退款-原路退回, 2 保证金退款-支出退回, 3 结算后退款-非原路退回), 订单总价,
  平台服务费, 佣金, 渠道分成, 招商服务费, 合计支出, 备注…
* The downloaded file's header, as public code that parses the download lists it (the code index
  that showed it named no repository): 结算时间, 订单号, 子订单号, 结算金额, 结算账户, 结算单类型,
  有结算前退款, 下单时间, 商品ID, 商品名称, 商品数量, 达人ID, 达人名称, 业务类型, 订单类型, 订单总价,
  商品总价, 运费, 店铺券 (also written 店铺劵), 结算前退款金额, 平台补贴, 达人补贴, 抖音支付补贴, 用户实付,
  收入合计, 平台服务费, 佣金 (达人佣金), 服务商佣金, 渠道分成, 招商服务费, 站外推广费, 其他分成, 支出合计,
  是否免佣, 免佣金额, 备注; amounts in yuan with fees negative, long numbers written with a leading
  apostrophe so that Excel keeps their digits.

| bill column | canonical column | how |
| --- | --- | --- |
| (chosen at upload) | `account_id` | the shop's platform account |
| `子订单号` | `external_id` | `dd:settle:<子订单号>` (the money of one sub-order's settlement) |
| `订单号` | `order_ref` | the parent order |
| `结算时间` | `occurred_at` | China Standard Time (+08:00) |
| `结算金额` / `结算金额(元)` / `商家实收` (or `…(分)`, in fen) | `gross` | CNY |
| `结算单类型` | sign and `refund_of` | 已结算: the settlement; 结算后退款-…: a refund of `dd:settle:<子订单号>` (negative; an unsigned amount is negated), keyed `dd:refund:<子订单号>:<amount in fen>`; 保证金退款: a deposit, skipped; any other value: a row error naming it |
| `商品名称` | `description` | |
| — | `platform`, `source` | `douyin`, `ecommerce_commission` (Fenrun has no "shop sales" source) |

The same settlement in the shop's fund flow (`doudian_funds.py`, scene 订单结算) is keyed
`dd:settle:<子订单号>` too, and a refund after settlement `dd:refund:<子订单号>:<fen>`: either file
records it once. A totals row (合计) is skipped and checked against the rows.
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
    matched,
    minor_or_none,
    negated,
    open_export,
    order_key,
    parse_date,
    require_shop_account,
)

LABEL = gettext_noop("Douyin Shop settlement bill")
COLUMNS = {
    "settled_at": ("结算时间",),
    "order": ("订单号", "主订单号", "主订单编号"),
    "sub_order": ("子订单号", "子订单编号", "商品单号"),
    "gross": ("结算金额", "结算金额(元)", "商家实收", "商家实收(元)", "结算金额(分)", "商家实收(分)"),
    "type": ("结算单类型",),
    "product": ("商品名称",),
    "account": ("结算账户",),
}


def match(keys: list[str]) -> list[str] | None:
    found = matched(keys, COLUMNS, ("sub_order", "settled_at", "gross"))
    if len(found) < 3:
        return None
    extra = matched(keys, COLUMNS, ("type", "account"))
    return [*found, *extra] if extra else None


def settlement_key(sub_order: str) -> str:
    return f"dd:settle:{sub_order}"


def refund_key(sub_order: str, gross: str) -> str:
    """A refund of one sub-order by its amount in fen: the bill and the fund flow write the same."""
    minor = minor_or_none(gross, "CNY")
    return f"dd:refund:{sub_order}:{abs(minor) if minor is not None else gross}"


SPEC = ExportSpec(
    columns=COLUMNS,
    required={"sub_order": "子订单号", "settled_at": "结算时间", "gross": "结算金额"},
    used=("sub_order", "settled_at", "gross", "order", "type", "product"),
    label=LABEL,
    currency="CNY",
)


def read(
    rows: NumberedRows, header_row: int, context: ReadContext, only_rows: Container[int] | None
) -> Iterator[RawRow]:
    table = open_export(rows, header_row, context, only_rows, SPEC)
    account = require_shop_account(context)
    names, positions, used, fen, totals = table.names, table.positions, table.used, table.fen, table.totals
    for number, cells in table.data:
        row = Row(number, cells, positions)
        gross = amount_text(row.raw("gross"), fen=fen)
        if is_totals_row(cells):
            totals.totals_row(number, gross, "CNY")
            continue
        kind = row.get("type")
        if "保证金" in kind:
            context.report.skip(number, _("A deposit refund (保证金), not income."))
            continue
        totals.add(gross, "CNY")
        sub_order = order_key(row.raw("sub_order"))
        errors: list[tuple[str, str]] = []
        is_refund = "退" in kind
        if kind and not is_refund and "结算" not in kind:
            errors.append(
                (
                    "结算单类型",
                    _("Unknown 结算单类型 %(value)r: expected 已结算 or 结算后退款-….") % {"value": kind},
                )
            )
        moment = parse_date(row.raw("settled_at"), is_workbook=context.is_workbook)
        values = {
            "occurred_at": moment.text if moment is not None else row.get("settled_at"),
            "platform": "douyin",
            "account_id": account,
            "source": "ecommerce_commission",
            "currency": "CNY",
            "order_ref": order_key(row.raw("order")),
            "description": row.get("product") or _("Douyin Shop settlement"),
        }
        if is_refund:
            refund = gross if gross.startswith("-") else negated(gross)
            values |= {
                "external_id": refund_key(sub_order, refund) if sub_order else "",
                "gross": refund,
                "refund_of": settlement_key(sub_order) if sub_order else "",
            }
        else:
            values |= {"external_id": settlement_key(sub_order) if sub_order else "", "gross": gross}
        yield RawRow(number, values, row.metadata(names, used), errors or None)
    totals.finish()


ADAPTER = Adapter(
    code="doudian_settle", label=LABEL, match=match, read=read, needs_account=True, platform="douyin"
)
