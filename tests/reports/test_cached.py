"""The report's sums are kept under the agency's ledger head (apps/common/rollups.py): served
from the cache while nothing was posted, never stale after a new import or a correction, and
computed as before while the cache is unreachable."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.ledger.models import LedgerHead
from apps.reports.selectors import ReportPeriod, revenue_report
from tests.reports.conftest import import_many

pytestmark = pytest.mark.django_db

PERIOD = ReportPeriod(first="2026-10", last="2026-11")


def _report(world: Any) -> Any:
    return revenue_report(actor=world.manager_a, agency=world.agency_a, group="month", period=PERIOD)


def _totals(report: Any) -> list[tuple[str, int, int]]:
    return [(total.currency, total.line_count, total.gross_minor) for total in report.totals]


def _grouped_queries(captured: CaptureQueriesContext) -> int:
    return sum("GROUP BY" in query["sql"] for query in captured.captured_queries)


def test_a_second_reader_is_served_from_the_cache_and_a_new_import_is_counted_at_once(reported) -> None:
    world = reported
    with CaptureQueriesContext(connection) as first:
        before = _report(world)
    with CaptureQueriesContext(connection) as second:
        again = _report(world)
    assert _grouped_queries(first) == 2  # the allocations' GROUP BY and the ledger's months
    assert _grouped_queries(second) == 0
    assert _totals(again) == _totals(before)
    assert [(row.key, row.figures, row.ledger) for row in again.rows] == [
        (row.key, row.figures, row.ledger) for row in before.rows
    ]

    head = LedgerHead.objects.get(agency=world.agency_a).last_seq
    import_many(world, 6)
    assert LedgerHead.objects.get(agency=world.agency_a).last_seq > head
    after = _report(world)
    ((currency, lines, gross),) = _totals(after)
    ((_same, lines_before, gross_before),) = _totals(before)
    assert (currency, lines) == ("CNY", lines_before + 6)
    assert gross > gross_before


def test_the_report_is_computed_while_the_cache_is_unreachable(reported) -> None:
    world = reported
    expected = _totals(_report(world))
    with (
        mock.patch("django.core.cache.cache.get", side_effect=ConnectionError("cache down")),
        mock.patch("django.core.cache.cache.set", side_effect=ConnectionError("cache down")),
        CaptureQueriesContext(connection) as captured,
    ):
        assert _totals(_report(world)) == expected
    assert _grouped_queries(captured) == 2
