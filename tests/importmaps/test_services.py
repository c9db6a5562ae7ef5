"""Templates through the real services and the real pipeline: versions, who may write, a file no
adapter knows imported with its template (and the second file without asking), the file two
templates match, duplicate external ids and unknown directions, nothing imported twice."""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any

import pytest
from django.db import ProgrammingError, transaction

from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.importmaps.mapping import MappingInvalid
from apps.importmaps.models import ImportTemplateUse, ImportTemplateVersion
from apps.importmaps.selectors import import_template_matches, import_template_use_for_import
from apps.importmaps.services import import_template_archive, import_template_import, import_template_update
from apps.income.importers import detect
from apps.income.models import IncomeLine, StatementImport
from apps.income.pipeline import statement_import_run
from tests.importmaps.conftest import FIRST_FILE, HEADER, SECOND_FILE, make_template, mapping, statement
from tests.income.conftest import run_import, upload

pytestmark = pytest.mark.django_db


def _import_with(world: Any, template: Any, data: bytes, name: str = "income.csv") -> StatementImport:
    created = import_template_import(template=template, actor=world.manager_a, file=upload(name, data))
    return statement_import_run(statement_import=created)


def test_a_template_starts_at_version_1_and_each_change_is_a_new_version(world: Any) -> None:
    template = make_template(world)
    first = template.current_version

    changed = import_template_update(
        template=template, actor=world.manager_a, mapping=mapping(description=None), name="Douyin 2"
    )
    unchanged = import_template_update(
        template=changed, actor=world.manager_a, mapping=mapping(description=None)
    )

    assert first is not None and first.number == 1
    assert changed.name == "Douyin 2"
    assert changed.current_version is not None and changed.current_version.number == 2
    assert unchanged.current_version == changed.current_version  # the same mapping: no version 3
    first.refresh_from_db()
    assert "description" in first.mapping["fields"]  # version 1 is as it was
    assert "description" not in changed.current_version.mapping["fields"]


def test_a_version_can_never_be_changed_in_the_database(world: Any) -> None:
    version = make_template(world).current_version

    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        ImportTemplateVersion.objects.filter(pk=version.pk).update(mapping={})


def test_an_incomplete_mapping_is_refused_with_its_fields(world: Any) -> None:
    with pytest.raises(MappingInvalid) as refused:
        make_template(world, mapping=mapping(gross=None, account_id={"column": "nickname"}))

    assert set(refused.value.errors) == {"gross", "account_id"}
    assert refused.value.code == "template_invalid"


def test_two_templates_of_one_agency_cannot_share_a_name(world: Any) -> None:
    make_template(world, name="Back office")

    with pytest.raises(ApplicationError) as refused:
        make_template(world, name="Back office")

    assert refused.value.status == 409
    assert refused.value.message == "Agency A already has a template named 'Back office'."
    make_template(world, name="Back office", agency=world.agency_b, actor=world.owner_b)  # another agency may


@pytest.mark.parametrize(("actor", "error"), [("viewer_a", PermissionDenied), ("owner_b", NotFound)])
def test_only_the_agencys_importers_write_templates(world: Any, actor: str, error: type) -> None:
    with pytest.raises(error):
        make_template(world, actor=getattr(world, actor))


def test_an_unknown_file_waits_then_imports_with_its_template_and_the_next_file_without_asking(
    world: Any,
) -> None:
    # given: a file no adapter knows
    waiting = run_import(world, "douyin-backoffice-2026-11.csv", FIRST_FILE)
    assert waiting.status == StatementImport.Status.FAILED
    assert "match no export Fenrun knows" in waiting.message
    # when: the agency maps it and imports the waiting file with the template
    template = make_template(world)
    first = statement_import_run(
        statement_import=import_template_import(
            template=template, actor=world.manager_a, statement_import=waiting
        )
    )
    # then
    assert (first.status, first.format, first.imported_count, first.error_count) == ("done", "template", 3, 0)
    use = import_template_use_for_import(statement_import=first)
    assert use is not None and use.version == template.current_version and use.is_chosen
    lines = IncomeLine.objects.filter(statement_import=first).order_by("external_id")
    assert [(line.external_id, line.gross_minor, line.source) for line in lines] == [
        ("LS-001", 120_450, "live_gifts"),
        ("LS-002", 30_000, "ecommerce_commission"),
        ("LS-003", -5_000, "live_gifts"),
    ]
    assert {line.creator_id for line in lines} == {world.creator_a.pk}

    # and the next file with that header is read with the template by itself
    second = run_import(world, "douyin-backoffice-2026-12.csv", SECOND_FILE)
    assert (second.status, second.format, second.imported_count) == ("done", "template", 2)
    use = import_template_use_for_import(statement_import=second)
    assert use is not None and use.version == template.current_version and not use.is_chosen


def test_an_import_keeps_the_version_that_read_it(world: Any) -> None:
    template = make_template(world)
    first = run_import(world, "a.csv", FIRST_FILE)

    import_template_update(template=template, actor=world.manager_a, mapping=mapping(description=None))
    second = run_import(world, "b.csv", SECOND_FILE)

    first_use = import_template_use_for_import(statement_import=first)
    second_use = import_template_use_for_import(statement_import=second)
    assert first_use is not None and second_use is not None
    assert (first_use.version.number, second_use.version.number) == (1, 2)
    assert IncomeLine.objects.get(external_id="LS-001").description == "11月3日直播"
    assert IncomeLine.objects.get(external_id="LS-004").description == ""


