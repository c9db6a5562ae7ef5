"""淘宝联盟 order report (Taobao Live creators' commission), GBK: settled, paid and invalid orders,
a 维权 refund of a settled sub-order, a 合计 row last."""

from __future__ import annotations

import datetime

import pytest

from tests.income.adapters.conftest import import_export, lines_of, skipped, warnings

pytestmark = pytest.mark.django_db
CST = datetime.timezone(datetime.timedelta(hours=8))


def test_settled_income_by_sub_order_and_its_refund(exports_world) -> None:
    done = import_export(exports_world, "taobao_union_gbk.csv")

    assert (done.status, done.format, done.encoding) == ("done", "taobao_union", "gb18030")
    lines = lines_of(done)
    assert sorted(lines) == ["tb:2987000000000000002", "tb:2987000000000000002:refund:640"]
    income = lines["tb:2987000000000000002"]
    assert (income.gross_minor, income.platform, income.account_id, income.creator) == (
        1280,
        "taobao",
        "1002003",
        exports_world.creator_a,
    )
    assert (income.order_ref, income.occurred_at) == (
        "2987000000000000001",
        datetime.datetime(2026, 11, 21, 10, 0, tzinfo=CST),
    )
    refund = lines["tb:2987000000000000002:refund:640"]
    assert (refund.gross_minor, refund.refund_of) == (-640, income)
    assert skipped(done) == {
        3: "Not settled yet (订单付款): no commission paid.",
        4: "Order invalid (订单失效): no commission.",
        6: "Totals row (合计 / Total): not an income event.",
    }
    assert (warnings(done), done.error_count) == ({}, 0)
