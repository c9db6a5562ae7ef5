"""Statement imports: every format to the canonical shape, row errors, idempotency, counts."""

from __future__ import annotations

import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from apps.income.models import ImportRowError, IncomeLine, StatementImport
from tests.income.conftest import FILES, run_import

pytestmark = pytest.mark.django_db

Status = IncomeLine.Status
HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"


def _errors(statement_import: StatementImport) -> list[tuple[int, str]]:
    return list(
        ImportRowError.objects.filter(statement_import=statement_import).values_list("row_number", "column")
    )


def test_the_spec_example_imports_every_row(statement_world) -> None:
    done = run_import(statement_world, "canonical_example.csv")

    assert done.status == StatementImport.Status.DONE, done.message
    assert (done.format, done.encoding) == ("canonical", "utf-8")
    assert (done.rows_total, done.imported_count, done.duplicate_count, done.error_count) == (4, 4, 0, 0)
    gift = IncomeLine.objects.get(external_id="BL-GIFT-551")
    assert gift.gross_minor == 120450  # "1,204.50": the thousands separator is removed
    # A date alone is midnight in the agency's time zone (Asia/Shanghai).
    assert gift.occurred_at == datetime.datetime(2026, 11, 4, tzinfo=ZoneInfo("Asia/Shanghai"))
    refund = IncomeLine.objects.get(external_id="XT-20261110-0002")
    assert refund.refund_of == IncomeLine.objects.get(external_id="XT-20261103-0001")
    assert refund.creator == statement_world.creator_a
    # No contract is signed in this test: matched lines wait in the queue as no_contract (brand
    # deal payments first go through reconciliation against deals).
    assert set(
        IncomeLine.objects.exclude(source="brand_deal").values_list("exception_reason", flat=True)
    ) == {"no_contract"}


def test_importing_the_same_file_again_adds_nothing(statement_world) -> None:
    run_import(statement_world, "canonical_example.csv")

    again = run_import(statement_world, "canonical_example.csv")

    assert (again.imported_count, again.duplicate_count, again.adjustment_count) == (0, 4, 0)
    assert IncomeLine.objects.count() == 4


def test_any_column_order_case_and_unknown_columns_become_metadata(statement_world) -> None:
    data = (
        b" Currency ,GROSS,Platform,Account_ID,Source,Occurred_At,External_ID,Campaign\n"
        b"CNY,88.00,douyin,dy_88231,live_gifts,2026-11-05T20:00:00+08:00,G-1,Double 11\n"
    )

    done = run_import(statement_world, "reordered.csv", data)

    line = IncomeLine.objects.get(external_id="G-1")
    assert (done.imported_count, line.gross_minor, line.metadata) == (1, 8800, {"Campaign": "Double 11"})


def test_bad_rows_are_reported_with_row_column_and_reason_and_the_rest_imports(statement_world) -> None:
    data = (
        HEADER
        + "OK-1,2026-11-03,douyin,dy_88231,live_gifts,10.00,CNY,,,\n"  # row 2
        + ",2026-11-03,douyin,dy_88231,live_gifts,10.00,CNY,,,\n"  # 3 missing id
        + "E-2,2026-11-03,myspace,dy_88231,live_gifts,10.00,CNY,,,\n"  # 4 platform
        + "E-3,2026-11-03,douyin,dy_88231,tips,10.00,CNY,,,\n"  # 5 source
        + "E-4,03/11/2026,douyin,dy_88231,live_gifts,10.00,CNY,,,\n"  # 6 date
        + "E-5,2026-11-03,douyin,dy_88231,live_gifts,ten,CNY,,,\n"  # 7 amount
        + "E-6,2026-11-03,douyin,dy_88231,live_gifts,0.00,CNY,,,\n"  # 8 zero
        + "E-7,2026-11-03,douyin,dy_88231,live_gifts,10.001,CNY,,,\n"  # 9 decimals
        + "E-8,2026-11-03,douyin,dy_88231,live_gifts,=1+2,CNY,,,\n"  # 10 formula: text, not a number
        + "E-9,2026-11-04,douyin,dy_88231,live_gifts,-11.00,CNY,,OK-1,refund too large\n"  # 11
        + "E-10,2026-11-03T10:00:00,douyin,dy_88231,live_gifts,10.00,CNY,,,\n"  # 12 no offset
        + 'OK-2,2026-11-03,douyin,dy_88231,live_gifts,5.00,CNY,,,=HYPERLINK("http://x")\n'  # 13
    ).encode()

    done = run_import(statement_world, "bad.csv", data)

    assert done.status == StatementImport.Status.DONE
    assert _errors(done) == [
        (3, "external_id"),
        (4, "platform"),
        (5, "source"),
        (6, "occurred_at"),
        (7, "gross"),
        (8, "gross"),
        (9, "gross"),
        (10, "gross"),
        (11, "gross"),
        (12, "occurred_at"),
    ]
    assert "more decimals" in ImportRowError.objects.get(row_number=9).reason
    assert "larger than what is left" in ImportRowError.objects.get(row_number=11).reason
    assert (done.imported_count, done.error_count) == (2, 10)
    # A formula-looking description is kept as plain text.
    assert IncomeLine.objects.get(external_id="OK-2").description == '=HYPERLINK("http://x")'


