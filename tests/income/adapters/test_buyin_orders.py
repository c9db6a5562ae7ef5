"""巨量百应 / 精选联盟 commission export, UTF-8 with BOM: order ids ending with a tab, a 合计 row
first that does not add up, settled / paid / refunded orders, a refund after settlement."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.income.adapters.conftest import DATA, errors, import_export, lines_of, skipped, warnings

pytestmark = pytest.mark.django_db
CST = datetime.timezone(datetime.timedelta(hours=8))


def test_settled_commissions_per_creator_and_a_refund_by_order(exports_world) -> None:
    done = import_export(exports_world, "buyin_orders_bom.csv")

    assert (done.status, done.format, done.encoding) == ("done", "buyin_orders", "utf-8")
    lines = lines_of(done)
    assert sorted(lines) == [
        "dd:commission-refund:6953547102608758621:5000",
        "dd:commission:6953547102608758621",
        "dd:commission:6953547102608758624",
    ]
    commission = lines["dd:commission:6953547102608758621"]
    assert (commission.gross_minor, commission.source, commission.creator) == (
        20000,
        "ecommerce_commission",
        exports_world.creator_a,
    )
    assert commission.occurred_at == datetime.datetime(2026, 11, 10, 10, 0, tzinfo=CST)
    assert commission.order_ref == "6953547102608758621"
    refund = lines["dd:commission-refund:6953547102608758621:5000"]
    # 20261120: a date alone, midnight in the agency's zone.
    assert (refund.gross_minor, refund.refund_of) == (-5000, commission)
    assert refund.occurred_at == datetime.datetime(2026, 11, 20, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert lines["dd:commission:6953547102608758624"].exception_reason == "unknown_account"
    assert skipped(done) == {
        2: "Totals row (合计 / Total): not an income event.",
        4: "Not settled yet (订单付款): no commission paid.",
        5: "Refunded before settlement (已退款): no commission paid.",
    }
    # The totals row says 999.99: reported, and the rows imported as they are.
    assert warnings(done) == {
        2: "The totals row says 999.99 CNY but its rows add up to 260.00 CNY; the rows were imported as they are."
    }
    assert errors(done) == [
        (8, "订单状态", "Unknown order status '冻结中': expected 已结算, 已付款 or 已退款.")
    ]


def test_an_export_whose_every_row_is_skipped_is_done_with_the_skipped_rows_listed(exports_world) -> None:
    # Only unsettled orders: nothing to record yet, which is not an empty file.
    data = (DATA / "buyin_orders_bom.csv").read_bytes().decode("utf-8-sig").splitlines()
    unsettled = "\n".join([data[0], data[3], data[4]]) + "\n"

    done = import_export(exports_world, "buyin_unsettled.csv", unsettled.encode("utf-8-sig"))

    assert (done.status, done.imported_count, done.error_count) == ("done", 0, 0), done.message
    assert set(skipped(done)) == {2, 3}
