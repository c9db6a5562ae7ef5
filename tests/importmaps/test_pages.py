"""The template pages through Django's test client: the failed import's way on (map the columns,
or choose among the templates that have its header), the mapping form's preview and its errors,
saving a new version, and who may see and change what."""

from __future__ import annotations

from typing import Any

import pytest

from apps.importmaps.models import ImportTemplate, ImportTemplateUse
from apps.income.models import StatementImport
from apps.income.pipeline import statement_import_run
from tests.conftest import web_as
from tests.importmaps.conftest import FIRST_FILE, make_template, mapping
from tests.income.conftest import run_import

pytestmark = pytest.mark.django_db


def _form(**changes: str) -> dict[str, Any]:
    """The mapping form as a person fills it for FIRST_FILE."""
    data: dict[str, Any] = {
        "name": "Douyin back office",
        "header_row": "2",
        "external_id__columns": ["流水号"],
        "occurred_at__column": "日期",
        "platform__constant": "douyin",
        "account_id__column": "抖音号",
        "source__column": "收入类型",
        "source__values": "直播礼物 = live_gifts\n带货佣金 = ecommerce_commission",
        "gross__column": "金额(分)",
        "gross__minor_units": "on",
        "gross__direction_column": "收支方向",
        "gross__direction_positive": "入账",
        "gross__direction_negative": "出账",
        "currency__constant": "CNY",
        "description__column": "备注",
    }
    data.update(changes)
    return data


def test_a_file_nothing_reads_offers_to_map_its_columns(world: Any) -> None:
    waiting = run_import(world, "backoffice.csv", FIRST_FILE)

    page = web_as(world.manager_a).get(f"/income/imports/{waiting.public_id}/").content.decode()

    assert "match no export Fenrun knows" in page
    assert f'href="/income/templates/new/?import={waiting.public_id}"' in page
    # A viewer is not offered what they may not do.
    viewer_page = web_as(world.viewer_a).get(f"/income/imports/{waiting.public_id}/").content.decode()
    assert "Map this file&#x27;s columns" not in viewer_page


def test_the_mapping_form_starts_from_the_files_header_under_its_note(world: Any) -> None:
    waiting = run_import(world, "backoffice.csv", FIRST_FILE)

    response = web_as(world.manager_a).get(f"/income/templates/new/?import={waiting.public_id}")

    assert response.status_code == 200
    page = response.content.decode()
    assert (
        '<option value="2" selected>2: 流水号, 日期, 抖音号, 收入类型, 金额(分), 收支方向, 备注</option>'
        in page
    )
    assert "<dt>收入类型</dt><dd>直播礼物 · 带货佣金</dd>" in page
    form = response.context["form"]
    assert form.initial["occurred_at__column"] == "日期"  # guessed from the names; the person confirms
    assert form.initial["name"] == "backoffice"


def test_preview_shows_the_rows_as_they_will_import_and_saves_nothing(world: Any) -> None:
    waiting = run_import(world, "backoffice.csv", FIRST_FILE)
    url = f"/income/templates/new/?import={waiting.public_id}"

    response = web_as(world.manager_a).post(
        url, {**_form(), "action": "preview", "import": waiting.public_id}
    )

    assert response.status_code == 200
    preview = response.context["preview"]
    assert [row.number for row in preview.rows] == [3, 4, 5]
    assert [row.values["gross"] for row in preview.rows] == ["¥1,204.50", "¥300.00", "-¥50.00"]
    assert preview.skipped[0] == (1, "Note above the header: not a statement row.")
    assert not ImportTemplate.objects.exists()


def test_preview_names_a_missing_field_next_to_it(world: Any) -> None:
    waiting = run_import(world, "backoffice.csv", FIRST_FILE)
    url = f"/income/templates/new/?import={waiting.public_id}"

    response = web_as(world.manager_a).post(url, {**_form(gross__column=""), "action": "preview"})

    assert response.status_code == 400
    assert response.context["form"].errors["gross__column"] == ["Give a column or a constant."]


def test_save_names_the_template_and_imports_the_waiting_file(world: Any) -> None:
    waiting = run_import(world, "backoffice.csv", FIRST_FILE)
    client = web_as(world.manager_a)

    response = client.post(
        f"/income/templates/new/?import={waiting.public_id}", {**_form(), "action": "save"}
    )

    template = ImportTemplate.objects.get()
    use = ImportTemplateUse.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/income/imports/{use.statement_import.public_id}/"
    assert template.current_version is not None and template.current_version.header_row == 2
    done = statement_import_run(statement_import=use.statement_import)
    assert (done.status, done.imported_count) == ("done", 3)
    page = client.get(response["Location"]).content.decode()
    assert (
        f'Imported with template <a href="/income/templates/{template.public_id}/">Douyin back office</a> v1'
        in page
    )


def test_a_file_two_templates_match_is_imported_with_the_one_chosen(world: Any) -> None:
    make_template(world, name="Shop")
    gifts = make_template(world, name="Gifts", mapping=mapping(source={"constant": "live_gifts"}))
    refused = run_import(world, "both.csv", FIRST_FILE)
    client = web_as(world.manager_a)

    page = client.get(f"/income/imports/{refused.public_id}/").content.decode()
    response = client.post(f"/income/templates/{gifts.public_id}/import/", {"import": refused.public_id})

    assert "Choose the template to import this file with" in page
    assert "Import with Gifts" in page and "Import with Shop" in page
    chosen = StatementImport.objects.exclude(pk=refused.pk).get()
    assert response["Location"] == f"/income/imports/{chosen.public_id}/"
    assert ImportTemplateUse.objects.get(statement_import=chosen).version == gifts.current_version


def test_a_new_version_is_saved_from_the_edit_page(world: Any) -> None:
    template = make_template(world)
    client = web_as(world.manager_a)

    response = client.post(
        f"/income/templates/{template.public_id}/edit/", {**_form(description__column=""), "action": "save"}
    )

    assert response.status_code == 302
    template.refresh_from_db()
    assert template.current_version is not None and template.current_version.number == 2
    detail = client.get(f"/income/templates/{template.public_id}/").content.decode()
    assert "Version 2," in detail and "Version 1," in detail


def test_template_pages_of_another_agency_are_not_found(world: Any) -> None:
    template = make_template(world)

    for outsider in (world.owner_b, world.creator_a.user):
        client = web_as(outsider)
        assert client.get(f"/income/templates/{template.public_id}/").status_code == 404
        assert client.get(f"/income/templates/{template.public_id}/edit/").status_code == 404
        assert client.post(f"/income/templates/{template.public_id}/archive/").status_code == 404
        assert "Douyin back office" not in client.get("/income/templates/").content.decode()
    assert web_as(world.viewer_a).get(f"/income/templates/{template.public_id}/edit/").status_code == 403
    template.refresh_from_db()
    assert not template.is_archived
