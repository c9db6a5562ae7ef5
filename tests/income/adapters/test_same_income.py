"""The same income in two exports is one line: the shop's settlement in its settlement bill and in
its fund flow; a creator's commission in the Buyin export and in the fund flow."""

from __future__ import annotations

import pytest

from apps.income.models import IncomeLine
from tests.income.adapters.conftest import import_export

pytestmark = pytest.mark.django_db


def test_a_settlement_in_the_bill_and_in_the_fund_flow_is_recorded_once(exports_world) -> None:
    bill = import_export(exports_world, "doudian_settlement_gbk.csv", account="dy_88231")

    flow = import_export(exports_world, "doudian_fund_flow.xlsx", account="dy_88231")

    assert (bill.imported_count, flow.imported_count, flow.duplicate_count) == (3, 2, 2)
    sub_order = IncomeLine.objects.filter(external_id__contains="6930011122233344456")
    assert sorted(sub_order.values_list("external_id", "gross_minor")) == [
        ("dd:refund:6930011122233344456:30000", -30000),
        ("dd:settle:6930011122233344456", 128050),
    ]
    assert set(sub_order.values_list("statement_import", flat=True)) == {bill.pk}


def test_a_commission_in_the_buyin_export_and_in_the_fund_flow_is_recorded_once(exports_world) -> None:
    # The other fund-flow shape: 关联订单号, 账户方向 收入/支出, signed amounts.
    flow = (
        "\ufeff动账流水号,关联订单号,关联子订单号,动账时间,账户方向,动账金额(元),动账场景,账户余额(元),备注\n"
        "T1,6953547102608758621,,2026-11-10 10:00:00,收入,200.00,达人带货佣金,200.00,佣金\n"
        "T2,6953547102608758621,,2026-11-20 10:00:00,支出,-50.00,达人佣金退款,150.00,佣金退款\n"
    ).encode()
    import_export(exports_world, "buyin_orders_bom.csv")

    again = import_export(exports_world, "资金流水.csv", flow, account="dy_88231")

    assert (again.format, again.imported_count, again.duplicate_count) == ("doudian_funds", 0, 2)
    assert IncomeLine.objects.filter(order_ref="6953547102608758621").count() == 2