def test_refunds_share_what_is_left_of_their_original(statement_world) -> None:
    data = (
        HEADER
        + "O-1,2026-11-03,douyin,dy_88231,live_gifts,100.00,CNY,,,\n"
        + "R-1,2026-11-04,douyin,dy_88231,live_gifts,-60.00,CNY,,O-1,\n"
        + "R-2,2026-11-05,douyin,dy_88231,live_gifts,-50.00,CNY,,O-1,\n"
    ).encode()
    first = run_import(statement_world, "refunds.csv", data)
    assert _errors(first) == [(4, "gross")]

    later = run_import(
        statement_world,
        "later.csv",
        (HEADER + "R-3,2026-11-06,douyin,dy_88231,live_gifts,-40.00,CNY,,O-1,\n").encode(),
    )

    assert (later.imported_count, later.error_count) == (1, 0)


def test_unknown_account_goes_to_the_queue_not_to_the_errors(statement_world) -> None:
    data = (HEADER + "U-1,2026-11-03,douyin,somebody_else,live_gifts,10.00,CNY,,,\n").encode()
    # An account of another agency's creator is unknown to this agency too.
    data += b"U-2,2026-11-03,youtube,yt_b,platform_revenue_share,10.00,USD,,,\n"

    done = run_import(statement_world, "unknown.csv", data)

    assert (done.imported_count, done.error_count, done.exception_count) == (2, 0, 2)
    assert set(IncomeLine.objects.values_list("status", "exception_reason", "creator")) == {
        ("exception", "unknown_account", None)
    }
    # The queue says the same of an id nobody has and of another agency's creator's id.
    assert dict(IncomeLine.objects.values_list("external_id", "exception_detail")) == {
        "U-1": "No creator this agency represented on that day has a confirmed douyin account somebody_else",
        "U-2": "No creator this agency represented on that day has a confirmed youtube account yt_b",
    }


def test_a_row_of_a_represented_creator_on_a_day_outside_the_representation_goes_to_the_queue(
    statement_world,
) -> None:
    """Creator A's representation by agency A starts on 2026-01-01 (tests/factories.py)."""
    data = (
        HEADER
        + "EARLY-1,2025-12-31,douyin,dy_88231,live_gifts,10.00,CNY,,,\n"
        + "IN-1,2026-01-01,douyin,dy_88231,live_gifts,10.00,CNY,,,\n"
    ).encode()

    done = run_import(statement_world, "early.csv", data)

    assert (done.imported_count, done.error_count) == (2, 0)
    early = IncomeLine.objects.get(external_id="EARLY-1")
    assert (early.status, early.exception_reason, early.creator) == ("exception", "unknown_account", None)
    assert IncomeLine.objects.get(external_id="IN-1").creator == statement_world.creator_a


def test_a_reissued_line_with_another_amount_becomes_an_adjustment_in_the_queue(statement_world) -> None:
    run_import(
        statement_world,
        "first.csv",
        (HEADER + "A-1,2026-11-03,douyin,dy_88231,live_gifts,100.00,CNY,,,\n").encode(),
    )
    reissue = (HEADER + "A-1,2026-11-03,douyin,dy_88231,live_gifts,120.00,CNY,,,\n").encode()

    done = run_import(statement_world, "reissue.csv", reissue)
    again = run_import(statement_world, "reissue-again.csv", reissue)

    first = IncomeLine.objects.get(external_id="A-1")
    adjustment = IncomeLine.objects.get(adjusts=first)
    assert first.gross_minor == 10000  # never overwritten
    assert (adjustment.gross_minor, adjustment.status, adjustment.exception_reason) == (
        2000,
        "exception",
        "amount_changed",
    )
    assert (done.adjustment_count, done.duplicate_count) == (1, 0)
    assert (again.adjustment_count, again.duplicate_count) == (0, 1)


def test_all_or_nothing_imports_nothing_when_a_row_is_bad(statement_world) -> None:
    data = (
        HEADER
        + "N-1,2026-11-03,douyin,dy_88231,live_gifts,10.00,CNY,,,\n"
        + "N-2,2026-11-03,douyin,dy_88231,live_gifts,0,CNY,,,\n"
    ).encode()

    done = run_import(statement_world, "strict.csv", data, is_all_or_nothing=True)

    assert done.status == StatementImport.Status.FAILED
    assert "nothing was imported" in done.message
    assert _errors(done) == [(3, "gross")]
    assert not IncomeLine.objects.exists()


def test_all_or_nothing_refuses_a_refund_too_large_found_in_the_chunks(statement_world) -> None:
    data = (
        HEADER
        + "N-1,2026-11-03,douyin,dy_88231,live_gifts,10.00,CNY,,,\n"
        + "N-2,2026-11-04,douyin,dy_88231,live_gifts,-20.00,CNY,,N-1,\n"
    ).encode()

    done = run_import(statement_world, "strict.csv", data, is_all_or_nothing=True)

    assert done.status == StatementImport.Status.FAILED
    assert _errors(done) == [(3, "gross")]
    assert not IncomeLine.objects.exists()


