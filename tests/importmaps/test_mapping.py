"""A template's mapping: what it refuses to save (field by field), and each transform as the rows
it produces show it, checked by the pipeline's own validation (canonical.validate_row)."""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from apps.importmaps.mapping import (
    MappingInvalid,
    RowMapper,
    find_header,
    header_signature,
    mapping_from_data,
    template_rows,
)
from apps.income.importers.canonical import CanonicalRow, validate_row
from apps.income.importers.exports import ReadReport
from tests.importmaps.conftest import FIRST_FILE, HEADER, MAPPING, mapping, statement

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _rows(data: bytes) -> list[tuple[int, list[str]]]:
    return list(enumerate(csv.reader(io.StringIO(data.decode("utf-8"), newline="")), start=1))


def _read(
    data: bytes, mapping_data: dict[str, Any] = MAPPING, **options: Any
) -> tuple[list[Any], ReadReport]:
    report = ReadReport()
    mapper = RowMapper(mapping_from_data(mapping_data, HEADER), HEADER, zone=SHANGHAI)
    rows = _rows(data)
    header_row = find_header([cells for _n, cells in rows], header_signature(HEADER) or "")
    assert header_row is not None
    results = []
    for mapped in template_rows(mapper, rows, header_row, report=report, **options):
        mapped.raw.errors = mapped.errors or None
        results.append(validate_row(mapped.raw, SHANGHAI))
    return results, report


def _errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(MappingInvalid) as raised:
        mapping_from_data(data, HEADER)
    return raised.value.errors


def test_the_example_statement_reads_into_canonical_lines() -> None:
    results, report = _read(FIRST_FILE)

    assert all(isinstance(row, CanonicalRow) for row in results)
    first, second, third = results
    assert (first.row_number, first.external_id, first.platform, first.account_id) == (
        3,
        "LS-001",
        "douyin",
        "dy_a",
    )
    assert (first.source, first.gross_minor, first.currency) == ("live_gifts", 120_450, "CNY")
    # "2026/11/03 10:00" has no offset: the agency's wall clock.
    assert first.occurred_at == datetime.datetime(2026, 11, 3, 10, 0, tzinfo=SHANGHAI)
    assert first.description == "11月3日直播"
    assert (second.source, second.gross_minor) == ("ecommerce_commission", 30_000)
    assert second.occurred_at == datetime.datetime(2026, 11, 5, tzinfo=SHANGHAI)  # a date alone: midnight
    assert third.gross_minor == -5_000  # 出账: money out
    # The note above the header and the totals row are skipped, not errors; the total is right.
    assert [row for row, _reason in report.skipped] == [1, 6]
    assert report.warnings == []
    assert first.metadata == {}  # every column is mapped (the direction is the sign)


def test_a_column_the_template_does_not_map_stays_with_the_line_as_metadata() -> None:
    results, _report = _read(FIRST_FILE, mapping(description=None))

    assert results[0].metadata == {"备注": "11月3日直播"}
    assert results[0].description == ""


def test_an_unknown_direction_value_is_an_error_of_its_row_naming_the_value() -> None:
    data = statement("LS-1,2026-11-03,dy_a,直播礼物,100,冲正,", "LS-2,2026-11-03,dy_a,直播礼物,100,入账,")

    results, _report = _read(data)

    assert results[0] == [
        ("收支方向", "Unknown direction '冲正': this template reads 入账 as + and 出账 as −.")
    ]
    assert isinstance(results[1], CanonicalRow)


def test_an_external_id_twice_in_one_file_refuses_the_later_row() -> None:
    data = statement(
        "LS-1,2026-11-03,dy_a,直播礼物,100,入账,",
        "LS-1,2026-11-04,dy_a,直播礼物,250,入账,",
        "LS-2,2026-11-04,dy_a,直播礼物,250,入账,",
    )

    results, _report = _read(data)

    assert isinstance(results[0], CanonicalRow) and isinstance(results[2], CanonicalRow)
    [(column, reason)] = results[1]
    assert column == "external_id"
    assert "Row 3 of this file has the same external id 'LS-1'" in reason


def test_a_retried_row_still_meets_the_rows_before_it() -> None:
    """Only row 4 is read again (a re-import retries failed rows): it is still a duplicate."""
    data = statement("LS-1,2026-11-03,dy_a,直播礼物,100,入账,", "LS-1,2026-11-04,dy_a,直播礼物,250,入账,")

    results, _report = _read(data, only_rows={4})

    assert len(results) == 1
    assert results[0][0][0] == "external_id"


