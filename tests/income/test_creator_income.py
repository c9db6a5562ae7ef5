"""The creator's income list (issue 14): every line with my share, filters (month, agency,
platform, source, brand deal), the totals of the filtered set, pages of 50, cards on a phone, and
the same number of queries at any size. Agency members keep their view (gross and status), with
the creator's share added (their own list: tests/income/test_agency_income.py)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.agencies.services import representation_open
from apps.agencies.time import agency_today
from apps.common.money import format_money
from apps.income.models import IncomeLine
from apps.recognition.models import LineAllocation
from tests.conftest import web_as
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


def _page(client: Any, query: str = "") -> str:
    response = client.get(f"/income/{query}")
    assert response.status_code == 200, response.content.decode()[:2000]
    return response.content.decode()


def _row_of(page: str, line: IncomeLine) -> str:
    match = re.search(rf"<tr>\s*<td[^>]*><a href=\"/income/lines/{line.public_id}/\">.*?</tr>", page, re.S)
    assert match, f"line {line.external_id} is not listed"
    return match.group(0)


def _listed(page: str) -> set[str]:
    return set(re.findall(r'href="/income/lines/([0-9a-f-]{36})/"', page))


@pytest.fixture
def history(statement_world: Any) -> Any:
    world = statement_world
    contract_for(world, world.creator_a, ["douyin", "youtube"])
    import_at(world, history_rows(30, 3, prefix="H"))
    return world


def test_each_line_shows_my_share_the_allocations_creator_payable(history: Any) -> None:
    world = history
    page = _page(web_as(world.creator_a.user))
    lines = list(IncomeLine.objects.filter(creator=world.creator_a))

    assert len(lines) == 30 and all(LineAllocation.objects.filter(pk=line.pk).exists() for line in lines)
    for line in lines:
        row = _row_of(page, line)
        assert format_money(creator_share(line), "CNY") in row
        assert format_money(line.gross_minor, "CNY") in row
    assert creator_share(lines[0]) == lines[0].gross_minor * 60 // 100  # "Everything else": 60 %
    # Cards on a phone: a labelled cell each, in the stacking table (static/css/fenrun.css).
    assert 'class="stack-on-phone"' in page and 'data-label="My share"' in page
    # In plain words, never the ledger's account name.
    assert "Agency A owes you" in page and "Creator payable" not in page


def test_totals_are_those_of_the_filtered_set_and_filters_narrow_it(history: Any) -> None:
    world = history
    client = web_as(world.creator_a.user)
    lines = list(IncomeLine.objects.filter(creator=world.creator_a))
    last_month = period_of(month_back(agency_today(world.agency_a), 1))

    def expect(page: str, chosen: list[IncomeLine]) -> None:
        assert _listed(page) == {str(line.public_id) for line in chosen}
        gross = re.search(r'id="total-gross">(.*?)</dd>', page, re.S).group(1)
        share = re.search(r'id="total-share">(.*?)</dd>', page, re.S).group(1)
        assert format_money(sum(line.gross_minor for line in chosen), "CNY") in gross
        assert format_money(sum(creator_share(line) for line in chosen), "CNY") in share

    expect(_page(client), lines)
    in_month = [
        line
        for line in lines
        if period_of(LineAllocation.objects.get(pk=line.pk).effective_date) == last_month
    ]
    assert 0 < len(in_month) < len(lines)
    expect(_page(client, f"?month={last_month}"), in_month)
    expect(_page(client, "?platform=youtube"), [line for line in lines if line.platform == "youtube"])
    expect(_page(client, "?source=live_gifts"), [line for line in lines if line.source == "live_gifts"])
    both = [
        line for line in in_month if line.platform == "douyin" and line.source == "platform_revenue_share"
    ]
    expect(_page(client, f"?month={last_month}&platform=douyin&source=platform_revenue_share"), both)
    expect(_page(client, f"?agency={world.agency_a.public_id}"), lines)


def test_the_agency_filter_separates_two_agencies_lines(history: Any) -> None:
    world = history
    representation_open(
        agency=world.agency_b,
        creator=world.creator_a,
        started_on=month_back(agency_today(world.agency_b), 24),
    )
    contract_for_b(world)
    import_at(world, history_rows(2, 1, prefix="B", start=40), agency=world.agency_b, actor=world.owner_b)
    client = web_as(world.creator_a.user)
    at_b = list(IncomeLine.objects.filter(creator=world.creator_a, agency=world.agency_b))

    page = _page(client, f"?agency={world.agency_b.public_id}")

    assert len(at_b) == 2 and _listed(page) == {str(line.public_id) for line in at_b}
    assert "Agency B" in _page(client)  # two agencies: the list names each line's


def contract_for_b(world: Any) -> None:
    from apps.contracts.services import contract_draft, contract_sign, contract_version_send
    from tests.contracts.conftest import META, builtin
    from tests.income.conftest import SIMPLE_RULES

    today = agency_today(world.agency_b)
    version = contract_draft(
        actor=world.owner_b,
        agency=world.agency_b,
        creator=world.creator_a,
        template=builtin(),
        platforms=["douyin", "youtube"],
        rule_set=SIMPLE_RULES,
        start_date=month_back(today, 24),
        end_date=today.replace(year=today.year + 1),
    )
    version = contract_version_send(version=version, actor=world.owner_b)
    for signer in (world.creator_a.user, world.owner_b):
        contract_sign(version=version, signer=signer, document_sha256=version.document_sha256, meta=META)


def test_the_brand_deal_filter_lists_the_deals_lines_with_their_totals(october_open: Any) -> None:
    world = october_open
    from apps.deals.models import BrandDeal

    deal = BrandDeal.objects.get(brand="Tea Co")
    paid = IncomeLine.objects.get(external_id="P-1")
    client = web_as(world.creator_a.user)

    page = _page(client, f"?deal={deal.public_id}")

    assert _listed(page) == {str(paid.public_id)}
    # 60,000.00 less the 5 % fee and 9,000.00 of approved expenses, 70 % to the creator.
    assert creator_share(paid) == 33_600_00
    assert "¥33,600.00" in re.search(r'id="total-share">(.*?)</dd>', page, re.S).group(1)
    assert "Tea Co" in page  # the deal is one of the filter's choices


def test_another_creators_lines_and_deals_never_appear(october_open: Any) -> None:
    world = october_open
    from apps.deals.services import deal_create

    theirs = set(IncomeLine.objects.filter(creator=world.creator_a2).values_list("public_id", flat=True))
    their_deal = deal_create(
        actor=world.manager_a,
        agency=world.agency_a,
        creator=world.creator_a2,
        brand="Other Brand",
        platform="bilibili",
        fee_minor=100_00,
        currency="CNY",
        due_on=agency_today(world.agency_a),
    )
    client = web_as(world.creator_a.user)

    page = _page(client)
    refused = client.get(f"/income/?deal={their_deal.public_id}")

    assert theirs and not ({str(item) for item in theirs} & _listed(page))
    assert "Other Brand" not in page
    assert refused.status_code == 400 and "Other Brand" not in refused.content.decode()
    assert client.get(f"/income/lines/{next(iter(theirs))}/").status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?month=2026-13", "Enter a month such as 2026-11."),
        ("?month=last%20month", "Enter a month such as 2026-11."),
        ("?platform=myspace", "Select a valid choice"),
        ("?source=lottery", "Select a valid choice"),
        ("?agency=00000000-0000-0000-0000-000000000000", "Select a valid choice"),
        ("?status=paid", "Select a valid choice"),
    ],
)
def test_a_filter_that_cannot_apply_is_a_400_that_says_why(history: Any, query: str, message: str) -> None:
    response = web_as(history.creator_a.user).get(f"/income/{query}")
    page = response.content.decode()
    assert response.status_code == 400
    assert message in page and 'id="filter-refused"' in page
    assert not _listed(page)


def _link(page: str, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return html.unescape(match.group(1)) if match else None


def test_pages_of_50_keep_the_filters(history: Any) -> None:
    world = history
    import_at(world, history_rows(30, 3, prefix="M", start=30), name="more.csv")
    client = web_as(world.creator_a.user)

    first = _page(client, "?status=recognised")
    older = _link(first, "next")
    assert older is not None and "status=recognised" in older and "cursor=" in older  # keeps the filter
    second = _page(client, older)

    assert len(_listed(first)) == 50 and len(_listed(second)) == 10
    assert not _listed(first) & _listed(second)
    assert _link(second, "next") is None  # the last page
    assert _listed(_page(client, _link(second, "prev"))) == _listed(first)  # and back
    # The totals are of all 60, not of the page.
    total = sum(line.gross_minor for line in IncomeLine.objects.filter(creator=world.creator_a))
    assert format_money(total, "CNY") in re.search(r'id="total-gross">(.*?)</dd>', second, re.S).group(1)
    assert "60 lines" in second


def test_the_same_number_of_queries_for_3_and_30_lines_over_several_months(statement_world: Any) -> None:
    world = statement_world
    contract_for(world, world.creator_a, ["douyin", "youtube"])
    import_at(world, history_rows(3, 3, prefix="Q"), name="three.csv")
    client = web_as(world.creator_a.user)
    member = web_as(world.manager_a)

    def count(who: Any, query: str = "") -> int:
        who.get(f"/income/{query}")  # warm: the session, the translations
        with CaptureQueriesContext(connection) as queries:
            assert who.get(f"/income/{query}").status_code == 200
        return len(queries)

    few = (count(client), count(client, "?month=" + period_of(agency_today(world.agency_a))), count(member))
    import_at(world, history_rows(27, 9, prefix="Q", start=3), name="thirty.csv")
    assert IncomeLine.objects.filter(creator=world.creator_a).count() == 30
    many = (count(client), count(client, "?month=" + period_of(agency_today(world.agency_a))), count(member))

    assert few == many
    assert max(many) <= 16


def test_agency_members_keep_gross_and_status_and_see_the_creators_share(history: Any) -> None:
    world = history
    line = IncomeLine.objects.filter(creator=world.creator_a).first()

    page = _page(web_as(world.manager_a))
    row = _row_of(page, line)

    assert format_money(line.gross_minor, "CNY") in row and "Recognised" in row
    assert format_money(creator_share(line), "CNY") in row
    assert "Creator&#x27;s share" in page or "Creator's share" in page
    # A set this small is added up for the agency too (tests/income/test_agency_income.py).
    totals = html.unescape(re.search(r'id="line-totals">(.*?)</article>', page, re.S).group(1))
    assert "Creators' share" in totals


def test_lines_not_split_yet_count_in_the_gross_only(statement_world: Any) -> None:
    world = statement_world  # no contract: every line waits in the exceptions queue
    import_at(world, history_rows(3, 1, prefix="W"))
    lines = list(IncomeLine.objects.filter(creator=world.creator_a))

    page = _page(web_as(world.creator_a.user))

    assert len(lines) == 3 and not LineAllocation.objects.exists()
    assert _listed(page) == {str(line.public_id) for line in lines}
    assert format_money(sum(line.gross_minor for line in lines), "CNY") in page
    assert re.search(r'id="total-share">\s*—\s*</dd>', page)
