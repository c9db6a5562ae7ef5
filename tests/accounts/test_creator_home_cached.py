"""The home's twelve months are kept under the number of the creator's ledger entries
(apps/common/rollups.py, issue 16): read from the cache while nothing was posted for them, and
never stale after their next import."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.agencies.time import agency_today
from apps.income.models import IncomeLine
from apps.recognition.models import LineAllocation
from tests.conftest import web_as
from tests.income.history import contract_for, creator_share, history_rows, import_at, period_of
from tests.statements.conftest import statement_world

__all__ = ["statement_world"]

pytestmark = pytest.mark.django_db


def _charted_total(page: str) -> int:
    found = re.search(r'<script id="portal-chart" type="application/json">(.*?)</script>', page, re.S)
    assert found, "no chart data on the page"
    chart = json.loads(found.group(1))
    return sum(int(text.replace(".", "")) for dataset in chart["bySource"] for text in dataset["data"])


def _shares(world: Any) -> int:
    return sum(creator_share(line) for line in IncomeLine.objects.filter(creator=world.creator_a))


def _allocation_reads(queries: CaptureQueriesContext) -> int:
    return sum('FROM "recognition_lineallocation"' in query["sql"] for query in queries.captured_queries)


def test_the_months_come_from_the_cache_until_the_creators_next_entry(statement_world: Any) -> None:
    world = statement_world
    contract_for(world, world.creator_a, ["douyin", "youtube"])
    import_at(world, history_rows(6, 2, prefix="C"), name="first.csv")
    client = web_as(world.creator_a.user)

    with CaptureQueriesContext(connection) as first:
        page = client.get("/").content.decode()
    assert _charted_total(page) == _shares(world) > 0
    with CaptureQueriesContext(connection) as second:
        again = client.get("/").content.decode()
    assert _allocation_reads(first) == 2  # the rule sets the months used, their GROUP BY
    assert _allocation_reads(second) == 0
    assert _charted_total(again) == _charted_total(page)

    before = _shares(world)
    import_at(world, history_rows(4, 2, prefix="D", start=6), name="second.csv")
    assert _shares(world) > before
    today = agency_today(world.agency_a)
    assert all(
        period_of(allocation.effective_date) <= period_of(today)
        for allocation in LineAllocation.objects.filter(creator=world.creator_a)
    )
    assert _charted_total(client.get("/").content.decode()) == _shares(world)
