"""抖店 settlement bill, GBK: notes above the header, ¥ and ￥ amounts with thousands separators,
numbers behind an apostrophe, a refund after settlement naming its sub-order, a deposit, a
合计 row last."""

from __future__ import annotations

import datetime

import pytest

from apps.income.models import IncomeLine
from tests.income.adapters.conftest import errors, import_export, lines_of, skipped, warnings

pytestmark = pytest.mark.django_db
CST = datetime.timezone(datetime.timedelta(hours=8))


def test_settlements_and_a_refund_by_sub_order_with_the_shop_chosen_at_upload(exports_world) -> None:
    done = import_export(exports_world, "doudian_settlement_gbk.csv", account="dy_88231")

    assert (done.status, done.format, done.encoding) == ("done", "doudian_settle", "gb18030")
    assert done.detection["header_row"] == 3
    assert (
        done.detection["reason"]
        == "Douyin Shop settlement bill: columns 子订单号, 结算时间, 结算金额, 结算单类型, 结算账户"
    )
    lines = lines_of(done)
    assert sorted(lines) == [
        "dd:refund:6930011122233344456:30000",
        "dd:settle:6930011122233344456",
        "dd:settle:6930011122233344461",
    ]
    tea = lines["dd:settle:6930011122233344456"]
    assert (tea.gross_minor, tea.currency, tea.source, tea.order_ref) == (
        128050,
        "CNY",
        "ecommerce_commission",
        "6930011122233344455",
    )
    assert tea.occurred_at == datetime.datetime(2026, 11, 3, 10, 5, tzinfo=CST)
    assert (tea.creator, tea.description) == (exports_world.creator_a, "白茶饼 357g")
    assert lines["dd:settle:6930011122233344461"].gross_minor == 8600
    refund = lines["dd:refund:6930011122233344456:30000"]
    assert (refund.gross_minor, refund.refund_of) == (-30000, tea)
    assert skipped(done) == {
        1: "Note above the header: not a statement row.",
        2: "Note above the header: not a statement row.",
        7: "A deposit refund (保证金), not income.",
        9: "Totals row (合计 / Total): not an income event.",
    }
    assert warnings(done) == {}  # 合计 1,132.50 is the sum of its rows
    assert [(row, column) for row, column, _reason in errors(done)] == [(8, "结算单类型")]
    assert "'待定'" in errors(done)[0][2]
    assert IncomeLine.objects.count() == 3
