"""The split rules editor in a real Chromium on a 375-px phone, by keyboard, under the
Content-Security-Policy: a tier added with Enter takes the focus, the preview splits the unsaved
rules through htmx, saving stores exactly what was typed, and the page never scrolls sideways."""

from __future__ import annotations

from typing import Any

import pytest

from apps.contracts.models import ContractVersion
from tests.browser.test_content_security_policy import LISTEN
from tests.conftest import login_as
from tests.contracts.conftest import draft

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 375, "height": 812}


def _fits(page: Any, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        "Array.from(document.querySelectorAll('main *'))"
        f".filter(e => e.getBoundingClientRect().right > {PHONE['width'] + 1})"
        ".slice(0, 5).map(e => `${e.tagName}#${e.id}.${e.className} ${e.name || ''}`)"
    )
    assert width <= PHONE["width"], f"{where}: {width}px wide on a {PHONE['width']}px phone: {wide}"


def test_editing_a_tier_by_keyboard_on_a_phone(world, live_browser_page) -> None:
    page = live_browser_page
    page.set_viewport_size(PHONE)
    page.add_init_script(LISTEN)
    version = draft(world)
    login_as(page, world.manager_a)

    page.goto(f"/contracts/v/{version.public_id}/rules/")
    _fits(page, "the editor")
    # Rule 2 ("Everything else") has no tier: add one with the keyboard.
    add_tier = page.locator("button[value='add-tier-1']")
    add_tier.focus()
    page.keyboard.press("Enter")
    above = page.locator("input[name='rules-1-tiers-0-above']")
    above.wait_for()
    # htmx swapped the editor in place and moved the focus to the new tier's first field.
    assert page.evaluate("document.activeElement.name") == "rules-1-tiers-0-above"
    page.keyboard.type("5000.00")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "rules-1-tiers-0-split-0"
    page.keyboard.type("65")
    page.keyboard.press("Tab")
    page.keyboard.type("35")
    _fits(page, "the editor with a new tier")

    # The preview splits a line under the unsaved rules.
    page.select_option("select[name='sample-source']", "live_gifts")
    page.fill("input[name='sample-gross']", "1000.00")
    page.click("#preview-button")
    page.locator("#preview-shares").wait_for()
    assert "¥600.00" in page.locator("#preview-shares").inner_text()  # 60 % below the new tier
    assert ContractVersion.objects.get(pk=version.pk).rule_set["rules"][1].get("tiers") is None

    page.click("#save-rules")
    page.wait_for_url(f"**/contracts/v/{version.public_id}/rules/")
    assert "Split rules saved." in page.locator("main").inner_text()
    saved = ContractVersion.objects.get(pk=version.pk).rule_set["rules"][1]
    assert saved["tiers"] == [{"above": "5000.00", "split": {"creator": "65", "agency": "35"}}]

    # The advanced view shows the same rules as JSON.
    page.click("button[value='to-json']")
    page.locator("textarea[name='rule_set']").wait_for()
    assert '"above": "5000.00"' in page.locator("textarea[name='rule_set']").input_value()
    _fits(page, "the JSON view")
    assert page.evaluate("window.__cspViolations || []") == []
