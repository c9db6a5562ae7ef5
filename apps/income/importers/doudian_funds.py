"""抖店 fund flow (抖店后台 › 资产 › 资金流水明细 / 账单 › 导出): every movement of a shop's
accounts (聚合账户, 微信, 支付宝, 合众支付), one row per movement with an unsigned amount and a
direction. CSV (often GBK, numbers with a leading apostrophe) or XLSX. The file names no shop: the
shop's platform account is chosen at upload.

Sources, read for the columns and quirks (nothing copied):

* zsmhub/doudian-sdk `api/order_getShopAccountItem/response/order_getShopAccountItem_response.go`
  (`/order/getShopAccountItem`): 动账时间 `bill_time`, 动账方向 `fund_flow` (0 入账, 1 出账) and
  `fund_flow_desc` (出账, 入账), 动账金额 `account_amount`, 动账摘要 (0 其他, 1 达人带货佣金, 2 达人佣金退款,
  3 订单结算, 4 部分结算, …, 11 提现, 12 提现退票, 13 极速退款分账, …, 19 已退款, 23 原路退), 订单号,
  店铺单号, 售后编号, 动账账户, 动账流水号 `account_trade_no` "(唯一)", 备注.
* Kuaimai's 智库 documentation of the raw Douyin bill, "抖音原始账单明细"
  (open.kuaimai.com/docs/unpublish/智库/抖音原始账单明细): 动账流水号 (唯一), 动账方向 0-入账 1-出账,
  动账金额(元), 动账账户, 动账摘要.
* "抖音资金流水明细/资金账单及对账方法" (shuaishou.com/school/infos54731.html): the statement's total
  income is the sum of the 入账 rows' 动账金额, its total expense the sum of the 出账 rows'; some rows
  (提现, 运费险) have no order number.
* The downloaded file's header, as public code that parses the download lists it (the code index
  named no repository): 动账时间, 动帐流水号 (written with 帐 in the file), 动账方向, 动账金额, 动账账户,
  动账场景, 计费类型, 子订单号, 订单号, 售后编号, 下单时间, 商品ID, 订单类型, 订单实付应结, …, 备注; another
  shape writes 关联订单号, 关联子订单号, 账户方向 (收入/支出) and signed amounts.

| fund-flow column | canonical column | how |
| --- | --- | --- |
| (chosen at upload) | `account_id` | the shop's platform account |
| `动账时间` | `occurred_at` | China Standard Time (+08:00) |
| `动账方向` / `账户方向` | the sign | 入账 / 收入: +, 出账 / 支出: −; any other value is a row error naming it |
| `动账金额` (`(元)`, or `(分)` in fen) | `gross` | CNY, signed by the direction |
| `动账场景` / `动账摘要` | what the row is | see below |
| `子订单号` / `关联子订单号`, `订单号` / `关联订单号` | `external_id`, `order_ref` | |
| `动账流水号` / `动帐流水号` | `external_id` of other movements | `dd:flow:<流水号>` |

What a row is, by its scene: 提现 (a withdrawal, or its 退票) is skipped and reported: money
moving between the shop's own accounts, not income. 达人带货佣金 is a creator's commission,
`dd:commission:<子订单号 or 订单号>` (the key the Buyin order export gives: `buyin_orders.py`), and
达人佣金退款 its refund. A 入账 of an order whose scene says 结算 is that sub-order's settlement,
`dd:settle:<子订单号>` (the key of the settlement bill: `doudian_settle.py`); a 出账 of an order
whose scene says 退 refunds it, `dd:refund:<子订单号>:<fen>`, refund of `dd:settle:<子订单号>`. Any
other movement is a line of its own by its serial number, with its sign (fees, compensation).
"""

from __future__ import annotations

from collections.abc import Container, Iterator

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.income.importers.canonical import RawRow
from apps.income.importers.doudian_settle import refund_key, settlement_key
from apps.income.importers.exports import (
    Adapter,
    ExportSpec,
    NumberedRows,
    ReadContext,
    Row,
    amount_text,
    direction_sign,
    is_totals_row,
    matched,
    open_export,
    order_key,
    parse_date,
    require_shop_account,
    signed,
)

