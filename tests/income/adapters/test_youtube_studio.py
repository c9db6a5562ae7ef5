"""YouTube Studio "Table data.csv" (a Total row first, no channel column, UTF-8 with BOM) and
"Chart data.csv" (a video per day), the channel chosen at upload."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from apps.income.models import StatementImport
from tests.conftest import api_as, web_as
from tests.income.adapters.conftest import DATA, import_export, lines_of, skipped, upload_file, warnings

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_table_by_video_imports_each_earning_video_for_the_month_chosen_at_upload(exports_world) -> None:
    done = import_export(
        exports_world,
        "Table data.csv",
        (DATA / "yt_studio_table_by_video.csv").read_bytes(),
        account="UCx9f3",
        period="2026-11",
    )

    assert (done.status, done.format, done.encoding) == ("done", "yt_studio", "utf-8")
    assert (
        done.detection["reason"]
        == "YouTube Studio export: columns Content, Video title, Estimated revenue (USD)"
    )
    lines = lines_of(done)
    assert sorted(lines) == ["yt:UCx9f3:a1B2c3D4e5F:2026-11", "yt:UCx9f3:dQw4w9WgXcQ:2026-11"]
    tea = lines["yt:UCx9f3:dQw4w9WgXcQ:2026-11"]
    assert (tea.gross_minor, tea.currency, tea.source, tea.platform) == (
        120130,
        "USD",
        "platform_revenue_share",
        "youtube",
    )
    assert tea.occurred_at == datetime.datetime(2026, 11, 30, tzinfo=SHANGHAI)
    assert tea.creator == exports_world.creator_a
    assert tea.metadata["Views"] == "90211"
    assert lines["yt:UCx9f3:a1B2c3D4e5F:2026-11"].gross_minor == 20125
    # The Total row and the video that earned nothing: skipped and said, never row errors.
    assert set(skipped(done)) == {2, 5}
    assert "Totals row" in skipped(done)[2] and skipped(done)[5] == "No revenue on this row."
    assert (done.error_count, warnings(done)) == (0, {})


def test_a_chart_by_day_keys_each_video_and_day_whatever_way_the_date_is_written(exports_world) -> None:
    done = import_export(
        exports_world, "Chart data.csv", (DATA / "yt_studio_chart_by_day.csv").read_bytes(), account="UCx9f3"
    )

    lines = lines_of(done)
    assert sorted(lines) == ["yt:UCx9f3:dQw4w9WgXcQ:2026-11-03", "yt:UCx9f3:dQw4w9WgXcQ:2026-11-04"]
    first = lines["yt:UCx9f3:dQw4w9WgXcQ:2026-11-03"]
    # 41.204: rounded half to even to the cent, Studio's own figure kept.
    assert (first.gross_minor, first.metadata["Estimated revenue (USD)"]) == (4120, "41.204")
    assert lines["yt:UCx9f3:dQw4w9WgXcQ:2026-11-04"].occurred_at == datetime.datetime(
        2026, 11, 4, tzinfo=SHANGHAI
    )
    assert skipped(done) == {4: "No revenue on this row."}


def test_the_month_written_two_ways_is_one_key(exports_world) -> None:
    data = (DATA / "yt_studio_table_by_video.csv").read_bytes()
    import_export(exports_world, "Table data.csv", data, account="UCx9f3", period="2026-11")

    again = import_export(
        exports_world,
        "Table data (1).csv",
        data.replace(b"90211", b"90999"),
        account="UCx9f3",
        period="2026年11月",
    )

    assert (again.imported_count, again.duplicate_count) == (0, 2)


def test_the_upload_asks_for_the_channel_and_the_month_a_studio_table_lacks(exports_world) -> None:
    client = api_as(exports_world.manager_a)
    agency = str(exports_world.agency_a.public_id)

    def post(**fields):  # type: ignore[no-untyped-def]
        return client.post(
            "/api/v1/income/imports/",
            {
                "agency": agency,
                "file": upload_file("Table data.csv", (DATA / "yt_studio_table_by_video.csv").read_bytes()),
                **fields,
            },
            format="multipart",
        )

    no_account = post()
    no_month = post(account="UCx9f3")
    stranger = post(account="UCstranger01", period="2026-11")
    wrong_platform = post(account="dy_88231", period="2026-11")

    assert (no_account.status_code, no_account.json()["code"]) == (400, "statement_account_required")
    assert "YouTube Studio export" in no_account.json()["detail"]
    assert (no_month.status_code, no_month.json()["code"]) == (400, "statement_period_required")
    assert (stranger.status_code, stranger.json()["code"]) == (400, "statement_bad_account")
    assert wrong_platform.json()["code"] == "statement_bad_account"
    assert not StatementImport.objects.exists()
    accepted = post(
        account=str(exports_world.creator_a.platform_accounts.get(platform="youtube").public_id),
        period="2026-11",
    )
    assert accepted.status_code == 202, accepted.json()
    assert accepted.json()["detection"]["format"] == "yt_studio"


def test_the_upload_page_asks_for_the_channel_beside_its_field(exports_world) -> None:
    page = web_as(exports_world.manager_a).post(
        "/income/imports/",
        {
            "agency": str(exports_world.agency_a.public_id),
            "format": "auto",
            "file": upload_file("Table data.csv", (DATA / "yt_studio_table_by_video.csv").read_bytes()),
            "period": "2026-11",
        },
    )

    assert page.status_code == 200
    assert "This export names no account" in page.context["form"].errors["account"][0]
    assert not StatementImport.objects.exists()


def test_the_import_page_says_how_the_file_was_read_and_lists_skipped_rows_apart_from_errors(
    exports_world,
) -> None:
    done = import_export(
        exports_world,
        "Table data.csv",
        (DATA / "yt_studio_table_by_video.csv").read_bytes(),
        account="UCx9f3",
        period="2026-11",
    )

    page = web_as(exports_world.manager_a).get(f"/income/imports/{done.public_id}/").content.decode()

    assert "Read as YouTube Studio" in page and "Estimated revenue (USD)" in page
    skipped_table = page.split('id="rows-skipped"', 1)[1].split("</table>", 1)[0]
    assert "Totals row" in skipped_table and "No revenue on this row." in skipped_table
    assert 'id="row-errors"' not in page  # nothing refused: skipped rows are not errors
