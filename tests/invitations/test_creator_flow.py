"""A creator joins by invitation: from the agency's form to a represented creator with confirmed
accounts, by email (sign up) and by phone (the agency sends the link; sign in)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from apps.agencies.models import Representation
from apps.creators.models import Creator, PlatformAccount
from apps.invitations.models import Invitation
from tests.conftest import World, web_as
from tests.factories import PASSWORD, UserFactory
from tests.invitations.conftest import invite_creator, mailed_link, path_of

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-new-password-42"


def _invite_form(**fields: str) -> dict[str, str]:
    data = {
        "channel": "email",
        "email": "",
        "phone": "",
        "name": "",
        "expires_in_days": "7",
        "accounts-TOTAL_FORMS": "3",
        "accounts-INITIAL_FORMS": "0",
        "accounts-MIN_NUM_FORMS": "0",
        "accounts-MAX_NUM_FORMS": "20",
    }
    for row in range(3):
        data.update(
            {f"accounts-{row}-platform": "", f"accounts-{row}-account_id": "", f"accounts-{row}-handle": ""}
        )
    data.update(fields)
    return data


def test_invited_by_email_the_creator_signs_up_confirms_and_is_set_up(world: World) -> None:
    # given: the agency's owner invites xiaoli@example.test with two accounts from the console
    owner = web_as(world.owner_a)
    sent = owner.post(
        f"/agency/{world.agency_a.public_id}/creators/invite/",
        _invite_form(
            email="XiaoLi@Example.test",
            name="Xiao Li",
            **{
                "accounts-0-platform": "douyin",
                "accounts-0-account_id": "dy_xiaoli",
                "accounts-0-handle": "@xiaoli",
                "accounts-1-platform": "bilibili",
                "accounts-1-account_id": "bl_xiaoli",
            },
        ),
    )
    assert sent.status_code == 302
    invitation = Invitation.objects.get(agency=world.agency_a, email="xiaoli@example.test")
    assert invitation.status == Invitation.Status.PENDING
    link = mailed_link("xiaoli@example.test")
    assert "Agency A" in mail.outbox[-1].subject
    assert "Douyin: dy_xiaoli (@xiaoli)" in mail.outbox[-1].body
    # The database holds the token's hash, never the token.
    assert link.rstrip("/").split("/")[-1] not in str(
        Invitation.objects.filter(pk=invitation.pk).values().get()
    )

    # when: the invited person opens the link signed out, signs up with that address, and confirms
    browser = Client()
    page = browser.get(link)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Agency A invites you" in text and "dy_xiaoli" in text and "bl_xiaoli" in text
    signup_url = page.context["signup_url"]
    assert "next=" in signup_url and "email=xiaoli%40example.test" in signup_url
    signed_up = browser.post(
        signup_url,
        {"email": "xiaoli@example.test", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    # The link vouched for the address: no verification mail, straight back to the invitation.
    assert signed_up.status_code == 302, signed_up.content.decode()[:2000]
    assert signed_up["Location"] == link
    form_page = browser.get(link)
    assert form_page.status_code == 200
    assert 'id="accept-form"' in form_page.content.decode()
    accepted = browser.post(
        f"{link}accept/",
        {
            "accounts": ["0", "1"],
            "display_name": "Xiao Li",
            "legal_name": "李晓",
            "creator_type": "individual",
        },
    )

    # then: a creator, represented by agency A, with both accounts confirmed by them
    assert accepted.status_code == 302 and accepted["Location"] == "/"
    creator = Creator.objects.get(user__email="xiaoli@example.test")
    assert (creator.display_name, creator.legal_name) == ("Xiao Li", "李晓")
    assert Representation.objects.filter(
        agency=world.agency_a, creator=creator, ended_on__isnull=True
    ).exists()
    accounts = set(creator.platform_accounts.values_list("platform", "account_id", "status"))
    assert accounts == {("douyin", "dy_xiaoli", "confirmed"), ("bilibili", "bl_xiaoli", "confirmed")}
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED and invitation.creator == creator
    # The roster shows them now, and the link works no more.
    roster = owner.get(f"/agency/{world.agency_a.public_id}/creators/").content.decode()
    assert "Xiao Li" in roster and "@xiaoli" in roster and "bl_xiaoli" in roster
    again = browser.get(link)
    assert again.status_code == 409 and "already been used" in again.content.decode()


def test_unticked_accounts_are_not_registered(world: World) -> None:
    user = UserFactory.create(email="two@example.test")
    created = invite_creator(
        world.agency_a,
        world.manager_a,
        email="two@example.test",
        accounts=[
            {"platform": "douyin", "account_id": "dy_two"},
            {"platform": "kuaishou", "account_id": "ks_two"},
        ],
    )
    client = web_as(user)
    response = client.post(f"{path_of(created.link)}accept/", {"accounts": ["1"], "legal_name": "Two"})
    assert response.status_code == 302
    assert list(PlatformAccount.objects.filter(creator__user=user).values_list("account_id", flat=True)) == [
        "ks_two"
    ]


def test_invited_by_phone_the_agency_gets_the_link_and_an_existing_creator_signs_in(world: World) -> None:
    # given: a manager invites by phone; the page shows the link once and says no SMS is sent
    manager = web_as(world.manager_a)
    page = manager.get(f"/agency/{world.agency_a.public_id}/creators/invite/")
    assert "Fenrun sends no text messages" in page.content.decode()
    outbox_before = len(mail.outbox)
    shown = manager.post(
        f"/agency/{world.agency_a.public_id}/creators/invite/",
        _invite_form(
            channel="phone",
            phone="138 1234 5678",
            **{"accounts-0-platform": "xiaohongshu", "accounts-0-account_id": "xhs_l"},
        ),
    )
    assert shown.status_code == 201
    assert len(mail.outbox) == outbox_before
    invitation = Invitation.objects.get(agency=world.agency_a, channel="phone")
    assert invitation.phone == "+8613812345678"
    link = path_of(shown.context["created"].link)
    assert link in shown.content.decode()

    # when: the loner (a creator of no agency, who owns xhs_l already) opens it signed out and signs in
    browser = Client()
    opened = browser.get(link)
    assert opened.status_code == 200
    login_url = opened.context["login_url"]
    signed_in = browser.post(login_url, {"login": world.loner.user.email, "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == link
    form = browser.get(link)
    assert "Already on your profile" in form.content.decode()
    assert "legal_name" not in form.context["form"].fields  # they have a profile already
    accepted = browser.post(f"{link}accept/", {})

    # then: the same creator profile, now represented by agency A; the account was theirs already
    assert accepted.status_code == 302
    assert Creator.objects.filter(user=world.loner.user).count() == 1
    assert Representation.objects.filter(
        agency=world.agency_a, creator=world.loner, ended_on__isnull=True
    ).exists()
    assert world.loner.platform_accounts.filter(account_id="xhs_l", status="confirmed").count() == 1


def test_declining_sets_nothing_up_and_closes_the_link(world: World) -> None:
    created = invite_creator(world.agency_a, world.owner_a, phone="+44 20 7946 0958")
    link = path_of(created.link)
    browser = Client()
    declined = browser.post(f"{link}decline/")
    assert declined.status_code == 302
    created.invitation.refresh_from_db()
    assert created.invitation.status == Invitation.Status.DECLINED
    assert browser.get(link).status_code == 409


def test_the_email_is_in_the_language_of_the_inviters_pages(world: World) -> None:
    owner = web_as(world.owner_a)
    owner.cookies["django_language"] = "zh-hans"
    owner.post(
        f"/agency/{world.agency_a.public_id}/creators/invite/",
        _invite_form(
            email="zh@example.test", **{"accounts-0-platform": "douyin", "accounts-0-account_id": "dy_zh"}
        ),
    )
    invitation = Invitation.objects.get(email="zh@example.test")
    assert invitation.language == "zh-hans"
    # The platform's name comes from the catalogue's Chinese translation.
    assert "抖音: dy_zh" in mail.outbox[-1].body
    # And an English inviter's email is in English.
    invite_creator(world.agency_a, world.owner_a, email="en@example.test", language="en")
    assert "invites you to Fenrun" in mail.outbox[-1].subject


def test_the_next_parameter_cannot_send_the_person_elsewhere(world: World) -> None:
    """The sign-in link carries only the invitation's own path; a forged next to another host is
    ignored by allauth."""
    created = invite_creator(world.agency_a, world.owner_a, phone="13912345678")
    browser = Client()
    opened = browser.get(path_of(created.link))
    assert opened.context["login_url"].endswith("?next=" + path_of(created.link).replace("/", "%2F"))
    response = browser.post(
        "/accounts/login/?next=https://evil.example/steal",
        {"login": world.loner.user.email, "password": PASSWORD},
    )
    assert response.status_code == 302 and "evil.example" not in response["Location"]


def test_the_home_page_of_a_new_user_points_to_their_invitation(world: World) -> None:
    user = UserFactory.create(email="fresh@example.test")
    client = web_as(user)
    before = client.get("/").content.decode()
    assert "An agency invites you by email" in before and "invitations-waiting" not in before
    created = invite_creator(world.agency_a, world.owner_a, email="fresh@example.test")
    after = client.get("/").content.decode()
    assert 'id="invitations-waiting"' in after
    mine = client.get("/invitations/").content.decode()
    assert "Agency A" in mine and str(created.invitation.public_id) in mine
    # They can answer it from there, without the link (their address is verified).
    page = client.get(f"/invitations/{created.invitation.public_id}/")
    assert page.status_code == 200 and 'id="accept-form"' in page.content.decode()
    accepted = client.post(f"/invitations/{created.invitation.public_id}/accept/", {"legal_name": "Fresh"})
    assert accepted.status_code == 302
    assert Representation.objects.filter(agency=world.agency_a, creator__user=user).exists()
