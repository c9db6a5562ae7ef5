"""An owner adds a member by invitation: email with the role, the same link, membership_set on accept."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from apps.agencies.models import Membership
from apps.invitations.models import Invitation
from tests.conftest import World, web_as
from tests.factories import Role, UserFactory
from tests.invitations.conftest import invite_member, mailed_link, path_of

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-password-77"


def test_an_owner_invites_a_member_who_signs_up_and_joins_with_the_role(world: World) -> None:
    owner = web_as(world.owner_a)
    sent = owner.post(
        f"/agency/{world.agency_a.public_id}/members/",
        {"email": "analyst@example.test", "role": "finance", "name": "Ana", "expires_in_days": "3"},
    )
    assert sent.status_code == 302
    members_page = owner.get(f"/agency/{world.agency_a.public_id}/members/").content.decode()
    assert "analyst@example.test" in members_page and 'id="member-invitations"' in members_page
    link = mailed_link("analyst@example.test")
    assert "as Finance" in mail.outbox[-1].body

    browser = Client()
    opened = browser.get(link)
    assert "two-factor authentication" in opened.content.decode()
    signed_up = browser.post(
        opened.context["signup_url"],
        {"email": "analyst@example.test", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert signed_up.status_code == 302 and signed_up["Location"] == link
    accepted = browser.post(f"{link}accept/")
    # Finance moves money: they are taken to set up two-factor authentication first.
    assert accepted.status_code == 302 and accepted["Location"].startswith("/accounts/2fa/totp/activate")
    membership = Membership.objects.get(agency=world.agency_a, user__email="analyst@example.test")
    assert (membership.role, membership.is_active) == (Role.FINANCE, True)
    assert Invitation.objects.get(email="analyst@example.test").status == Invitation.Status.ACCEPTED


def test_only_an_owner_invites_and_an_owner_may_invite_an_owner(world: World) -> None:
    created = invite_member(world.agency_a, world.owner_a, email="coowner@example.test", role=Role.OWNER)
    user = UserFactory.create(email="coowner@example.test")
    web_as(user).post(f"{path_of(created.link)}accept/")
    assert Membership.objects.get(agency=world.agency_a, user=user).role == Role.OWNER


def test_an_existing_member_is_refused(world: World) -> None:
    from apps.common.exceptions import ApplicationError

    with pytest.raises(ApplicationError, match="already a member of Agency A"):
        invite_member(world.agency_a, world.owner_a, email=world.viewer_a.email, role=Role.MANAGER)
    # Invited before joining another way: accepting later is refused, the role unchanged.
    user = UserFactory.create(email="late.member@example.test")
    created = invite_member(
        world.agency_a, world.owner_a, email="late.member@example.test", role=Role.MANAGER
    )
    from apps.agencies.services import membership_set

    membership_set(agency=world.agency_a, user=user, role=Role.VIEWER)
    response = web_as(user).post(f"{path_of(created.link)}accept/")
    assert response.status_code == 409
    assert Membership.objects.get(agency=world.agency_a, user=user).role == Role.VIEWER


def test_the_owner_revokes_a_member_invitation_from_the_team_page(world: World) -> None:
    created = invite_member(world.agency_a, world.owner_a, email="gone@example.test", role=Role.VIEWER)
    viewer = web_as(world.viewer_a)
    page = viewer.get(f"/agency/{world.agency_a.public_id}/members/").content.decode()
    assert "gone@example.test" in page and "Only an owner invites members." in page
    revoke_url = f"/agency/{world.agency_a.public_id}/invitations/{created.invitation.public_id}/revoke/"
    assert viewer.post(revoke_url).status_code == 403
    assert web_as(world.owner_a).post(revoke_url).status_code == 302
    created.invitation.refresh_from_db()
    assert created.invitation.status == Invitation.Status.REVOKED
    assert web_as(UserFactory.create(email="gone@example.test")).get(path_of(created.link)).status_code == 410
