"""The agency's 15 days, counted on its own calendar, flagged to both sides; lists that stay a
fixed number of queries however many disputes there are."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.disputes.models import Dispute
from apps.disputes.services import dispute_answer, dispute_reply
from apps.income.models import IncomeLine
from tests.conftest import api_as, web_as
from tests.disputes.conftest import at, open_dispute

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
# 20:00 UTC on 3 November is 04:00 on 4 November in Shanghai, agency A's time zone.
OPENED = datetime.datetime(2026, 11, 3, 20, 0, tzinfo=UTC)


def _flags(world: Any) -> dict[str, Any]:
    """What each side sees: the API's flag, the overdue filter, and the pages' mark."""
    agency_api = api_as(world.owner_a)
    creator_page = web_as(world.creator_a.user).get("/disputes/mine/").content.decode()
    agency_page = web_as(world.owner_a).get("/disputes/agency/", {"overdue": "on"}).content.decode()
    return {
        "creator_api": api_as(world.creator_a.user)
        .get("/api/v1/disputes/")
        .json()["results"][0]["is_overdue"],
        "agency_filter": agency_api.get("/api/v1/disputes/", {"overdue": "true"}).json()["count"],
        "not_overdue_filter": agency_api.get("/api/v1/disputes/", {"overdue": "false"}).json()["count"],
        "creator_page": 'class="dispute-overdue"' in creator_page,
        "agency_page": 'class="dispute-overdue"' in agency_page,
    }


def test_an_unanswered_dispute_is_overdue_after_15_days_of_the_agencys_calendar(line_world: Any) -> None:
    world = line_world
    with at(OPENED):
        dispute = open_dispute(world)
    assert dispute.answer_due == datetime.date(2026, 11, 19)  # 4 November (Shanghai) + 15 days

    # 19 November, 15:00 in Shanghai: the last day to answer.
    with at(datetime.datetime(2026, 11, 19, 7, 0, tzinfo=UTC)):
        assert _flags(world) == {
            "creator_api": False,
            "agency_filter": 0,
            "not_overdue_filter": 1,
            "creator_page": False,
            "agency_page": False,
        }
    # 19 November 17:00 UTC is already 20 November 01:00 in Shanghai: overdue, though not in UTC.
    with at(datetime.datetime(2026, 11, 19, 17, 0, tzinfo=UTC)):
        assert _flags(world) == {
            "creator_api": True,
            "agency_filter": 1,
            "not_overdue_filter": 0,
            "creator_page": True,
            "agency_page": True,
        }
        detail = web_as(world.manager_a).get(f"/disputes/{dispute.public_id}/").content.decode()
        assert "Agency A has not answered in time." in detail


def test_an_answer_stops_the_clock_and_a_reply_restarts_it(line_world: Any) -> None:
    world = line_world
    with at(OPENED):
        dispute = open_dispute(world)
    late = datetime.datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 25 November in Shanghai
    with at(late):
        assert _flags(world)["agency_filter"] == 1
        dispute_answer(dispute=dispute, actor=world.manager_a, message="Sorry for the wait: it is 60 %.")
        assert _flags(world)["agency_filter"] == 0  # answered: nothing is due from the agency
        dispute_reply(dispute=dispute, actor=world.creator_a.user, message="Clause 2 says 70 %.")
    dispute.refresh_from_db()
    assert (dispute.state, dispute.answer_due) == ("open", datetime.date(2026, 12, 10))
    with at(late):
        assert _flags(world)["agency_filter"] == 0


def _many_disputes(world: Any, count: int) -> None:
    first = IncomeLine.objects.filter(external_id__startswith="Q-").count()
    for number in range(first, first + count):
        line = IncomeLine.objects.create(
            agency=world.agency_a,
            creator=world.creator_a,
            platform="douyin",
            external_id=f"Q-{number}",
            account_id="dy_88231",
            source="live_gifts",
            gross_minor=100_00,
            currency="CNY",
            occurred_at=datetime.datetime(2026, 11, 5, 10, tzinfo=UTC),
            status=IncomeLine.Status.MATCHED,
        )
        world.line = line
        open_dispute(world, message=f"Question {number}")


def test_lists_and_the_page_of_a_dispute_run_a_fixed_number_of_queries(
    line_world: Any, django_assert_max_num_queries: Any
) -> None:
    world = line_world
    _many_disputes(world, 3)
    clients = {
        "api list": (api_as(world.owner_a), "/api/v1/disputes/"),
        "api overdue": (api_as(world.owner_a), "/api/v1/disputes/?overdue=true"),
        "creator api": (api_as(world.creator_a.user), "/api/v1/disputes/"),
        "agency page": (web_as(world.owner_a), "/disputes/agency/?overdue=on&state=open"),
        "creator page": (web_as(world.creator_a.user), "/disputes/mine/"),
    }
    for client, url in clients.values():
        client.get(url)  # the first request of a user also reads their scope
    budgets: dict[str, dict[str, int]] = {}
    for round_ in ("few", "many"):
        if round_ == "many":
            _many_disputes(world, 12)
        budgets[round_] = {}
        for name, (client, url) in clients.items():
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200, url
            budgets[round_][name] = len(queries)
    assert budgets["few"] == budgets["many"], budgets
    dispute = Dispute.objects.first()
    for message in range(10):
        dispute_answer(dispute=dispute, actor=world.manager_a, message=f"Answer {message}")
    # Ten answers, each with the thread's authors and files: still the page's fixed reads.
    web, api = web_as(world.owner_a), api_as(world.owner_a)
    with django_assert_max_num_queries(8):
        assert web.get(f"/disputes/{dispute.public_id}/").status_code == 200
    with django_assert_max_num_queries(6):
        assert api.get(f"/api/v1/disputes/{dispute.public_id}/").status_code == 200
