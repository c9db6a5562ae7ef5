"""WeChat Pay merchant transfers (微信支付 商家转账): one transfer bill per payout, as JSON Lines.

What the public material says (found with the project's search tool):

* WeChat Pay's own page of the "发起转账" API (pay.weixin.qq.com/docs/merchant/apis/mch-trans/
  transfer-bill/transfer-to-user.html, 2025-03-21), POST /v3/fund-app/mch-transfer/transfer-bills,
  one bill per request: `appid` string(32), bound to the merchant number; `out_bill_no`
  string(32), "只能由数字、大小写字母组成，在商户系统内部唯一"; `transfer_scene_id` (e.g. 1000
  现金营销); `openid` string(64), "用户在商户appid下的唯一标识"; `user_name`, encrypted with
  WeChat Pay's public key, "转账金额 >= 2,000元时，该笔明细必须填写" (WeChat Pay then checks it
  against the payee); `transfer_amount` integer, "单位为'分'"; `transfer_remark` string(32), seen
  by the payee, "最多允许32个字符"; `notify_url`, `user_recv_perception`,
  `transfer_scene_report_infos`. The same page: a request that did not answer 200 is retried with
  the same out_bill_no; a new out_bill_no only once the bill is known to have failed, "否则会有
  重复转账的资金风险";
* its "商户单号查询转账单" page (…/transfer-bill/get-transfer-bill-by-out-no.html): the bill's
  `state`, ACCEPTED, PROCESSING, WAIT_USER_CONFIRM (the payee confirms in WeChat), TRANSFERING
  and CANCELING in progress, SUCCESS, FAIL (with `fail_reason`) and CANCELLED final; amounts in
  fen; bills of the last 30 days only;
* the wechatpayv3 Python SDK (minibear2021/wechatpayv3, wechatpayv3/mchtransfer.py,
  `mch_transfer_bills`) sends the same fields, refuses a bill of 200000 fen or more without
  `user_name` and sends a name only from 30 fen (0.30 yuan);
* the scene's report infos (报备信息), each `info_type` at most 15 characters and `info_content`
  at most 32 (the wechatpy SDK's model MchTransferSceneReportInfo); for 1005 佣金报酬 they are
  岗位类型 and 报酬说明, with `user_recv_perception` 劳务报酬: the request WeChat Pay accepted in
  the developers' community thread that closed with a fix
  (developers.weixin.qq.com/community/personal/oCJUsw_pd5LAq6gR8A3ki7Tu05uI/answer), after other
  types were refused with "需传入转账场景报备信息";
* the meanings of the `fail_reason` codes, as WeChat Pay's Go SDK lists them for the older batch
  API (wechatpay-apiv3/wechatpay-go, docs/transferbatch/FailReasonType.md; its
  TransferDetailInput.md gives the same 32-character remark and the amount in fen).

So each line of the file is one bill's request body, in the API's own field names: `appid` and
`openid` from the creator's payout details (an openid belongs to one AppID: WeChat Pay refuses a
pair that is not the agency's, and the result then fails the item, its money back in the
creator's balance); `out_bill_no` the payout item's id without its hyphens (32 hex digits: only
letters and digits are allowed); `transfer_amount` the net in fen, an integer; the scene, its
perception and report infos from settings.PAYOUTS_WECHAT_TRANSFER (default 1005 佣金报酬, 劳务报酬,
岗位类型 主播, 报酬说明 "<month>收益分成": 主播 is among the payees WeChat Pay names for the scene,
"向劳务提供方,如销售、团长、主播支付佣金、报酬等", as a merchant quotes it in
developers.weixin.qq.com/community/pay/doc/00004ca369c5784926939f5b061800); `user_name` present
exactly when the amount is 2,000.00 or more. No `notify_url`: the tool that submits the file sets
its own.

The file is for a submitting tool (a script, or a later live adapter, behind the same Rail
interface) that signs each request, encrypts `user_name` as the SDKs do (RSA with WeChat Pay's
platform key, plus the Wechatpay-Serial header) and saves the answers. It carries the real name
in clear only on those lines, because WeChat Pay asks for it there. In WeChat Pay's user-confirm
mode a bill waits in WAIT_USER_CONFIRM until the creator confirms it in the agency's app: until
then the payout stays in flight here. A line submitted again names
the same out_bill_no, which is how WeChat Pay wants a retry made; a payout that failed gets a new
item, hence a new out_bill_no, in a later batch, as WeChat Pay wants a new attempt made.

Limits enforced here:

* a payout of 2,000.00 or more whose creator gave no real name (Fenrun's WeChat details leave
  it optional) is refused, left out of the file with a sentence saying what to do: the API would
  refuse the bill anyway;
* the remark (what the creator reads in WeChat) is cut to 32 characters, the agency's name
  shortened and the month kept: the remark identifies nothing (out_bill_no does), so refusing a
  payout for a long agency name would hold money for a label;
* a report info set in settings that is longer than 15 / 32 characters is a configuration
  error at export (ImproperlyConfigured), never cut: the content is what WeChat Pay reviews.

The result comes back as the common result CSV (base.py), in which WeChat Pay's own column names
(out_bill_no, transfer_bill_no, state, fail_reason, transfer_amount in fen) and states may be
used, or as JSON Lines of the bills as queried (one response body a line): SUCCESS → paid with
the 微信转账单号 as reference, FAIL and CANCELLED → failed (the money back in the creator's
balance), a state in progress → a row error that changes nothing (import again when it is final).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from apps.payouts.rails.base import (
    STATUSES,
    ExportFile,
    ExportLine,
    ResultFileError,
    ResultRow,
    parse_result_csv,
    read_result_text,
    result_row,
    yuan,
)

REAL_NAME_FROM_MINOR = 200_000  # 2,000.00 yuan: user_name required from here
REMARK_LIMIT = 32
INFO_TYPE_LIMIT = 15
INFO_CONTENT_LIMIT = 32
DEFAULT_TRANSFER = {
    "transfer_scene_id": "1005",  # 佣金报酬: 向劳务提供方（销售、团长、主播）支付佣金、报酬
    "user_recv_perception": "劳务报酬",
    # (info_type, info_content); "{period}" is the batch's payment month, e.g. 2026-03.
    "report_infos": [("岗位类型", "主播"), ("报酬说明", "{period}收益分成")],
}

# Result: WeChat Pay's states (lower-cased, as the status cell is read) and column names.
_STATUSES = {
    **STATUSES,
    "success": "paid",
    "转账成功": "paid",
    "fail": "failed",
    "转账失败": "failed",
    "cancelled": "failed",
    "转账已撤销": "failed",
}
_IN_PROGRESS = ("ACCEPTED", "PROCESSING", "WAIT_USER_CONFIRM", "TRANSFERING", "CANCELING")
_ALIASES = {
    "out_bill_no": "item_reference",
    "商户单号": "item_reference",
    "transfer_bill_no": "reference",
    "微信转账单号": "reference",
    "state": "status",
    "转账状态": "status",
    "fail_reason": "reason",
    "transfer_amount": "amount_fen",
}
# What WeChat Pay's fail_reason codes mean (wechatpay-go docs/transferbatch/FailReasonType.md).
FAIL_REASONS = {
    "ACCOUNT_FROZEN": "账户冻结",
    "REAL_NAME_CHECK_FAIL": "用户未实名",
    "NAME_NOT_CORRECT": "用户姓名校验失败",
    "OPENID_INVALID": "Openid校验失败",
    "TRANSFER_QUOTA_EXCEED": "超过用户单笔收款额度",
    "DAY_RECEIVED_QUOTA_EXCEED": "超过用户单日收款额度",
    "MONTH_RECEIVED_QUOTA_EXCEED": "超过用户单月收款额度",
    "DAY_RECEIVED_COUNT_EXCEED": "超过用户单日收款次数",
    "PRODUCT_AUTH_CHECK_FAIL": "产品权限校验失败",
    "OVERDUE_CLOSE": "转账关闭",
    "ID_CARD_NOT_CORRECT": "用户身份证校验失败",
    "ACCOUNT_NOT_EXIST": "用户账户不存在",
    "TRANSFER_RISK": "转账存在风险",
}


def _pending() -> dict[str, str]:
    sentence = _(
        "WeChat Pay has not finished this transfer (%(state)s): nothing changed. Import the result "
        "again once it is SUCCESS, FAIL or CANCELLED."
    )
    return {state: sentence % {"state": state} for state in _IN_PROGRESS}


def transfer_settings(period: str) -> dict[str, Any]:
    """The scene of the agency's transfers, from settings.PAYOUTS_WECHAT_TRANSFER over the
    defaults, with the report infos filled in for `period`; a setting WeChat Pay would refuse is
    a configuration error, never cut short."""
    configured = {**DEFAULT_TRANSFER, **(getattr(settings, "PAYOUTS_WECHAT_TRANSFER", None) or {})}
    scene = str(configured["transfer_scene_id"])
    if not scene.isascii() or not scene.isdigit():
        raise ImproperlyConfigured(f"PAYOUTS_WECHAT_TRANSFER transfer_scene_id {scene!r} is not a scene id")
    infos = []
    for info_type, content in configured["report_infos"]:
        text = str(content).replace("{period}", period)
        if not 0 < len(info_type) <= INFO_TYPE_LIMIT or not 0 < len(text) <= INFO_CONTENT_LIMIT:
            raise ImproperlyConfigured(
                f"PAYOUTS_WECHAT_TRANSFER report info {info_type!r}: WeChat Pay takes a type of at most "
                f"{INFO_TYPE_LIMIT} and a content of at most {INFO_CONTENT_LIMIT} characters"
            )
        infos.append({"info_type": info_type, "info_content": text})
    return {
        "transfer_scene_id": scene,
        "user_recv_perception": str(configured["user_recv_perception"]),
        "transfer_scene_report_infos": infos,
    }


def transfer_remark(memo: str, period: str) -> str:
    """The memo in WeChat Pay's 32 characters: the agency's name shortened, the month kept."""
    if len(memo) <= REMARK_LIMIT:
        return memo
    if memo.endswith(period):
        name = memo[: -len(period)].rstrip()
        return name[: REMARK_LIMIT - len(period) - 2] + "… " + period
    return memo[: REMARK_LIMIT - 1] + "…"


def out_bill_no(item_reference: str) -> str:
    """The item's id as WeChat Pay takes it: letters and digits only (its 32 hex digits)."""
    return uuid.UUID(item_reference).hex


