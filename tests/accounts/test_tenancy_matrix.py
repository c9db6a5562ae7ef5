"""Every role against every object it must not reach: 404 (not 403), nothing changed.

The world: agency A (owner, manager, finance, viewer; creators A and A2), agency B (owner,
creator B), a loner creator nobody represents, and a staff user.
"""

from __future__ import annotations

import pytest

from tests.conftest import World, api_as

pytestmark = pytest.mark.django_db


def _actors(world: World) -> dict[str, object]:
    return {
        "owner_a": world.owner_a,
        "manager_a": world.manager_a,
        "finance_a": world.finance_a,
        "viewer_a": world.viewer_a,
        "creator_a": world.creator_a.user,
        "owner_b": world.owner_b,
        "creator_b": world.creator_b.user,
        "loner": world.loner.user,
        "staff": world.staff,
    }


# (actor, object) pairs that must be invisible: reading answers 404 and lists leave them out.
def _forbidden(world: World) -> list[tuple[str, str, str, bool]]:
    objects = {
        "agency_a": f"/api/v1/agencies/{world.agency_a.public_id}/",
        "agency_b": f"/api/v1/agencies/{world.agency_b.public_id}/",
        "members_a": f"/api/v1/agencies/{world.agency_a.public_id}/members/",
        "members_b": f"/api/v1/agencies/{world.agency_b.public_id}/members/",
        "creator_a": f"/api/v1/creators/{world.creator_a.public_id}/",
        "creator_b": f"/api/v1/creators/{world.creator_b.public_id}/",
        "loner": f"/api/v1/creators/{world.loner.public_id}/",
    }
    visible = {
        "owner_a": {"agency_a", "members_a", "creator_a"},
        "manager_a": {"agency_a", "members_a", "creator_a"},
        "finance_a": {"agency_a", "members_a", "creator_a"},
        "viewer_a": {"agency_a", "members_a", "creator_a"},
        "creator_a": {"creator_a"},
        "owner_b": {"agency_b", "members_b", "creator_b"},
        "creator_b": {"creator_b"},
        "loner": {"loner"},
        "staff": set(),  # staff audit through Django admin, not through tenant APIs
    }
    return [(actor, name, url, name in visible[actor]) for actor in visible for name, url in objects.items()]


def test_every_role_reads_only_its_own_tenant(world: World) -> None:
    actors = _actors(world)
    for actor, name, url, allowed in _forbidden(world):
        response = api_as(actors[actor]).get(url)
        expected = 200 if allowed else 404
        assert response.status_code == expected, f"{actor} GET {name}: {response.status_code}"
        if not allowed:
            assert response["Content-Type"].startswith("application/problem+json")


def test_lists_contain_only_visible_rows(world: World) -> None:
    creators = {c["display_name"] for c in api_as(world.viewer_a).get("/api/v1/creators/").json()["results"]}
    assert creators == {"Creator A", "Creator A2"}
    assert {
        c["display_name"] for c in api_as(world.creator_b.user).get("/api/v1/creators/").json()["results"]
    } == {"Creator B"}
    agencies = [a["name"] for a in api_as(world.owner_b).get("/api/v1/agencies/").json()["results"]]
    assert agencies == ["Agency B"]
    assert api_as(world.staff).get("/api/v1/creators/").json()["results"] == []


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("owner_a", 200),
        ("manager_a", 403),
        ("finance_a", 403),
        ("viewer_a", 403),
        ("creator_a", 404),
        ("owner_b", 404),
        ("staff", 404),
    ],
)
def test_only_the_owner_changes_the_agency(world: World, actor: str, expected: int) -> None:
    response = api_as(_actors(world)[actor]).patch(
        f"/api/v1/agencies/{world.agency_a.public_id}/", {"name": "Renamed"}, format="json"
    )
    assert response.status_code == expected
    world.agency_a.refresh_from_db()
    assert (world.agency_a.name == "Renamed") == (expected == 200)


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("creator_a", 200),
        # The creator's identity is theirs: their agency sees it and cannot change it (403).
        ("owner_a", 403),
        ("manager_a", 403),
        ("finance_a", 403),
        ("viewer_a", 403),
        ("owner_b", 404),
        ("creator_b", 404),
        ("loner", 404),
        ("staff", 404),
    ],
)
def test_who_may_edit_a_creator_profile(world: World, actor: str, expected: int) -> None:
    response = api_as(_actors(world)[actor]).patch(
        f"/api/v1/creators/{world.creator_a.public_id}/", {"display_name": "Changed"}, format="json"
    )
    assert response.status_code == expected, response.content
    world.creator_a.refresh_from_db()
    assert (world.creator_a.display_name == "Changed") == (expected == 200)


def test_platform_account_of_another_tenant_cannot_be_deleted(world: World) -> None:
    account = world.creator_b.platform_accounts.get()
    response = api_as(world.owner_a).delete(f"/api/v1/platform-accounts/{account.public_id}/")
    assert response.status_code == 404
    assert world.creator_b.platform_accounts.filter(pk=account.pk).exists()


def test_malformed_ids_are_not_found_not_errors(world: World) -> None:
    assert api_as(world.owner_a).get("/api/v1/creators/not-a-uuid/").status_code == 404


def test_platform_account_id_is_unique_per_platform_without_naming_its_holder(world: World) -> None:
    response = api_as(world.creator_a.user).post(
        f"/api/v1/creators/{world.creator_a.public_id}/platform-accounts/",
        {"platform": "youtube", "account_id": "yt_b"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "platform_account_refused"
    assert "Creator B" not in response.content.decode()


def test_an_agency_cannot_change_a_creators_legal_identity_or_remove_accounts(world: World) -> None:
    manager = api_as(world.manager_a)
    response = manager.patch(
        f"/api/v1/creators/{world.creator_a.public_id}/", {"legal_name": "X"}, format="json"
    )
    assert response.status_code == 403
    account = world.creator_a.platform_accounts.get()
    assert manager.delete(f"/api/v1/platform-accounts/{account.public_id}/").status_code == 403
    world.creator_a.refresh_from_db()
    assert world.creator_a.legal_name == "Creator A legal"
    # The creator can do both.
    creator = api_as(world.creator_a.user)
    assert (
        creator.patch(
            f"/api/v1/creators/{world.creator_a.public_id}/", {"legal_name": "X"}, format="json"
        ).status_code
        == 200
    )
    assert creator.delete(f"/api/v1/platform-accounts/{account.public_id}/").status_code == 204
