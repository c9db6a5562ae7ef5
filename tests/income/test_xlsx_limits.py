"""Hostile workbooks (issue 11): a few kilobytes of zip that inflate to gigabytes, or that name
millions of rows, fail the import with a message that says why, before they cost a worker its
memory; a file of many bad rows reports the first ones and summarises the rest.

The workbooks are written here by hand (zipfile, the minimal parts openpyxl needs), streamed so
that building a 200 MB part costs no memory; each is small on disk."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from collections.abc import Iterable

import pytest

from apps.income import pipeline
from apps.income.importers import xlsx
from apps.income.models import ImportRowError, StatementImport
from tests.income.conftest import run_import

pytestmark = pytest.mark.django_db

FAILED, DONE = StatementImport.Status.FAILED, StatementImport.Status.DONE
MB = 1024 * 1024
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    ),
}
HEADER = ("external_id", "occurred_at", "platform", "account_id", "source", "gross", "currency")


def _inline(column: int, row: int, text: str) -> bytes:
    return f'<c r="{chr(65 + column)}{row}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def _workbook(rows: Iterable[bytes] = (), strings: Iterable[bytes] = ()) -> bytes:
    """A workbook whose sheet has the canonical header in row 1, then `rows` (sheet XML), and
    whose shared strings are `strings` (XML of <si> elements)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}">'.encode())
            for chunk in strings:
                part.write(chunk)
            part.write(b"</sst>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(
                f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}"><sheetData>'.encode()
            )
            part.write(
                b'<row r="1">' + b"".join(_inline(i, 1, name) for i, name in enumerate(HEADER)) + b"</row>"
            )
            for chunk in rows:
                part.write(chunk)
            part.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def _import_measured(world, data: bytes) -> tuple[StatementImport, int]:
    """The import, run through the real pipeline, and the peak of Python memory it allocated."""
    tracemalloc.start()
    try:
        done = run_import(world, "hostile.xlsx", data)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return done, peak


def test_shared_strings_that_inflate_a_thousandfold_are_refused_before_openpyxl_reads_them(
    statement_world,
) -> None:
    one_mb_string = b"<si><t>" + b"x" * MB + b"</t></si>"
    data = _workbook(strings=(one_mb_string for _ in range(200)))  # 200 MB of shared strings
    assert len(data) < MB // 2

    done, peak = _import_measured(statement_world, data)

    assert done.status == FAILED
    assert "xl/sharedStrings.xml inflates" in done.message and "200 MB" in done.message
    assert peak < 20 * MB  # openpyxl held the whole table before: 1.2 GB took a worker to 1.46 GB


def test_a_workbook_that_inflates_past_the_total_limit_is_refused(statement_world, monkeypatch) -> None:
    # Ordinary XML (ratio about 10), only more of it than the limit (lowered here to stay fast).
    monkeypatch.setattr(xlsx, "MAX_INFLATED_BYTES", 2 * MB)
    rows = (b"".join(_inline(0, row, f"id-{row:07d}-{row * 7919 % 1000003}") for row in range(2, 60_000)),)
    done = run_import(statement_world, "big.xlsx", _workbook(rows=rows))

    assert done.status == FAILED
    assert "inflates to" in done.message and "more than the 2 MB a statement may" in done.message


def test_more_shared_strings_than_the_limit_are_refused_as_they_are_read(
    statement_world, monkeypatch
) -> None:
    monkeypatch.setattr(xlsx, "MAX_SHARED_STRINGS", 100)
    strings = (f"<si><t>label {index}</t></si>".encode() for index in range(101))
    done = run_import(statement_world, "strings.xlsx", _workbook(strings=strings))

    assert done.status == FAILED
    assert "more than 100 shared strings" in done.message


def test_a_tiny_sheet_that_names_row_three_million_is_refused_at_excels_row_limit(statement_world) -> None:
    # Blank rows count: openpyxl yields every row up to the last one the sheet names.
    data = _workbook(rows=[b'<row r="3000000"><c r="A3000000" t="inlineStr"><is><t>x</t></is></c></row>'])
    assert len(data) < 10_000

    done, peak = _import_measured(statement_world, data)

    assert done.status == FAILED
    assert "more than 1,048,576 rows" in done.message
    assert peak < 20 * MB


def test_many_bad_rows_report_the_first_thousand_and_summarise_the_rest(statement_world) -> None:
    limit = pipeline.MAX_REPORTED_ERROR_ROWS
    bad = limit + 500
    good = "".join(
        f"good-{row},2026-11-03,douyin,dy_88231,platform_revenue_share,10.00,CNY\n" for row in range(3)
    )
    body = "".join(
        f"bad-{row},2026-11-03,douyin,dy_88231,platform_revenue_share,ten,CNY\n" for row in range(bad)
    )
    data = (",".join(HEADER) + "\n" + good + body).encode()

    done = run_import(statement_world, "bad.csv", data)

    assert done.status == DONE and done.imported_count == 3
    assert done.error_count == bad
    errors = list(ImportRowError.objects.filter(statement_import=done).order_by("row_number", "id"))
    assert len(errors) == limit + 1
    assert errors[-1].reason == "and 500 more rows with errors"
    assert errors[-1].row_number == 2 + 3 + limit  # the first row not reported
    assert errors[-2].column == "gross"

    # The same file again: its errors were not all recorded, so every row is read again (the
    # short cut that retries only the recorded error rows would miss 500 of them).
    again = run_import(statement_world, "bad.csv", data)
    assert again.status == DONE
    assert again.error_count == bad and again.duplicate_count == 3


def test_all_or_nothing_counts_every_refused_row_and_stores_a_bounded_report(statement_world) -> None:
    bad = pipeline.MAX_REPORTED_ERROR_ROWS + 20
    body = "".join(
        f"bad-{row},2026-11-03,douyin,dy_88231,platform_revenue_share,ten,CNY\n" for row in range(bad)
    )
    done = run_import(
        statement_world, "bad.csv", (",".join(HEADER) + "\n" + body).encode(), is_all_or_nothing=True
    )

    assert done.status == FAILED
    assert f"{bad} rows were refused" in done.message
    assert (
        ImportRowError.objects.filter(statement_import=done).count() == pipeline.MAX_REPORTED_ERROR_ROWS + 1
    )