LABEL = gettext_noop("Douyin Shop fund flow")
COLUMNS = {
    "time": ("动账时间",),
    "serial": ("动账流水号", "动帐流水号"),
    "direction": ("动账方向", "账户方向", "收支方向"),
    "gross": ("动账金额", "动账金额(元)", "动账金额(分)"),
    "scene": ("动账场景", "动账摘要"),
    "sub_order": ("子订单号", "关联子订单号"),
    "order": ("订单号", "关联订单号"),
    "account": ("动账账户",),
}


def match(keys: list[str]) -> list[str] | None:
    found = matched(keys, COLUMNS, ("time", "serial", "gross"))
    return [*found, *matched(keys, COLUMNS, ("direction",))] if len(found) == 3 else None


def commission_key(order: str) -> str:
    return f"dd:commission:{order}"


def commission_refund_key(order: str, gross: str) -> str:
    return refund_key(order, gross).replace("dd:refund:", "dd:commission-refund:", 1)


def _kind(scene: str, sign: int, sub_order: str, order: str) -> str:
    if "提现" in scene:
        return "transfer"
    if "达人" in scene and "佣金" in scene and (sub_order or order):
        return "commission_refund" if "退" in scene or sign < 0 else "commission"
    if sub_order and sign > 0 and "结算" in scene:
        return "settlement"
    if sub_order and sign < 0 and "退" in scene:
        return "refund"
    return "movement"


SPEC = ExportSpec(
    columns=COLUMNS,
    required={"time": "动账时间", "serial": "动账流水号", "gross": "动账金额"},
    used=("time", "serial", "gross", "direction", "sub_order", "order"),
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
        written = amount_text(row.raw("gross"), fen=fen)
        if is_totals_row(cells):
            totals.totals_row(number, written, "CNY")
            continue
        direction = row.get("direction")
        sign = direction_sign(direction)
        errors: list[tuple[str, str]] = []
        if sign is None:
            errors.append(
                (
                    names[positions["direction"]][:64],
                    _("Unknown direction %(value)r: expected 入账 or 出账.") % {"value": direction},
                )
            )
            sign = 0
        gross = signed(written, sign)
        scene = row.get("scene")
        sub_order = order_key(row.raw("sub_order"))
        order = order_key(row.raw("order"))
        kind = _kind(scene, -1 if gross.startswith("-") else 1, sub_order, order)
        if kind == "transfer" and not errors:
            context.report.skip(
                number, _("A withdrawal (提现): money moving to the shop's own bank account, not income.")
            )
            continue
        totals.add(gross, "CNY")
        serial = order_key(row.raw("serial"))
        moment = parse_date(row.raw("time"), is_workbook=context.is_workbook)
        values = {
            "occurred_at": moment.text if moment is not None else row.get("time"),
            "platform": "douyin",
            "account_id": account,
            "source": "ecommerce_commission",
            "gross": gross,
            "currency": "CNY",
            "order_ref": order,
            "description": scene or _("Douyin Shop fund movement"),
        }
        commission_order = sub_order or order
        if kind == "commission":
            values["external_id"] = commission_key(commission_order)
        elif kind == "commission_refund":
            values |= {
                "external_id": commission_refund_key(commission_order, gross),
                "refund_of": commission_key(commission_order),
            }
        elif kind == "settlement":
            values["external_id"] = settlement_key(sub_order)
        elif kind == "refund":
            values |= {"external_id": refund_key(sub_order, gross), "refund_of": settlement_key(sub_order)}
        else:
            values |= {"external_id": f"dd:flow:{serial}" if serial else "", "source": "other"}
        yield RawRow(number, values, row.metadata(names, used), errors or None)
    totals.finish()


ADAPTER = Adapter(
    code="doudian_funds", label=LABEL, match=match, read=read, needs_account=True, platform="douyin"
)
