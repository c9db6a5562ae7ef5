"""The reports page on a 375-px phone in a real Chromium: every table becomes stacked rows (one card
per row, each figure under its column's name), the page never scrolls sideways, and the charts
draw from the vendored Chart.js with no Content-Security-Policy violation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import login_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE_WIDTH = 375


@pytest.fixture
def phone(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": PHONE_WIDTH, "height": 812}, locale="en-US"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.problems = []
    page.on(
        "console",
        # Script errors and CSP refusals; a missing static file is caught below (the favicon is none).
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
    yield page
    context.close()


def _display(page: Any, selector: str) -> str:
    return page.eval_on_selector(selector, "element => getComputedStyle(element).display")


def _fits(page: Any, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{where} is {width}px wide on a {PHONE_WIDTH}px phone"


def test_the_reports_on_a_phone(reported: Any, phone: Any) -> None:
    page = phone
    login_as(page, reported.manager_a)

    for group in ("month", "creator", "platform", "source"):
        response = page.goto(f"/reports/?group={group}&from=2026-10&to=2026-11")
        assert response is not None and response.status == 200, group
        _fits(page, group)
        assert _display(page, "#report-rows thead") == "none", group
        assert _display(page, "#report-rows tbody tr") == "block", group
        first = page.locator("#report-rows tbody tr").first.locator("td").nth(3)
        assert first.get_attribute("data-label") == "Gross"
        # The cell's label shows above its figure (a ::before from data-label), not a column header.
        label = page.eval_on_selector(
            "#report-rows tbody tr td:nth-child(4)", "cell => getComputedStyle(cell, '::before').content"
        )
        assert label == '"Gross"', group

    page.goto("/reports/?group=month&from=2026-10&to=2026-11")
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('canvas[data-report-chart]'))"
    )
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('canvas[data-report-chart]')].map(c => [c.dataset.reportChart, "
        "Chart.getChart(c).data.datasets.map(d => d.label), c.getBoundingClientRect().width])"
    )
    assert [kind for kind, _labels, _width in drawn] == ["source", "platform"]
    assert sorted(drawn[1][1]) == ["Bilibili", "Douyin"]
    assert all(0 < width <= PHONE_WIDTH for _kind, _labels, width in drawn)
    # The figure picker redraws the same charts with the agency's revenue.
    page.select_option("#report-figure", "agency")
    gross = page.evaluate("() => Chart.getChart(document.querySelector('canvas')).data.datasets[0].data")
    assert all(value >= 0 for value in gross)
    _fits(page, "month with charts")
    assert page.problems == []
