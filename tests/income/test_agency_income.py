"""The agency's income list (issue 14), on the page and in the API: each line's creator, filters by
month, creator, platform, source, brand deal, import and status, the count up to 10,000 and the
totals of a set that small, keyset pages that neither skip nor repeat a line, the creator's share
on every line of the API, and a fixed number of queries whatever the number of lines."""

from __future__ import annotations

import datetime
import html
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.agencies.time import agency_today
from apps.common.money import format_money, to_decimal_string
from apps.income.models import IncomeLine
from apps.recognition.models import LineAllocation
from tests.conftest import api_as, web_as
from tests.income.history import (
    contract_for,
    creator_share,
    history_rows,
    import_at,
    month_back,
    period_of,
)
from tests.statements.conftest import october_open, statement_world

__all__ = ["october_open", "statement_world"]


def _page(client: Any, query: str = "", status: int = 200) -> str:
    response = client.get(f"/income/{query}")
    assert response.status_code == status, response.content.decode()[:2000]
    return response.content.decode()


def _listed(page: str) -> set[str]:
    return set(re.findall(r'href="/income/lines/([0-9a-f-]{36})/"', page))


def _ids(lines: Any) -> set[str]:
    return {str(line.public_id) for line in lines}


def _link(page: str, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return html.unescape(match.group(1)) if match else None


def _totals(page: str) -> tuple[str, str]:
    gross = re.search(r'id="total-gross">(.*?)</dd>', page, re.S)
    share = re.search(r'id="total-share">(.*?)</dd>', page, re.S)
    assert gross and share, "no totals on the page"
    return gross.group(1), share.group(1)


A2_ROWS_HEADER = (
    "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
)


def _a2_rows(count: int, *, prefix: str = "Z") -> list[str]:
    """Creator A2's bilibili lines, one a day from the first of this month (never after today)."""
    first = month_back(agency_today("Asia/Shanghai"), 0)
    return [
        f"{prefix}-{n},{first.isoformat()}T0{n % 10}:00:00+08:00,bilibili,bl_552,live_gifts,{50 + n}.00,CNY,,,"
        for n in range(count)
    ]


@pytest.fixture
def agency_history(statement_world: Any) -> Any:
    """Agency A: 30 lines of creator A over three months (two platforms, three sources) in one
    import, 4 lines of creator A2 this month in another; every line recognised."""
    world = statement_world
    contract_for(world, world.creator_a, ["douyin", "youtube"])
    contract_for(world, world.creator_a2, ["bilibili"])
    world.import_a = import_at(world, history_rows(30, 3, prefix="H"), name="a.csv")
    world.import_a2 = import_at(world, _a2_rows(4), name="a2.csv")
    return world


def test_the_owner_sees_every_creators_lines_with_their_names_and_the_totals(agency_history: Any) -> None:
    world = agency_history
    lines = list(IncomeLine.objects.filter(agency=world.agency_a))

    page = _page(web_as(world.owner_a))

    assert len(lines) == 34 and all(LineAllocation.objects.filter(pk=line.pk).exists() for line in lines)
    assert len(_listed(page)) == 34
    assert "Creator A2" in page and "Creator A" in page
    assert f'href="?creator={world.creator_a2.public_id}"' in page  # a name filters the list to them
    gross, share = _totals(page)
    assert format_money(sum(line.gross_minor for line in lines), "CNY") in gross
    assert format_money(sum(creator_share(line) for line in lines), "CNY") in share
    assert "34 lines" in page
    assert _link(page, "next") is None and _link(page, "prev") is None  # one page


def test_each_filter_narrows_the_list_and_its_totals(agency_history: Any) -> None:
    world = agency_history
    client = web_as(world.owner_a)
    lines = list(IncomeLine.objects.filter(agency=world.agency_a).select_related("allocation"))
    last_month = period_of(month_back(agency_today(world.agency_a), 1))

    def expect(query: str, chosen: list[IncomeLine]) -> None:
        page = _page(client, query)
        assert chosen and _listed(page) == _ids(chosen), query
        gross, share = _totals(page)
        assert format_money(sum(line.gross_minor for line in chosen), "CNY") in gross, query
        assert format_money(sum(creator_share(line) for line in chosen), "CNY") in share, query

    a2 = [line for line in lines if line.creator_id == world.creator_a2.pk]
    expect(f"?creator={world.creator_a2.public_id}", a2)
    expect("?creator=creator%20a2", a2)  # the name, in any case
    expect(
        f"?month={last_month}",
        [line for line in lines if period_of(line.allocation.effective_date) == last_month],
    )
    expect("?platform=youtube", [line for line in lines if line.platform == "youtube"])
    expect("?source=live_gifts", [line for line in lines if line.source == "live_gifts"])
    expect(f"?import={world.import_a2.public_id}", a2)
    expect(
        f"?creator={world.creator_a.public_id}&platform=douyin&source=platform_revenue_share",
        [
            line
            for line in lines
            if line.creator_id == world.creator_a.pk
            and line.platform == "douyin"
            and line.source == "platform_revenue_share"
        ],
    )
    expect("?status=recognised", lines)
    assert not _listed(_page(client, "?status=exception"))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?creator=Nobody%20Here", "No creator your agency represents is called Nobody Here."),
        ("?creator=Creator%20B", "No creator your agency represents is called Creator B."),  # agency B's
        ("?creator=00000000-0000-0000-0000-000000000000", "No creator your agency represents"),
        ("?month=2026-13", "Enter a month such as 2026-11."),
    ],
)
def test_a_creator_filter_that_names_no_one_of_the_agency_is_a_400(
    agency_history: Any, query: str, message: str
) -> None:
    page = _page(web_as(agency_history.owner_a), query, status=400)
    assert message in html.unescape(page) and 'id="filter-refused"' in page
    assert not _listed(page)


