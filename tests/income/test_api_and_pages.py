"""The API, the pages and the management command over the same pipeline; tenancy on each."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from apps.income.models import IncomeLine, StatementImport
from tests.conftest import api_as, web_as
from tests.income.conftest import FILES, run_import, sign_contract

pytestmark = pytest.mark.django_db


def test_api_upload_runs_the_import_after_commit_and_reports_status(
    statement_world, django_capture_on_commit_callbacks, celery_eager
) -> None:
    client = api_as(statement_world.manager_a)
    with (
        (FILES / "canonical_example.csv").open("rb") as handle,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            "/api/v1/income/imports/",
            {"agency": str(statement_world.agency_a.public_id), "file": handle},
            format="multipart",
        )
    assert response.status_code == 202, response.json()
    public_id = response.json()["public_id"]

    status = client.get(f"/api/v1/income/imports/{public_id}/").json()

    assert (status["status"], status["imported_count"], status["progress_percent"]) == ("done", 4, 100)
    assert client.get(f"/api/v1/income/imports/{public_id}/").status_code == 200
    assert api_as(statement_world.owner_b).get(f"/api/v1/income/imports/{public_id}/").status_code == 404


def test_api_refuses_a_viewer_and_another_agency_with_problem_details(statement_world) -> None:
    with (FILES / "canonical_example.csv").open("rb") as handle:
        viewer = api_as(statement_world.viewer_a).post(
            "/api/v1/income/imports/",
            {"agency": str(statement_world.agency_a.public_id), "file": handle},
            format="multipart",
        )
    with (FILES / "canonical_example.csv").open("rb") as handle:
        stranger = api_as(statement_world.owner_b).post(
            "/api/v1/income/imports/",
            {"agency": str(statement_world.agency_a.public_id), "file": handle},
            format="multipart",
        )
    missing = api_as(statement_world.manager_a).post("/api/v1/income/imports/", {}, format="multipart")

    assert viewer.status_code == 403
    assert stranger.status_code == 404
    assert missing.status_code == 400 and missing["Content-Type"] == "application/problem+json"
    assert not StatementImport.objects.exists()


def test_a_creator_sees_their_lines_with_split_and_explanation(
    statement_world, django_assert_max_num_queries
) -> None:
    world = statement_world
    sign_contract(world, world.creator_a, ["douyin"])
    run_import(world, "douyin_settlement_gbk.csv")
    creator = api_as(world.creator_a.user)

    with django_assert_max_num_queries(8):
        lines = creator.get("/api/v1/income/lines/").json()["results"]
    recognised = [line for line in lines if line["status"] == "recognised"]
    detail = creator.get(f"/api/v1/income/lines/{recognised[0]['public_id']}/").json()
    other = IncomeLine.objects.exclude(creator=world.creator_a).first()

    assert {line["creator"] for line in lines} == {str(world.creator_a.public_id)}
    assert detail["split"]["result"]["payable"]["creator"]
    assert detail["split"]["steps"]
    assert creator.get(f"/api/v1/income/lines/{other.public_id}/").status_code == 404
    page = web_as(world.creator_a.user).get("/income/")
    assert page.status_code == 200
    assert "Creator payable" in page.content.decode()
    line_page = web_as(world.creator_a.user).get(f"/income/lines/{recognised[0]['public_id']}/")
    assert "split-steps" in line_page.content.decode()


def test_upload_page_import_detail_and_progress_fragment(statement_world) -> None:
    client = web_as(statement_world.manager_a)
    assert client.get("/income/imports/").status_code == 200
    done = run_import(statement_world, "douyin_settlement_gbk.csv")

    page = client.get(f"/income/imports/{done.public_id}/")
    fragment = client.get(f"/income/imports/{done.public_id}/?fragment=progress", HTTP_HX_REQUEST="true")

    assert page.status_code == 200
    assert "row-errors" in page.content.decode()
    assert fragment["HX-Refresh"] == "true"
    assert web_as(statement_world.owner_b).get(f"/income/imports/{done.public_id}/").status_code == 404


def test_management_command_prints_counts(statement_world, capsys) -> None:
    path = str(FILES / "youtube_revenue.csv")
    call_command("import_statement", path, "--agency", str(statement_world.agency_a.public_id))
    call_command(
        "import_statement", path, "--agency", str(statement_world.agency_a.public_id), "--format", "youtube"
    )

    out = capsys.readouterr().out.splitlines()
    assert "done: 4 rows, 3 imported, 0 duplicates" in out[0]  # Total and zero rows are skipped
    assert "0 imported, 3 duplicates" in out[-2]
    assert "This file was imported before" in out[-1]  # the same bytes: the re-import short cut
    with pytest.raises(CommandError):
        call_command("import_statement", path, "--agency", "not-a-uuid")
