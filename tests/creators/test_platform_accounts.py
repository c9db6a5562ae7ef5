"""A platform account belongs to the creator; statement rows route by who represents it that day.

The world (tests/conftest.py): agency A (creators A and A2, from 2026-01-01), agency B (creator B),
a loner nobody represents. `shared` below is a creator both agencies represent.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from apps.agencies.services import representation_close, representation_open
from apps.creators.models import PlatformAccount
from apps.creators.services import platform_account_add
from apps.income.models import IncomeLine
from tests.conftest import World, api_as, web_as
from tests.factories import creator_for
from tests.income.conftest import run_import

pytestmark = pytest.mark.django_db

HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
NEUTRAL = "cannot be added here"


def _shared(world: World) -> Any:
    shared = creator_for(agency=world.agency_a, platform="kuaishou", account_id="ks_shared", name="Shared")
    representation_open(agency=world.agency_b, creator=shared, started_on=datetime.date(2026, 1, 1))
    return shared


def _add(actor: Any, creator: Any, platform: str, account_id: str) -> Any:
    return api_as(actor).post(
        f"/api/v1/creators/{creator.public_id}/platform-accounts/",
        {"platform": platform, "account_id": account_id},
        format="json",
    )


def _import(world: World, rows: str, name: str = "s.csv") -> Any:
    return run_import(world, name, (HEADER + rows).encode())


# --- registering: who may, and what a refusal says -------------------------------------------------


def test_another_agencys_creator_is_not_told_taken(world: World) -> None:
    """Agency A probing agency B's creator's account id learns nothing: the answer is the same as
    for an id nobody has, and B's account is untouched."""
    taken = _add(world.manager_a, world.creator_a, "youtube", "yt_b")
    free = _add(world.manager_a, world.creator_a, "youtube", "yt_nobody_has_this")

    assert (taken.status_code, free.status_code) == (201, 201), taken.content
    assert taken.json().keys() == free.json().keys()
    assert (taken.json()["status"], free.json()["status"]) == ("pending", "pending")
    assert "taken" not in taken.content.decode() and "already" not in taken.content.decode()
    b_account = PlatformAccount.objects.get(platform="youtube", account_id="yt_b", creator=world.creator_b)
    assert b_account.status == PlatformAccount.Status.CONFIRMED


def test_confirming_an_id_another_creator_holds_is_refused_neutrally(world: World) -> None:
    claim = _add(world.manager_a, world.creator_a, "youtube", "yt_b").json()
    response = api_as(world.creator_a.user).post(f"/api/v1/platform-accounts/{claim['public_id']}/confirm/")

    assert response.status_code == 409, response.content
    assert "Creator B" not in response.content.decode()
    assert PlatformAccount.objects.get(public_id=claim["public_id"]).status == "pending"


def test_an_agency_cannot_register_an_account_on_a_shared_creator(world: World) -> None:
    shared = _shared(world)
    response = _add(world.owner_b, shared, "douyin", "dy_a")

    assert response.status_code == 403
    assert NEUTRAL in response.json()["detail"]
    assert "Agency A" not in response.content.decode()
    assert not shared.platform_accounts.filter(account_id="dy_a").exists()


@pytest.mark.parametrize("role", ["finance_a", "viewer_a"])
def test_only_owners_and_managers_request_an_account(world: World, role: str) -> None:
    response = _add(getattr(world, role), world.creator_a, "douyin", "dy_new")
    assert response.status_code == 403
    assert NEUTRAL in response.json()["detail"]


def test_the_creator_adds_their_own_account_confirmed(world: World) -> None:
    response = _add(world.creator_a.user, world.creator_a, "weibo", "wb_a")
    assert response.status_code == 201
    assert response.json()["status"] == "confirmed"


def test_the_creator_is_refused_an_id_another_creator_holds_without_naming_them(world: World) -> None:
    response = _add(world.creator_a.user, world.creator_a, "youtube", "yt_b")
    assert response.status_code == 409
    body = response.content.decode()
    assert "Creator B" not in body and "yt_b" not in body
    assert not world.creator_a.platform_accounts.filter(account_id="yt_b").exists()