def test_past_the_cap_the_page_says_more_and_points_to_the_reports(
    agency_history: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("apps.income.views.LINE_COUNT_CAP", 20)
    client = web_as(agency_history.owner_a)

    page = _page(client)
    small = _page(client, f"?creator={agency_history.creator_a2.public_id}")

    assert "More than 20 lines" in page and 'id="total-gross"' not in page
    assert 'id="totals-elsewhere"' in page and 'href="/reports/"' in page
    assert "4 lines" in small and 'id="total-gross"' in small


def _many_lines(world: Any, count: int, *, prefix: str) -> list[IncomeLine]:
    """`count` lines of creator A in one set-based INSERT, seven moments shared among them: a
    statement's lines often occurred at the same second."""
    return IncomeLine.objects.bulk_create(
        IncomeLine(
            agency=world.agency_a,
            creator=world.creator_a,
            platform="douyin",
            external_id=f"{prefix}-{n}",
            account_id="dy_88231",
            source="live_gifts",
            gross_minor=100 + n,
            currency="CNY",
            occurred_at=datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
            + datetime.timedelta(minutes=n % 7),
            status=IncomeLine.Status.IMPORTED,
        )
        for n in range(count)
    )


def test_keyset_pages_neither_skip_nor_repeat_lines_that_share_a_moment(statement_world: Any) -> None:
    world = statement_world
    made = _many_lines(world, 130, prefix="T")
    client = web_as(world.owner_a)

    seen: list[str] = []
    query: str | None = ""
    pages = []
    while query is not None:
        page = _page(client, query)
        pages.append(page)
        listed = re.findall(r'href="/income/lines/([0-9a-f-]{36})/"', page)
        seen.extend(listed)
        query = _link(page, "next")

    assert [len(re.findall(r'href="/income/lines/', page)) for page in pages] == [50, 50, 30]
    assert len(seen) == len(set(seen)) == 130 and set(seen) == _ids(made)
    # Newest first: each page's lines are older than (or as old as) the last page's.
    by_id = {str(line.public_id): (line.occurred_at, line.pk) for line in IncomeLine.objects.all()}
    assert [by_id[item] for item in seen] == sorted((by_id[item] for item in seen), reverse=True)
    # Back from the last page to the second.
    assert _listed(_page(client, _link(pages[2], "prev"))) == _listed(pages[1])


def test_a_damaged_page_link_is_a_400_not_a_500(statement_world: Any) -> None:
    client = web_as(statement_world.owner_a)
    for cursor in ("nonsense", "bnwyMDI2LTExfDE", "b3wyMDI2LTExLTAxVDAwOjAwOjAwfHg"):
        response = client.get(f"/income/?cursor={cursor}")
        assert response.status_code == 400, cursor
        assert "This page link is damaged" in response.content.decode()
        assert (
            api_as(statement_world.owner_a).get(f"/api/v1/income/lines/?cursor={cursor}").status_code == 400
        )


def _count(client: Any, url: str) -> int:
    client.get(url)  # warm: the session, the translations
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        assert response.status_code == 200, response.content[:500]
    return len(queries)


def test_the_same_number_of_queries_for_1_and_30_lines_on_the_page_and_in_the_api(
    statement_world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = statement_world
    contract_for(world, world.creator_a, ["douyin", "youtube"])
    import_at(world, history_rows(1, 1, prefix="Q"), name="one.csv")
    page, api = web_as(world.owner_a), api_as(world.owner_a)
    month = period_of(agency_today(world.agency_a))
    urls = (
        (page, "/income/"),
        (page, f"/income/?month={month}&platform=douyin"),
        (page, f"/income/?creator={world.creator_a.public_id}"),
        (api, "/api/v1/income/lines/"),
        (api, f"/api/v1/income/lines/?month={month}&source=live_gifts"),
        (api, f"/api/v1/income/lines/?creator={world.creator_a.public_id}"),
    )

    one = [_count(client, url) for client, url in urls]
    import_at(world, history_rows(29, 3, prefix="Q", start=1), name="more.csv")
    assert IncomeLine.objects.filter(agency=world.agency_a).count() == 30
    thirty = [_count(client, url) for client, url in urls]
    # Past the cap the page counts no further and adds nothing up: never more queries.
    monkeypatch.setattr("apps.income.views.LINE_COUNT_CAP", 5)
    capped = [_count(client, url) for client, url in urls[:3]]

    assert one == thirty
    assert all(count <= limit for count, limit in zip(capped, thirty, strict=False))
    assert max(thirty[:3]) <= 12 and max(thirty[3:]) <= 4


def test_the_api_filters_combine_and_each_line_carries_the_creators_share(agency_history: Any) -> None:
    world = agency_history
    lines = {str(line.public_id): line for line in IncomeLine.objects.filter(agency=world.agency_a)}
    last_month = period_of(month_back(agency_today(world.agency_a), 1))
    owner = api_as(world.owner_a)

    def listed(client: Any, query: str) -> list[dict[str, Any]]:
        response = client.get(f"/api/v1/income/lines/{query}")
        assert response.status_code == 200, response.content[:500]
        return response.json()["results"]

    everything = listed(owner, "")
    assert {item["public_id"] for item in everything} == set(lines)
    for item in everything:
        line = lines[item["public_id"]]
        assert item["creator_share"] == to_decimal_string(creator_share(line), "CNY")
        assert item["share_currency"] == "CNY"
    in_month = listed(owner, f"?month={last_month}&platform=youtube")
    assert in_month and all(
        item["posted_period"] == last_month and item["platform"] == "youtube" for item in in_month
    )
    assert {item["public_id"] for item in listed(owner, "?source=live_gifts")} == {
        key for key, line in lines.items() if line.source == "live_gifts"
    }
    assert {item["public_id"] for item in listed(owner, f"?import={world.import_a2.public_id}")} == {
        key for key, line in lines.items() if line.creator_id == world.creator_a2.pk
    }
    assert {item["public_id"] for item in listed(owner, f"?creator={world.creator_a2.public_id}")} == {
        key for key, line in lines.items() if line.creator_id == world.creator_a2.pk
    }
    # The creator sees their own lines only, with their share on each.
    mine = listed(api_as(world.creator_a2.user), "")
    assert {item["public_id"] for item in mine} == {
        key for key, line in lines.items() if line.creator_id == world.creator_a2.pk
    }
    assert all(
        item["creator_share"] == to_decimal_string(creator_share(lines[item["public_id"]]), "CNY")
        for item in mine
    )
    # Newest first, then by id.
    order = [(lines[item["public_id"]].occurred_at, lines[item["public_id"]].pk) for item in everything]
    assert order == sorted(order, reverse=True)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("?month=November", 400),
        ("?platform=myspace", 400),
        ("?creator=not-a-uuid", 400),
        ("?creator={creator_b}", 404),  # agency B's creator
        ("?agency={agency_b}", 404),
        ("?deal=00000000-0000-0000-0000-000000000000", 404),
    ],
)
def test_the_api_refuses_a_filter_it_cannot_apply(agency_history: Any, query: str, status: int) -> None:
    world = agency_history
    url = "/api/v1/income/lines/" + query.format(
        creator_b=world.creator_b.public_id, agency_b=world.agency_b.public_id
    )
    response = api_as(world.owner_a).get(url)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/problem+json")


