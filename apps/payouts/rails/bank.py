"""Bank bulk payment (代发) sheet, as CSV and as XLSX, for the corporate online banking upload.

What the public material says (found with the project's search tool; no bank publishes a
machine-readable specification, each ships its own template in its online banking):

* ICBC's help robot, "付款业务企业财务室代发工资方法" (xiaoimedia.icbc.com.cn): 批量支付 by
  on-line editing or by uploading a file made from the downloaded template;
* a walkthrough of ICBC 代发 (198.12.123.165:9000/Ethnic/7643749.html): the sheet must carry
  【卡号】【姓名】【金额】 (card number, name, amount); cards of other banks need the
  "对方账号卡号都是工行的" option unticked, so the receiving bank matters;
* hexun.com, "网上银行批量代发工资功能如何使用?" (2025-06-23) and grejob.com: the file holds
  员工姓名、银行账号、工资金额, as CSV, TXT or the bank's Excel template, and is checked on upload;
* BOC's template ("realtimepayoffbatchdatatemplate.xlt", shuibaike.com/post/10852.html) adds
  the receiving bank and a purpose (用途).

So the columns are those every template has, named as they are named there, plus Fenrun's item
reference for the result file: 商户流水号 (the payout item), 收款账号, 收款户名, 收款银行, 开户支行,
金额, 用途. The issue's rules: account numbers as text (a 19-digit card number read as a number
loses its last digits: Excel keeps 15 significant digits), amounts in yuan with two decimals,
no total row (the bank totals the file itself and refuses a row it cannot read as a payment).

In the XLSX every cell is a string cell (`t="s"`) and its column is formatted as text (`@`),
amounts included: "1234.50" stays "1234.50" whichever way the bank reads it. Text cells that
start with = + - @ tab or CR get a leading apostrophe (escape_cell, the project's CSV rule).
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

from apps.income.importers.canonical import escape_cell
from apps.payouts.rails.base import ExportFile, ExportLine, ResultRow, csv_bytes, parse_result_csv, yuan

HEADER = ["商户流水号", "收款账号", "收款户名", "收款银行", "开户支行", "金额", "用途"]
_WIDTHS = [40, 24, 16, 20, 28, 14, 30]


def _cells(line: ExportLine) -> list[str]:
    return [
        line.item_reference,
        line.account,
        line.real_name,
        line.bank_name,
        line.bank_branch,
        yuan(line.amount_minor),
        line.memo,
    ]


def _name(batch: Any, extension: str) -> str:
    return f"fenrun-payouts-{batch.period}-{str(batch.public_id)[:8]}-bank.{extension}"


class BankCsvRail:
    name = "bank_csv"
    label = "代发 CSV"
    method = "bank"

    def refusal(self, line: ExportLine) -> str:
        return ""  # the bank's and Alipay's files hold any line the core exports

    def export(self, batch: Any, lines: list[ExportLine]) -> ExportFile:
        return ExportFile(
            filename=_name(batch, "csv"),
            content=csv_bytes(HEADER, [_cells(line) for line in lines]),
            content_type="text/csv; charset=utf-8",
        )

    def parse_result(self, file: Any) -> list[ResultRow]:
        return parse_result_csv(file)


class BankXlsxRail:
    name = "bank_xlsx"
    label = "代发 XLSX"
    method = "bank"

    def refusal(self, line: ExportLine) -> str:
        return ""  # the bank's and Alipay's files hold any line the core exports

    def export(self, batch: Any, lines: list[ExportLine]) -> ExportFile:
        workbook = Workbook(write_only=False)
        sheet = workbook.active
        assert sheet is not None
        sheet.title = "代发"
        sheet.append(HEADER)
        for line in lines:
            sheet.append([escape_cell(cell) for cell in _cells(line)])
        for column, width in enumerate(_WIDTHS, start=1):
            letter = sheet.cell(row=1, column=column).column_letter
            sheet.column_dimensions[letter].width = width
            sheet.column_dimensions[letter].number_format = "@"
        for row in sheet.iter_rows():
            for cell in row:
                # Text, always: openpyxl would store "=…" as a formula and digits could be
                # retyped as numbers by a later edit; "@" keeps Excel from converting them.
                cell.data_type = TYPE_STRING
                cell.number_format = "@"
        buffer = io.BytesIO()
        workbook.save(buffer)
        return ExportFile(
            filename=_name(batch, "xlsx"),
            content=buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    def parse_result(self, file: Any) -> list[ResultRow]:
        return parse_result_csv(file)