def _bill(line: ExportLine, *, period: str, scene: dict[str, Any]) -> dict[str, Any]:
    bill: dict[str, Any] = {
        "appid": line.wechat_appid,
        "out_bill_no": out_bill_no(line.item_reference),
        "transfer_scene_id": scene["transfer_scene_id"],
        "openid": line.account,
    }
    if line.amount_minor >= REAL_NAME_FROM_MINOR:
        bill["user_name"] = line.real_name  # in clear: the submitting tool encrypts it
    bill.update(
        transfer_amount=line.amount_minor,
        transfer_remark=transfer_remark(line.memo, period),
        user_recv_perception=scene["user_recv_perception"],
        transfer_scene_report_infos=scene["transfer_scene_report_infos"],
    )
    return bill


def failure_reason(state: str, reason: str) -> str:
    """A failed bill's reason as a person reads it: the code with its meaning, or the state. A
    row of Fenrun's own words ("failed") keeps what it says, even nothing (the core then asks why)."""
    code = reason.strip().upper()
    if code in FAIL_REASONS:
        return f"{code}: {FAIL_REASONS[code]}"
    if reason.strip() or state.upper() not in ("FAIL", "CANCELLED", "转账失败", "转账已撤销"):
        return reason.strip()
    if state.upper() in ("CANCELLED", "转账已撤销"):
        return _("WeChat Pay cancelled the transfer (CANCELLED).")
    return _("WeChat Pay reports the transfer failed (FAIL) without a reason.")


