"""The agency's roster and creator page: what they show, in a fixed number of queries, to whom;
ending a representation."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.agencies.models import Agency, Representation
from apps.creators.models import Creator
from apps.ledger.models import Account, JournalEntry
from apps.ledger.services import PostingSpec, ledger_account_get_or_create, ledger_post
from apps.statements.models import Statement
from tests.conftest import World, web_as
from tests.contracts.conftest import active_contract
from tests.factories import creator_for
from tests.invitations.conftest import invite_creator

pytestmark = pytest.mark.django_db

Purpose = Account.Purpose


def _owed(agency: Agency, creator: Creator, minor: int) -> None:
    """Recognised income: the creator's share credited to their payable account."""
    ledger_post(
        agency=agency,
        idempotency_key=f"roster:{creator.pk}",
        kind=JournalEntry.Kind.INCOME_LINE,
        effective_date=datetime.date(2026, 3, 1),
        creator=creator,
        cause_reference=f"roster:{creator.pk}",
        postings=[
            PostingSpec(
                ledger_account_get_or_create(agency=agency, purpose=Purpose.INCOME_CLEARING, currency="CNY"),
                minor,
            ),
            PostingSpec(
                ledger_account_get_or_create(
                    agency=agency, purpose=Purpose.CREATOR_PAYABLE, currency="CNY", creator=creator
                ),
                -minor,
            ),
        ],
    )


def _published(agency: Agency, creator: Creator, period: str, number: int) -> Statement:
    return Statement.objects.create(
        agency=agency,
        creator=creator,
        period=period,
        currency="CNY",
        number=number,
        status=Statement.Status.PUBLISHED,
        statement_due=datetime.date(2026, 11, 10),
        payment_due=datetime.date(2026, 11, 20),
        content_sha256="0" * 64,
    )


def _grow(world: World, count: int) -> list[Creator]:
    """`count` more creators of agency A, each with an account, a balance and two statements."""
    creators = []
    start = Statement.objects.filter(agency=world.agency_a).count()
    for index in range(count):
        creator = creator_for(
            agency=world.agency_a, account_id=f"dy_roster_{start + index}", name=f"Roster {start + index:02d}"
        )
        _owed(world.agency_a, creator, 1_000_00 + index)
        _published(world.agency_a, creator, "2026-09", start + 2 * index + 1)
        _published(world.agency_a, creator, "2026-10", start + 2 * index + 2)
        creators.append(creator)
    return creators


def _roster_queries(world: World, client: Any) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/agency/{world.agency_a.public_id}/creators/")
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_roster_runs_the_same_queries_for_3_and_30_creators(world: World) -> None:
    # Two contracts in force and an open invitation, whatever the size.
    active_contract(world)
    active_contract(world, creator=world.creator_a2, platforms=["bilibili"])
    invite_creator(world.agency_a, world.owner_a, phone="13800000031")
    client = web_as(world.viewer_a)
    _grow(world, 1)  # 3 creators: A, A2 and one more
    small, page = _roster_queries(world, client)
    assert page.count('id="creator-') == 3
    _grow(world, 27)  # 30
    large, page = _roster_queries(world, client)
    assert page.count('id="creator-') == 30
    assert large == small, f"{small} queries for 3 creators, {large} for 30"
    assert large <= 20


def test_the_roster_shows_accounts_contract_balance_last_statement_and_invitations(world: World) -> None:
    version = active_contract(world)
    (extra,) = _grow(world, 1)
    invite_creator(world.agency_a, world.owner_a, email="pending@example.test", name="Pending Person")
    page = web_as(world.viewer_a).get(f"/agency/{world.agency_a.public_id}/creators/").content.decode()
    row_a = page.split(f'id="creator-{world.creator_a.public_id}"')[1].split("</tr>")[0]
    assert "dy_a" in row_a
    assert version.contract.title in row_a and "until 2027-12-31" in row_a
    row = page.split(f'id="creator-{extra.public_id}"')[1].split("</tr>")[0]
    assert "¥1,000.00" in row  # owed: the credit balance of creator payable, as a positive amount
    assert "2026-10" in row and "2026-09" not in row  # the last statement only
    assert "pending@example.test" in page and "Pending Person" in page
    # Creator B (agency B) and the loner are not on A's roster.
    assert world.creator_b.display_name not in page and world.loner.display_name not in page
    # The viewer sees no invite or revoke buttons.
    assert 'id="invite-link"' not in page and "Revoke" not in page


