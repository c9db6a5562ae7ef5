"""Auto-detection picks the adapter from the header (notes above it allowed) and says why; a file
nothing knows is refused so that a client can offer to map it."""

from __future__ import annotations

import pytest

from apps.common.exceptions import ApplicationError
from apps.income.importers import detect
from apps.income.models import StatementImport
from apps.income.pipeline import statement_import_run
from tests.conftest import api_as
from tests.income.adapters.conftest import DATA, upload_file

pytestmark = pytest.mark.django_db


def _facts(name: str) -> detect.FileFacts:
    return detect.inspect_head(upload_file(name))


@pytest.mark.parametrize(
    ("name", "code", "header_row"),
    [
        ("yt_studio_table_by_video.csv", "yt_studio", 1),
        ("yt_studio_chart_by_day.csv", "yt_studio", 1),
        ("yt_reporting_estimated_revenue.csv", "yt_reporting", 1),
        ("doudian_settlement_gbk.csv", "doudian_settle", 3),
        ("doudian_fund_flow.xlsx", "doudian_funds", 3),
        ("buyin_orders_bom.csv", "buyin_orders", 1),
        ("taobao_union_gbk.csv", "taobao_union", 1),
    ],
)
def test_each_export_is_recognised_by_its_header(name: str, code: str, header_row: int) -> None:
    found = detect.detect(_facts(name))

    assert (found.format, found.header_row) == (code, header_row)
    assert found.reason.startswith(f"{found.label}: columns ")


def test_the_first_adapters_and_the_canonical_statement_are_still_detected() -> None:
    files = DATA.parents[1] / "income" / "files"
    for name, code in (
        ("youtube_revenue.csv", "youtube"),
        ("douyin_settlement_gbk.csv", "douyin"),
        ("canonical_example.csv", "canonical"),
    ):
        assert (
            detect.detect(detect.inspect_head(upload_file(name, (files / name).read_bytes()))).format == code
        )


def test_an_unknown_file_is_queued_with_its_header_and_fails_for_the_mapping_step(statement_world) -> None:
    data = "导出说明：本表为示例\n日期,主播,收入(元)\n2026-11-03,dy_88231,100.00\n".encode("gb18030")

    response = api_as(statement_world.manager_a).post(
        "/api/v1/income/imports/",
        {"agency": str(statement_world.agency_a.public_id), "file": upload_file("收入.csv", data)},
        format="multipart",
    )

    # Kept (the import-template step maps the stored file), and marked at once for that step.
    assert response.status_code == 202
    detection = response.json()["detection"]
    assert (detection["code"], detection["header"], detection["header_row"]) == (
        "statement_unknown_format",
        ["日期", "主播", "收入(元)"],
        2,
    )
    assert detection["head"][0] == ["导出说明：本表为示例"]
    done = statement_import_run(statement_import=StatementImport.objects.get())
    assert done.status == "failed" and "map its columns" in done.message


def test_the_refusal_names_its_code_and_the_header() -> None:
    facts = detect.inspect_head(upload_file("x.csv", b"id,amount,when\n1,2,3\n"))

    with pytest.raises(ApplicationError) as refused:
        detect.detect(facts)

    assert refused.value.code == "statement_unknown_format"
    assert (refused.value.extra["header"], refused.value.extra["header_row"]) == (["id", "amount", "when"], 1)
