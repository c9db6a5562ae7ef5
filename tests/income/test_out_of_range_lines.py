"""Lines dated outside the business bounds: the database refuses them, and migration 0007
repairs the ones stored before, so that no page or API of the agency or the creator answers 500."""

from __future__ import annotations

import datetime
import importlib

import pytest
from django.apps import apps as registry
from django.db import IntegrityError, connection, transaction

from apps.income.models import ImportRowError, IncomeLine, StagedLine, StatementImport
from tests.conftest import api_as, web_as

pytestmark = pytest.mark.django_db

_INSERT_BC_LINE = """
    INSERT INTO income_incomeline (
        public_id, agency_id, creator_id, platform, account_id, external_id, source, gross_minor,
        currency, occurred_at, order_ref, description, metadata, status, exception_reason,
        exception_detail, dismiss_reason, created_at, updated_at)
    VALUES (fenrun_uuid7(), %s, %s, 'douyin', 'dy_a', %s, 'live_gifts', 1000, 'CNY',
        %s::timestamptz, '', '', '{}', 'matched', '', '', '', now(), now())
    RETURNING id
"""


def _insert(world, external_id: str, moment: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_BC_LINE, [world.agency_a.pk, world.creator_a.pk, external_id, moment])
        return int(cursor.fetchone()[0])


def test_the_database_refuses_a_line_dated_outside_the_bounds(world) -> None:
    for moment in ("0001-01-01 00:00:00+08", "1899-12-30 23:00:00+00", "2200-01-03 00:00:00+00"):
        with pytest.raises(IntegrityError, match="income_line_occurred_in_bounds"), transaction.atomic():
            _insert(world, f"BC-{moment}", moment)
    _insert(world, "OK-1", "1900-01-01 00:00:00+08")  # the first day, in Shanghai


def test_the_repair_migration_moves_stored_out_of_range_lines_to_the_queue(world) -> None:
    # As if stored before the constraint: drop it in this test's transaction (rolled back after).
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE income_incomeline DROP CONSTRAINT income_line_occurred_in_bounds")
    early = _insert(world, "BC-1", "0001-01-01 00:00:00+08")
    late = _insert(world, "LATE-1", "9999-06-01 00:00:00+00")
    fine = _insert(world, "OK-1", "2026-11-03 00:00:00+08")

    running = StatementImport.objects.create(
        agency=world.agency_a, file="income/imports/s.csv", status=StatementImport.Status.RUNNING
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO income_stagedline (statement_import_id, row_number, external_id, platform,"
            " account_id, source, gross_minor, currency, occurred_at, order_ref, refund_of, description,"
            " metadata) VALUES (%s, 7, 'S-1', 'douyin', 'dy_a', 'live_gifts', 100, 'CNY',"
            " '0001-01-01 00:00:00+08', '', '', '', '{}')",
            [running.pk],
        )

    repair = importlib.import_module("apps.income.migrations.0007_occurred_at_bounds")
    repair.move_out_of_range_lines_to_the_queue(registry, None)

    early_line, late_line, fine_line = (IncomeLine.objects.get(pk=pk) for pk in (early, late, fine))
    for line in (early_line, late_line):
        assert (line.status, line.exception_reason) == ("exception", "date_out_of_range")
        assert "1900-01-01" in line.exception_detail and "2199-12-31" in line.exception_detail
        assert line.metadata["occurred_at_as_stored"]
    assert "0001-01-01" in early_line.metadata["occurred_at_as_stored"]
    assert early_line.occurred_at == datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)
    assert late_line.occurred_at == datetime.datetime(2199, 12, 31, tzinfo=datetime.UTC)
    assert (fine_line.status, fine_line.exception_reason) == ("matched", "")
    # A staged row of an unfinished import becomes that import's row error.
    assert not StagedLine.objects.filter(statement_import=running).exists()
    assert ImportRowError.objects.get(statement_import=running).row_number == 7
    # Every page and API that lists or shows the lines answers, for the agency and the creator.
    for user in (world.manager_a, world.creator_a.user):
        assert web_as(user).get("/income/").status_code == 200
        assert web_as(user).get(f"/income/lines/{early_line.public_id}/").status_code == 200
        response = api_as(user).get("/api/v1/income/lines/")
        assert response.status_code == 200
        assert str(early_line.public_id) in response.content.decode()