def test_the_roster_is_cards_on_a_phone_and_a_table_on_a_desktop(world: World) -> None:
    """One table with a label on each cell: the stylesheet stacks it into cards below 700 px."""
    page = web_as(world.viewer_a).get(f"/agency/{world.agency_a.public_id}/creators/").content.decode()
    assert '<table class="stack-on-phone" id="roster">' in page
    row = page.split(f'id="creator-{world.creator_a.public_id}"')[1].split("</tr>")[0]
    assert row.count("data-label=") == 5


def test_the_creator_page_only_for_this_agencys_creators(world: World) -> None:
    client = web_as(world.viewer_a)
    base = f"/agency/{world.agency_a.public_id}/creators/"
    page = client.get(f"{base}{world.creator_a.public_id}/")
    assert page.status_code == 200
    assert "dy_a" in page.content.decode() and "represents this creator since" in page.content.decode()
    assert client.get(f"{base}{world.creator_b.public_id}/").status_code == 404
    assert client.get(f"{base}{world.loner.public_id}/").status_code == 404
    assert web_as(world.owner_b).get(f"{base}{world.creator_a.public_id}/").status_code == 404


def test_ending_a_representation_asks_first_then_ends_it_today(world: World) -> None:
    manager = web_as(world.manager_a)
    url = f"/agency/{world.agency_a.public_id}/creators/{world.creator_a2.public_id}/end/"
    confirm = manager.get(url)
    assert confirm.status_code == 200 and 'id="end-form"' in confirm.content.decode()
    assert Representation.objects.get(agency=world.agency_a, creator=world.creator_a2).ended_on is None
    done = manager.post(url)
    assert done.status_code == 302
    span = Representation.objects.get(agency=world.agency_a, creator=world.creator_a2)
    assert span.ended_on is not None
    roster = manager.get(f"/agency/{world.agency_a.public_id}/creators/").content.decode()
    assert f'id="creator-{world.creator_a2.public_id}"' not in roster
    # The page stays reachable (the agency represented them) and says so.
    page = manager.get(f"/agency/{world.agency_a.public_id}/creators/{world.creator_a2.public_id}/")
    assert "no longer represents this creator" in page.content.decode()
    assert manager.post(url).status_code == 409


def test_a_representation_under_contract_cannot_be_ended(world: World) -> None:
    active_contract(world)
    manager = web_as(world.manager_a)
    url = f"/agency/{world.agency_a.public_id}/creators/{world.creator_a.public_id}/end/"
    confirm = manager.get(url).content.decode()
    assert 'id="under-contract"' in confirm and 'id="end-form"' not in confirm
    refused = manager.post(url)
    assert refused.status_code == 409 and "in force until 2027-12-31" in refused.content.decode()
    assert Representation.objects.get(agency=world.agency_a, creator=world.creator_a).ended_on is None


def test_only_owners_and_managers_end_a_representation(world: World) -> None:
    url = f"/agency/{world.agency_a.public_id}/creators/{world.creator_a2.public_id}/end/"
    assert web_as(world.finance_a).get(url).status_code == 403
    assert web_as(world.viewer_a).post(url).status_code == 403
    assert web_as(world.owner_b).post(url).status_code == 404
    assert web_as(world.creator_a2.user).post(url).status_code == 404
    assert Representation.objects.get(agency=world.agency_a, creator=world.creator_a2).ended_on is None
