"""A dispute on a 375-px phone, in a real Chromium: the creator opens it from the line's page with
a file, the manager answers; every dispute page fits the phone's width and its fields are labelled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.disputes.models import Dispute
from tests.conftest import login_as
from tests.disputes.conftest import PDF

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE_WIDTH = 375


@pytest.fixture
def phone(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": PHONE_WIDTH, "height": 812}, locale="en-US"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def _fits(page: Any, url: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{url} is {width}px wide on a {PHONE_WIDTH}px phone"


def test_a_dispute_on_a_phone(line_world: Any, phone: Any, tmp_path: Any) -> None:
    world = line_world
    evidence = tmp_path / "screenshot.pdf"
    evidence.write_bytes(PDF)
    page = phone

    login_as(page, world.creator_a.user)
    page.goto(f"/income/lines/{world.line.public_id}/")
    page.get_by_role("button", name="Open a dispute").click()
    _fits(page, "open")
    page.get_by_label("What is wrong?").fill("My share should be 70 %.")
    page.get_by_label("Files").set_input_files(str(evidence))
    page.get_by_role("button", name="Open the dispute").click()
    page.wait_for_selector("#dispute-thread")
    dispute = Dispute.objects.get()
    assert page.url.endswith(f"/disputes/{dispute.public_id}/")
    assert "screenshot.pdf" in page.inner_text("#dispute-thread")
    _fits(page, "detail (creator)")
    page.goto("/disputes/mine/")
    assert page.locator("#my-disputes tbody tr").count() == 1
    _fits(page, "mine")
    page.context.clear_cookies()

    login_as(page, world.manager_a)
    page.goto("/disputes/agency/")
    _fits(page, "agency list")
    page.get_by_label("State").select_option("open")
    page.get_by_role("button", name="Filter").click()
    page.locator("#agency-disputes a[href*='/disputes/']").first.click()
    _fits(page, "detail (agency)")
    page.get_by_label("Your message").fill("Gifts are 60 % under clause 2.")
    page.get_by_role("button", name="Send the answer").click()
    page.wait_for_selector("[data-kind=answer]")
    assert page.inner_text("#dispute-state").startswith("Answered")
    dispute.refresh_from_db()
    assert dispute.state == "answered"