def test_a_pending_claim_does_not_block_the_real_owner(world: World) -> None:
    _add(world.manager_a, world.creator_a, "douyin", "dy_loner_real")
    response = _add(world.loner.user, world.loner, "douyin", "dy_loner_real")
    assert response.status_code == 201
    assert response.json()["status"] == "confirmed"


# --- routing ------------------------------------------------------------------------------------


def test_agency_b_registration_on_a_shared_creator_does_not_route_agency_a_rows(world: World) -> None:
    """B adds, on the creator it shares with A, an account id of A's other creator's that A has not
    registered yet: A's statement rows of that id must not land on the shared creator."""
    shared = _shared(world)
    _add(world.owner_b, shared, "douyin", "dy_a2_unregistered")

    _import(world, "R-1,2026-11-03,douyin,dy_a2_unregistered,live_gifts,10.00,CNY,,,\n")

    line = IncomeLine.objects.get(external_id="R-1")
    assert (line.status, line.exception_reason, line.creator) == ("exception", "unknown_account", None)


def test_a_pending_account_routes_nothing_until_the_creator_confirms_it(world: World) -> None:
    claim = _add(world.manager_a, world.creator_a, "weibo", "wb_pending").json()
    _import(
        world,
        "P-1,2026-11-03,weibo,wb_pending,live_gifts,10.00,CNY,,,\n"
        "P-2,2026-11-04,weibo,wb_pending,brand_deal,20.00,CNY,ORDER-1,,\n",
    )
    assert set(IncomeLine.objects.values_list("status", "exception_reason", "creator")) == {
        ("exception", "unknown_account", None)
    }

    response = api_as(world.creator_a.user).post(f"/api/v1/platform-accounts/{claim['public_id']}/confirm/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "confirmed"
    gift = IncomeLine.objects.get(external_id="P-1")
    assert (gift.status, gift.creator, gift.platform_account.account_id) == (
        "matched",
        world.creator_a,
        "wb_pending",
    )
    # The brand deal payment goes through reconciliation like a freshly imported one.
    brand = IncomeLine.objects.get(external_id="P-2")
    assert brand.creator == world.creator_a
    assert brand.exception_reason != "unknown_account"
    # Rows imported after the confirmation route at once.
    _import(world, "P-3,2026-11-05,weibo,wb_pending,live_gifts,5.00,CNY,,,\n", name="later.csv")
    later = IncomeLine.objects.get(external_id="P-3")
    assert (later.creator, later.exception_reason) == (world.creator_a, "no_contract")  # no contract signed


def test_confirming_routes_only_the_days_the_agency_represented_the_creator(world: World) -> None:
    claim = _add(world.manager_a, world.creator_a, "weibo", "wb_days").json()
    _import(
        world,
        "D-1,2025-12-31,weibo,wb_days,live_gifts,10.00,CNY,,,\n"
        "D-2,2026-01-01,weibo,wb_days,live_gifts,10.00,CNY,,,\n",
    )

    api_as(world.creator_a.user).post(f"/api/v1/platform-accounts/{claim['public_id']}/confirm/")

    assert IncomeLine.objects.get(external_id="D-1").exception_reason == "unknown_account"
    assert IncomeLine.objects.get(external_id="D-2").status == "matched"


def test_a_row_on_a_day_outside_the_importing_agencys_representation_goes_to_the_queue(
    world: World,
) -> None:
    """Creator A is represented by agency A from 2026-01-01 (Asia/Shanghai days) to 2026-06-30."""
    representation_close(agency=world.agency_a, creator=world.creator_a, ended_on=datetime.date(2026, 6, 30))
    done = _import(
        world,
        "O-1,2025-12-31T23:30:00+08:00,douyin,dy_a,live_gifts,10.00,CNY,,,\n"  # before the span
        "O-2,2025-12-31T16:30:00+00:00,douyin,dy_a,live_gifts,10.00,CNY,,,\n"  # 1 January in Shanghai
        "O-3,2026-06-30T23:59:00+08:00,douyin,dy_a,live_gifts,10.00,CNY,,,\n"  # its last day
        "O-4,2026-07-01T00:00:00+08:00,douyin,dy_a,live_gifts,10.00,CNY,,,\n",  # after it
    )

    outcome = dict(IncomeLine.objects.values_list("external_id", "exception_reason"))
    creators = dict(IncomeLine.objects.values_list("external_id", "creator"))
    assert outcome["O-1"] == outcome["O-4"] == "unknown_account"
    assert creators["O-1"] is None and creators["O-4"] is None
    assert creators["O-2"] == creators["O-3"] == world.creator_a.pk
    assert done.error_count == 0


def test_a_shared_creators_rows_go_to_the_importing_agency_only(world: World) -> None:
    shared = _shared(world)
    _import(world, "S-1,2026-11-03,kuaishou,ks_shared,live_gifts,10.00,CNY,,,\n")
    line = IncomeLine.objects.get(external_id="S-1")
    assert (line.agency, line.creator) == (world.agency_a, shared)


# --- confirming and rejecting: the creator's decision --------------------------------------------


def test_only_the_creator_confirms_or_rejects(world: World) -> None:
    claim = _add(world.manager_a, world.creator_a, "weibo", "wb_who").json()
    for outsider in (world.owner_a, world.manager_a):
        for action in ("confirm", "reject"):
            response = api_as(outsider).post(f"/api/v1/platform-accounts/{claim['public_id']}/{action}/")
            assert response.status_code == 403, (outsider, action)
    for stranger in (world.owner_b, world.creator_b.user, world.loner.user):
        response = api_as(stranger).post(f"/api/v1/platform-accounts/{claim['public_id']}/confirm/")
        assert response.status_code == 404
    assert PlatformAccount.objects.get(public_id=claim["public_id"]).status == "pending"


def test_a_rejected_claim_routes_nothing_and_leaves_the_lines_in_the_queue(world: World) -> None:
    claim = _add(world.manager_a, world.creator_a, "weibo", "wb_no").json()
    _import(world, "N-1,2026-11-03,weibo,wb_no,live_gifts,10.00,CNY,,,\n")

    response = api_as(world.creator_a.user).post(f"/api/v1/platform-accounts/{claim['public_id']}/reject/")

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert IncomeLine.objects.get(external_id="N-1").exception_reason == "unknown_account"
    _import(world, "N-2,2026-11-04,weibo,wb_no,live_gifts,10.00,CNY,,,\n", name="again.csv")
    assert IncomeLine.objects.get(external_id="N-2").exception_reason == "unknown_account"
    # A rejected claim is not offered again: the agency may ask again, the creator decides again.
    assert _add(world.manager_a, world.creator_a, "weibo", "wb_no").status_code == 201


def test_the_creator_confirms_and_rejects_on_their_page(world: World) -> None:
    confirm = _add(world.manager_a, world.creator_a, "weibo", "wb_page_yes").json()
    reject = _add(world.manager_a, world.creator_a, "weibo", "wb_page_no").json()
    page = web_as(world.creator_a.user)

    listing = page.get("/creators/accounts/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "wb_page_yes" in html and "wb_page_no" in html and "Agency A" in html

    assert page.post(f"/creators/accounts/{confirm['public_id']}/confirm/").status_code == 302
    assert page.post(f"/creators/accounts/{reject['public_id']}/reject/").status_code == 302
    assert PlatformAccount.objects.get(public_id=confirm["public_id"]).status == "confirmed"
    assert PlatformAccount.objects.get(public_id=reject["public_id"]).status == "rejected"
    # An agency member cannot decide through the page either.
    claim = _add(world.manager_a, world.creator_a, "weibo", "wb_page_agency").json()
    assert (
        web_as(world.manager_a).post(f"/creators/accounts/{claim['public_id']}/confirm/").status_code == 403
    )


def test_the_creator_adds_an_account_on_their_page(world: World) -> None:
    page = web_as(world.creator_a.user)
    response = page.post("/creators/accounts/", {"platform": "weibo", "account_id": "wb_mine"})
    assert response.status_code == 302
    assert world.creator_a.platform_accounts.get(account_id="wb_mine").status == "confirmed"
    refused = page.post("/creators/accounts/", {"platform": "youtube", "account_id": "yt_b"})
    assert refused.status_code == 200
    assert "Creator B" not in refused.content.decode()


def test_system_registrations_are_confirmed(world: World) -> None:
    account = platform_account_add(creator=world.loner, actor=None, platform="weibo", account_id="wb_sys")
    assert account.status == PlatformAccount.Status.CONFIRMED


# --- identity fields are the creator's ------------------------------------------------------------


@pytest.mark.parametrize("field", ["display_name", "legal_name", "creator_type"])
def test_an_agency_cannot_rename_a_creator(world: World, field: str) -> None:
    value = "studio" if field == "creator_type" else "Renamed"
    shared = _shared(world)
    for actor, creator in (
        (world.owner_b, shared),
        (world.manager_a, shared),
        (world.owner_a, world.creator_a),
    ):
        response = api_as(actor).patch(
            f"/api/v1/creators/{creator.public_id}/", {field: value}, format="json"
        )
        assert response.status_code == 403, (actor, response.content)
        assert "creator" in response.json()["detail"]
    shared.refresh_from_db()
    assert shared.display_name == "Shared" and shared.creator_type == "individual"
    response = api_as(shared.user).patch(
        f"/api/v1/creators/{shared.public_id}/", {field: value}, format="json"
    )
    assert response.status_code == 200


def test_a_request_is_seen_by_the_creator_and_the_agency_that_asked_only(world: World) -> None:
    """Agency B represented creator A2 until June; agency A alone represents them now and asks for
    an account: B does not see the request, nor, once confirmed, who asked."""
    representation_open(agency=world.agency_b, creator=world.creator_a2, started_on=datetime.date(2026, 1, 1))
    representation_close(agency=world.agency_b, creator=world.creator_a2, ended_on=datetime.date(2026, 6, 30))
    claim = _add(world.manager_a, world.creator_a2, "weibo", "wb_seen")
    assert claim.status_code == 201, claim.content
    assert claim.json()["requested_by_agency"] == "Agency A"

    def listed(actor: Any) -> list[dict[str, Any]]:
        creators = api_as(actor).get("/api/v1/creators/").json()
        rows = creators.get("results", creators) if isinstance(creators, dict) else creators
        (creator,) = [c for c in rows if c["public_id"] == str(world.creator_a2.public_id)]
        return [a for a in creator["platform_accounts"] if a["account_id"] == "wb_seen"]

    assert listed(world.creator_a2.user)[0]["status"] == "pending"
    assert listed(world.viewer_a)[0]["requested_by_agency"] == "Agency A"
    assert listed(world.owner_b) == []
    api_as(world.creator_a2.user).post(f"/api/v1/platform-accounts/{claim.json()['public_id']}/confirm/")
    (confirmed,) = listed(world.owner_b)
    assert (confirmed["status"], confirmed["requested_by_agency"]) == ("confirmed", None)


def test_creators_sharing_a_name_are_each_listed_once_across_pages(world) -> None:
    from tests.conftest import api_as
    from tests.factories import creator_for

    for number in range(60):
        creator_for(agency=world.agency_a, account_id=f"same_{number}", name="Same")
    client = api_as(world.manager_a)
    seen: list[str] = []
    url = "/api/v1/creators/?limit=7"
    while url:
        page = client.get(url).json()
        seen += [creator["public_id"] for creator in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == page["count"]


def test_a_new_contract_covers_only_platforms_the_creator_confirmed(world) -> None:
    import datetime

    from apps.agencies.services import representation_open
    from apps.contracts.models import ContractTemplate
    from apps.contracts.services import contract_draft
    from apps.creators.services import platform_account_add

    # Agency A, which alone represents creator A, asks for a Bilibili account: pending. Then
    # agency B comes to represent the creator too; B's draft must not cover A's request.
    platform_account_add(
        creator=world.creator_a, actor=world.manager_a, platform="bilibili", account_id="bl_pending"
    )
    representation_open(agency=world.agency_b, creator=world.creator_a, started_on=datetime.date(2026, 1, 1))
    template = ContractTemplate.objects.filter(agency__isnull=True, is_active=True).order_by("pk").first()

    version = contract_draft(
        actor=world.owner_b, agency=world.agency_b, creator=world.creator_a, template=template
    )

    assert version.platforms == ["douyin"]
