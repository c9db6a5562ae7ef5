"""Alipay batch transfer file (支付宝批量转账到支付宝账户), uploaded in the enterprise portal.

What the public material says (found with the project's search tool):

* "批量付款到支付宝账户操作流程(新企业版-普通版)" (help-w.com/mi/mi5/1571962731.html), the
  portal's own instructions as republished: detail rows of 商户流水号 (free, at most 22
  characters there), 收款人email (the payee's verified account), 收款人姓名 (the verified real
  name, which must match the account, at most 128 characters), 付款金额 (yuan, two decimals) and
  付款理由 (at most 100 characters, required from 50,000.00); at most 3,000 rows per file then;
* Alipay's open API for the same transfer (alipay.fund.trans.uni.transfer, as the TypeScript SDK
  documents it): the payee is an ALIPAY_LOGONID, "支付宝登录号，支持邮箱和手机号格式"; amounts in
  yuan with at most two decimals, at least 0.10;
* the current portal template (批量转账: 收款方支付宝账号, 收款方姓名, 金额, 备注) is downloaded
  after signing in: no public copy was found, so its column names are the issue's.

So: 商户流水号 (the payout item's reference, which the result file names; 36 characters, longer
than the old template's 22: a portal that refuses it needs the column cut, not the payout), then
收款方支付宝账号, 收款方姓名, 金额, 备注 (memo, at most 100 characters). At most 1,000 rows per
file (the issue's limit, below the old 3,000 and equal to WeChat Pay's documented 1,000 per
batch, wechatpay-apiv3/wechatpay-go docs/transferbatch): a larger batch is several files of
1,000 in one zip. No total row. CSV in UTF-8 with a byte order mark; every text cell escaped
against formulas (escape_cell).
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from apps.payouts.rails.base import ExportFile, ExportLine, ResultRow, csv_bytes, parse_result_csv, yuan

HEADER = ["商户流水号", "收款方支付宝账号", "收款方姓名", "金额", "备注"]
ROWS_PER_FILE = 1_000
MEMO_LIMIT = 100


def _rows(lines: list[ExportLine]) -> list[list[str]]:
    return [
        [line.item_reference, line.account, line.real_name, yuan(line.amount_minor), line.memo[:MEMO_LIMIT]]
        for line in lines
    ]


class AlipayRail:
    name = "alipay"
    label = "支付宝批量转账"
    method = "alipay"

    def refusal(self, line: ExportLine) -> str:
        return ""  # the bank's and Alipay's files hold any line the core exports

    def export(self, batch: Any, lines: list[ExportLine]) -> ExportFile:
        stem = f"fenrun-payouts-{batch.period}-{str(batch.public_id)[:8]}-alipay"
        parts = [lines[start : start + ROWS_PER_FILE] for start in range(0, len(lines), ROWS_PER_FILE)] or [
            []
        ]
        if len(parts) == 1:
            return ExportFile(
                filename=f"{stem}.csv",
                content=csv_bytes(HEADER, _rows(parts[0])),
                content_type="text/csv; charset=utf-8",
            )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for number, part in enumerate(parts, start=1):
                archive.writestr(
                    f"{stem}-{number:02d}-of-{len(parts):02d}.csv", csv_bytes(HEADER, _rows(part))
                )
        return ExportFile(filename=f"{stem}.zip", content=buffer.getvalue(), content_type="application/zip")

    def parse_result(self, file: Any) -> list[ResultRow]:
        return parse_result_csv(file)
