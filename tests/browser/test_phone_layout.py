"""Creators mostly use a phone: every main page fits a phone's width (wide tables scroll inside
the page, the page itself never scrolls sideways) and opens without an error."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.demo.seed import DEMO_PASSWORD
from tests.conftest import login_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE_WIDTH = 412  # the fixture's viewport

PAGES = {
    "creator1@demo.fenrun.local": [
        "/",
        "/contracts/",
        "/income/",
        "/deals/",
        "/splits/simulator/",
        "/splits/docs/split-rules/",
        "/me/tokens/",
    ],
    "manager@demo.fenrun.local": [
        "/",
        "/contracts/",
        "/contracts/new/",
        "/income/imports/",
        "/deals/",
        "/deals/exceptions/",
        "/splits/simulator/",
    ],
}


def test_main_pages_fit_a_phone(live_browser_page) -> None:
    call_command("seed_demo", verbosity=0)
    page = live_browser_page
    for email, urls in PAGES.items():
        login_as(page, User.objects.get(email=email), password=DEMO_PASSWORD)
        if email.startswith("creator"):
            page.goto("/contracts/")
            urls = [*urls, page.locator("main a[href*='/contracts/v/']").first.get_attribute("href")]
            # A line of the demo statement, with its explanation.
            page.goto("/income/")
            urls = [*urls, page.locator("main a[href*='/income/lines/']").first.get_attribute("href")]
        for url in urls:
            response = page.goto(url)
            assert response is not None and response.status == 200, (
                f"{email} {url}: {response and response.status}"
            )
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE_WIDTH, f"{email} {url} is {width}px wide on a {PHONE_WIDTH}px phone"
        page.context.clear_cookies()
