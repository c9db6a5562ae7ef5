"""The import's fast paths, as a user sees them: the same file imported again adds nothing and
says so (only the rows that failed before are checked again), and the streamed staging step
keeps encodings, row numbers and errors exactly as the whole-file one did."""

from __future__ import annotations

import datetime
import io

import pytest
from openpyxl import Workbook

from apps.income.models import ImportRowError, IncomeLine, StatementImport
from apps.income.pipeline import statement_import_create, statement_import_run
from tests.income.conftest import FILES, run_import, upload

pytestmark = pytest.mark.django_db

HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
DONE = StatementImport.Status.DONE


def _errors(statement_import: StatementImport) -> list[tuple[int, str]]:
    return list(
        ImportRowError.objects.filter(statement_import=statement_import).values_list("row_number", "column")
    )


def _counts(statement_import: StatementImport) -> tuple[int, int, int, int]:
    return (
        statement_import.imported_count,
        statement_import.duplicate_count,
        statement_import.adjustment_count,
        statement_import.error_count,
    )


def _xlsx() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["X-1", datetime.datetime(2026, 11, 3), "douyin", "dy_88231", "live_gifts", 1204.5, "CNY"])
    sheet.append(["X-2", "2026-11-03T10:00:00+08:00", "bilibili", "bl_552", "live_gifts", 30, "CNY"])
    sheet.append(["X-3", "2026-11-03", "douyin", "dy_88231", "live_gifts", "=A1*1000", "CNY"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- the same file again ----------------------------------------------------------------------


def test_the_same_canonical_csv_again_adds_nothing_and_says_it_was_imported_before(statement_world) -> None:
    first = run_import(statement_world, "canonical_example.csv")

    again = run_import(statement_world, "canonical_example.csv")

    assert again.status == DONE
    assert (again.rows_total, *_counts(again)) == (4, 0, 4, 0, 0)
    assert again.progress_percent == 100
    assert "This file was imported before" in again.message
    assert "Rows already recorded: 4 (all of them)." in again.message
    assert first.original_name in again.message
    assert IncomeLine.objects.count() == 4
    assert not IncomeLine.objects.filter(statement_import=again).exists()


def test_the_same_workbook_again_counts_duplicates_and_reports_its_bad_row_again(statement_world) -> None:
    # One workbook, imported twice: openpyxl stamps each save with the time to the second, so
    # two saves a second apart are other bytes (and take the per-row path, not this one).
    workbook = _xlsx()
    first = run_import(statement_world, "statement.xlsx", workbook)
    assert (first.format, *_counts(first)) == ("xlsx", 2, 0, 0, 1)

    again = run_import(statement_world, "statement.xlsx", workbook)

    assert (again.format, again.status, *_counts(again)) == ("xlsx", DONE, 0, 2, 0, 1)
    # The row that failed then is checked again, and fails again with its row and column.
    assert _errors(again) == [(4, "gross")]
    assert "Rows already recorded: 2; rows that failed then, checked again: 1." in again.message
    assert IncomeLine.objects.count() == 2


def test_the_same_gbk_douyin_bill_again_adds_nothing(statement_world) -> None:
    first = run_import(statement_world, "douyin_settlement_gbk.csv")
    lines = IncomeLine.objects.count()

    again = run_import(statement_world, "douyin_settlement_gbk.csv")

    assert (again.format, again.encoding) == ("douyin", "gb18030")
    assert _counts(again) == (0, first.imported_count, 0, 1)
    assert _errors(again) == [(7, "gross")]  # the zero line, still refused
    assert IncomeLine.objects.count() == lines


def test_a_refund_that_came_before_its_original_is_matched_when_it_comes_and_the_file_again_is_duplicates(
    statement_world,
) -> None:
    refunds = (
        HEADER
        + "K-1,2026-11-03,douyin,dy_88231,live_gifts,50.00,CNY,,,\n"
        + "K-2,2026-11-05,douyin,dy_88231,live_gifts,-30.00,CNY,,LATE-1,refund of a line not seen yet\n"
        + "K-3,2026-11-06,douyin,dy_88231,live_gifts,20.00,CNY,,,\n"
    ).encode()
    first = run_import(statement_world, "refunds.csv", refunds)
    # Held, not refused: its original may be in a file still to come (issue 16).
    assert (_counts(first), _errors(first)) == ((3, 0, 0, 0), [])
    assert IncomeLine.objects.get(external_id="K-2").exception_reason == "refund_waiting"
    run_import(
        statement_world,
        "originals.csv",
        (HEADER + "LATE-1,2026-11-01,douyin,dy_88231,live_gifts,100.00,CNY,,,\n").encode(),
    )

    again = run_import(statement_world, "refunds.csv", refunds)

    refund = IncomeLine.objects.get(external_id="K-2")
    # Matched, then on to recognition (no contract signed here: its queue says so).
    assert (refund.refund_of.external_id, refund.gross_minor, refund.statement_import) == (
        "LATE-1",
        -3000,
        first,
    )
    assert refund.exception_reason != "refund_waiting"
    assert (again.status, _counts(again), _errors(again)) == (DONE, (0, 3, 0, 0), [])
    assert "Rows already recorded: 3 (all of them)." in again.message
    assert IncomeLine.objects.filter(external_id__startswith="K-").count() == 3


def test_a_byte_identical_file_of_another_agency_is_imported_in_full(statement_world) -> None:
    run_import(statement_world, "canonical_example.csv")

    other = statement_import_run(
        statement_import=statement_import_create(
            agency=statement_world.agency_b,
            actor=statement_world.owner_b,
            file=upload("canonical_example.csv"),
            enqueue=False,
        )
    )

    assert (other.status, other.message, *_counts(other)) == (DONE, "", 4, 0, 0, 0)
    # The accounts are agency A's creators': unknown to agency B, so its lines wait in its queue.
    assert set(
        IncomeLine.objects.filter(agency=statement_world.agency_b).values_list("exception_reason", flat=True)
    ) == {"unknown_account"}


def test_a_file_with_another_format_chosen_is_not_short_cut(statement_world) -> None:
    first = run_import(statement_world, "canonical_example.csv", format="canonical")
    assert first.imported_count == 4

    # Same bytes read as a YouTube report: refused with that format's header message, not
    # counted as the canonical import's duplicates.
    youtube = run_import(statement_world, "canonical_example.csv", format="youtube")

    assert youtube.status == StatementImport.Status.FAILED
    assert "YouTube" in youtube.message


def test_all_or_nothing_again_refuses_the_file_while_a_row_still_fails(statement_world) -> None:
    data = (
        HEADER
        + "N-1,2026-11-03,douyin,dy_88231,live_gifts,10.00,CNY,,,\n"
        + "N-2,2026-11-03,douyin,dy_88231,live_gifts,0,CNY,,,\n"
    ).encode()
    first = run_import(statement_world, "mixed.csv", data)
    assert _counts(first) == (1, 0, 0, 1)

    strict = run_import(statement_world, "mixed.csv", data, is_all_or_nothing=True)

    assert strict.status == StatementImport.Status.FAILED
    assert "nothing was imported" in strict.message
    assert _errors(strict) == [(3, "gross")]
    assert IncomeLine.objects.count() == 1


def test_all_or_nothing_again_after_a_clean_import_is_all_duplicates(statement_world) -> None:
    run_import(statement_world, "canonical_example.csv", is_all_or_nothing=True)

    again = run_import(statement_world, "canonical_example.csv", is_all_or_nothing=True)

    assert (again.status, *_counts(again)) == (DONE, 0, 4, 0, 0)


def test_overlapping_exports_count_duplicates_and_still_record_reissues(statement_world) -> None:
    run_import(
        statement_world,
        "october.csv",
        (
            HEADER
            + "O-1,2026-11-03,douyin,dy_88231,live_gifts,10.00,CNY,,,\n"
            + "O-2,2026-11-04,douyin,dy_88231,live_gifts,20.00,CNY,,,\n"
        ).encode(),
    )

    overlapping = run_import(
        statement_world,
        "october-and-november.csv",
        (
            HEADER
            + "O-1,2026-11-03,douyin,dy_88231,live_gifts,10.00,CNY,,,\n"  # recorded, same amount
            + "O-2,2026-11-04,douyin,dy_88231,live_gifts,25.00,CNY,,,\n"  # re-issued: +5.00
            + "O-3,2026-11-05,douyin,dy_88231,live_gifts,30.00,CNY,,,\n"  # new
            + "O-4,not a date,douyin,dy_88231,live_gifts,30.00,CNY,,,\n"  # malformed
        ).encode(),
    )

    assert (overlapping.message, *_counts(overlapping)) == ("", 1, 1, 1, 1)
    assert _errors(overlapping) == [(5, "occurred_at")]
    adjustment = IncomeLine.objects.get(adjusts__external_id="O-2")
    assert (adjustment.gross_minor, adjustment.exception_reason) == (500, "amount_changed")


# --- streaming the stage step -------------------------------------------------------------------


def test_utf8_with_a_bom_is_read_as_utf8(statement_world) -> None:
    data = b"\xef\xbb\xbf" + (FILES / "canonical_example.csv").read_bytes()

    done = run_import(statement_world, "bom.csv", data)

    assert (done.status, done.encoding, done.imported_count) == (DONE, "utf-8", 4)


def test_gbk_whose_chinese_comes_after_the_first_megabyte_is_still_gbk(statement_world) -> None:
    # Every byte is checked, not a prefix: a detector looking at the first megabyte only would
    # call this UTF-8 and fail (or garble) the rows at the end.
    filler = "x" * 4000
    rows = "".join(f"G-{n},2026-11-03,douyin,dy_88231,live_gifts,1.00,CNY,,,{filler}\n" for n in range(300))
    data = (HEADER + rows + "G-last,2026-11-03,douyin,dy_88231,live_gifts,2.00,CNY,,,直播打赏\n").encode(
        "gbk"
    )
    assert len(data) > 1024 * 1024

    done = run_import(statement_world, "late-chinese.csv", data)

    assert (done.status, done.encoding, done.imported_count, done.error_count) == (DONE, "gb18030", 301, 0)
    assert IncomeLine.objects.get(external_id="G-last").description == "直播打赏"


def test_utf8_with_a_character_across_the_read_blocks_is_utf8(statement_world) -> None:
    # 3-byte characters from the first byte on: whatever the block size, some character is cut
    # in two by a block boundary, and the incremental decoder must join it.
    description = "茶" * 2000
    rows = "".join(
        f"U-{n},2026-11-03,douyin,dy_88231,live_gifts,1.00,CNY,,,{description}\n" for n in range(200)
    )
    data = (HEADER + rows).encode()
    assert len(data) > 1024 * 1024

    done = run_import(statement_world, "tea.csv", data)

    assert (done.status, done.encoding, done.imported_count) == (DONE, "utf-8", 200)
    assert IncomeLine.objects.get(external_id="U-199").description == description


def test_row_errors_keep_their_numbers_across_copy_batches_and_chunks(statement_world, monkeypatch) -> None:
    import apps.income.pipeline as pipeline
    from apps.income import models

    # Small batches and chunks so that the rows below cross several of each.
    monkeypatch.setattr(pipeline, "_COPY_BATCH", 3)
    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 4)
    monkeypatch.setattr(models, "CHUNK_SIZE", 4)
    rows = []
    for n in range(2, 22):  # file rows 2..21
        gross = "0.00" if n in (5, 9, 10, 17) else f"{n}.00"
        rows.append(f"B-{n},2026-11-03,douyin,dy_88231,live_gifts,{gross},CNY,,,\n")
    # Row 20 (21 in the file): a refund larger than its original, refused by its chunk.
    rows[18] = "B-20,2026-11-03,douyin,dy_88231,live_gifts,-1000.00,CNY,,B-2,\n"
    rows.insert(6, "\n")  # a blank line: row 8, skipped, and the rows after it keep their numbers
    data = (HEADER + "".join(rows)).encode()

    done = run_import(statement_world, "batches.csv", data)

    assert done.status == DONE
    assert _errors(done) == [(5, "gross"), (10, "gross"), (11, "gross"), (18, "gross"), (21, "gross")]
    numbers = dict(IncomeLine.objects.values_list("external_id", "row_number"))
    assert numbers["B-2"] == 2
    assert numbers["B-7"] == 7
    assert numbers["B-8"] == 9  # after the blank line
    assert numbers["B-19"] == 20
    assert done.imported_count == 15

    # And again: the same five rows are checked again, the fifteen others are duplicates.
    again = run_import(statement_world, "batches.csv", data)
    assert (again.status, *_counts(again)) == (DONE, 0, 15, 0, 5)
    assert _errors(again) == _errors(done)
