"""Shared fixtures: a small two-agency world, API clients, and the real-browser harness."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.agencies.models import Agency
from apps.creators.models import Creator
from tests.factories import PASSWORD, Role, agency_with_owner, creator_for, member

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@dataclass
class World:
    """Agency A with one member per role and two creators; agency B with its own owner and creator;
    a creator nobody represents; a staff user."""

    agency_a: Agency
    agency_b: Agency
    owner_a: User
    manager_a: User
    finance_a: User
    viewer_a: User
    owner_b: User
    creator_a: Creator
    creator_a2: Creator
    creator_b: Creator
    loner: Creator
    staff: User


@pytest.fixture
def world(db: Any) -> World:
    from tests.factories import UserFactory

    owner_a = UserFactory.create(email="owner.a@example.test")
    agency_a = agency_with_owner(name="Agency A", owner=owner_a)
    owner_b = UserFactory.create(email="owner.b@example.test")
    agency_b = agency_with_owner(name="Agency B", owner=owner_b)
    return World(
        agency_a=agency_a,
        agency_b=agency_b,
        owner_a=owner_a,
        manager_a=member(agency_a, Role.MANAGER),
        finance_a=member(agency_a, Role.FINANCE),
        viewer_a=member(agency_a, Role.VIEWER),
        owner_b=owner_b,
        creator_a=creator_for(agency=agency_a, platform="douyin", account_id="dy_a", name="Creator A"),
        creator_a2=creator_for(agency=agency_a, platform="bilibili", account_id="bl_a2", name="Creator A2"),
        creator_b=creator_for(agency=agency_b, platform="youtube", account_id="yt_b", name="Creator B"),
        loner=creator_for(platform="xiaohongshu", account_id="xhs_l", name="Loner"),
        staff=UserFactory.create(email="staff@example.test", is_staff=True),
    )


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def api_as(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def web_as(user: User) -> Client:
    client = Client()
    client.force_login(user)
    # The MFA policy is tested on its own; other page tests act as a user who passed it.
    session = client.session
    session["fenrun_mfa_ok"] = time.time()  # passed the check just now
    session.save()
    return client


# --- The real-browser harness (Playwright driving Debian's Chromium) ---------------------------

CHROMIUM = os.environ.get("FENRUN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        # Never a silent skip: CI installs chromium, and a missing browser is a failure there.
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; .ci/run installs Debian's chromium package")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def live_browser_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) with a phone-sized viewport, pointed at the live server."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 412, "height": 915}, locale="en-US"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def totp_now(secret: str) -> str:
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def totp_for_browser(secret: str, *, margin: float = 8.0) -> str:
    """The current code, taken with at least `margin` seconds left in its 30-second window: a
    browser types it and the server checks it a moment later, and allauth accepts no code of
    the window before (a code taken at 29.5 s failed as "Incorrect code" on a busy machine)."""
    import time

    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.2)
    return totp_now(secret)


def login_as(page: Any, user: User, *, password: str = PASSWORD, totp_secret: str | None = None) -> None:
    """Sign in through the real allauth pages, answering the TOTP step when the user has MFA."""
    page.goto("/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    if totp_secret:
        page.wait_for_selector("input[name=code]")
        page.fill("input[name=code]", totp_for_browser(totp_secret))
        page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url and "/2fa/authenticate" not in url)


@pytest.fixture
def celery_eager() -> Iterator[None]:
    """Run tasks in-process for tests of pages and APIs (the worker itself is tested in integration).

    Celery caches its configuration on first use, so Django's override_settings cannot switch
    eagerness reliably; set it on the app and put it back afterwards.
    """
    from config.celery_app import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved
