"""A manager imports every supported format from the browser and watches the progress bar reach
done; importing each file a second time adds nothing and counts duplicates. Tasks run eagerly
here (test_worker_kill.py covers the real worker)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from apps.creators.services import platform_account_add
from apps.income.models import IncomeLine
from tests.conftest import login_as
from tests.income.conftest import FILES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _xlsx(path: Path) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["external_id", "occurred_at", "platform", "account_id", "source", "gross", "currency"])
    sheet.append(["XL-1", datetime.datetime(2026, 11, 3), "douyin", "dy_88231", "live_gifts", 1204.5, "CNY"])
    sheet.append(["XL-2", "2026-11-04T10:00:00+08:00", "bilibili", "bl_552", "live_gifts", 30, "CNY"])
    workbook.save(path)
    return path


def _import(page, path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    page.goto("/income/imports/")
    page.set_input_files("input[name=file]", str(path))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#import-progress[data-status=done]")
    assert page.locator("#import-progress progress").get_attribute("value") == "100"
    return {
        name: page.locator(f"[data-count={name}]").inner_text()
        for name in ("rows", "imported", "duplicates", "errors")
    }


def test_every_format_imports_from_the_browser_and_again_adds_nothing(
    world, live_browser_page, celery_eager, tmp_path
) -> None:
    platform_account_add(creator=world.creator_a, actor=None, platform="douyin", account_id="dy_88231")
    platform_account_add(creator=world.creator_a2, actor=None, platform="bilibili", account_id="bl_552")
    platform_account_add(creator=world.creator_a, actor=None, platform="youtube", account_id="UCx9f3")
    page = live_browser_page
    login_as(page, world.manager_a)
    files = [
        FILES / "canonical_example.csv",
        _xlsx(tmp_path / "statement.xlsx"),
        FILES / "douyin_settlement_gbk.csv",
        FILES / "youtube_revenue.csv",
    ]
    expected = {
        "canonical_example.csv": "4",
        "statement.xlsx": "2",
        "douyin_settlement_gbk.csv": "5",
        "youtube_revenue.csv": "3",
    }

    for path in files:
        first = _import(page, path)
        assert first["imported"] == expected[path.name], (path.name, first)
    lines = IncomeLine.objects.count()
    for path in files:
        again = _import(page, path)
        assert (again["imported"], again["duplicates"]) == ("0", expected[path.name]), (path.name, again)

    assert IncomeLine.objects.count() == lines == 14
    page.goto("/income/imports/")
    assert page.locator("table tbody tr").count() == 8
