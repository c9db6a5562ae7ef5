"""A real worker: periodic recognition hands each agency to its own task, so an agency whose
recognition is stuck (its lock held by another session) keeps no other agency waiting, and a
contract that cannot be split sends only its own lines to the queue (issue 11)."""

from __future__ import annotations

import os
import time

import psycopg
import pytest
from django.db import connection

from apps.creators.services import platform_account_add
from apps.recognition.tasks import income_recognize_pending
from tests.income.test_poison import _lines_waiting, line_states
from tests.integration.conftest import start_worker, stop_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _statuses() -> dict[str, str]:
    return line_states()


def _wait_for(condition, *, timeout: float = 60) -> dict[str, str]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _statuses()
        if condition(status):
            return status
        time.sleep(0.2)
    raise AssertionError(f"timed out: {_statuses()}")


def test_a_stuck_agency_keeps_no_other_waiting(world) -> None:
    # The accounts of tests/income's statement_world fixture.
    platform_account_add(creator=world.creator_a, actor=None, platform="douyin", account_id="dy_88231")
    platform_account_add(creator=world.creator_a2, actor=None, platform="bilibili", account_id="bl_552")
    _lines_waiting(world)
    worker = start_worker(name=f"agencies{os.getpid()}", concurrency=2)
    holder = psycopg.connect(**connection.get_connection_params(), autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", [0x1C0E, world.agency_a.pk])
        # (Not its count: a message an earlier, killed worker left in the queue may run first.)
        income_recognize_pending.delay().get(timeout=30)

        # Agency B (after A) is recognised while A waits for its lock.
        status = _wait_for(lambda s: s["Y-1"] == s["Y-2"] == "recognised")
        assert {status[key] for key in ("G-1", "G-2", "G-3", "B-1", "B-2")} == {"matched"}

        holder.execute("SELECT pg_advisory_unlock(%s, %s)", [0x1C0E, world.agency_a.pk])
        status = _wait_for(lambda s: "matched" not in s.values())
    finally:
        holder.close()
        stop_worker(worker)
    assert {status[key] for key in ("G-1", "G-2", "G-3")} == {"recognised"}
    assert {status[key] for key in ("B-1", "B-2")} == {"exception"}  # the unknown zone's lines
