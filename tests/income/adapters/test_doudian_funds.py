"""抖店 fund flow, XLSX: a title row above the header, 动帐流水号 spelled with 帐, unsigned amounts with
入账 / 出账, an Excel date serial, a withdrawal, a refund naming its sub-order, an unknown direction."""

from __future__ import annotations

import datetime

import pytest

from tests.income.adapters.conftest import errors, import_export, lines_of, skipped, warnings

pytestmark = pytest.mark.django_db
CST = datetime.timezone(datetime.timedelta(hours=8))


def test_movements_signed_by_their_direction_and_withdrawals_left_out(exports_world) -> None:
    done = import_export(exports_world, "doudian_fund_flow.xlsx", account="dy_88231")

    assert (done.status, done.format, done.encoding) == ("done", "doudian_funds", "")
    assert done.detection["header_row"] == 3
    lines = lines_of(done)
    assert sorted(lines) == [
        "dd:flow:AS202611081200002_IN",
        "dd:flow:AS202611210900005_OUT",
        "dd:refund:6930011122233344456:30000",
        "dd:settle:6930011122233344456",
    ]
    settlement = lines["dd:settle:6930011122233344456"]
    assert (settlement.gross_minor, settlement.occurred_at) == (
        128050,
        datetime.datetime(2026, 11, 3, 10, 5, tzinfo=CST),
    )
    rebate = lines["dd:flow:AS202611081200002_IN"]
    # The date is an Excel serial (46334.5): 2026-11-08 at noon, China time.
    assert (rebate.gross_minor, rebate.source, rebate.occurred_at) == (
        1230,
        "other",
        datetime.datetime(2026, 11, 8, 12, 0, tzinfo=CST),
    )
    refund = lines["dd:refund:6930011122233344456:30000"]
    assert (refund.gross_minor, refund.refund_of) == (-30000, settlement)
    assert lines["dd:flow:AS202611210900005_OUT"].gross_minor == -40
    assert skipped(done) == {
        1: "Note above the header: not a statement row.",
        7: "A withdrawal (提现): money moving to the shop's own bank account, not income.",
        10: "Totals row (合计 / Total): not an income event.",
    }
    assert warnings(done) == {}
    assert errors(done) == [(9, "动账方向", "Unknown direction '冲正': expected 入账 or 出账.")]
