"""Two (or fifty) imports of one agency at once, their files overlapping: each row gets one
honest outcome whatever the interleaving (issue 16).

Real imports: each runs the pipeline's own steps on its own thread, so on its own PostgreSQL
connection and transaction, exactly as two Celery workers would. The interleaving that broke
("no earlier line" for a refund whose original the other import was committing) is forced:
import A's chunk stops just before its commit until import B's chunk has run or is waiting.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

import apps.income.pipeline as pipeline
from apps.common.exceptions import ApplicationError
from apps.income.models import ImportRowError, IncomeLine, StatementImport
from apps.income.pipeline import statement_import_create, statement_import_run, statement_import_step
from apps.income.services import income_line_resolve
from apps.recognition.models import LineAllocation
from apps.recognition.services import recognize_pending
from tests.income.conftest import sign_contract

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
DONE = StatementImport.Status.DONE


def _row(external_id: str, day: int, gross: str, refund_of: str = "") -> str:
    return (
        f"{external_id},2026-11-{day:02d}T10:00:00+08:00,douyin,dy_a,live_gifts,{gross},CNY,,{refund_of},\n"
    )


def _create(world: Any, name: str, rows: list[str]) -> StatementImport:
    return statement_import_create(
        agency=world.agency_a,
        actor=world.manager_a,
        file=SimpleUploadedFile(name, (HEADER + "".join(rows)).encode()),
        enqueue=False,
    )


def _in_thread(target: Any, errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            target()
        except BaseException as error:  # the test asserts on it
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _waiting_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return int(cursor.fetchone()[0])


def _until(condition: Any, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _errors(statement_import: StatementImport) -> list[tuple[int, str, str]]:
    return list(
        ImportRowError.objects.filter(statement_import=statement_import)
        .order_by("row_number")
        .values_list("row_number", "column", "reason")
    )


def _verify_ledger(world: Any) -> None:
    call_command("verify_ledger", agency=str(world.agency_a.public_id))  # CommandError if not


def test_a_refund_whose_original_the_other_import_is_committing_is_matched(
    world: Any, monkeypatch: Any
) -> None:
    sign_contract(world, world.creator_a, ["douyin"])
    # A holds the original; B, the days after (overlapping A's last one), the refund. No key
    # of B's chunk is one A's chunk is inserting: that insert would wait for A's commit and
    # hide the race (ON CONFLICT waits for the other transaction).
    a = _create(world, "a.csv", [_row("O-1", 3, "100.00"), _row("X-1", 4, "5.00")])
    b = _create(world, "b.csv", [_row("X-2", 4, "7.00"), _row("R-1", 5, "-30.00", "O-1")])
    assert statement_import_step(import_id=a.pk, enqueue=False)  # staged
    assert statement_import_step(import_id=b.pk, enqueue=False)

    a_in_chunk = threading.Event()
    b_done = threading.Event()
    add_counts = pipeline._add_counts

    def add_counts_then_wait(statement_import: StatementImport, index: int, outcome: Any) -> None:
        # A's chunk has inserted O-1 and X-1, uncommitted: let B's chunk run (or block) now.
        if statement_import.pk == a.pk:
            a_in_chunk.set()
            _until(lambda: b_done.is_set() or _waiting_backends() >= 1)
        add_counts(statement_import, index, outcome)

    monkeypatch.setattr(pipeline, "_add_counts", add_counts_then_wait)
    errors: list[BaseException] = []
    first = _in_thread(lambda: statement_import_step(import_id=a.pk, enqueue=False), errors)
    assert a_in_chunk.wait(20), "A's chunk never ran"

    def b_chunk() -> None:
        try:
            statement_import_step(import_id=b.pk, enqueue=False)
        finally:
            b_done.set()

    second = _in_thread(b_chunk, errors)
    first.join(60)
    second.join(60)
    assert errors == []
    monkeypatch.setattr(pipeline, "_add_counts", add_counts)
    # B recognises first: its refund's original is A's, not yet recognised by A's own steps.
    b = statement_import_run(statement_import=b)
    a = statement_import_run(statement_import=a)
    recognize_pending(agency=world.agency_a)

    assert (a.status, b.status) == (DONE, DONE)
    assert _errors(b) == [] and _errors(a) == []
    refund = IncomeLine.objects.get(external_id="R-1")
    original = IncomeLine.objects.get(external_id="O-1")
    assert (refund.refund_of_id, refund.statement_import_id, refund.status) == (original.pk, b.pk, "matched")
    assert LineAllocation.objects.filter(line__in=[refund, original]).count() == 2
    _verify_ledger(world)


def test_two_refunds_committing_at_once_never_refund_more_than_their_original(
    world: Any, monkeypatch: Any
) -> None:
    sign_contract(world, world.creator_a, ["douyin"])
    statement_import_run(statement_import=_create(world, "o.csv", [_row("O-1", 3, "100.00")]))
    p = _create(world, "p.csv", [_row("R-1", 5, "-60.00", "O-1")])
    q = _create(world, "q.csv", [_row("R-2", 6, "-60.00", "O-1")])
    assert statement_import_step(import_id=p.pk, enqueue=False)
    assert statement_import_step(import_id=q.pk, enqueue=False)
    p_in_chunk, q_done = threading.Event(), threading.Event()
    add_counts = pipeline._add_counts

    def add_counts_then_wait(statement_import: StatementImport, index: int, outcome: Any) -> None:
        if statement_import.pk == p.pk:  # R-1 inserted, uncommitted
            p_in_chunk.set()
            _until(lambda: q_done.is_set() or _waiting_backends() >= 1)
        add_counts(statement_import, index, outcome)

    monkeypatch.setattr(pipeline, "_add_counts", add_counts_then_wait)
    errors: list[BaseException] = []
    first = _in_thread(lambda: statement_import_step(import_id=p.pk, enqueue=False), errors)
    assert p_in_chunk.wait(20)

    def q_chunk() -> None:
        try:
            statement_import_step(import_id=q.pk, enqueue=False)
        finally:
            q_done.set()

    second = _in_thread(q_chunk, errors)
    first.join(60)
    second.join(60)
    assert errors == []
    monkeypatch.setattr(pipeline, "_add_counts", add_counts)
    p = statement_import_run(statement_import=p)
    q = statement_import_run(statement_import=q)

    assert _errors(p) == []
    assert [(row, column) for row, column, _reason in _errors(q)] == [(2, "gross")]
    assert "larger than what is left of O-1 (40.00 CNY)" in _errors(q)[0][2]
    assert not IncomeLine.objects.filter(external_id="R-2").exists()
    refund = IncomeLine.objects.get(external_id="R-1")
    assert (refund.status, LineAllocation.objects.filter(line=refund).count()) == ("matched", 1)
    _verify_ledger(world)


def test_a_refund_that_arrives_before_its_original_waits_and_is_matched_when_it_arrives(world: Any) -> None:
    sign_contract(world, world.creator_a, ["douyin"])
    # B's chunk ran wholly before A's began (A still staging a large file, say); A has the
    # refund too, so with B's row refused A would record the very row B said it refused.
    b = statement_import_run(statement_import=_create(world, "b.csv", [_row("R-1", 5, "-30.00", "O-1")]))

    assert (b.status, _errors(b), b.exception_count) == (DONE, [], 1)
    held = IncomeLine.objects.get(external_id="R-1")
    assert (held.status, held.exception_reason, held.refund_of_id) == ("exception", "refund_waiting", None)
    assert "O-1" in held.exception_detail
    # Held, it is no line of anybody's income yet: it cannot be assigned, only dismissed.
    with pytest.raises(ApplicationError) as refused:
        income_line_resolve(line=held, actor=world.manager_a, creator=world.creator_a)
    assert refused.value.code == "refund_waiting"

    a = statement_import_run(
        statement_import=_create(world, "a.csv", [_row("O-1", 3, "100.00"), _row("R-1", 5, "-30.00", "O-1")])
    )
    recognize_pending(agency=world.agency_a)

    assert (a.status, _errors(a), a.imported_count, a.duplicate_count) == (DONE, [], 1, 1)
    refund = IncomeLine.objects.get(external_id="R-1")
    original = IncomeLine.objects.get(external_id="O-1")
    assert (refund.refund_of_id, refund.statement_import_id, refund.status) == (original.pk, b.pk, "matched")
    assert (refund.exception_reason, refund.exception_detail) == ("", "")
    assert LineAllocation.objects.filter(line__in=[refund, original]).count() == 2
    _verify_ledger(world)


def test_a_waiting_refund_larger_than_its_original_is_refused_with_the_reason_when_it_arrives(
    world: Any,
) -> None:
    sign_contract(world, world.creator_a, ["douyin"])
    b = statement_import_run(
        statement_import=_create(
            world, "b.csv", [_row("R-1", 5, "-60.00", "O-1"), _row("R-2", 6, "-60.00", "O-1")]
        )
    )
    assert b.exception_count == 2

    statement_import_run(statement_import=_create(world, "a.csv", [_row("O-1", 3, "100.00")]))
    recognize_pending(agency=world.agency_a)

    first, second = IncomeLine.objects.filter(external_id__in=["R-1", "R-2"]).order_by("occurred_at")
    original = IncomeLine.objects.get(external_id="O-1")
    assert (first.status, first.refund_of_id) == ("matched", original.pk)
    # The second does not fit in what the first left (40.00): refused, and says so.
    assert (second.status, second.refund_of_id) == ("dismissed", None)
    assert "larger than what is left of O-1 (40.00 CNY)" in second.dismiss_reason
    _verify_ledger(world)


def _run_all(imports: list[StatementImport], *, threads: int) -> list[BaseException]:
    todo: queue.Queue[StatementImport] = queue.Queue()
    for statement_import in imports:
        todo.put(statement_import)
    errors: list[BaseException] = []

    def worker() -> None:
        while True:
            try:
                statement_import = todo.get_nowait()
            except queue.Empty:
                return
            statement_import_run(statement_import=statement_import)

    workers = [_in_thread(worker, errors) for _ in range(threads)]
    for thread in workers:
        thread.join(300)
    return errors


@pytest.mark.parametrize("original_first", [True, False], ids=["original-recorded", "original-in-flight"])
def test_fifty_concurrent_partial_refunds_never_refund_more_than_their_original(
    world: Any, monkeypatch: Any, original_first: bool
) -> None:
    """50 imports at once, each with one partial refund of 3.00 of a 100.00 line: 33 fit (99.00),
    17 are refused with the reason; nothing is refunded twice, nothing silently lost."""
    sign_contract(world, world.creator_a, ["douyin"])
    accepted_refunds = pipeline._accepted_refunds

    def accepted_refunds_slowly(cursor: Any, params: dict[str, Any]) -> Any:
        # A chunk that has decided its refunds takes 20 ms more to commit: without the agency's
        # chunk lock, the chunks beside it decide theirs on the same "what is left" meanwhile.
        outcome = accepted_refunds(cursor, params)
        time.sleep(0.02)
        return outcome

    monkeypatch.setattr(pipeline, "_accepted_refunds", accepted_refunds_slowly)
    original_rows = [_row("O-1", 1, "100.00")]
    if original_first:
        statement_import_run(statement_import=_create(world, "original.csv", original_rows))
    files = [_create(world, f"r{n}.csv", [_row(f"R-{n}", 2 + n % 20, "-3.00", "O-1")]) for n in range(50)]
    if not original_first:
        # The original arrives in one of the concurrent imports, in the middle.
        files.insert(25, _create(world, "original.csv", original_rows))

    # Staged first, one after the other (staging ends with an ANALYZE that makes the next
    # import's staging wait): then the 50 chunks, the steps that race, start together.
    for statement_import in files:
        assert statement_import_step(import_id=statement_import.pk, enqueue=False)
    assert _run_all(files, threads=8) == []
    recognize_pending(agency=world.agency_a)

    original = IncomeLine.objects.get(external_id="O-1")
    refunds = IncomeLine.objects.filter(external_id__startswith="R-")
    kept = refunds.filter(refund_of=original).exclude(status="dismissed")
    assert kept.count() == 33
    assert kept.aggregate(total=Sum("gross_minor"))["total"] == -99_00
    assert set(kept.values_list("status", flat=True)) == {"matched"}
    assert LineAllocation.objects.filter(line__in=kept).count() == 33
    # Each of the 50 rows has exactly one outcome: a refund of the original, a row refused with
    # the reason, or (it waited for the original) a line refused with the reason.
    outcomes: dict[str, str] = {}
    for line in refunds:
        outcomes[line.external_id] = line.status
        if line.status == "dismissed":
            assert "larger than what is left of O-1" in line.dismiss_reason
    for error in ImportRowError.objects.filter(statement_import__in=files):
        external_id = f"R-{_n(error)}"
        assert external_id not in outcomes, external_id
        assert error.column == "gross" and "larger than what is left of O-1" in error.reason
        outcomes[external_id] = "refused"
    assert len(outcomes) == 50
    assert sum(1 for outcome in outcomes.values() if outcome in ("refused", "dismissed")) == 17
    assert all(statement_import.status == DONE for statement_import in StatementImport.objects.all())
    _verify_ledger(world)


def _n(error: ImportRowError) -> int:
    name = error.statement_import.original_name
    return int(name.removeprefix("r").removesuffix(".csv"))


def test_a_waiting_refund_of_an_unknown_account_or_dismissed_by_hand_keeps_that_outcome(world: Any) -> None:
    rows = [
        "R-U,2026-11-05,douyin,nobody,live_gifts,-10.00,CNY,,O-1,\n",  # an account nobody registered
        _row("R-D", 6, "-10.00", "O-1"),
    ]
    b = statement_import_run(statement_import=_create(world, "b.csv", rows))
    assert _errors(b) == []
    income_line_resolve(
        line=IncomeLine.objects.get(external_id="R-D"), actor=world.manager_a, dismiss_reason="Not our refund"
    )

    statement_import_run(statement_import=_create(world, "a.csv", [_row("O-1", 3, "100.00")]))

    original = IncomeLine.objects.get(external_id="O-1")
    unknown = IncomeLine.objects.get(external_id="R-U")
    # Its original found, it waits for a person as any line of an unknown account does.
    assert (unknown.status, unknown.exception_reason, unknown.refund_of_id, unknown.creator_id) == (
        "exception",
        "unknown_account",
        original.pk,
        None,
    )
    dismissed = IncomeLine.objects.get(external_id="R-D")
    assert (dismissed.status, dismissed.dismiss_reason, dismissed.refund_of_id) == (
        "dismissed",
        "Not our refund",
        None,
    )
