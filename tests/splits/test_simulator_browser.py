"""A real Chromium uses the split simulator: paste a rule set, type lines, read the splits."""

from __future__ import annotations

import json

import pytest

from apps.splits.forms import EXAMPLE_RULE_SET
from tests.conftest import login_as
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_creator_simulates_a_brand_deal_and_reads_the_explanation(live_browser_page) -> None:
    page = live_browser_page
    login_as(page, UserFactory.create())
    page.goto("/splits/simulator/")

    page.fill("textarea[name=rules]", json.dumps(EXAMPLE_RULE_SET))
    page.fill("input[name=form-0-gross]", "10000.00")
    page.select_option("select[name=form-0-source]", "brand_deal")
    page.select_option("select[name=form-0-platform]", "douyin")
    page.fill("input[name=form-0-occurred_at]", "2026-11-03")
    page.fill("input[name=form-1-gross]", "500.00")
    page.select_option("select[name=form-1-source]", "live_gifts")
    page.fill("input[name=form-2-gross]", "")
    with page.expect_navigation():
        page.click("#simulate")

    first = page.locator('[data-line="L1"]')
    assert "Brand deal ¥10,000.00 on Douyin → Platform service fee 5% = ¥500.00 → ¥9,500.00 split 70/30" in (
        first.locator(".summary").inner_text()
    )
    assert first.locator('tr[data-party="creator"]').inner_text().split() == ["creator", "6650.00", "6650.00"]
    first.locator("summary").click()
    assert "Platform service fee: 5% of ¥10,000.00 = ¥500.00." in first.locator(".explanation").inner_text()
    second = page.locator('[data-line="L2"] tr[data-party="agency"]').inner_text().split()
    assert second == ["agency", "200.00", "200.00"]


def test_an_invalid_rule_set_shows_its_path_next_to_the_field(live_browser_page) -> None:
    page = live_browser_page
    login_as(page, UserFactory.create())
    page.goto("/splits/simulator/")
    rules = json.loads(json.dumps(EXAMPLE_RULE_SET))
    rules["rules"][1]["split"] = {"creator": "69.9999", "agency": "30"}
    page.fill("textarea[name=rules]", json.dumps(rules))
    with page.expect_navigation():
        page.click("#simulate")

    error = page.locator("#rules-error")
    assert "/rules/1/split" in error.inner_text()
    assert "percents sum to 99.9999, not exactly 100" in error.inner_text()
    # Next to the field: the error directly follows the rule set's textarea.
    assert page.locator("textarea[name=rules] + #rules-error").count() == 1
    assert "Splits" not in page.locator("main").inner_text()


def test_a_date_without_offset_is_shown_on_its_row(live_browser_page) -> None:
    page = live_browser_page
    login_as(page, UserFactory.create())
    page.goto("/splits/simulator/")
    page.fill("input[name=form-0-occurred_at]", "2026-11-03T10:00:00")
    with page.expect_navigation():
        page.click("#simulate")
    row_error = page.locator('tr[data-row="1"] [data-field="occurred_at"]')
    assert "has no UTC offset" in row_error.inner_text()
