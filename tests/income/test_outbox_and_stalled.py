"""A broker outage after a step commits delays the import and never fails or strands it (the
transactional outbox); a killed worker's import is re-sent within seconds by the sweep, which
never touches an import a live step holds; copies of a superseded step do nothing (issue 16).

The broker is made unreachable for real: Celery is pointed at a port nothing listens on, so
publishing raises what a Redis outage raises (kombu's OperationalError).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections, transaction
from django.utils import timezone

from apps.common.models import OutboxMessage
from apps.common.outbox import outbox_relay
from apps.income import pipeline, tasks
from apps.income.models import IncomeLine, StatementImport
from tests.conftest import api_as, web_as
from tests.income.conftest import sign_contract

pytestmark = pytest.mark.django_db(transaction=True)

DEAD_BROKER = "redis://127.0.0.1:1/0"
HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency\n"


def _file(rows: int = 3) -> SimpleUploadedFile:
    body = "".join(f"O-{n},2026-11-0{1 + n % 9},douyin,dy_a,live_gifts,{n + 1}.00,CNY\n" for n in range(rows))
    return SimpleUploadedFile("s.csv", (HEADER + body).encode())


@contextmanager
def dead_broker() -> Iterator[None]:
    from config.celery_app import app

    saved = app.conf.broker_url
    app.conf.broker_url = DEAD_BROKER
    app._pool = None  # the connection pool and producers were made for the live broker
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.broker_url = saved
        app._pool = None
        app.amqp._producer_pool = None


def _steps() -> Any:
    return OutboxMessage.objects.filter(key__startswith="income.import:")


def _age_outbox(seconds: int) -> None:
    past = timezone.now() - timedelta(seconds=seconds)
    OutboxMessage.objects.update(created_at=past)
    OutboxMessage.objects.exclude(published_at=None).update(published_at=past)


def _age_import(statement_import: StatementImport, seconds: int) -> None:
    StatementImport.objects.filter(pk=statement_import.pk).update(
        updated_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_a_step_that_commits_while_the_broker_is_down_leaves_the_next_step_due_not_failed(world) -> None:
    sign_contract(world, world.creator_a, ["douyin"])
    statement_import = pipeline.statement_import_create(
        agency=world.agency_a, actor=world.manager_a, file=_file(), enqueue=False
    )

    # The worker's task, run here: the stage commits, then publishing the next step fails.
    with dead_broker():
        result = tasks.statement_import_step.apply(kwargs={"import_id": statement_import.pk})

    assert result.state == "SUCCESS", result.traceback
    statement_import.refresh_from_db()
    assert statement_import.status == "running"  # staged, waiting: not failed
    assert statement_import.message == ""
    [due] = _steps().filter(published_at=None)
    assert due.kwargs == {"import_id": statement_import.pk, "agency_id": world.agency_a.pk, "outbox_id": None}
    assert due.publish_attempts == 1 and "OperationalError" in due.last_error


def test_the_relay_retries_until_the_broker_takes_the_message(world) -> None:
    sign_contract(world, world.creator_a, ["douyin"])
    with dead_broker():
        statement_import = pipeline.statement_import_create(
            agency=world.agency_a, actor=world.manager_a, file=_file(), enqueue=True
        )
        [due] = _steps().filter(published_at=None)
        _age_outbox(10)

        assert outbox_relay() == 0  # still down: kept, attempts counted, nothing lost
    due.refresh_from_db()
    assert due.published_at is None and due.publish_attempts == 2

    from config.celery_app import app

    app.conf.task_always_eager, saved = True, app.conf.task_always_eager
    try:
        assert outbox_relay() == 1  # back (eager: the step runs here, then its next ones)
    finally:
        app.conf.task_always_eager = saved
    statement_import.refresh_from_db()
    assert statement_import.status == "done"
    assert IncomeLine.objects.filter(statement_import=statement_import).count() == 3
    due.refresh_from_db()
    assert due.published_at is not None


def test_an_upload_while_the_broker_is_down_is_accepted_and_waits(world) -> None:
    with dead_broker():
        response = api_as(world.manager_a).post(
            "/api/v1/income/imports/",
            {"agency": str(world.agency_a.public_id), "file": _file()},
            format="multipart",
        )

    assert response.status_code == 202, response.content
    statement_import = StatementImport.objects.get(public_id=response.json()["public_id"])
    assert statement_import.status == "queued"
    assert OutboxMessage.objects.filter(
        published_at=None, key=f"income.import:{statement_import.pk}"
    ).exists()


def test_the_sweep_resends_a_step_whose_worker_died_and_the_import_finishes(world, celery_eager) -> None:
    sign_contract(world, world.creator_a, ["douyin"])
    statement_import = pipeline.statement_import_create(
        agency=world.agency_a, actor=world.manager_a, file=_file(), enqueue=False
    )
    # As a killed worker leaves it: the message was published (and taken), no step committed.
    OutboxMessage.objects.create(
        key=f"income.import:{statement_import.pk}",
        task=pipeline.STEP_TASK,
        kwargs={"import_id": statement_import.pk, "agency_id": world.agency_a.pk, "outbox_id": None},
        published_at=timezone.now(),
    )
    _age_outbox(30)
    _age_import(statement_import, 30)

    assert pipeline.statement_import_resume_stalled() == [statement_import.pk]

    statement_import.refresh_from_db()
    assert statement_import.status == "done"
    assert IncomeLine.objects.filter(statement_import=statement_import).count() == 3


def test_the_sweep_leaves_an_import_a_live_step_holds_and_one_that_just_moved(world) -> None:
    statement_import = pipeline.statement_import_create(
        agency=world.agency_a, actor=world.manager_a, file=_file(), enqueue=True
    )
    _steps().update(published_at=timezone.now())
    _age_outbox(30)
    _age_import(statement_import, 30)
    holding, release = threading.Event(), threading.Event()

    def live_step() -> None:  # a worker in the middle of a step: the import's row is locked
        try:
            with transaction.atomic():
                StatementImport.objects.select_for_update(no_key=True).get(pk=statement_import.pk)
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=live_step)
    thread.start()
    try:
        assert holding.wait(10)
        assert pipeline.statement_import_resume_stalled() == []
    finally:
        release.set()
        thread.join()

    _age_import(statement_import, 0)  # a step just committed
    assert pipeline.statement_import_resume_stalled() == []


def test_a_copy_of_a_superseded_step_does_nothing(world) -> None:
    sign_contract(world, world.creator_a, ["douyin"])
    statement_import = pipeline.statement_import_create(
        agency=world.agency_a, actor=world.manager_a, file=_file(), enqueue=True
    )
    first = _steps().get()
    # The stage runs and asks for the next step (a newer message of the same import).
    assert pipeline.statement_import_step(import_id=statement_import.pk, outbox_id=first.pk)
    statement_import.refresh_from_db()
    state = (statement_import.status, statement_import.rows_done, statement_import.attempts)
    assert _steps().count() == 2

    # The first message delivered again (a redelivery, or the sweep's re-send): nothing happens.
    assert not pipeline.statement_import_step(import_id=statement_import.pk, outbox_id=first.pk)

    statement_import.refresh_from_db()
    assert (statement_import.status, statement_import.rows_done, statement_import.attempts) == state
    assert _steps().count() == 2  # and no second chain of steps


def test_the_import_page_says_an_import_is_delayed_while_the_broker_is_down(world) -> None:
    with dead_broker():
        statement_import = pipeline.statement_import_create(
            agency=world.agency_a, actor=world.manager_a, file=_file(), enqueue=True
        )
    client = web_as(world.manager_a)
    assert (
        "import-delayed" not in client.get(f"/income/imports/{statement_import.public_id}/").content.decode()
    )

    _age_outbox(60)  # due for a minute: the relay could not publish it
    page = client.get(f"/income/imports/{statement_import.public_id}/").content.decode()

    assert 'id="import-delayed"' in page
    assert "Nothing is lost" in page
