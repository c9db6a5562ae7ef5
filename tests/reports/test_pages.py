"""The reports page and its CSV download: what each member sees, the phone layout's stacked rows,
the charts' data, formula-safe CSV, clear refusals, and a fixed number of queries."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.creators.models import Creator
from tests.conftest import web_as
from tests.reports.conftest import import_many

pytestmark = pytest.mark.django_db

PERIOD = {"from": "2026-10", "to": "2026-11"}


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # spreadsheets read the names' Chinese right
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.mark.parametrize("role", ["owner_a", "manager_a", "finance_a", "viewer_a"])
def test_every_member_reads_the_month_report_with_totals_and_charts(reported, role: str) -> None:
    response = web_as(getattr(reported, role)).get("/reports/", PERIOD)

    assert response.status_code == 200
    html = response.content.decode()
    assert "¥4,141.35" in html  # the two months' gross: 1,691.34 + 2,450.01
    assert 'data-key="2026-10"' in html and 'data-key="2026-11"' in html
    chart = json.loads(
        re.search(r'id="report-chart-data" type="application/json">(.*?)</script>', html).group(1)
    )
    assert chart["charts"][0]["months"] == ["2026-10", "2026-11"]
    assert "vendor/chart.umd.min.js" in html and "js/reports.js" in html
    assert 'href="/reports/revenue.csv?' in html


def test_tables_stack_into_labelled_rows_on_a_phone(reported) -> None:
    """The class every wide table of the app uses on a phone (static/css/fenrun.css): each row
    becomes a card and each cell shows its column's name from data-label."""
    for group in ("month", "creator", "platform", "source"):
        html = web_as(reported.manager_a).get("/reports/", {**PERIOD, "group": group}).content.decode()

        tables = re.findall(r"<table[^>]*>", html)
        assert tables and all('class="stack-on-phone"' in table for table in tables), group
        cells = re.findall(r"<td[^>]*>", html)
        assert cells and all("data-label=" in cell for cell in cells), group


def test_the_creator_report_names_each_creator_with_a_link_to_their_page(reported) -> None:
    world = reported
    html = web_as(world.manager_a).get("/reports/", {**PERIOD, "group": "creator"}).content.decode()

    assert f"/agency/{world.agency_a.public_id}/creators/{world.creator_a.public_id}/" in html
    assert "Creator A2" in html and "Creator B" not in html
    assert "report-charts" not in html  # charts are for months, sources and platforms


def test_the_page_speaks_chinese(reported) -> None:
    client = web_as(reported.manager_a)
    client.cookies["django_language"] = "zh-hans"
    response = client.get("/reports/", PERIOD, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    assert '<html lang="zh-hans"' in response.content.decode()


def test_the_csv_has_every_figure_and_escapes_a_creator_named_like_a_formula(reported) -> None:
    world = reported
    Creator.objects.filter(pk=world.creator_a.pk).update(display_name="=cmd|' /C calc'!A0")

    response = web_as(world.manager_a).get("/reports/revenue.csv", {**PERIOD, "group": "creator"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="revenue-by-creator-2026-10-to-2026-11.csv"' in response["Content-Disposition"]
    header, *rows = _csv(response)
    assert header == [
        "creator",
        "creator_name",
        "currency",
        "lines",
        "gross",
        "deductions",
        "creators_share",
        "other_parties",
        "agency_revenue",
    ]
    names = {row[1] for row in rows}
    assert names == {"'=cmd|' /C calc'!A0", "Creator A2"}
    creator_a = next(row for row in rows if row[0] == str(world.creator_a.public_id))
    gross = 1000_00 + 300_00 + 45_67 + 800_01 - 250_00 + 1200_00
    assert creator_a[2:5] == ["CNY", "6", f"{gross // 100}.{gross % 100:02d}"]


def test_the_month_csv_carries_the_ledgers_figures(reported) -> None:
    response = web_as(reported.finance_a).get("/reports/revenue.csv", PERIOD)

    header, *rows = _csv(response)
    assert header[0] == "month" and header[-4:] == [
        "ledger_gross",
        "ledger_deductions",
        "ledger_agency_revenue",
        "ledger_corrections",
    ]
    assert [row[0] for row in rows] == ["2026-10", "2026-11"]
    for row in rows:
        assert row[header.index("gross")] == row[header.index("ledger_gross")]
        assert row[header.index("agency_revenue")] == row[header.index("ledger_agency_revenue")]
        assert row[header.index("ledger_corrections")] == "0.00"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-11", "to": "2026-10"}, "The first month (2026-11) is after the last (2026-10)"),
        ({"from": "2026-13", "to": "2026-12"}, "is not a month such as 2026-11"),
        ({"from": "next year"}, "is not a month such as 2026-11"),
        ({"from": "2023-01", "to": "2026-01"}, "at most 36 months; 2023-01 to 2026-01 is 37 months"),
        ({"group": "brand"}, "Choose a report by month, creator, platform or source"),
    ],
)
def test_bad_choices_are_told_above_the_form_with_a_400(
    reported, params: dict[str, str], message: str
) -> None:
    client = web_as(reported.manager_a)

    response = client.get("/reports/", params)
    download = client.get("/reports/revenue.csv", params)

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html.replace("&#x27;", "'")
    assert 'id="report-choices"' in html  # the form is there to correct it
    assert download.status_code == 400 and message in download.content.decode().replace("&#x27;", "'")


def test_another_agency_is_not_found_and_a_creator_is_told_reports_are_for_members(reported) -> None:
    world = reported
    manager = web_as(world.manager_a)
    for url in ("/reports/", "/reports/revenue.csv"):
        assert manager.get(url, {"agency": str(world.agency_b.public_id)}).status_code == 404
        assert manager.get(url, {"agency": "not-a-uuid"}).status_code == 404
        refused = web_as(world.creator_a.user).get(url)
        assert refused.status_code == 403
        assert "Reports are for an agency&#x27;s members" in refused.content.decode()
    assert web_as(world.owner_b).get("/reports/", PERIOD).content.decode().count("data-key=") == 2


def _queries(client: Any, url: str, params: dict[str, str]) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(queries)


def test_the_page_and_its_csv_run_the_same_queries_for_3_and_30_lines(contracted) -> None:
    world = contracted
    client = web_as(world.manager_a)
    import_many(world, 3)
    urls = [
        (url, {**PERIOD, "group": group})
        for url in ("/reports/", "/reports/revenue.csv")
        for group in ("month", "creator", "platform", "source")
    ]
    few = [_queries(client, url, params) for url, params in urls]

    import_many(world, 27, start=3)
    many = [_queries(client, url, params) for url, params in urls]

    assert few == many
    assert max(many) <= 12
    html = client.get("/reports/", {**PERIOD, "group": "source"}).content.decode()
    assert html.count("data-key=") == 3  # three sources, each a row
