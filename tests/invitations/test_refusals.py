"""Every refusal says why, with a 4xx, and leaves nothing behind: no creator profile, no
representation, no platform account, no membership, and the invitation still as it was."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apps.agencies.models import Membership, Representation
from apps.common.exceptions import ApplicationError
from apps.creators.models import Creator, PlatformAccount
from apps.invitations.models import Invitation
from apps.invitations.services import invitation_accept, invitation_revoke
from tests.conftest import World, web_as
from tests.factories import Role, UserFactory
from tests.invitations.conftest import invite_creator, invite_member, path_of

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int, int]:
    return (
        Creator.objects.count(),
        Representation.objects.count(),
        PlatformAccount.objects.count(),
        Membership.objects.count(),
    )


def _refused(client: Client, link: str, status: int, words: str, **data: Any) -> None:
    """The page refuses before the form and the POST refuses too; nothing changes."""
    before = _counts()
    page = client.get(link)
    assert page.status_code == status, page.content.decode()[:500]
    assert words in page.content.decode()
    posted = client.post(f"{link}accept/", {"legal_name": "Somebody", **data})
    assert posted.status_code == status
    assert words in posted.content.decode()
    assert _counts() == before


def _expire(invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )


def _revoke(world: World) -> Callable[[Invitation], None]:
    return lambda invitation: invitation_revoke(invitation=invitation, actor=world.owner_a)


def test_an_expired_link_is_refused(world: World) -> None:
    user = UserFactory.create(email="late@example.test")
    created = invite_creator(world.agency_a, world.owner_a, email="late@example.test")
    _expire(created.invitation)
    _refused(
        web_as(user), path_of(created.link), 410, "This invitation has expired. Ask Agency A for a new one."
    )
    created.invitation.refresh_from_db()
    assert created.invitation.status == Invitation.Status.PENDING


def test_a_used_link_is_refused(world: World) -> None:
    created = invite_creator(world.agency_a, world.owner_a, phone="13800000001")
    first = UserFactory.create()
    invitation_accept(invitation=created.invitation, user=first, legal_name="First")
    second = UserFactory.create()
    _refused(web_as(second), path_of(created.link), 409, "This invitation has already been used.")
    assert not Creator.objects.filter(user=second).exists()


def test_a_revoked_link_is_refused(world: World) -> None:
    user = UserFactory.create(email="revoked@example.test")
    created = invite_creator(world.agency_a, world.manager_a, email="revoked@example.test")
    _revoke(world)(created.invitation)
    _refused(web_as(user), path_of(created.link), 410, "Agency A revoked this invitation.")


def test_inviting_again_replaces_the_open_link(world: World) -> None:
    user = UserFactory.create(email="twice@example.test")
    first = invite_creator(world.agency_a, world.owner_a, email="twice@example.test")
    second = invite_creator(world.agency_a, world.owner_a, email="twice@example.test")
    _refused(web_as(user), path_of(first.link), 410, "newer invitation")
    assert web_as(user).get(path_of(second.link)).status_code == 200


def test_a_member_of_the_agency_cannot_accept_its_creator_invitation(world: World) -> None:
    created = invite_creator(world.agency_a, world.owner_a, phone="13800000002")
    _refused(web_as(world.viewer_a), path_of(created.link), 409, "You are a member of Agency A")
    # A member of another agency may: they are not this agency's staff.
    other = invite_creator(world.agency_b, world.owner_b, phone="13800000002")
    assert web_as(world.viewer_a).get(path_of(other.link)).status_code == 200


def test_an_email_invitation_is_only_for_that_verified_address(world: World) -> None:
    created = invite_creator(world.agency_a, world.owner_a, email="right@example.test")
    stranger = UserFactory.create(email="wrong@example.test")
    _refused(web_as(stranger), path_of(created.link), 403, "This invitation was sent to right@example.test")
    # The same address, not yet verified, is not enough either.
    from allauth.account.models import EmailAddress

    unverified = UserFactory.create(email="right@example.test")
    EmailAddress.objects.filter(user=unverified).update(verified=False)
    _refused(web_as(unverified), path_of(created.link), 403, "Sign in with that address")
    # Nor is another person's listing of it: /invitations/ shows only one's verified addresses.
    assert str(created.invitation.public_id) not in web_as(stranger).get("/invitations/").content.decode()
    assert web_as(stranger).get(f"/invitations/{created.invitation.public_id}/").status_code == 404


def test_a_creator_the_agency_already_represents_is_refused(world: World) -> None:
    created = invite_creator(world.agency_a, world.owner_a, phone="13800000003")
    _refused(web_as(world.creator_a.user), path_of(created.link), 409, "Agency A already represents you.")
    # And the agency is told at once when it invites their address.
    with pytest.raises(ApplicationError, match="already represents this creator"):
        invite_creator(world.agency_a, world.owner_a, email=world.creator_a.user.email)


def test_an_account_confirmed_on_another_creator_refuses_the_whole_acceptance(world: World) -> None:
    """dy_a is Creator A's: ticked, nothing is created; unticked, the rest goes through."""
    user = UserFactory.create(email="claims@example.test")
    created = invite_creator(
        world.agency_a,
        world.owner_a,
        email="claims@example.test",
        accounts=[
            {"platform": "kuaishou", "account_id": "ks_new"},
            {"platform": "douyin", "account_id": "dy_a"},
        ],
    )
    client = web_as(user)
    link = path_of(created.link)
    before = _counts()
    refused = client.post(f"{link}accept/", {"accounts": ["0", "1"], "legal_name": "Claims"})
    assert refused.status_code == 409
    assert "Douyin: dy_a" in refused.content.decode() and "Untick it" in refused.content.decode()
    assert _counts() == before
    accepted = client.post(f"{link}accept/", {"accounts": ["0"], "legal_name": "Claims"})
    assert accepted.status_code == 302
    assert list(Creator.objects.get(user=user).platform_accounts.values_list("account_id", flat=True)) == [
        "ks_new"
    ]
    assert world.creator_a.platform_accounts.filter(account_id="dy_a", status="confirmed").exists()


