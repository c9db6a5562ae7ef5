"""YouTube Reporting API content-owner revenue report: YYYYMMDD dates, one row per country,
six-decimal estimates, most rows earning nothing."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.income.adapters.conftest import import_export, lines_of, skipped

pytestmark = pytest.mark.django_db


def test_each_earning_row_is_a_line_keyed_by_all_its_dimensions(exports_world) -> None:
    done = import_export(exports_world, "yt_reporting_estimated_revenue.csv")

    assert (done.status, done.format) == ("done", "yt_reporting")
    assert done.detection["reason"].startswith(
        "YouTube reporting revenue report: columns channel_id, date, estimated_partner_revenue"
    )
    lines = lines_of(done)
    assert sorted(lines) == [
        "yt:UCstranger01:v9Zz:2026-11-04:US:claimed:thirdParty",
        "yt:UCx9f3:a1B2c3D4e5F:2026-11-04:US:claimed:self",
        "yt:UCx9f3:dQw4w9WgXcQ:2026-11-03:GB:claimed:self",
        "yt:UCx9f3:dQw4w9WgXcQ:2026-11-03:US:claimed:self",
    ]
    us = lines["yt:UCx9f3:dQw4w9WgXcQ:2026-11-03:US:claimed:self"]
    assert (us.gross_minor, us.currency, us.source, us.creator) == (
        3010,
        "USD",
        "platform_revenue_share",
        exports_world.creator_a,
    )
    assert us.occurred_at == datetime.datetime(2026, 11, 3, tzinfo=ZoneInfo("Asia/Shanghai"))
    estimate = lines["yt:UCx9f3:a1B2c3D4e5F:2026-11-04:US:claimed:self"]
    assert (estimate.gross_minor, estimate.metadata["estimated_partner_revenue"]) == (1235, "12.345678")
    assert (
        lines["yt:UCstranger01:v9Zz:2026-11-04:US:claimed:thirdParty"].exception_reason == "unknown_account"
    )
    assert skipped(done) == {3: "No revenue on this row."}
    assert done.error_count == 0
