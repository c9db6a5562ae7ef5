"""A database error a retry may cure leaves the import running and the step retried; only poison
(or running out of retries) fails the import. psycopg's own OperationalError counts: the ledger's
COPY raises it without Django's wrapper."""

from __future__ import annotations

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.income import pipeline, tasks
from apps.income.models import StatementImport

pytestmark = pytest.mark.django_db


def _import(world) -> StatementImport:
    return pipeline.statement_import_create(
        agency=world.agency_a,
        actor=world.manager_a,
        file=SimpleUploadedFile(
            "s.csv",
            b"external_id,occurred_at,platform,account_id,source,gross,currency\n"
            b"A-1,2026-11-03,douyin,dy_a,live_gifts,1.00,CNY\n",
        ),
        enqueue=False,
    )


@pytest.mark.parametrize(
    "error",
    [psycopg.OperationalError("server closed the connection unexpectedly")],
    ids=["psycopg-unwrapped"],
)
def test_a_lost_connection_in_a_step_is_retried_and_does_not_fail_the_import(
    world, monkeypatch, error
) -> None:
    statement_import = _import(world)

    real_step = pipeline.statement_import_step
    calls: list[int] = []

    def lost_connection_once(**kwargs):  # the fault, injected where the ledger's COPY would raise it
        calls.append(kwargs["import_id"])
        if len(calls) == 1:
            raise error
        return real_step(**kwargs)

    monkeypatch.setattr(pipeline, "statement_import_step", lost_connection_once)
    result = tasks.statement_import_step.apply(kwargs={"import_id": statement_import.pk})

    assert result.state == "SUCCESS", result.traceback
    assert len(calls) == 2  # tried again, not given up
    statement_import.refresh_from_db()
    assert statement_import.status != StatementImport.Status.FAILED
