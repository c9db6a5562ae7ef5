"""The import templates API with DRF's client: create (version 1), change (version 2), archive,
the preview of a file's first rows, 4xx messages a person can act on, and tenancy: another
agency's templates are not found, a viewer reads but may not write."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import api_as
from tests.importmaps.conftest import FIRST_FILE, HEADER, MAPPING, make_template, mapping, statement

pytestmark = pytest.mark.django_db

LIST = "/api/v1/income/templates/"


def _create(client: Any, world: Any, **changes: Any) -> Any:
    body = {"agency": str(world.agency_a.public_id), "name": "Back office", "header": HEADER, "header_row": 2}
    body["mapping"] = MAPPING
    body.update(changes)
    return client.post(LIST, body, format="json")


def test_create_read_change_and_archive_a_template(world: Any) -> None:
    client = api_as(world.manager_a)

    created = _create(client, world)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["name"], body["version"], body["header"], body["header_row"]) == (
        "Back office",
        1,
        HEADER,
        2,
    )
    assert body["mapping"]["fields"]["gross"]["direction"] == {
        "column": "收支方向",
        "positive": ["入账"],
        "negative": ["出账"],
    }
    url = f"{LIST}{body['public_id']}/"

    changed = client.put(url, {"mapping": mapping(description=None)}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["version"] == 2
    assert [item["number"] for item in changed.json()["versions"]] == [2, 1]
    first = client.get(f"{url}versions/1/").json()
    assert "description" in first["mapping"]["fields"]  # version 1 unchanged

    assert client.delete(url).status_code == 204
    assert client.get(url).json()["is_archived"] is True
    assert body["public_id"] not in str(client.get(LIST).json())


def test_a_mapping_that_cannot_work_answers_400_naming_each_field(world: Any) -> None:
    response = _create(
        api_as(world.manager_a), world, mapping=mapping(gross=None, platform={"constant": "x"})
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "template_invalid"
    assert body["errors"] == {
        "platform": "'x' is not a platform; one of douyin, kuaishou, bilibili, xiaohongshu, weixin_channels,"
        " weibo, taobao, tiktok, youtube, other.",
        "gross": "Give a column or a constant.",
    }
    assert body["detail"].startswith("The mapping is not complete: ")


@pytest.mark.parametrize(
    ("changes", "status", "detail"),
    [
        ({"header": ["only one"]}, 400, "A header names at least two columns."),
        ({"name": ""}, 400, "name: This field may not be blank."),
        ({"mapping": "not json"}, 400, "mapping: Send the mapping as a JSON object."),
        ({"header": None}, 400, "header: This field may not be null."),
    ],
)
def test_bad_input_answers_4xx_with_a_message(
    world: Any, changes: dict[str, Any], status: int, detail: str
) -> None:
    response = _create(api_as(world.manager_a), world, **changes)

    assert response.status_code == status, response.content
    assert response.json()["detail"] == detail


def test_a_second_template_of_the_same_name_is_a_conflict(world: Any) -> None:
    client = api_as(world.manager_a)
    _create(client, world)

    response = _create(client, world)

    assert response.status_code == 409
    assert response.json()["detail"] == "Agency A already has a template named 'Back office'."


def test_another_agencys_templates_are_not_found_and_not_listed(world: Any) -> None:
    template = make_template(world)
    url = f"{LIST}{template.public_id}/"

    for outsider in (world.owner_b, world.creator_a.user, world.staff):
        client = api_as(outsider)
        assert client.get(url).status_code == 404
        assert client.put(url, {"name": "Mine"}, format="json").status_code == 404
        assert client.delete(url).status_code == 404
        assert str(template.public_id) not in str(client.get(LIST).json())
    # Agency B cannot create a template in agency A's name either.
    assert _create(api_as(world.owner_b), world).status_code == 404
    template.refresh_from_db()
    assert (template.name, template.is_archived) == ("Douyin back office", False)


def test_a_viewer_reads_templates_but_may_not_change_them(world: Any) -> None:
    template = make_template(world)
    client = api_as(world.viewer_a)

    assert client.get(f"{LIST}{template.public_id}/").status_code == 200
    refused = client.put(f"{LIST}{template.public_id}/", {"name": "Mine"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Your role (viewer) cannot do this in Agency A."
    assert _create(client, world).status_code == 403


def test_the_preview_shows_the_first_rows_as_they_will_import_with_their_errors(world: Any) -> None:
    data = statement(
        "LS-1,2026/11/03 10:00,dy_a,直播礼物,120450,入账,",
        "LS-2,2026/11/04,dy_a,直播礼物,100,冲正,",
        "LS-3,2026/11/05,dy_a,直播礼物,0,入账,",
        total="120550",
    )
    response = api_as(world.manager_a).post(
        f"{LIST}preview/",
        {
            "agency": str(world.agency_a.public_id),
            "file": SimpleUploadedFile("unknown.csv", data),
            "mapping": json.dumps(MAPPING),
        },
        format="multipart",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["header_row"] == 2  # found under the note
    first, second, third = body["rows"]
    assert (first["row"], first["values"]["gross"], first["errors"]) == (3, "¥1,204.50", [])
    assert first["values"]["occurred_at"] == "2026-11-03 10:00 +0800"
    assert second["errors"] == [
        {
            "column": "收支方向",
            "reason": "Unknown direction '冲正': this template reads 入账 as + and 出账 as −.",
        }
    ]
    assert third["errors"] == [{"column": "gross", "reason": "The amount is zero; a line must move money."}]
    assert body["skipped"][0] == {"row": 1, "reason": "Note above the header: not a statement row."}
    assert {"row": 6, "reason": "Totals row (合计 / Total): not an income event."} in body["skipped"]


def test_the_preview_of_another_agency_is_not_found(world: Any) -> None:
    response = api_as(world.owner_b).post(
        f"{LIST}preview/",
        {
            "agency": str(world.agency_a.public_id),
            "file": SimpleUploadedFile("unknown.csv", FIRST_FILE),
            "mapping": json.dumps(MAPPING),
        },
        format="multipart",
    )

    assert response.status_code == 404