def test_an_external_id_from_two_columns_tells_the_rows_apart() -> None:
    data = statement("A,2026-11-03,dy_a,直播礼物,100,入账,", "A,2026-11-04,dy_a,直播礼物,250,入账,")

    results, _report = _read(data, mapping(external_id={"columns": ["流水号", "日期"]}))

    assert [row.external_id for row in results] == ["A-2026-11-03", "A-2026-11-04"]


def test_fen_must_be_whole_and_yuan_are_read_as_written() -> None:
    data = statement(
        "LS-1,2026-11-03,dy_a,直播礼物,100.5,入账,", 'LS-2,2026-11-03,dy_a,直播礼物,"¥1,204.50",入账,'
    )

    in_fen, _report = _read(data)
    in_yuan, _report = _read(data, mapping(gross={"column": "金额(分)"}))

    assert in_fen[0] == [("金额(分)", "'100.5' is not a whole number of minor units (fen, cents).")]
    assert in_yuan[1].gross_minor == 120_450  # the currency mark and the thousands separator go


def test_a_date_format_reads_its_dates_and_names_a_date_that_does_not_fit() -> None:
    data = statement("LS-1,03.11.2026,dy_a,直播礼物,100,入账,", "LS-2,2026-11-03,dy_a,直播礼物,100,入账,")

    results, _report = _read(data, mapping(occurred_at={"column": "日期", "date_format": "%d.%m.%Y"}))

    assert results[0].occurred_at == datetime.datetime(2026, 11, 3, tzinfo=SHANGHAI)
    assert results[1] == [("日期", "'2026-11-03' does not match the date format %d.%m.%Y.")]


def test_a_source_not_in_the_value_map_is_the_pipelines_own_error() -> None:
    data = statement("LS-1,2026-11-03,dy_a,直播打赏,100,入账,")

    [errors], _report = _read(data)

    assert errors[0][0] == "source"
    assert errors[0][1].startswith("Unknown source '直播打赏'")


def test_skip_patterns_skip_rows_by_their_first_cell() -> None:
    data = statement("LS-1,2026-11-03,dy_a,直播礼物,100,入账,", "注：以上数据仅供参考,,,,,,", total="100")

    results, report = _read(data, mapping(skip=["注：*"]))

    assert len(results) == 1
    assert (4, "Matches the template's skip pattern '注：*'.") in report.skipped


def test_a_totals_row_that_differs_from_its_rows_is_a_warning_and_the_rows_import() -> None:
    data = statement("LS-1,2026-11-03,dy_a,直播礼物,100,入账,", total="999")

    results, report = _read(data)

    assert isinstance(results[0], CanonicalRow)
    [(row, message)] = report.warnings
    assert row == 4
    assert "says 9.99 CNY but its rows add up to 1.00 CNY" in message


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"gross": None}, "gross", "Give a column or a constant."),
        ({"account_id": {"column": "达人昵称"}}, "account_id", "The file has no column '达人昵称'."),
        ({"platform": {"constant": "weixin"}}, "platform", "'weixin' is not a platform"),
        ({"platform": {"column": "抖音号", "constant": "douyin"}}, "platform", "not both"),
        ({"external_id": {"constant": "X"}}, "external_id", "never a constant"),
        ({"currency": {"constant": "RMB"}}, "currency", "'RMB' is not an ISO 4217 currency code."),
        (
            {"source": {"column": "收入类型", "values": {"直播礼物": "gifts"}}},
            "source",
            "'gifts' is not a source",
        ),
        ({"occurred_at": {"column": "日期", "date_format": "%Q"}}, "date_format", "Use only"),
        ({"occurred_at": {"column": "日期", "date_format": "%H:%M"}}, "date_format", "needs a year"),
        (
            {
                "gross": {
                    "column": "金额(分)",
                    "direction": {"column": "收支方向", "positive": ["入账"], "negative": []},
                }
            },
            "direction",
            "Give the values that mean income",
        ),
        (
            {
                "gross": {
                    "column": "金额(分)",
                    "direction": {"column": "收支方向", "positive": ["入账"], "negative": ["入账"]},
                }
            },
            "direction",
            "cannot mean both",
        ),
    ],
)
def test_a_mapping_that_cannot_work_is_refused_field_by_field(
    changes: dict[str, Any], field: str, message: str
) -> None:
    errors = _errors(mapping(**changes))

    assert message in errors[field], errors


def test_columns_are_one_name_whatever_the_width_of_their_brackets() -> None:
    full_width = mapping(gross={"column": "金额（分）", "minor_units": True})

    checked = mapping_from_data(full_width, HEADER)

    assert checked.fields["gross"].column == "金额(分)"
    assert header_signature(["流水号", " 日期 "]) == header_signature(["流水号", "日期", "", ""])
    assert header_signature(["机构收入明细", ""]) is None  # a note is no header
