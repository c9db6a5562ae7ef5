"""The creator's home and income list in a real Chromium on a 375-px phone (issue 14): the charts
draw from the vendored Chart.js under the Content-Security-Policy, nothing is wider than the
screen (lines are cards), and the filters work from the keyboard alone."""

from __future__ import annotations

from typing import Any

import pytest

from apps.income.models import IncomeLine
from tests.browser.test_content_security_policy import LISTEN
from tests.conftest import login_as
from tests.income.conftest import statement_world
from tests.income.history import contract_for, history_rows, import_at

__all__ = ["statement_world"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 375, "height": 812}


@pytest.fixture
def phone(browser: Any, live_server: Any) -> Any:
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.problems = []
    # Script errors; a missing resource is caught below if it is a static file (the favicon is not one).
    page.on(
        "console",
        lambda message: (
            page.problems.append(message.text)
            if message.type == "error" and "Failed to load resource" not in message.text
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            page.problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and "/static/" in response.url
            else None
        ),
    )
    page.add_init_script(LISTEN)
    yield page
    context.close()


def _fits(page: Any, where: str) -> None:
    page.wait_for_load_state("load")
    assert page.evaluate("window.__cspViolations || []") == [], where
    assert page.problems == [], f"{where}: {page.problems}"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{where} is {width}px wide on a {PHONE['width']}px phone"


def test_the_creator_reads_home_and_income_on_a_phone(phone: Any, statement_world: Any) -> None:
    world = statement_world
    contract_for(world, world.creator_a, ["douyin", "youtube"])
    import_at(world, history_rows(12, 3, prefix="P"))
    login_as(phone, world.creator_a.user)

    phone.goto("/")
    _fits(phone, "home")
    for canvas in ("chart-by-source", "chart-by-platform"):
        drawn = phone.evaluate(
            f"(() => {{ const chart = Chart.getChart(document.getElementById('{canvas}'));"
            " return chart ? chart.data.datasets.length : 0; })()"
        )
        assert drawn >= 2, f"{canvas} was not drawn"

    phone.goto("/income/")
    _fits(phone, "income list")
    cell = phone.locator("#income-lines tbody td").first
    assert cell.evaluate("(element) => getComputedStyle(element).display") == "block"  # a card

    # Keyboard only: open the filters, choose a platform, submit.
    phone.focus("#line-filters summary")
    phone.keyboard.press("Enter")
    phone.focus("#id_platform")
    phone.keyboard.press("ArrowDown")  # "Douyin", the first platform after "All platforms"
    with phone.expect_navigation():
        phone.focus("#line-filters button[type=submit]")
        phone.keyboard.press("Enter")
    assert "platform=douyin" in phone.url
    listed = phone.locator("#income-lines tbody tr").count()
    assert listed == IncomeLine.objects.filter(creator=world.creator_a, platform="douyin").count() == 6

    line = IncomeLine.objects.filter(creator=world.creator_a).first()
    phone.goto(f"/income/lines/{line.public_id}/")
    _fits(phone, "line page")
    assert phone.locator("#breakdown-figures tr").count() >= 4
