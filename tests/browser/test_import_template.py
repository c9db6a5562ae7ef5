"""Issue 15's Done when, for templates, in a real Chromium on a 375-px phone: a manager uploads a
statement no adapter knows (a note above a Chinese header, amounts in fen with a direction
column, a totals row), maps its columns on the page the failed import offers, previews the first
rows, saves the template (which imports the waiting file), and a second file with the same
header then imports without asking. Tasks run eagerly (the worker is tested in integration)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.importmaps.models import ImportTemplate
from apps.income.models import IncomeLine
from tests.conftest import login_as
from tests.importmaps.conftest import FIRST_FILE, SECOND_FILE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _upload(page: Any, path: Path, status: str) -> None:
    page.goto("/income/imports/")
    page.set_input_files("input[name=file]", str(path))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector(f"#import-progress[data-status={status}]")


def _fits_the_phone(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_a_template_built_for_an_unknown_file_reads_the_next_file_without_asking(
    world: Any, live_browser_page: Any, celery_eager: None, tmp_path: Path
) -> None:
    page = live_browser_page
    page.set_viewport_size({"width": 375, "height": 740})
    first = tmp_path / "抖音后台收入-2026-11.csv"
    first.write_bytes(FIRST_FILE)
    second = tmp_path / "抖音后台收入-2026-12.csv"
    second.write_bytes(SECOND_FILE)
    login_as(page, world.manager_a)

    # An unknown file: the import fails and offers the mapping step instead of a dead end.
    _upload(page, first, "failed")
    page.click("#map-columns")
    page.wait_for_selector("#mapping-form")
    assert page.locator("#id_header_row").input_value() == "2"  # the note above it is not the header
    assert _fits_the_phone(page)

    # Map each field by its label, as a person (and a screen reader) finds it.
    page.get_by_label("Template name").fill("抖音后台")
    page.locator("#field-external_id").get_by_label("流水号").check()
    page.get_by_label("Date: column").select_option("日期")
    page.get_by_label("Platform: or the same for every row").select_option("douyin")
    page.get_by_label("Creator's account id: column").select_option("抖音号")
    page.get_by_label("Income source: column").select_option("收入类型")
    page.get_by_label("Income source: values to translate").fill(
        "直播礼物 = live_gifts\n带货佣金 = ecommerce_commission"
    )
    page.get_by_label("Amount: column").select_option("金额(分)")
    page.get_by_label("Amounts are in fen / cents (minor units): 12345 means 123.45").check()
    page.get_by_label("Sign from a direction column").select_option("收支方向")
    page.get_by_label("Direction values that mean income (+)").fill("入账")
    page.get_by_label("Direction values that mean money out (−)").fill("出账")
    page.get_by_label("Currency: or the same for every row").fill("CNY")

    # Preview, from the keyboard: the first rows as they will import, nothing saved yet.
    page.focus("#preview-button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#preview")
    rows = page.locator(".preview-row")
    assert rows.count() == 3
    assert page.locator(".preview-row.has-errors").count() == 0
    assert "¥1,204.50" in rows.nth(0).inner_text()
    assert "-¥50.00" in rows.nth(2).inner_text()
    assert "Totals row" in page.locator("#preview-skipped").inner_text()
    assert _fits_the_phone(page)
    assert not ImportTemplate.objects.exists()

    # Save: the template is named and the waiting file is imported with it.
    page.click("#save-button")
    page.wait_for_selector("#import-progress[data-status=done]")
    assert page.locator("[data-count=imported]").inner_text() == "3"
    assert "Imported with template 抖音后台 v1" in page.locator("#import-template").inner_text()

    # The next month's file with the same header: uploaded as any file, imported without asking.
    _upload(page, second, "done")
    assert page.locator("[data-count=imported]").inner_text() == "2"
    assert page.locator("[data-count=errors]").inner_text() == "0"
    assert "Imported with template 抖音后台 v1" in page.locator("#import-template").inner_text()
    assert page.locator("#import-template-offer").count() == 0
    assert _fits_the_phone(page)

    assert sorted(IncomeLine.objects.values_list("external_id", "gross_minor")) == [
        ("LS-001", 120_450),
        ("LS-002", 30_000),
        ("LS-003", -5_000),
        ("LS-004", 88_800),
        ("LS-005", 1_200),
    ]
