"""Real workers and the real broker: an agency's import steps go to its bucket's queue, so a worker
started on `money.1` alone imports the files of odd agencies and leaves the even ones' steps
waiting in `money.0`, which a worker started without -Q (every configured queue) then runs."""

from __future__ import annotations

import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from apps.income.models import StatementImport
from apps.income.pipeline import statement_import_create
from config.celery_app import app
from tests.factories import UserFactory, agency_with_owner
from tests.integration.conftest import start_worker, stop_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
BUCKETS = {"FENRUN_MONEY_QUEUE_BUCKETS": "2"}


def _waiting(queue: str) -> int:
    with app.connection_for_write() as connection:
        return connection.default_channel.queue_declare(queue=queue).message_count


def _purge(*queues: str) -> None:
    # Messages an earlier, killed run left behind would run first and confuse the counts.
    with app.connection_for_write() as connection:
        for queue in queues:
            connection.default_channel.queue_declare(queue=queue)
            connection.default_channel.queue_purge(queue)


def _import(agency, owner) -> StatementImport:  # type: ignore[no-untyped-def]
    data = f"{HEADER}Q-{agency.pk},2026-11-02T10:00:00+08:00,douyin,dy_q{agency.pk},live_gifts,12.34,CNY,,,\n"
    return statement_import_create(
        agency=agency, actor=owner, file=SimpleUploadedFile("q.csv", data.encode())
    )


def _wait_finished(statement_import: StatementImport, *, timeout: float = 60) -> StatementImport:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statement_import.refresh_from_db()
        if statement_import.is_finished:
            return statement_import
        time.sleep(0.2)
    raise AssertionError(f"import {statement_import.pk} still {statement_import.status}")


@override_settings(FENRUN_MONEY_QUEUE_BUCKETS=2)
def test_a_worker_on_one_bucket_imports_only_its_agencies_files(world) -> None:
    agencies = {world.agency_a.pk % 2: (world.agency_a, world.owner_a)}
    agency_count = 0
    while len(agencies) < 2:  # the other parity: the next agency made has it
        owner = UserFactory.create()
        agency = agency_with_owner(name=f"Agency {agency_count}", owner=owner)
        agencies.setdefault(agency.pk % 2, (agency, owner))
        agency_count += 1
    _purge("money.0", "money.1")
    odd = start_worker(name=f"bucket1-{os.getpid()}", extra_env=BUCKETS, queues=["money.1"])
    try:
        odd_import = _import(*agencies[1])
        even_import = _import(*agencies[0])
        # Every step of the odd agency's import (it enqueues the next) went to money.1.
        assert _wait_finished(odd_import).status == "done", odd_import.message
        even_import.refresh_from_db()
        assert even_import.status == "queued"
        assert _waiting("money.0") == 1
    finally:
        stop_worker(odd)

    every = start_worker(name=f"everyqueue-{os.getpid()}", extra_env=BUCKETS)
    try:
        assert _wait_finished(even_import).status == "done", even_import.message
    finally:
        stop_worker(every)
        _purge("money.0", "money.1")