def test_the_api_deal_filter_lists_the_deals_payment(october_open: Any) -> None:
    from apps.deals.models import BrandDeal

    world = october_open
    deal = BrandDeal.objects.get(brand="Tea Co")
    paid = IncomeLine.objects.get(external_id="P-1")

    results = api_as(world.owner_a).get(f"/api/v1/income/lines/?deal={deal.public_id}").json()["results"]

    assert [item["public_id"] for item in results] == [str(paid.public_id)]
    assert results[0]["creator_share"] == "33600.00"


def test_the_openapi_schema_documents_the_filters_and_the_cursor(db: Any) -> None:
    from django.test import Client

    schema = Client().get("/api/schema/", {"format": "json"}).json()
    parameters = {
        item["name"]: item for item in schema["paths"]["/api/v1/income/lines/"]["get"]["parameters"]
    }

    assert {
        "month",
        "agency",
        "creator",
        "platform",
        "source",
        "deal",
        "import",
        "status",
        "cursor",
        "page_size",
    } <= set(parameters)
    assert "ledger day" in parameters["month"]["description"]
    assert "youtube" in parameters["platform"]["schema"]["enum"]
    line = schema["components"]["schemas"]["IncomeLineOutput"]["properties"]
    assert {"creator_share", "share_currency"} <= set(line)
