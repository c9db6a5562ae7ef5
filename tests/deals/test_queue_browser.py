"""A real Chromium: a manager assigns an unmatched payment to its deal from the exceptions queue
(HTMX, no page reload), and the creator then sees the deal paid."""

from __future__ import annotations

import pytest

from apps.deals.services import deal_reconcile_lines
from apps.income.models import IncomeLine
from tests.conftest import login_as
from tests.deals.conftest import deal, line

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_assigns_an_unmatched_line_and_the_creator_sees_the_deal_paid(
    world, browser, live_server
) -> None:
    target = deal(world, brand="Tea Co", campaign="Spring tea", fee_minor=10_000_00)
    # The brand paid without the order reference and named nothing we know: reconciliation
    # cannot tell the deal (the amount is 3 % off) and puts the line in the queue.
    payment = line(
        world.agency_a,
        world.creator_a,
        external_id="XT-20270110-0001",
        gross_minor=10_300_00,
        description="Transfer from Leaf Holdings",
    )
    deal_reconcile_lines(agency=world.agency_a, line_ids=[payment.pk])
    payment.refresh_from_db()
    assert payment.exception_reason == IncomeLine.ExceptionReason.UNMATCHED_DEAL

    def new_page():
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        return context, context.new_page()

    context, page = new_page()
    login_as(page, world.manager_a)
    page.goto("/deals/exceptions/")
    row = page.locator('tr[data-line="XT-20270110-0001"]')
    assert "No matching brand deal" in row.inner_text()
    assert "¥10,300.00" in row.inner_text()
    row.locator("form.assign-deal select").select_option(str(target.public_id))
    url_before = page.url
    row.locator("form.assign-deal button").click()
    resolved = page.locator('tr[data-line="XT-20270110-0001"][data-state="resolved"]')
    resolved.wait_for()
    assert "Assigned to Tea Co · Spring tea" in resolved.inner_text()
    assert page.url == url_before  # swapped in place by HTMX
    context.close()

    context, page = new_page()
    login_as(page, world.creator_a.user)
    page.goto("/deals/")
    status = page.locator(f'#my-deals tr[data-deal="{target.public_id}"] .deal-status')
    assert status.inner_text() == "Paid"
    page.locator(f'#my-deals tr[data-deal="{target.public_id}"] a').click()
    page.wait_for_url(f"**/deals/{target.public_id}/")
    assert page.locator("#deal-status").inner_text() == "Paid"
    assert page.locator("#deal-paid").inner_text() == "¥10,300.00"
    assert "Overpaid" in page.locator("#payments").inner_text()
    context.close()
