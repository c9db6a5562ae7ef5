"""Regressions of what `make attack`'s importer fuzzer found (issue 16, bench/attack/fuzz.py)."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from apps.income.models import IncomeLine, StatementImport
from tests.income.adapters.conftest import DATA, errors, import_export, lines_of

pytestmark = pytest.mark.django_db

LONG_ID = re.compile(rb"(?<![0-9])[0-9]{16,19}(?![0-9])")


def _excel_rounded(data: bytes) -> bytes:
    """Every long number as a spreadsheet saves it once it took it for a number: 6.95355E+18."""
    return LONG_ID.sub(lambda m: f"{float(m.group()):.5E}".encode(), data)


@pytest.mark.parametrize(
    "name", ["buyin_orders_bom.csv", "doudian_settlement_gbk.csv", "taobao_union_gbk.csv"]
)
def test_ids_a_spreadsheet_rounded_are_row_errors_not_new_lines(exports_world, name: str) -> None:
    """The file imported clean, then the same file after Excel rounded its 19-digit order ids:
    the rounded rows were recorded again under ids like dd:settle:6.93001E+18 (the money doubled);
    now each is an error row naming the rounded value, and nothing new is recorded."""
    options = {"account": "dy_88231"} if name.startswith("doudian") else {}
    clean = import_export(exports_world, name, **options)
    assert clean.status == "done" and clean.imported_count > 0
    damaged = _excel_rounded((DATA / name).read_bytes())
    assert b"E+18" in damaged
    again = import_export(exports_world, f"rounded-{name}", damaged, **options)
    assert again.status == "done", again.message
    assert again.imported_count == 0
    assert not IncomeLine.objects.filter(statement_import=again).exclude(status="duplicate").exists()
    rounded = [reason for _row, _column, reason in errors(again) if "E+18" in reason]
    assert rounded and all("spreadsheet rounded" in reason for reason in rounded), errors(again)


def test_a_rounded_id_in_a_canonical_file_is_refused_too(statement_world) -> None:
    from tests.income.conftest import run_import

    header = (
        "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
    )
    row = "6.95355E+18,2026-11-03T10:00:00+08:00,douyin,dy_88231,live_gifts,10.00,CNY,,,\n"
    fine = "K-1,2026-11-03T10:00:00+08:00,douyin,dy_88231,live_gifts,10.00,CNY,,,\n"
    done = run_import(statement_world, "rounded.csv", (header + row + fine).encode())
    assert done.status == "done"
    assert list(lines_of(done)) == ["K-1"]  # the fine row is imported
    assert [(r, c) for r, c, _reason in errors(done)] == [(2, "external_id")]


def test_a_utf16_file_without_a_bom_is_refused_with_its_reason_not_a_500(exports_world) -> None:
    """UTF-16-LE without a BOM decodes as UTF-8 with a NUL after every letter; the upload recorded
    that header in the import's jsonb detection, which PostgreSQL refuses ("unsupported Unicode
    escape sequence"): the API answered 500. Now the header is kept without the NULs and the
    import fails with the unknown-format message."""
    data = (DATA / "yt_reporting_estimated_revenue.csv").read_text("utf-8").encode("utf-16-le")
    client = APIClient()
    client.force_authenticate(exports_world.manager_a)
    response = client.post(
        "/api/v1/income/imports/",
        {"agency": str(exports_world.agency_a.public_id), "file": _named(data, "utf16.csv")},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    statement_import = StatementImport.objects.get(public_id=response.json()["public_id"])
    assert "\x00" not in str(statement_import.detection)
    from apps.income.pipeline import statement_import_run

    statement_import = statement_import_run(statement_import=statement_import)
    assert statement_import.status == "failed"
    assert "match no export" in statement_import.message


def _named(data: bytes, name: str):  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


@pytest.mark.parametrize(
    "name", ["canonical_example.csv", "youtube_revenue.csv", "douyin_settlement_gbk.csv"]
)
def test_a_cell_past_csvs_limit_is_one_clear_refusal(statement_world, name: str) -> None:
    """A 5 MB cell in the last row: detection read no header from the head (cut inside that
    cell), so the file was refused as "match no export"; with the head read up to that row the
    format is known, and the row csv cannot read refuses the file with its number, where it was
    an exception the import could not explain."""
    from tests.income.conftest import FILES, run_import

    data = (FILES / name).read_bytes().rstrip(b"\r\n") + b"x" * 5_000_000 + b"\n"
    done = run_import(statement_world, name, data)
    assert done.status == "failed"
    assert "cannot be read as CSV" in done.message and "Row " in done.message, done.message