class WeChatRail:
    name = "wechat"
    label = "微信支付 商家转账"
    method = "wechat"

    def refusal(self, line: ExportLine) -> str:
        if line.amount_minor <= 0:
            return _("Nothing to transfer: WeChat Pay takes a bill of more than 0.00.")
        if line.amount_minor >= REAL_NAME_FROM_MINOR and not line.real_name.strip():
            return _(
                "WeChat Pay needs the payee's real name for a transfer of 2,000.00 or more, and this "
                "creator gave none (%(amount)s). Ask them to add it to their payout details (the change "
                "holds their payouts 24 hours), or pay them by another rail."
            ) % {"amount": yuan(line.amount_minor)}
        return ""

    def export(self, batch: Any, lines: list[ExportLine]) -> ExportFile:
        scene = transfer_settings(batch.period)
        for line in lines:  # payout_batch_export leaves refused lines out: one here is a bug
            refused = self.refusal(line)
            if refused:
                raise ValueError(f"line {line.item_reference} refused: {refused}")
        body = "".join(
            json.dumps(
                _bill(line, period=batch.period, scene=scene), ensure_ascii=False, separators=(",", ":")
            )
            + "\n"
            for line in lines
        )
        return ExportFile(
            filename=f"fenrun-payouts-{batch.period}-{str(batch.public_id)[:8]}-wechat.jsonl",
            content=body.encode("utf-8"),
            content_type="application/x-ndjson; charset=utf-8",
        )

    def parse_result(self, file: Any) -> list[ResultRow]:
        text = read_result_text(file)
        if text.lstrip().startswith("{"):
            return _parse_bills(text)
        return parse_result_csv(
            file,
            text=text,
            statuses=_STATUSES,
            aliases=_ALIASES,
            pending=_pending(),
            describe=failure_reason,
        )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _parse_bills(text: str) -> list[ResultRow]:
    """JSON Lines of transfer bills as WeChat Pay answers a query (or its notice, decrypted):
    out_bill_no, transfer_bill_no, state, transfer_amount (fen), fail_reason."""
    rows: list[ResultRow] = []
    pending = _pending()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(rows) >= 20_000:
            raise ResultFileError(_("A result file has at most 20,000 rows."))
        try:
            bill = json.loads(line)
        except (ValueError, RecursionError):
            bill = None
        if not isinstance(bill, dict):
            rows.append(
                ResultRow(
                    number, "", "", "", "", None, _("This line is not a JSON object of a transfer bill.")
                )
            )
            continue
        state = _text(bill.get("state"))
        amount = bill.get("transfer_amount")
        # An integer of fen (or its digits as text), never a float: 4200.0 is not an amount in fen.
        if isinstance(amount, str):
            amount_text = amount.strip()
        elif isinstance(amount, int) and not isinstance(amount, bool):
            amount_text = str(amount)
        else:
            amount_text = repr(amount)
        row = result_row(
            row=number,
            item_reference=_text(bill.get("out_bill_no")),
            status_text=state,
            reference=_text(bill.get("transfer_bill_no")),
            reason=_text(bill.get("fail_reason")),
            amount_text=amount_text,
            statuses=_STATUSES,
            pending=pending,
            in_fen=True,
            describe=failure_reason,
        )
        rows.append(row)
    if not rows:
        raise ResultFileError(_("The result file is empty."))
    return rows
