"""/api/v1/invitations/: create, list, revoke; open, accept and decline by token; tenancy."""

from __future__ import annotations

import pytest
from django.core import mail

from apps.agencies.models import Representation
from apps.creators.models import Creator
from apps.invitations.models import Invitation
from tests.conftest import World, api_as, web_as
from tests.factories import UserFactory
from tests.invitations.conftest import invite_creator, mailed_link, token_of

pytestmark = pytest.mark.django_db


def test_a_phone_invitation_answers_its_link_once_and_an_email_invitation_never(world: World) -> None:
    client = api_as(world.manager_a)
    phone = client.post(
        "/api/v1/invitations/",
        {
            "agency": str(world.agency_a.public_id),
            "kind": "creator",
            "phone": "+86 139 0000 0000",
            "accounts": [{"platform": "douyin", "account_id": "dy_api", "handle": "@api"}],
        },
        format="json",
    )
    assert phone.status_code == 201, phone.json()
    body = phone.json()
    assert body["phone"] == "+8613900000000" and body["state"] == "open" and "/invitations/t/" in body["link"]
    assert body["proposed_accounts"] == [{"platform": "douyin", "account_id": "dy_api", "handle": "@api"}]
    detail = client.get(f"/api/v1/invitations/{body['public_id']}/").json()
    assert "link" not in detail

    email = client.post(
        "/api/v1/invitations/",
        {"agency": str(world.agency_a.public_id), "kind": "creator", "email": "api@example.test"},
        format="json",
    )
    assert email.status_code == 201
    assert email.json()["link"] is None and email.json()["email_sent"] is True
    assert mailed_link("api@example.test")


def test_the_list_is_paginated_filtered_and_scoped(world: World) -> None:
    invite_creator(world.agency_a, world.owner_a, phone="13800000011")
    revoked = invite_creator(world.agency_a, world.owner_a, phone="13800000012").invitation
    api_as(world.owner_a).post(f"/api/v1/invitations/{revoked.public_id}/revoke/")
    invite_creator(world.agency_b, world.owner_b, phone="13800000013")

    page = api_as(world.viewer_a).get("/api/v1/invitations/", {"limit": 1}).json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]
    open_only = api_as(world.viewer_a).get("/api/v1/invitations/", {"state": "open"}).json()
    assert [item["phone"] for item in open_only["results"]] == ["+8613800000011"]
    bad = api_as(world.viewer_a).get("/api/v1/invitations/", {"state": "maybe"})
    assert bad.status_code == 400 and "not an invitation state" in bad.json()["detail"]
    # Agency B's owner sees only B's; A's creators see none.
    assert api_as(world.owner_b).get("/api/v1/invitations/").json()["count"] == 1
    assert api_as(world.creator_a.user).get("/api/v1/invitations/").json()["count"] == 0


def test_another_agency_can_neither_see_nor_revoke(world: World) -> None:
    invitation = invite_creator(world.agency_a, world.owner_a, phone="13800000021").invitation
    outsider = api_as(world.owner_b)
    assert outsider.get(f"/api/v1/invitations/{invitation.public_id}/").status_code == 404
    assert outsider.post(f"/api/v1/invitations/{invitation.public_id}/revoke/").status_code == 404
    page = web_as(world.owner_b).post(
        f"/agency/{world.agency_b.public_id}/invitations/{invitation.public_id}/revoke/"
    )
    assert page.status_code == 404
    page = web_as(world.owner_b).post(
        f"/agency/{world.agency_a.public_id}/invitations/{invitation.public_id}/revoke/"
    )
    assert page.status_code == 404
    assert web_as(world.owner_b).get(f"/agency/{world.agency_a.public_id}/creators/").status_code == 404
    assert web_as(world.owner_b).get(f"/agency/{world.agency_a.public_id}/members/").status_code == 404
    # A viewer of A sees it but may not revoke it (403), and creating for B is not found.
    assert (
        api_as(world.viewer_a).post(f"/api/v1/invitations/{invitation.public_id}/revoke/").status_code == 403
    )
    create = api_as(world.owner_a).post(
        "/api/v1/invitations/",
        {"agency": str(world.agency_b.public_id), "kind": "creator", "phone": "13800000022"},
        format="json",
    )
    assert create.status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


def test_accept_by_token_over_the_api(world: World) -> None:
    mail.outbox.clear()
    invite_creator(
        world.agency_a,
        world.owner_a,
        email="apiuser@example.test",
        accounts=[{"platform": "bilibili", "account_id": "bl_api"}],
    )
    token = token_of(mailed_link("apiuser@example.test"))
    user = UserFactory.create(email="apiuser@example.test")
    client = api_as(user)
    preview = client.post("/api/v1/invitations/open/", {"token": token}, format="json").json()
    assert preview["can_accept"] is True and preview["agency_name"] == "Agency A"
    missing = client.post("/api/v1/invitations/accept/", {"token": token}, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "legal_name_required"
    accepted = client.post(
        "/api/v1/invitations/accept/",
        {"token": token, "legal_name": "API Person", "accounts": [0]},
        format="json",
    )
    assert accepted.status_code == 200, accepted.json()
    creator = Creator.objects.get(user=user)
    assert accepted.json()["creator"] == str(creator.public_id)
    assert len(accepted.json()["accounts_added"]) == 1
    assert Representation.objects.filter(agency=world.agency_a, creator=creator).exists()
    again = client.post("/api/v1/invitations/accept/", {"token": token, "legal_name": "x"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invitation_used"
    wrong = client.post("/api/v1/invitations/accept/", {"token": "A" * 43}, format="json")
    assert wrong.status_code == 404


def test_refusals_over_the_api_are_problem_documents(world: World) -> None:
    invite_creator(world.agency_a, world.owner_a, email="someone@example.test")
    token = token_of(mailed_link("someone@example.test"))
    stranger = api_as(UserFactory.create(email="stranger@example.test"))
    preview = stranger.post("/api/v1/invitations/open/", {"token": token}, format="json").json()
    assert preview["can_accept"] is False and preview["refusal_code"] == "invitation_email_mismatch"
    refused = stranger.post("/api/v1/invitations/accept/", {"token": token, "legal_name": "S"}, format="json")
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert "someone@example.test" in refused.json()["detail"]
    assert not Creator.objects.filter(user__email="stranger@example.test").exists()
    declined = stranger.post("/api/v1/invitations/decline/", {"token": token}, format="json")
    assert declined.status_code == 200 and declined.json()["state"] == "declined"
