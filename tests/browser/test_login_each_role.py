"""A real Chromium signs in as each role through allauth (with the TOTP step where the role
requires MFA) and sees the home page that role should see."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.demo.seed import DEMO_PASSWORD, demo_logins
from tests.conftest import login_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPECTED = {
    "owner@demo.fenrun.local": "Agency console: Starlight MCN 星光传媒",
    "manager@demo.fenrun.local": "Your role: Manager",
    "finance@demo.fenrun.local": "Your role: Finance",
    "viewer@demo.fenrun.local": "Your role: Viewer",
    "creator1@demo.fenrun.local": "Creator portal",
    "creator2@demo.fenrun.local": "Bamboo Studio 竹子工作室",
    "creator3@demo.fenrun.local": "Your platform accounts",
    "staff@demo.fenrun.local": "Open the staff admin",
}


def test_every_demo_role_signs_in_and_sees_its_home(live_browser_page) -> None:
    call_command("seed_demo", verbosity=0)
    page = live_browser_page
    for login in demo_logins():
        user = User.objects.get(email=login.email)
        login_as(page, user, password=DEMO_PASSWORD, totp_secret=login.totp_secret)
        body = page.locator("main").inner_text()
        assert EXPECTED[login.email] in body, f"{login.email} home page: {body[:300]}"
        if "creator" in login.email:
            assert "Agency console" not in body
        page.context.clear_cookies()


def test_staff_reaches_admin_after_totp(live_browser_page) -> None:
    call_command("seed_demo", verbosity=0)
    staff = next(login for login in demo_logins() if login.email.startswith("staff@"))
    page = live_browser_page
    login_as(page, User.objects.get(email=staff.email), password=DEMO_PASSWORD, totp_secret=staff.totp_secret)
    page.goto("/admin/")
    assert "Site administration" in page.content()


def test_language_switch_to_chinese(live_browser_page) -> None:
    call_command("seed_demo", verbosity=0)
    page = live_browser_page
    login_as(page, User.objects.get(email="creator1@demo.fenrun.local"), password=DEMO_PASSWORD)
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    assert "创作者门户" in page.locator("main").inner_text()