def test_a_file_two_templates_match_asks_which_and_imports_nothing_until_then(world: Any) -> None:
    make_template(world, name="Creator A's shop")
    other = make_template(world, name="Creator A's gifts", mapping=mapping(source={"constant": "live_gifts"}))

    refused = run_import(world, "both.csv", FIRST_FILE)

    assert refused.status == StatementImport.Status.FAILED
    assert refused.message == (
        "This file's header matches 2 import templates (Creator A's gifts, Creator A's shop): choose"
        " the one to import it with on the import's page."
    )
    assert not IncomeLine.objects.exists()
    assert not ImportTemplateUse.objects.filter(statement_import=refused).exists()

    chosen = statement_import_run(
        statement_import=import_template_import(
            template=other, actor=world.manager_a, statement_import=refused
        )
    )
    assert (chosen.status, chosen.imported_count) == ("done", 3)
    assert set(IncomeLine.objects.values_list("source", flat=True)) == {"live_gifts"}  # the chosen mapping


def test_an_external_id_twice_in_a_file_is_imported_once_and_the_duplicate_refused(world: Any) -> None:
    template = make_template(world, mapping=mapping(external_id={"columns": ["收入类型"]}))  # not unique
    data = statement(
        "LS-1,2026-11-03,dy_a,直播礼物,100,入账,",
        "LS-2,2026-11-04,dy_a,直播礼物,250,入账,",
        "LS-3,2026-11-04,dy_a,带货佣金,250,入账,",
    )

    first = _import_with(world, template, data)
    again = _import_with(world, template, data)

    assert (first.imported_count, first.error_count, first.adjustment_count) == (2, 1, 0)
    [error] = first.row_errors.all()
    assert (error.row_number, error.column) == (4, "external_id")
    assert "Row 3 of this file has the same external id '直播礼物'" in error.reason
    # The same bytes again: the refused row is read again and still refused; nothing doubles.
    assert (again.imported_count, again.adjustment_count, again.error_count) == (0, 0, 1)
    assert IncomeLine.objects.count() == 2


def test_an_unknown_direction_refuses_its_row_and_imports_the_others(world: Any) -> None:
    template = make_template(world)
    data = statement("LS-1,2026-11-03,dy_a,直播礼物,100,冲正,", "LS-2,2026-11-04,dy_a,直播礼物,250,入账,")

    done = _import_with(world, template, data)

    assert (done.imported_count, done.error_count) == (1, 1)
    [error] = done.row_errors.all()
    assert (error.row_number, error.column) == (3, "收支方向")
    assert error.reason == "Unknown direction '冲正': this template reads 入账 as + and 出账 as −."


def test_a_file_without_the_templates_header_is_refused_before_it_is_stored(world: Any) -> None:
    template = make_template(world)

    with pytest.raises(ApplicationError) as refused:
        import_template_import(
            template=template, actor=world.manager_a, file=upload("other.csv", b"a,b,c\n1,2,3\n")
        )

    assert refused.value.code == "template_header_mismatch"
    assert not StatementImport.objects.exists()


def test_an_archived_template_reads_no_new_file(world: Any) -> None:
    template = make_template(world)
    import_template_archive(template=template, actor=world.manager_a)

    refused = run_import(world, "a.csv", FIRST_FILE)

    assert refused.status == StatementImport.Status.FAILED
    assert import_template_matches(agency_id=world.agency_a.pk, head=[HEADER]) == []


def test_an_upload_read_as_import_template_takes_the_template_with_its_header(world: Any) -> None:
    refused = run_import(world, "a.csv", FIRST_FILE, format="template")
    make_template(world)

    done = run_import(world, "b.csv", FIRST_FILE, format="template")

    assert refused.message == "No import template of Agency A has this file's header."
    assert (done.status, done.imported_count, done.get_format_display()) == ("done", 3, "Import template")


def test_detection_names_the_templates_a_file_matches_and_picks_none(world: Any) -> None:
    make_template(world, name="Shop")
    make_template(world, name="Gifts", mapping=mapping(source={"constant": "live_gifts"}))
    head = tuple(tuple(row) for row in csv.reader(io.StringIO(FIRST_FILE.decode())))
    facts = detect.FileFacts("", False, "utf-8", "", head)

    found = detect.detect(facts, agency_id=world.agency_a.pk)

    assert (found.format, found.label, found.header_row) == ("template", "Import template", 2)
    assert found.reason == "Import template: 2 templates have this header (Gifts, Shop)"
    with pytest.raises(ApplicationError) as unknown:  # another agency's templates are not its own
        detect.detect(facts, agency_id=world.agency_b.pk)
    assert unknown.value.code == "statement_unknown_format"


def test_a_workbook_with_the_templates_header_is_read_with_it(world: Any) -> None:
    """The same layout saved as XLSX: a real date cell, a number cell for the fen, a note above."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["机构收入明细（导出时间：2026-12-01）"])
    sheet.append(HEADER)
    sheet.append(["LS-X1", datetime.datetime(2026, 11, 3, 10, 0), "dy_a", "直播礼物", 120450, "入账", ""])
    sheet.append(["LS-X2", datetime.datetime(2026, 11, 4), "dy_a", "带货佣金", 5000, "出账", ""])
    sheet.append(["合计", None, None, None, 115450, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    make_template(world)

    done = run_import(world, "income.xlsx", buffer.getvalue())

    assert (done.status, done.format, done.imported_count, done.error_count) == ("done", "template", 2, 0)
    first, second = IncomeLine.objects.order_by("external_id")
    assert (first.gross_minor, second.gross_minor, second.source) == (120_450, -5_000, "ecommerce_commission")
    assert first.occurred_at == datetime.datetime(2026, 11, 3, 2, 0, tzinfo=datetime.UTC)  # 10:00 in Shanghai
