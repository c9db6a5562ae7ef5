"""Sign-in policy: MFA for the roles that move money, rate limits, admin behind allauth."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client

from tests.conftest import World, totp_now
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("actor", "must_enrol"),
    [
        ("owner_a", True),
        ("finance_a", True),
        ("staff", True),
        ("manager_a", False),
        ("viewer_a", False),
    ],
)
def test_roles_that_move_money_must_enrol_mfa_before_anything_else(
    world: World, actor: str, must_enrol: bool
) -> None:
    client = Client()
    client.force_login(getattr(world, actor))
    response = client.get("/")
    if must_enrol:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/2fa/totp/activate")
        api = client.get("/api/v1/me/")
        assert api.status_code == 403
        assert api.json()["code"] == "mfa_required"
    else:
        assert response.status_code == 200


def test_enrolled_owner_reaches_home(world: World) -> None:
    TOTP.activate(world.owner_a, "JBSWY3DPEHPK3PXP")
    client = Client()
    client.force_login(world.owner_a)
    response = client.get("/")
    assert response.status_code == 200
    assert "Agency console: Agency A" in response.content.decode()


def test_password_login_then_totp_step(world: World) -> None:
    secret = "JBSWY3DPEHPK3PXP"
    TOTP.activate(world.finance_a, secret)
    client = Client()
    first = client.post("/accounts/login/", {"login": world.finance_a.email, "password": PASSWORD})
    assert first.status_code == 302
    assert "/accounts/2fa/authenticate/" in first["Location"]
    assert client.get("/").status_code == 302  # not signed in until the code is given
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    assert "Incorrect code" in wrong.content.decode()
    done = client.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)})
    assert done.status_code == 302
    assert client.get("/").status_code == 200


def test_login_brute_force_is_rate_limited(world: World) -> None:
    client = Client()
    pages = [
        client.post(
            "/accounts/login/", {"login": world.viewer_a.email, "password": f"wrong-{i}"}
        ).content.decode()
        for i in range(6)
    ]
    limited = "Too many failed login attempts"
    assert all("not correct" in page and limited not in page for page in pages[:5])
    assert limited in pages[5]
    # While the limit holds, even the right password does not get in.
    right = client.post("/accounts/login/", {"login": world.viewer_a.email, "password": PASSWORD})
    assert right.status_code == 200
    assert limited in right.content.decode()
    assert client.get("/").status_code == 302


def test_admin_login_goes_through_allauth(world: World) -> None:
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_staff_with_mfa_audits_history_in_admin(world: World) -> None:
    # given an owner renames the agency through the API (the request is the history's context)
    TOTP.activate(world.owner_a, "JBSWY3DPEHPK3PXP")
    owner = Client()
    owner.force_login(world.owner_a)
    renamed = owner.patch(
        f"/api/v1/agencies/{world.agency_a.public_id}/",
        {"name": "Agency A Renamed"},
        content_type="application/json",
    )
    assert renamed.status_code == 200
    # when staff open the history of that agency in admin
    TOTP.activate(world.staff, "KRSXG5CTMVRXEZLU")
    world.staff.is_superuser = True
    world.staff.save()
    client = Client()
    client.force_login(world.staff)
    assert client.get("/admin/").status_code == 200
    page = client.get(f"/admin/pghistory/middlewareevents/?obj=agencies.Agency:{world.agency_a.pk}")
    # then they see who changed what, before and after
    assert page.status_code == 200
    text = page.content.decode()
    assert "Agency A Renamed" in text and "owner.a@example.test" in text