def test_a_new_creator_must_give_a_legal_name(world: World) -> None:
    user = UserFactory.create(email="noname@example.test")
    created = invite_creator(world.agency_a, world.owner_a, email="noname@example.test")
    response = web_as(user).post(f"{path_of(created.link)}accept/", {"legal_name": ""})
    assert response.status_code == 400
    assert not Creator.objects.filter(user=user).exists()


def test_a_link_whose_sender_lost_the_right_to_invite_is_refused(world: World) -> None:
    from apps.agencies.services import membership_set

    user = UserFactory.create(email="orphan@example.test")
    created = invite_creator(world.agency_a, world.manager_a, email="orphan@example.test")
    membership_set(agency=world.agency_a, user=world.manager_a, role=Role.VIEWER)
    _refused(web_as(user), path_of(created.link), 410, "can no longer invite for Agency A")


def test_bad_addresses_and_unknown_links_are_clear_4xx(world: World) -> None:
    owner = web_as(world.owner_a)
    with pytest.raises(ApplicationError, match="not a phone number"):
        invite_creator(world.agency_a, world.owner_a, phone="12345")
    with pytest.raises(ApplicationError, match="either an email address or a phone number"):
        invite_creator(world.agency_a, world.owner_a, email="a@example.test", phone="13800000004")
    with pytest.raises(ApplicationError, match="not a platform"):
        invite_creator(
            world.agency_a,
            world.owner_a,
            phone="13800000004",
            accounts=[{"platform": "myspace", "account_id": "x"}],
        )
    with pytest.raises(ApplicationError, match="between 1 and 30 days"):
        invite_creator(world.agency_a, world.owner_a, phone="13800000004", expires_in_days=90)
    assert owner.get("/invitations/t/not-a-token/").status_code == 404
    assert owner.get("/invitations/t/" + "A" * 43 + "/").status_code == 404
    assert Client().post("/invitations/t/" + "A" * 43 + "/decline/").status_code == 404


def test_roles_that_may_not_invite_are_told_403(world: World) -> None:
    finance = web_as(world.finance_a)
    assert finance.get(f"/agency/{world.agency_a.public_id}/creators/invite/").status_code == 403
    with pytest.raises(ApplicationError, match=r"Your role \(manager\) cannot do this"):
        invite_member(world.agency_a, world.manager_a, email="m@example.test", role=Role.VIEWER)
    manager = web_as(world.manager_a)
    response = manager.post(
        f"/agency/{world.agency_a.public_id}/members/",
        {"email": "m@example.test", "role": "viewer", "expires_in_days": "7"},
    )
    assert response.status_code == 403
    assert not Invitation.objects.filter(email="m@example.test").exists()
