"""巨量百应 (Buyin) / 精选联盟 order and commission export: one row per promoted order of a
creator (达人), with the order's status and the creator's estimated and actual commission. The
creator is named by their Douyin id on each row, so one MCN export covers all its creators. CSV
(GBK or UTF-8 with BOM) or XLSX; order ids end with a tab (so that Excel keeps their 19 digits).

Sources, read for the columns and quirks (nothing copied):

* forwardFish/ShopOps `scripts/write_douyin_influencer_excel_to_feishu.py`: the commission
  export's header
  订单id, 商品id, 商品名称, 作者账号, 抖音/火山号, 支付金额, 佣金率 ("32.00%"), 预估佣金支出, 结算金额,
  实际佣金支出, 订单状态 (e.g. 订单付款), 付款时间, 收货时间, 订单结算时间, 店铺id, 店铺名称, 商品数量,
  佣金类型, 订单来源, 流量来源; cells read with `rstrip("\\t")`.
* Lesible/retrofit-doudian-sdk `src/main/java/io/lesible/model/response/billing/AllianceInfo.java`
  (the 精选联盟 order list `alliance.getOrderList`): 订单 id, 达人账户 `author_account`, 达人
  shortId (the Douyin id), 支付金额 (fen), 佣金率 (per ten thousand), 预估佣金, 真实佣金, 订单状态.
* jacky4631/sfb_server `mshop-mall/src/main/java/com/mailvor/modules/tk/service/dto/MailvorDyOrderDto.java`
  (the Douyin 联盟 order as a promoter sees it): `flowPoint` PAY_SUCC / SETTLE / REFUND,
  `realCommission` (实际结算金额), `settleTime`, `refundTime`.

The creator's side of the export (百应 › 达人 › 订单明细) writes the same columns with 达人 wording; its
exact names were not found in public sources, so these variants are accepted too: 订单号 / 订单编号,
达人抖音号 / 抖音号, 达人昵称, 预估佣金 / 预估佣金收入, 实际佣金 / 结算佣金 / 实际佣金收入, 结算时间.

| export column | canonical column | how |
| --- | --- | --- |
| `订单id` / `订单号` | `external_id`, `order_ref` | `dd:commission:<订单id>` |
| `抖音/火山号` / `达人抖音号` / `抖音号` | `account_id` | the creator's Douyin id (else the account chosen at upload) |
| `订单结算时间` / `结算时间` | `occurred_at` | China Standard Time |
| `实际佣金支出` / `实际佣金` / `结算佣金` | `gross` | CNY, the commission actually settled |
| `订单状态` | what the row is | 已结算 / 订单结算 / 结算: income; 已付款, 订单付款, 已收货, 订单成功…: not settled yet, skipped; 已退款 / 退款 / 已失效 / 订单失效: with a negative commission, a refund of `dd:commission:<订单id>` (`dd:commission-refund:<订单id>:<fen>`), else skipped (no commission was paid); any other value is a row error naming it |
| `商品名称`, `作者账号` / `达人昵称` | `description` | |
| — | `platform`, `source` | `douyin`, `ecommerce_commission` |

The creator's fund flow line "达人带货佣金" of the same order (`doudian_funds.py`) is keyed
`dd:commission:<order>` too: the commission is recorded once, whichever file comes first.
"""

from __future__ import annotations

from collections.abc import Container, Iterator

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.income.importers.canonical import RawRow
from apps.income.importers.doudian_funds import commission_key, commission_refund_key
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
    open_export,
    order_key,
    parse_date,
)

LABEL = gettext_noop("Buyin order and commission export")
COLUMNS = {
    "order": ("订单id", "订单号", "订单编号"),
    "account": ("抖音/火山号", "达人抖音号", "抖音号"),
    "nickname": ("作者账号", "达人昵称"),
    "status": ("订单状态",),
    "gross": ("实际佣金支出", "实际佣金", "结算佣金", "实际佣金收入", "实际佣金(元)", "结算佣金(元)"),
    "estimate": ("预估佣金支出", "预估佣金", "预估佣金收入"),
    "settled_at": ("订单结算时间", "结算时间"),
    "product": ("商品名称",),
}
_SETTLED = ("已结算", "订单结算", "结算", "settle")
_PENDING = ("已付款", "订单付款", "付款", "已收货", "确认收货", "订单成功", "已完成", "pay_succ", "confirm")
_REFUNDED = ("已退款", "退款", "订单退货退款", "已失效", "订单失效", "已关闭", "refund")


def match(keys: list[str]) -> list[str] | None:
    found = matched(keys, COLUMNS, ("order", "status", "gross"))
    if len(found) < 3:
        return None
    extra = matched(keys, COLUMNS, ("account", "estimate"))
    return [*found, *extra] if extra else None


def _status(text: str) -> str | None:
    key = text.strip().lower()
    for kind, words in (("settled", _SETTLED), ("refunded", _REFUNDED), ("pending", _PENDING)):
        if key in words:
            return kind
    return None


SPEC = ExportSpec(
    columns=COLUMNS,
    required={"order": "订单id", "status": "订单状态", "gross": "实际佣金支出"},
    used=("order", "account", "status", "gross", "settled_at"),
    label=LABEL,
    currency="CNY",
)


def read(
    rows: NumberedRows, header_row: int, context: ReadContext, only_rows: Container[int] | None
) -> Iterator[RawRow]:
    table = open_export(rows, header_row, context, only_rows, SPEC)
    names, positions, used, fen, totals = table.names, table.positions, table.used, table.fen, table.totals
    for number, cells in table.data:
        row = Row(number, cells, positions)
        gross = amount_text(row.raw("gross"), fen=fen)
        if is_totals_row(cells):
            totals.totals_row(number, gross, "CNY")
            continue
        totals.add(gross, "CNY")
        status_text = row.get("status")
        status = _status(status_text)
        order = order_key(row.raw("order"))
        errors: list[tuple[str, str]] = []
        if status == "pending":
            context.report.skip(
                number, _("Not settled yet (%(status)s): no commission paid.") % {"status": status_text}
            )
            continue
        if status == "refunded" and not gross.startswith("-"):
            context.report.skip(
                number,
                _("Refunded before settlement (%(status)s): no commission paid.") % {"status": status_text},
            )
            continue
        if status is None:
            errors.append(
                (
                    "订单状态",
                    _("Unknown order status %(value)r: expected 已结算, 已付款 or 已退款.")
                    % {"value": status_text},
                )
            )
        elif status == "settled" and is_zero(gross):
            context.report.skip(number, _("Settled with no commission."))
            continue
        moment = parse_date(row.raw("settled_at"), is_workbook=context.is_workbook)
        who = row.get("nickname")
        product = row.get("product")
        values = {
            "occurred_at": moment.text if moment is not None else row.get("settled_at"),
            "platform": "douyin",
            "account_id": row.get("account") or context.account_id,
            "source": "ecommerce_commission",
            "gross": gross,
            "currency": "CNY",
            "order_ref": order,
            "description": " · ".join(part for part in (product, who) if part) or _("Buyin commission"),
        }
        if status == "refunded":
            values |= {
                "external_id": commission_refund_key(order, gross) if order else "",
                "refund_of": commission_key(order) if order else "",
            }
        else:
            values["external_id"] = commission_key(order) if order else ""
        yield RawRow(number, values, row.metadata(names, used), errors or None)
    totals.finish()


ADAPTER = Adapter(code="buyin_orders", label=LABEL, match=match, read=read, platform="douyin")
