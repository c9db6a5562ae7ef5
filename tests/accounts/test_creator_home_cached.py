"""The home's twelve months are kept under the number of the creator's ledger entries
(apps/common/rollups.py, issue 16): read from the cache while nothing was posted for them, and
never stale after their next import."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.creator_home import creator_home_for_actor
from apps.agencies.time import agency_today
from apps.income.models import IncomeLine
from apps.recognition.models import LineAllocation
from apps.statements.models import Statement
from apps.statements.services import statement_publish, statements_draft
from tests.conftest import web_as
from tests.income.history import contract_for, creator_share, history_rows, import_at, period_of
from tests.statements.conftest import october, october_open, post_payout, statement_world

__all__ = ["october", "october_open", "statement_world"]

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


def test_what_was_paid_is_read_again_after_a_payout(
    october: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """What was paid of the last statement is kept under the same count: a payout is an entry
    naming the creator, so the home knows at once that the statement is paid."""
    world = october
    statements_draft(agency=world.agency_a, period="2026-10", actor=world.finance_a)
    statement = Statement.objects.get(creator=world.creator_a)
    with django_capture_on_commit_callbacks(execute=True):
        statement_publish(statement=statement, actor=world.finance_a)

    def next_payment() -> Any:
        return creator_home_for_actor(
            actor=world.creator_a.user, agencies=[world.agency_a], today=datetime.date(2026, 11, 15)
        ).next_payment

    unpaid = next_payment()
    assert next_payment() == unpaid  # the second from the cache, the same
    assert unpaid.statement == statement and unpaid.amount_minor == statement.closing_minor
    post_payout(world, world.creator_a, day=datetime.date(2026, 11, 10), gross=34_680_00, tax=0, key="paid")
    paid = next_payment()
    assert paid.statement is None and paid.period == "2026-11"
