"""Hostile and odd statement rows (issue 11): each is a row error naming its row, column and
reason, the rest of the file imports, and no database error text ever reaches a user."""

from __future__ import annotations

import io

import pytest
from django.utils.translation import override
from openpyxl import Workbook

from apps.income.models import ImportRowError, IncomeLine, StatementImport
from tests.income.conftest import run_import, sign_contract

pytestmark = pytest.mark.django_db

Status = IncomeLine.Status
HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
DONE = StatementImport.Status.DONE
# What PostgreSQL or psycopg say; none of it may reach a person.
RAW_SQL_WORDS = ("postgres", "psycopg", "violates", "invalid byte", "out of range", "bigint", "sql", "0x00")


def _errors(statement_import: StatementImport) -> dict[int, tuple[str, str]]:
    return {
        row: (column, reason)
        for row, column, reason in ImportRowError.objects.filter(statement_import=statement_import)
        .order_by("row_number")
        .values_list("row_number", "column", "reason")
    }


def _assert_no_raw_sql(statement_import: StatementImport) -> None:
    texts = [statement_import.message, *(reason for _column, reason in _errors(statement_import).values())]
    for text in texts:
        assert not any(word in text.lower() for word in RAW_SQL_WORDS), text


def _row(external_id: str, occurred_at: str = "2026-11-03", gross: str = "10.00", **fields: str) -> str:
    values = {
        "external_id": external_id,
        "occurred_at": occurred_at,
        "platform": "douyin",
        "account_id": "dy_88231",
        "source": "live_gifts",
        "gross": gross,
        "currency": "CNY",
        "order_ref": "",
        "refund_of": "",
        "description": "",
    }
    values.update(fields)
    return ",".join(values.values()) + "\n"


# --- 1. dates outside the business bounds ------------------------------------------------------


def test_a_date_outside_the_business_bounds_is_a_row_error_in_the_canonical_csv(statement_world) -> None:
    data = (
        HEADER
        + _row("OK-1")  # 2
        + _row("D-1", "0001-01-01")  # 3: a BC timestamp once shifted to UTC
        + _row("D-2", "1899-12-31")  # 4
        + _row("D-3", "2200-01-01")  # 5
        + _row("D-4", "9999-12-31T23:00:00-05:00")  # 6: past year 9999 in UTC
        + _row("D-5", "0001-01-01T00:30:00+01:00")  # 7
        + _row("OK-2", "1900-01-01")  # 8: the bounds themselves are in
        + _row("OK-3", "2199-12-31T23:59:59+08:00")  # 9
    ).encode()

    done = run_import(statement_world, "dates.csv", data)

    assert done.status == DONE, done.message
    errors = _errors(done)
    assert sorted(errors) == [3, 4, 5, 6, 7]
    for column, reason in errors.values():
        assert column == "occurred_at"
        assert "1900-01-01" in reason and "2199-12-31" in reason
    assert set(IncomeLine.objects.values_list("external_id", flat=True)) == {"OK-1", "OK-2", "OK-3"}
    _assert_no_raw_sql(done)