def test_xlsx_with_the_canonical_header(statement_world) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["X-1", datetime.datetime(2026, 11, 3), "douyin", "dy_88231", "live_gifts", 1204.5, "CNY"])
    sheet.append(["X-2", "2026-11-03T10:00:00+08:00", "bilibili", "bl_552", "live_gifts", 30, "CNY"])
    sheet.append(["X-3", "2026-11-03", "douyin", "dy_88231", "live_gifts", "=A1*1000", "CNY"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    done = run_import(statement_world, "statement.xlsx", buffer.getvalue())

    assert (done.format, done.imported_count, done.error_count) == ("xlsx", 2, 1)
    assert IncomeLine.objects.get(external_id="X-1").gross_minor == 120450
    assert IncomeLine.objects.get(external_id="X-2").gross_minor == 3000
    assert _errors(done) == [(4, "gross")]


def test_gbk_douyin_settlement_bill(statement_world) -> None:
    done = run_import(statement_world, "douyin_settlement_gbk.csv")

    assert (done.format, done.encoding) == ("douyin", "gb18030")
    assert (done.imported_count, done.error_count, done.exception_count) == (5, 1, 5)
    brand = IncomeLine.objects.get(external_id="DY-JS-20261105-001")
    assert (brand.source, brand.gross_minor, brand.order_ref, brand.description) == (
        "brand_deal",
        880000,
        "XT-ORDER-9001",
        "品牌合作视频：茶饮",
    )
    assert brand.occurred_at == datetime.datetime(2026, 11, 5, 4, 30, tzinfo=datetime.UTC)
    assert brand.metadata == {"达人昵称": "茶小姐", "结算周期": "2026-11"}
    refund = IncomeLine.objects.get(external_id="DY-JS-20261112-004")
    assert refund.refund_of == brand
    assert IncomeLine.objects.get(external_id="DY-JS-20261107-003").source == "ecommerce_commission"
    assert IncomeLine.objects.get(external_id="DY-JS-20261113-005").exception_reason == "unknown_account"
    assert _errors(done) == [(7, "gross")]  # the zero line


def test_youtube_revenue_report(statement_world) -> None:
    done = run_import(statement_world, "youtube_revenue.csv")

    assert (done.format, done.imported_count, done.error_count) == ("youtube", 3, 0)
    november = IncomeLine.objects.get(external_id="YT-UCx9f3-2026-11")
    assert (november.gross_minor, november.currency, november.creator) == (
        211104,
        "USD",
        statement_world.creator_a,
    )
    assert november.occurred_at == datetime.datetime(2026, 11, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert november.metadata["Views"] == "910002"
    assert IncomeLine.objects.get(external_id="YT-UCstranger01-2026-11").exception_reason == "unknown_account"


def test_a_file_in_neither_utf8_nor_gb18030_fails_with_a_clear_message(statement_world) -> None:
    done = run_import(statement_world, "latin.csv", HEADER.encode() + b"\x81\x30\xff\xfe,\n")

    assert done.status == StatementImport.Status.FAILED
    assert "neither UTF-8 nor GB18030" in done.message


def test_a_header_without_required_columns_fails_the_import(statement_world) -> None:
    done = run_import(statement_world, "bad-header.csv", b"id,amount\n1,2\n")

    assert done.status == StatementImport.Status.FAILED
    assert "external_id" in done.message


def test_chunks_are_idempotent_on_import_and_index(statement_world, monkeypatch) -> None:
    import apps.income.pipeline as pipeline
    from apps.income import models

    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 2)
    monkeypatch.setattr(models, "CHUNK_SIZE", 2)
    rows = "".join(f"C-{n},2026-11-03,douyin,dy_88231,live_gifts,{n}.00,CNY,,,\n" for n in range(1, 8))
    from apps.income.pipeline import statement_import_create, statement_import_step
    from tests.income.conftest import upload

    statement_import = statement_import_create(
        agency=statement_world.agency_a,
        actor=statement_world.manager_a,
        file=upload("c.csv", (HEADER + rows).encode()),
        enqueue=False,
    )
    assert statement_import_step(import_id=statement_import.pk, enqueue=False)  # stage
    statement_import.refresh_from_db()
    assert (statement_import.rows_total, statement_import.chunk_count) == (7, 4)
    statement_import_step(import_id=statement_import.pk, enqueue=False)  # chunk 0
    statement_import.refresh_from_db()
    assert (statement_import.rows_done, statement_import.imported_count) == (2, 2)
    while statement_import_step(import_id=statement_import.pk, enqueue=False):
        pass
    # A re-delivered step for a finished import does nothing.
    assert not statement_import_step(import_id=statement_import.pk, enqueue=False)
    statement_import.refresh_from_db()
    assert (statement_import.status, statement_import.imported_count, statement_import.rows_done) == (
        "done",
        7,
        7,
    )
    assert IncomeLine.objects.count() == 7
    assert FILES.exists()
