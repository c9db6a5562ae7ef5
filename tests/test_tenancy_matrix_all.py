"""The tenancy matrix across every app: each role against each object of the domain.

World (tests/conftest.py): agency A (owner, manager, finance, viewer; creators A and A2),
agency B (owner; creator B), a loner creator, a staff user. For each object below the test
states who may read it; everyone else must get 404 (not 403: existence is not revealed) on
the detail endpoint and must not find it in the list endpoint. Writes are tried by roles that
can see an object but may not change it (403) and by outsiders (404); nothing may change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apps.ledger.models import Account, JournalEntry
from apps.ledger.services import PostingSpec, ledger_account_get_or_create, ledger_post
from tests.conftest import World, api_as
from tests.contracts.conftest import active_contract, draft, send
from tests.deals.conftest import deal, line
from tests.importmaps.conftest import make_template

pytestmark = pytest.mark.django_db

AGENCY_A = {"owner_a", "manager_a", "finance_a", "viewer_a"}
EVERYONE = [
    "owner_a",
    "manager_a",
    "finance_a",
    "viewer_a",
    "creator_a",
    "creator_a2",
    "owner_b",
    "creator_b",
    "loner",
    "staff",
]


def _actor(world: World, name: str) -> Any:
    return {
        "owner_a": world.owner_a,
        "manager_a": world.manager_a,
        "finance_a": world.finance_a,
        "viewer_a": world.viewer_a,
        "creator_a": world.creator_a.user,
        "creator_a2": world.creator_a2.user,
        "owner_b": world.owner_b,
        "creator_b": world.creator_b.user,
        "loner": world.loner.user,
        "staff": world.staff,
    }[name]


def _split_entry(world: World, key: str, creator: Any) -> JournalEntry:
    """Agency A recognises income for one creator: clearing debit, creator payable and revenue credit."""

    def account(purpose: str, who: Any = None) -> Account:
        return ledger_account_get_or_create(
            agency=world.agency_a, purpose=purpose, currency="CNY", creator=who
        )

    return ledger_post(
        agency=world.agency_a,
        idempotency_key=key,
        kind=JournalEntry.Kind.INCOME_LINE,
        effective_date=__import__("datetime").date(2026, 3, 1),
        creator=creator,
        cause_reference=key,
        postings=[
            PostingSpec(account(Account.Purpose.INCOME_CLEARING), 10_000),
            PostingSpec(account(Account.Purpose.CREATOR_PAYABLE, creator), -7_000),
            PostingSpec(account(Account.Purpose.AGENCY_REVENUE), -3_000),
        ],
    )


def _dispute(world: World) -> Any:
    from apps.disputes.services import dispute_open

    return dispute_open(
        actor=world.creator_a.user, income_line=line(world.agency_a, world.creator_a), message="Wrong share"
    )


# name -> (builder, detail url, list url, who may read)
Objects = dict[str, tuple[Callable[[World], Any], Callable[[Any], str], str, set[str]]]

OBJECTS: Objects = {
    "draft contract of creator A": (
        lambda w: draft(w),
        lambda v: f"/api/v1/contracts/versions/{v.public_id}/",
        "/api/v1/contracts/",
        AGENCY_A,  # a creator never sees drafts
    ),
    "sent contract of creator A": (
        lambda w: send(w, draft(w)),
        lambda v: f"/api/v1/contracts/versions/{v.public_id}/",
        "/api/v1/contracts/",
        AGENCY_A | {"creator_a"},
    ),
    "brand deal of creator A": (
        lambda w: deal(w),
        lambda d: f"/api/v1/deals/{d.public_id}/",
        "/api/v1/deals/",
        AGENCY_A | {"creator_a"},
    ),
    "dispute of creator A": (
        lambda w: _dispute(w),
        lambda d: f"/api/v1/disputes/{d.public_id}/",
        "/api/v1/disputes/",
        AGENCY_A | {"creator_a"},  # not another agency, nor agency A's other creator
    ),
    "import template of agency A": (
        lambda w: make_template(w),
        lambda t: f"/api/v1/income/templates/{t.public_id}/",
        "/api/v1/income/templates/",
        AGENCY_A,  # the agency's members only: never its creators, another agency or staff
    ),
    "ledger entry of creator A": (
        lambda w: _split_entry(w, "matrix:a", w.creator_a),
        lambda e: f"/api/v1/ledger/entries/{e.public_id}/",
        "/api/v1/ledger/entries/",
        AGENCY_A | {"creator_a"},
    ),
}


def _listed(response: Any, public_id: str) -> bool:
    body = response.json()
    rows = body.get("results", body) if isinstance(body, dict) else body
    return public_id in str(rows)


@pytest.mark.parametrize("object_name", list(OBJECTS))
def test_each_role_reads_only_what_it_may(world: World, object_name: str) -> None:
    build, detail, listing, readers = OBJECTS[object_name]
    obj = build(world)
    public_id = str(obj.public_id)
    failures = []
    for name in EVERYONE:
        client = api_as(_actor(world, name))
        got = client.get(detail(obj)).status_code
        want = 200 if name in readers else 404
        if got != want:
            failures.append(f"{name} GET {object_name}: {got}, expected {want}")
        listed_response = client.get(listing)
        if listed_response.status_code == 200 and _listed(listed_response, public_id) != (name in readers):
            failures.append(f"{name} list {object_name}: listed={name not in readers}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("finance_a", 403),
        ("viewer_a", 403),
        ("creator_a", 403),
        ("owner_b", 404),
        ("creator_b", 404),
        ("staff", 404),
    ],
)
def test_only_owners_and_managers_send_offers(world: World, actor: str, expected: int) -> None:
    version = draft(world)
    response = api_as(_actor(world, actor)).post(f"/api/v1/contracts/versions/{version.public_id}/send/")
    # A creator cannot see a draft at all, so for them it does not exist.
    assert response.status_code == (404 if actor == "creator_a" else expected), response.content
    version.refresh_from_db()
    assert version.status == "draft"


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("finance_a", 403),
        ("viewer_a", 403),
        ("creator_a", 403),
        ("creator_a2", 404),
        ("owner_b", 404),
        ("staff", 404),
    ],
)
def test_only_owners_and_managers_change_a_deal(world: World, actor: str, expected: int) -> None:
    brand_deal = deal(world)
    response = api_as(_actor(world, actor)).patch(
        f"/api/v1/deals/{brand_deal.public_id}/", {"brand": "Changed"}, format="json"
    )
    assert response.status_code == expected, response.content
    brand_deal.refresh_from_db()
    assert brand_deal.brand == "Tea Co"


def test_an_active_contract_is_visible_to_its_creator_only_among_creators(world: World) -> None:
    version = active_contract(world)
    url = f"/api/v1/contracts/versions/{version.public_id}/"
    assert api_as(world.creator_a.user).get(url).status_code == 200
    for outsider in (world.creator_a2.user, world.creator_b.user, world.loner.user, world.owner_b):
        assert api_as(outsider).get(url).status_code == 404


def test_a_creator_sees_only_their_own_postings_in_a_shared_entry(world: World) -> None:
    entry = _split_entry(world, "matrix:a-only", world.creator_a)
    body = api_as(world.creator_a.user).get(f"/api/v1/ledger/entries/{entry.public_id}/").json()
    # The creator sees their payable posting, not the agency's revenue or clearing.
    amounts = sorted(posting["amount"] for posting in body["postings"])
    assert amounts == ["-70.00"]


def test_a_pending_account_request_is_decided_by_its_creator_only(world: World) -> None:
    """Agency A asks for an account on creator A: every role but the creator is refused the
    decision (403 for who can see the request, 404 for everyone else), and the request is listed
    for the creator and agency A only."""
    request = api_as(world.manager_a).post(
        f"/api/v1/creators/{world.creator_a.public_id}/platform-accounts/",
        {"platform": "weibo", "account_id": "wb_matrix"},
        format="json",
    )
    assert request.status_code == 201, request.content
    public_id = request.json()["public_id"]
    failures = []
    for name in EVERYONE:
        client = api_as(_actor(world, name))
        want = {"creator_a": 200} | dict.fromkeys(AGENCY_A, 403)
        for action in ("reject", "confirm") if name != "creator_a" else ():
            got = client.post(f"/api/v1/platform-accounts/{public_id}/{action}/").status_code
            if got != want.get(name, 404):
                failures.append(f"{name} {action}: {got}, expected {want.get(name, 404)}")
        listed = public_id in str(client.get("/api/v1/creators/").json())
        if listed != (name in AGENCY_A | {"creator_a"}):
            failures.append(f"{name} lists the request: {listed}")
    assert not failures, "\n".join(failures)
    confirmed = api_as(world.creator_a.user).post(f"/api/v1/platform-accounts/{public_id}/confirm/")
    assert confirmed.json()["status"] == "confirmed"
