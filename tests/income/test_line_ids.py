"""Imported lines carry time-ordered public ids (UUID v7) from the SQL of the chunk step."""

from __future__ import annotations

from apps.income.models import IncomeLine, StatementImport
from tests.income.conftest import run_import


def test_imported_lines_get_unique_version_7_public_ids_in_import_order(statement_world) -> None:
    first = run_import(statement_world, "canonical_example.csv")
    assert first.status == StatementImport.Status.DONE, first.message

    ids = list(IncomeLine.objects.order_by("pk").values_list("public_id", flat=True))
    assert len(ids) == 4 and len(set(ids)) == 4
    assert {value.version for value in ids} == {7}
    assert {value.variant for value in ids} == {"specified in RFC 4122"}
    # The first 48 bits are the time of the insert: no line of the import is older than the import.
    created_ms = int(first.created_at.timestamp() * 1000)
    assert all(value.int >> 80 >= created_ms - 1000 for value in ids)
