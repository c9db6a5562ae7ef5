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
    # What the agency owes, in plain words: never the ledger's account name (issue 14).
    assert "Agency A owes you" in page.content.decode()
    assert "Creator payable" not in page.content.decode()
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


def test_the_progress_bar_names_each_step_and_reaches_100_only_when_done(
    statement_world, monkeypatch
) -> None:
    """Issue 14: the bar sat at 100 % for a minute while recognition ran. Stepped by hand as a
    worker runs it (two lines per recognition step, so that step is seen), the page names the
    step running and the percentage only rises, reaching 100 when the import is done."""
    from apps.income import pipeline
    from apps.income.pipeline import statement_import_create, statement_import_step
    from tests.income.conftest import upload

    monkeypatch.setattr(pipeline, "RECOGNITION_BATCH", 2)
    sign_contract(statement_world, statement_world.creator_a, ["douyin"])
    sign_contract(statement_world, statement_world.creator_a2, ["bilibili"])
    statement_import = statement_import_create(
        agency=statement_world.agency_a,
        actor=statement_world.manager_a,
        file=upload("canonical_example.csv"),
        enqueue=False,
    )
    client = web_as(statement_world.manager_a)
    seen: list[tuple[str, int, str]] = []
    more = True
    while True:
        statement_import.refresh_from_db()
        fragment = client.get(
            f"/income/imports/{statement_import.public_id}/?fragment=progress", HTTP_HX_REQUEST="true"
        )
        text = fragment.content.decode() if not fragment.has_header("HX-Refresh") else ""
        seen.append((statement_import.step, statement_import.progress_percent, text))
        if not more:
            break
        more = statement_import_step(import_id=statement_import.pk, enqueue=False)

    steps = [step for step, _percent, _text in seen]
    percents = [percent for _step, percent, _text in seen]
    assert steps[0] == "queued" and steps[-1] == "done"
    assert "matching" in steps and "recognising" in steps
    assert percents == sorted(percents), seen
    assert all(percent < 100 for step, percent, _text in seen if step != "done"), seen
    recognising = next(text for step, _percent, text in seen if step == "recognising")
    assert "Splitting the lines and recording them in the ledger" in recognising
    assert "lines split so far" in recognising


def test_a_finished_import_links_to_its_lines_and_its_queue(statement_world) -> None:
    done = run_import(statement_world, "canonical_example.csv")  # no contract: every line waits
    assert done.exception_count > 0
    client = web_as(statement_world.manager_a)
    page = client.get(f"/income/imports/{done.public_id}/").content.decode()
    assert f"/income/?import={done.public_id}" in page
    assert f"/income/?import={done.public_id}&amp;status=exception" in page

    other = run_import(statement_world, "youtube_revenue.csv")
    lines = client.get(f"/income/?import={done.public_id}").content.decode()
    ours = IncomeLine.objects.filter(statement_import=done)
    theirs = IncomeLine.objects.filter(statement_import=other)
    assert all(f"/income/lines/{line.public_id}/" in lines for line in ours)
    assert not any(f"/income/lines/{line.public_id}/" in lines for line in theirs)
    api = api_as(statement_world.manager_a).get(f"/api/v1/income/lines/?import={done.public_id}").json()
    assert {row["public_id"] for row in api["results"]} == {str(line.public_id) for line in ours}
    # Another agency's import is not found, on the page and in the API.
    assert web_as(statement_world.owner_b).get(f"/income/?import={done.public_id}").status_code == 404
    assert (
        api_as(statement_world.owner_b).get(f"/api/v1/income/lines/?import={done.public_id}").status_code
        == 404
    )
    assert client.get("/income/?import=not-a-uuid").status_code == 404
