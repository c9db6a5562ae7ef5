"""Under the Content-Security-Policy (script-src/style-src 'self', nothing inline), the key pages
load and work in a real Chromium with no violation: htmx's live preview and queue actions, the
language switch, the simulator, the import page and the API docs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import World, login_as
from tests.contracts.conftest import draft
from tests.deals.conftest import exception_line

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Record every violation the page reports (init scripts are injected by the browser, not the page,
# so the policy does not apply to this listener).
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample || ""}`);
});
"""


@pytest.fixture
def watched_page(live_browser_page: Any) -> Any:
    page = live_browser_page
    page.console_errors = []
    page.on(
        "console",
        lambda message: (
            page.console_errors.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    # A static file the pages need (fenrun.js, htmx, CSS) must load; the favicon does not exist.
    page.on(
        "response",
        lambda response: (
            page.console_errors.append(f"{response.status} {response.url}")
            if response.status >= 400 and "/static/" in response.url
            else None
        ),
    )
    page.add_init_script(LISTEN)
    return page


def _visit(page: Any, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or ""), url
    _assert_clean(page, url)


def _assert_clean(page: Any, where: str) -> None:
    page.wait_for_load_state("load")
    violations = page.evaluate("window.__cspViolations || []")
    assert not violations, f"{where}: {violations}"
    assert not page.console_errors, f"{where}: {page.console_errors}"


def test_key_pages_work_under_the_policy_without_violations(watched_page: Any, world: World) -> None:
    page = watched_page
    _visit(page, "/accounts/login/")
    version = draft(world)
    line = exception_line(world.agency_a)
    login_as(page, world.manager_a)
    _assert_clean(page, "home after sign-in")

    _visit(page, "/splits/simulator/")
    page.click("#simulate")
    page.wait_for_load_state("load")
    _assert_clean(page, "simulator result")

    # The terms page previews through htmx as one types.
    _visit(page, f"/contracts/v/{version.public_id}/edit/")
    with page.expect_response(lambda response: "/preview/" in response.url):
        page.fill("input[name=statement_days]", "20")
    _assert_clean(page, "contract edit preview")
    _visit(page, f"/contracts/v/{version.public_id}/")

    _visit(page, "/income/imports/")

    # The exceptions queue dismisses through htmx; a refused action swaps its message in.
    _visit(page, "/deals/exceptions/")
    row = page.locator(f"tr:has(form[action*='{line.public_id}'])").first
    row.locator("form.dismiss input[name=reason]").fill("   ")
    with page.expect_response(lambda response: "/dismiss/" in response.url) as answer:
        row.locator("form.dismiss button[type=submit]").click()
    assert answer.value.status == 400
    page.wait_for_selector("text=Say why the line is not ours.")
    _assert_clean(page, "queue dismiss (refused: no reason)")

    # The language switch submits itself from static/js/fenrun.js.
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    _assert_clean(page, "language switch")


def test_the_api_docs_render_under_their_own_policy(watched_page: Any, world: World) -> None:
    page = watched_page
    login_as(page, world.manager_a)
    response = page.goto("/api/docs/")
    assert response is not None and response.status == 200
    page.wait_for_selector(".swagger-ui .info", timeout=15_000)
    violations = page.evaluate("window.__cspViolations || []")
    assert not violations, violations