def test_a_date_outside_the_bounds_is_a_row_error_in_a_workbook(statement_world) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["X-1", "0001-01-01", "douyin", "dy_88231", "live_gifts", 10, "CNY"])
    sheet.append(["X-2", "2026-11-03", "douyin", "dy_88231", "live_gifts", 10, "CNY"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    done = run_import(statement_world, "dates.xlsx", buffer.getvalue())

    assert done.status == DONE, done.message
    assert list(_errors(done)) == [2] and _errors(done)[2][0] == "occurred_at"
    assert list(IncomeLine.objects.values_list("external_id", flat=True)) == ["X-2"]


def test_a_month_outside_the_bounds_is_a_row_error_in_a_youtube_report(statement_world) -> None:
    data = (
        b"Channel,Month,Channel title,Your estimated revenue (USD)\n"
        b"UCx9f3,Jan 0001,Main,10.00\n"  # 2
        b"UCx9f3,0000-11,Main,10.00\n"  # 3: no year 0 in Python's calendar
        b"UCx9f3,2200-01,Main,10.00\n"  # 4
        b"UCx9f3,2026-11,Main,10.00\n"  # 5
    )

    done = run_import(statement_world, "Table data.csv", data, format="youtube")

    assert done.status == DONE, done.message
    errors = _errors(done)
    assert sorted(errors) == [2, 3, 4]
    assert {column for column, _reason in errors.values()} == {"occurred_at"}
    assert IncomeLine.objects.count() == 1
    _assert_no_raw_sql(done)


def test_a_settlement_time_outside_the_bounds_is_a_row_error_in_a_douyin_bill(statement_world) -> None:
    data = (
        "结算单号,结算时间,达人抖音号,收入类型,结算金额(元)\n"
        "DY-1,0001-01-01 00:10:00,dy_88231,直播礼物,10.00\n"
        "DY-2,2026-11-03 10:00:00,dy_88231,直播礼物,10.00\n"
    ).encode()

    done = run_import(statement_world, "douyin.csv", data)

    assert done.status == DONE, done.message
    assert list(_errors(done)) == [2] and _errors(done)[2][0] == "occurred_at"
    assert list(IncomeLine.objects.values_list("external_id", flat=True)) == ["DY-2"]


# --- 2. NUL bytes, fields over the columns' limits ---------------------------------------------


def test_nul_bytes_and_fields_over_the_column_limits_are_row_errors(statement_world) -> None:
    data = (
        HEADER.replace("description\n", "description,Campaign\n")
        + _row("OK-1").replace("\n", ",\n")  # 2
        + _row("N-1", description="a\x00b").replace("\n", ",\n")  # 3 NUL in text
        + _row("N-2").replace("\n", ",x\x00y\n")  # 4 NUL in a metadata column
        + _row("N-\x003").replace("\n", ",\n")  # 5 NUL in the key
        + _row("L-" + "x" * 199).replace("\n", ",\n")  # 6 external_id over 200
        + _row("L-2", account_id="a" * 129).replace("\n", ",\n")  # 7 account_id over 128
        + _row("L-3", order_ref="o" * 201).replace("\n", ",\n")  # 8 order_ref over 200
        + _row("L-4", occurred_at="0001-01-01").replace("\n", ",\n")  # 9 BC
        + _row("OK-2").replace("\n", ",\n")  # 10
    ).encode()

    done = run_import(statement_world, "hostile.csv", data)

    assert done.status == DONE, done.message
    errors = _errors(done)
    assert {row: column for row, (column, _reason) in errors.items()} == {
        3: "description",
        4: "Campaign",
        5: "external_id",
        6: "external_id",
        7: "account_id",
        8: "order_ref",
        9: "occurred_at",
    }
    assert "200" in errors[6][1] and "128" in errors[7][1]
    assert set(IncomeLine.objects.values_list("external_id", flat=True)) == {"OK-1", "OK-2"}
    _assert_no_raw_sql(done)


def test_a_long_key_re_issued_with_another_amount_becomes_an_adjustment(statement_world) -> None:
    key = "K" * 200  # the longest key a line can have; its adjustment's key must fit too
    run_import(statement_world, "first.csv", (HEADER + _row(key, gross="10.00")).encode())

    again = run_import(statement_world, "second.csv", (HEADER + _row(key, gross="12.00")).encode())

    assert again.status == DONE, again.message
    assert again.adjustment_count == 1
    adjustment = IncomeLine.objects.get(exception_reason="amount_changed")
    assert adjustment.gross_minor == 2_00 and len(adjustment.external_id) <= 200
    # The adjustment's key is stable: the same re-issue once more is a duplicate.
    third = run_import(statement_world, "third.csv", (HEADER + _row(key, gross="12.00")).encode())
    assert (third.status, third.adjustment_count, third.duplicate_count) == (DONE, 0, 1)


# --- 3. digits other than 0-9 ------------------------------------------------------------------


def test_amounts_and_dates_with_other_digits_than_0_9_are_row_errors(statement_world) -> None:
    data = (
        HEADER
        + _row("U-1", gross="１２３.００")  # 2 full-width
        + _row("U-2", gross="٣.00")  # 3 Arabic-Indic
        + _row("U-3", gross='"1,٢٣٤.00"')  # 4 in a grouped number
        + _row("U-4", occurred_at="2026-11-03T１０:00:00+08:00")  # 5
        + _row("OK-1", gross="123.00")  # 6
    ).encode()

    done = run_import(statement_world, "digits.csv", data)

    errors = _errors(done)
    assert {row: column for row, (column, _reason) in errors.items()} == {
        2: "gross",
        3: "gross",
        4: "gross",
        5: "occurred_at",
    }
    assert all("0-9" in errors[row][1] for row in (2, 3, 4))
    assert list(IncomeLine.objects.values_list("external_id", flat=True)) == ["OK-1"]


def test_a_douyin_time_and_a_youtube_month_with_full_width_digits_are_refused(statement_world) -> None:
    douyin = run_import(
        statement_world,
        "douyin.csv",
        "结算单号,结算时间,达人抖音号,收入类型,结算金额(元)\nDY-1,２０２６-１１-０３ 10:00,dy_88231,直播礼物,10.00\n".encode(),
    )
    youtube = run_import(
        statement_world,
        "Table data.csv",
        b"Channel,Month,Your estimated revenue (USD)\n" + "UCx9f3,２０２６-１１,10.00\n".encode(),
        format="youtube",
    )

    assert [column for column, _reason in _errors(douyin).values()] == ["occurred_at"]
    assert [column for column, _reason in _errors(youtube).values()] == ["occurred_at"]
    assert not IncomeLine.objects.exists()


# --- 4. one YouTube month, two spellings -------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [("Nov 2026", "2026-11"), ("2026-11", "November 2026"), ("nov. 2026", "2026-11")],
)
def test_the_same_youtube_month_written_two_ways_is_imported_once(statement_world, first, second) -> None:
    header = "Channel,Month,Channel title,Your estimated revenue (USD)\n"
    done = run_import(
        statement_world, "a.csv", f"{header}UCx9f3,{first},Main,312.77\n".encode(), format="youtube"
    )
    again = run_import(
        statement_world, "b.csv", f"{header}UCx9f3,{second},Main,312.77\n".encode(), format="youtube"
    )

    assert (done.imported_count, again.imported_count, again.duplicate_count) == (1, 0, 1)
    assert list(IncomeLine.objects.values_list("external_id", flat=True)) == ["YT-UCx9f3-2026-11"]


def test_youtube_months_recorded_under_their_raw_text_get_the_parsed_key(statement_world) -> None:
    import importlib

    from django.apps import apps as registry

    header = "Channel,Month,Channel title,Your estimated revenue (USD)\n"
    run_import(statement_world, "a.csv", f"{header}UCx9f3,Nov 2026,Main,312.77\n".encode(), format="youtube")
    # As the adapter keyed it before: the month as written.
    IncomeLine.objects.update(external_id="YT-UCx9f3-Nov 2026")

    migration = importlib.import_module("apps.income.migrations.0008_youtube_month_keys")
    migration.normalise_youtube_month_keys(registry, None)
    again = run_import(
        statement_world, "b.csv", f"{header}UCx9f3,2026-11,Main,312.77\n".encode(), format="youtube"
    )

    assert (again.imported_count, again.duplicate_count) == (0, 1)
    assert list(IncomeLine.objects.values_list("external_id", flat=True)) == ["YT-UCx9f3-2026-11"]


def test_a_douyin_settlement_number_is_one_key_however_its_digits_are_written(statement_world) -> None:
    header = "结算单号,结算时间,达人抖音号,收入类型,结算金额(元),关联结算单号\n"
    run_import(
        statement_world, "a.csv", f"{header}JS１２３,2026-11-03 10:00,dy_88231,直播礼物,10.00,\n".encode()
    )

    again = run_import(
        statement_world,
        "b.csv",
        f"{header}JS123,2026-11-03 10:00,dy_88231,直播礼物,10.00,\n"
        f"JS124,2026-11-04 10:00,dy_88231,直播礼物,-4.00,JS１２３\n".encode(),
    )

    assert (again.imported_count, again.duplicate_count, again.error_count) == (1, 1, 0)
    refund = IncomeLine.objects.get(external_id="JS124")
    assert refund.refund_of.external_id == "JS123"


# --- 5. a refund larger than what is left -------------------------------------------------------


def test_a_refund_larger_than_what_is_left_is_reported_on_gross_with_what_is_left(statement_world) -> None:
    data = (
        HEADER
        + _row("O-1", gross="100.00")
        + _row("R-1", gross="-30.00", refund_of="O-1")
        + _row("R-2", gross="-70.01", refund_of="O-1")
    ).encode()

    with override("en"):  # the exact English sentence; another test may leave Chinese active
        done = run_import(statement_world, "refunds.csv", data)

    assert _errors(done) == {4: ("gross", "The refund is larger than what is left of O-1 (70.00 CNY).")}


# --- 6. a running total that would overflow the ledger's balances ------------------------------


def test_rows_that_would_overflow_an_accounts_running_total_are_row_errors(statement_world) -> None:
    from apps.income.pipeline import MAX_AGENCY_TOTAL_MINOR

    sign_contract(statement_world, statement_world.creator_a, ["douyin"])
    huge = "9999999999999.99"  # the largest amount a line may have
    per_row = 999_999_999_999_999
    fits = MAX_AGENCY_TOTAL_MINOR // per_row
    rows = fits + 20
    data = (HEADER + "".join(_row(f"H-{number}", gross=huge) for number in range(rows))).encode()

    done = run_import(statement_world, "huge.csv", data)

    assert done.status == DONE, done.message
    _assert_no_raw_sql(done)
    errors = _errors(done)
    assert sorted(errors) == list(range(2 + fits, 2 + rows))
    column, reason = errors[2 + fits]
    assert column == "gross" and "CNY" in reason
    assert IncomeLine.objects.count() == fits
    assert IncomeLine.objects.filter(allocation__isnull=False).count() == fits  # allocated (issue 12)

    # What is recorded already counts: the next import of one such row is refused too.
    later = run_import(statement_world, "later.csv", (HEADER + _row("H-next", gross=huge)).encode())
    assert list(_errors(later)) == [2]
    # A small line still fits under the bound.
    small = run_import(statement_world, "small.csv", (HEADER + _row("S-1", gross="0.01")).encode())
    assert small.imported_count == 1
