"""GET /api/v1/reports/revenue/ and its CSV: the figures as decimal strings, creators a page at a
time, the agency chosen for someone in several, refusals as problem documents, fixed queries."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.agencies.models import Membership
from apps.creators.models import Creator
from tests.conftest import api_as
from tests.reports.conftest import import_many

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/revenue/"
PERIOD = {"from": "2026-10", "to": "2026-11"}


def test_the_month_report_in_decimal_strings_with_the_ledgers_figures(reported) -> None:
    world = reported
    response = api_as(world.viewer_a).get(URL, PERIOD)

    assert response.status_code == 200
    body = response.json()
    assert body["agency"] == str(world.agency_a.public_id)
    assert (body["group"], body["from"], body["to"]) == ("month", "2026-10", "2026-11")
    assert body["count"] == 2 and body["next"] is None
    (total,) = body["totals"]
    assert total["currency"] == "CNY" and total["lines"] == 9 and total["gross"] == "4141.35"
    october, november = body["results"]
    assert (october["key"], november["key"]) == ("2026-10", "2026-11")
    assert october["gross"] == "1691.34" and november["gross"] == "2450.01"
    for row in body["results"]:
        assert row["ledger"]["gross"] == row["gross"]
        assert row["ledger"]["agency_revenue"] == row["agency_revenue"]
        assert row["ledger"]["corrections"] == "0.00"
        parts = ("deductions", "creators_share", "other_parties", "agency_revenue")
        assert sum(int(row[part].replace(".", "")) for part in parts) == int(row["gross"].replace(".", ""))


def test_creators_come_a_page_at_a_time_largest_gross_first(reported) -> None:
    world = reported
    client = api_as(world.manager_a)

    first = client.get(URL, {**PERIOD, "group": "creator", "limit": 1}).json()
    second = client.get(first["next"]).json()

    assert first["count"] == 2 and len(first["results"]) == 1
    assert [first["results"][0]["key"], second["results"][0]["key"]] == [
        str(world.creator_a.public_id),  # 3,095.68 gross against A2's 1,045.67
        str(world.creator_a2.public_id),
    ]
    assert second["results"][0]["label"] == "Creator A2" and second["results"][0]["ledger"] is None
    assert first["totals"] == second["totals"]


def test_platforms_and_sources(reported) -> None:
    client = api_as(reported.manager_a)

    platforms = client.get(URL, {**PERIOD, "group": "platform"}).json()["results"]
    sources = client.get(URL, {**PERIOD, "group": "source"}).json()["results"]

    assert [(row["key"], row["label"], row["gross"]) for row in platforms] == [
        ("douyin", "Douyin", "3095.68"),
        ("bilibili", "Bilibili", "1045.67"),
    ]
    assert {row["key"] for row in sources} == {"live_gifts", "platform_revenue_share"}


def test_someone_in_two_agencies_gets_their_first_and_may_name_the_other(reported) -> None:
    world = reported
    Membership.objects.create(agency=world.agency_b, user=world.finance_a, role=Membership.Role.VIEWER)
    client = api_as(world.finance_a)

    default = client.get(URL, PERIOD).json()
    chosen = client.get(URL, {**PERIOD, "agency": str(world.agency_b.public_id), "group": "platform"}).json()

    assert default["agency"] == str(world.agency_a.public_id)  # "Agency A" before "Agency B"
    assert chosen["agency"] == str(world.agency_b.public_id)
    assert [(row["key"], row["gross"]) for row in chosen["results"]] == [("youtube", "12000.00")]


@pytest.mark.parametrize(
    ("params", "code", "detail"),
    [
        (
            {"from": "2026-11", "to": "2026-10"},
            "invalid_range",
            "The first month (2026-11) is after the last",
        ),
        ({"from": "2026-1"}, "invalid_period", "'2026-1' is not a month such as 2026-11."),
        ({"to": "2026-00"}, "invalid_period", "'2026-00' is not a month such as 2026-11."),
        ({"from": "2024-01", "to": "2026-12"}, None, None),  # 36 months: the most
        ({"from": "2023-12", "to": "2026-12"}, "range_too_long", "at most 36 months"),
        ({"group": "creators"}, "invalid_group", "group=month|creator|platform|source"),
    ],
)
def test_bad_input_is_a_clear_400(
    reported, params: dict[str, str], code: str | None, detail: str | None
) -> None:
    client = api_as(reported.manager_a)
    for url in (URL, URL + "csv/"):
        response = client.get(url, params)
        if code is None:
            assert response.status_code == 200
            continue
        assert response.status_code == 400, (url, params)
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == code
        assert detail in response.json()["detail"]


def test_another_agency_is_404_and_a_creator_is_403(reported) -> None:
    world = reported
    for url in (URL, URL + "csv/"):
        assert api_as(world.owner_a).get(url, {"agency": str(world.agency_b.public_id)}).status_code == 404
        refused = api_as(world.creator_a.user).get(url)
        assert refused.status_code == 403
        assert refused.json()["code"] == "not_an_agency_member"
        assert api_as(world.loner.user).get(url).status_code == 403
    assert api_as(world.owner_b).get(URL, PERIOD).json()["totals"][0]["gross"] == "12000.00"


def test_the_csv_escapes_formulas_and_keeps_numbers_plain(reported) -> None:
    world = reported
    Creator.objects.filter(pk=world.creator_a2.pk).update(display_name="=cmd")

    response = api_as(world.manager_a).get(URL + "csv/", {**PERIOD, "group": "creator"})

    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    by_name = {row[1]: row for row in rows[1:]}
    assert set(by_name) == {"'=cmd", "Creator A"}
    assert by_name["'=cmd"][4] == "1045.67"
    assert all(not cell.startswith("'") for row in rows[1:] for cell in row[2:])


def _count(client: Any, params: dict[str, str]) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, params).status_code == 200
    return len(queries)


def test_each_group_runs_the_same_queries_for_3_and_30_lines(contracted) -> None:
    world = contracted
    client = api_as(world.manager_a)
    groups = [{**PERIOD, "group": group} for group in ("month", "creator", "platform", "source")]
    import_many(world, 3)
    few = [_count(client, params) for params in groups]

    import_many(world, 27, start=3)
    many = [_count(client, params) for params in groups]

    assert few == many
    assert client.get(URL, groups[1]).json()["totals"][0]["lines"] == 30
