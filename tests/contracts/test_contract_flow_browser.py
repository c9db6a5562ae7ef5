"""Done-when, in a real Chromium: a manager drafts from a template with a tiered split, previews
and sends; the creator reads the fairness summary and signs after re-authenticating; the agency
signs; the contract is active; an amendment changes the split, the creator reads the diff and
signs; the engine then gets the new version after its effective date (and the old one before);
the signed PDF passes the hash check and a modified copy fails it."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

import pytest
from django.utils import timezone
from pypdf import PdfReader, PdfWriter

from apps.contracts.models import ContractVersion
from apps.contracts.selectors import contract_version_in_force
from apps.contracts.services import contract_templates_install_builtin
from tests.conftest import login_as
from tests.contracts.conftest import tiered_rules
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign(page, button_text: str) -> None:
    """Tick the acknowledgement, sign, and answer allauth's re-authentication with the password."""
    page.check("input[name=agree]")
    page.click(f"button:has-text('{button_text}')")
    page.wait_for_url("**/accounts/reauthenticate/**")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/contracts/v/**")
    assert "Signed." in page.locator("main").inner_text()


def _switch_to(page, user) -> None:
    page.context.clear_cookies()
    login_as(page, user)


def test_contract_from_draft_to_amendment_in_the_browser(world, live_browser_page, tmp_path: Path) -> None:
    page = live_browser_page
    today = timezone.localdate()
    contract_templates_install_builtin()  # other transactional tests flush the migration's rows

    # --- the manager drafts from the exclusive template (tiered split), previews and sends
    login_as(page, world.manager_a)
    page.goto("/contracts/new/")
    page.select_option("select[name=creator]", label="Creator A")
    page.select_option("select[name=template]", label="Exclusive management")
    page.fill("input[name=start_date]", "2026-01-01")
    page.click("button:has-text('Create draft')")
    page.wait_for_url("**/edit/")
    # Live preview: a change in the form re-renders the document through HTMX.
    page.fill("input[name=payment_days]", "25")
    page.locator("#preview").get_by_text("25 days after period close").wait_for()
    assert "passes ¥100,000.00" in page.locator("#preview").inner_text()
    page.click("button:has-text('Save draft')")
    page.wait_for_url("**/contracts/v/**")
    page.click("#send")
    page.get_by_text("Sent to the creator for signature.").wait_for()
    original = ContractVersion.objects.get(number=1)
    assert original.status == ContractVersion.Status.SENT

    # --- the creator reads the fairness summary and signs
    _switch_to(page, world.creator_a.user)
    page.goto(f"/contracts/v/{original.public_id}/")
    fairness = page.locator("#fairness").inner_text()
    assert "You may ask for the underlying platform statements." in fairness
    assert "创作控制权" in fairness
    _sign(page, "Sign as the creator")

    # --- the agency signs: the contract is active
    _switch_to(page, world.manager_a)
    page.goto(f"/contracts/v/{original.public_id}/")
    _sign(page, "Sign for the agency")
    assert "Version 1: Active" in page.locator("main").inner_text()

    # --- an amendment changes the split from today
    page.click("text=Draft an amendment")
    page.fill("input[name=effective_from]", today.isoformat())
    page.click("button:has-text('Create amendment draft')")
    page.wait_for_url("**/edit/")
    page.fill("textarea[name=rule_set]", json.dumps(tiered_rules("75", "85"), indent=2))
    page.click("button:has-text('Save draft')")
    page.wait_for_url("**/contracts/v/**")
    page.click("#send")
    page.get_by_text("Sent to the creator for signature.").wait_for()
    amendment = ContractVersion.objects.get(number=2)

    # --- the creator reads the diff and signs the amendment
    _switch_to(page, world.creator_a.user)
    page.goto(f"/contracts/{amendment.contract.public_id}/diff/?a=1&b=2")
    rules_diff = page.locator("#diff-rules").inner_text()
    assert "creator 70%, agency 30%" in rules_diff and "creator 75%, agency 25%" in rules_diff
    page.goto(f"/contracts/v/{amendment.public_id}/")
    _sign(page, "Sign as the creator")
    _switch_to(page, world.manager_a)
    page.goto(f"/contracts/v/{amendment.public_id}/")
    _sign(page, "Sign for the agency")
    assert "Version 2: Active" in page.locator("main").inner_text()

    # --- the engine gets the new version from its effective date, the old one before
    noon = timezone.make_aware(datetime.datetime.combine(today, datetime.time(12)))
    in_force = lambda at: contract_version_in_force(creator=world.creator_a, platform="douyin", at=at)  # noqa: E731
    assert in_force(noon) == amendment
    assert in_force(noon - datetime.timedelta(days=1)) == original
    assert in_force(noon).rule_set["rules"][0]["split"]["creator"] == "75"

    # --- the signed PDF passes the check; a modified copy fails
    with page.expect_download() as download_info:
        page.click("text=Download signed PDF")
    signed_pdf = tmp_path / "signed.pdf"
    download_info.value.save_as(signed_pdf)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(signed_pdf.read_bytes())))
    writer.add_metadata({"/Subject": "edited"})
    modified_pdf = tmp_path / "modified.pdf"
    with modified_pdf.open("wb") as handle:
        writer.write(handle)

    page.context.clear_cookies()  # anyone can check, signed in or not
    for path, expected in ((signed_pdf, "Match"), (modified_pdf, "No match")):
        page.goto("/contracts/check-pdf/")
        page.set_input_files("input[name=file]", str(path))
        page.click("button:has-text('Check')")
        result = page.locator("#pdf-check-result").inner_text()
        assert result.startswith(expected), result
