"""A real Celery worker is SIGKILLed in the middle of an import; a new worker finishes it.

Nothing may be lost or doubled: every line exactly once, the counts right, each line covered
by one ledger entry. The killed worker's message is gone with the embedded filesystem broker
(and not redelivered for 35 minutes with Redis), so the new worker is handed the import the way
production does it: beat's `statement_import_resume_stalled`, called here when progress stalls,
which re-sends the step of an import no live step holds (docs/reliability.md).
"""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum

from apps.income.models import ImportChunk, IncomeLine, StatementImport
from apps.income.pipeline import statement_import_create, statement_import_resume_stalled
from apps.ledger.models import Account, AccountBalance, JournalEntry
from apps.recognition.models import LineAllocation
from tests.income.conftest import sign_contract
from tests.integration.conftest import start_worker, stop_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROWS = 40_000
HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"


def _statement() -> bytes:
    rows = (
        f"K-{n},2026-11-{1 + n % 28:02d}T10:00:00+08:00,douyin,dy_a,live_gifts,{1 + n % 97}.{n % 100:02d},CNY,,,\n"
        for n in range(ROWS)
    )
    return (HEADER + "".join(rows)).encode()


def _wait(statement_import: StatementImport, condition, *, timeout: float) -> StatementImport:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last_change = time.monotonic()
    seen = None
    while time.monotonic() < deadline:
        statement_import.refresh_from_db()
        if condition(statement_import):
            return statement_import
        state = (statement_import.status, statement_import.rows_done, statement_import.updated_at)
        if state != seen:
            seen, last_change = state, time.monotonic()
        elif time.monotonic() - last_change > 10:
            statement_import_resume_stalled(older_than=timedelta(seconds=5))
            last_change = time.monotonic()
        time.sleep(0.2)
    raise AssertionError(
        f"timed out: {statement_import.status} {statement_import.rows_done}/{statement_import.rows_total}"
    )


def test_a_killed_worker_loses_nothing_and_doubles_nothing(world) -> None:
    sign_contract(world, world.creator_a, ["douyin"])
    data = _statement()
    expected_gross = sum(int(f"{1 + n % 97}{n % 100:02d}") for n in range(ROWS))
    worker = start_worker(name=f"income-kill-{os.getpid()}")
    try:
        statement_import = statement_import_create(
            agency=world.agency_a, actor=world.manager_a, file=SimpleUploadedFile("big.csv", data)
        )
        # Kill once some chunks are committed and the import is still going.
        _wait(statement_import, lambda s: s.status == "running" and s.rows_done >= 10_000, timeout=120)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        statement_import.refresh_from_db()
        assert statement_import.status == "running", "the import finished before the kill; make it bigger"
    finally:
        stop_worker(worker)

    second = start_worker(name=f"income-rescue-{os.getpid()}")
    try:
        statement_import_resume_stalled(older_than=timedelta(0))
        done = _wait(statement_import, lambda s: s.is_finished, timeout=300)
    finally:
        stop_worker(second)

    assert done.status == "done", done.message
    assert (done.rows_total, done.imported_count, done.duplicate_count, done.error_count) == (
        ROWS,
        ROWS,
        0,
        0,
    )
    assert ImportChunk.objects.filter(statement_import=done).count() == done.chunk_count
    lines = IncomeLine.objects.filter(statement_import=done)
    assert lines.count() == ROWS
    assert lines.values("external_id").distinct().count() == ROWS
    assert lines.aggregate(total=Sum("gross_minor"))["total"] == expected_gross
    # Each line allocated once (issue 12: the allocation is the line's recognised state, and the
    # entries that cover them count each line once).
    assert not lines.filter(allocation__isnull=True).exists()
    assert LineAllocation.objects.filter(line__statement_import=done).count() == ROWS
    covered = JournalEntry.objects.filter(idempotency_key__startswith="recognition:")
    assert sum(covered.values_list("line_count", flat=True)) == ROWS
    payable = AccountBalance.objects.get(
        account__creator=world.creator_a, account__purpose=Account.Purpose.CREATOR_PAYABLE
    )
    clearing = AccountBalance.objects.get(
        account__agency=world.agency_a, account__purpose=Account.Purpose.INCOME_CLEARING
    )
    assert clearing.balance_minor == expected_gross  # each line posted once, not twice
    assert payable.posting_count == covered.count()  # one posting per entry that covers lines
