"""The periodic sweep reads income's recognition queue, not every matched line: lines matched by
an UPDATE (by hand, a confirmed account, a late deal, a new rate) are queued by a trigger, an
import's own lines are its steps' to recognise, and settled lines leave the queue."""

from __future__ import annotations

import pytest

from apps.income.models import IncomeLine, RecognitionQueue, StatementImport
from apps.income.pipeline import statement_import_fail
from apps.income.services import income_line_resolve
from apps.ledger.models import Account, AccountBalance
from apps.recognition.models import LineAllocation
from apps.recognition.services import agencies_pending, recognize_pending
from tests.income.conftest import run_import, sign_contract
from tests.income.test_poison import GIFTS, _bad_zone, _store_rule_set, line_states
from tests.recognition.conftest import csv

pytestmark = pytest.mark.django_db


def _queued() -> set[str]:
    ids = RecognitionQueue.objects.values_list("line_id", flat=True)
    return set(IncomeLine.objects.filter(pk__in=ids).values_list("external_id", flat=True))


def test_an_import_recognises_its_own_lines_and_queues_none(statement_world) -> None:
    sign_contract(statement_world, statement_world.creator_a, ["douyin"])
    sign_contract(statement_world, statement_world.creator_a2, ["bilibili"])

    run_import(statement_world, "gifts.csv", GIFTS)

    assert LineAllocation.objects.count() == 5
    assert _queued() == set() and agencies_pending() == []


def test_lines_resolved_by_hand_are_queued_recognised_by_the_sweep_and_leave_the_queue(
    statement_world,
) -> None:
    world = statement_world
    run_import(world, "gifts.csv", GIFTS)  # no contracts yet: every line waits with no_contract
    sign_contract(world, world.creator_a, ["douyin"])
    _store_rule_set(sign_contract(world, world.creator_a2, ["bilibili"]), _bad_zone)
    for line in IncomeLine.objects.select_related("creator").order_by("pk"):
        income_line_resolve(line=line, actor=world.owner_a, creator=line.creator)

    assert _queued() == {"G-1", "G-2", "G-3", "B-1", "B-2"}
    assert agencies_pending() == [world.agency_a.pk]

    outcome = recognize_pending(agency=world.agency_a)

    # The healthy creator's three lines are split; the poisoned contract's two go to the
    # exception queue with a sentence. Either way they are settled and leave the queue.
    assert (outcome.recognised, outcome.exceptions) == (3, 2)
    assert _queued() == set() and agencies_pending() == []
    assert set(IncomeLine.objects.filter(external_id__startswith="B").values_list("status", flat=True)) == {
        "exception"
    }


def test_the_sweep_leaves_the_lines_of_a_running_import_to_its_steps(statement_world) -> None:
    world = statement_world
    done = run_import(world, "gifts.csv", GIFTS)
    sign_contract(world, world.creator_a, ["douyin"])
    line = IncomeLine.objects.get(external_id="G-1")
    income_line_resolve(line=line, actor=world.owner_a, creator=line.creator)
    StatementImport.objects.filter(pk=done.pk).update(status=StatementImport.Status.RUNNING)

    assert recognize_pending(agency=world.agency_a).recognised == 0
    assert _queued() == {"G-1"}  # still waiting, for its import (or the sweep once it is over)

    StatementImport.objects.filter(pk=done.pk).update(status=StatementImport.Status.DONE)
    assert recognize_pending(agency=world.agency_a).recognised == 1
    assert _queued() == set()


def test_a_failed_import_hands_its_matched_lines_to_the_sweep(statement_world) -> None:
    world = statement_world
    sign_contract(world, world.creator_a, ["douyin"])
    done = run_import(world, "gifts.csv", GIFTS)
    # Failed while running (its lines were recognised by then: a crash after the last step).
    StatementImport.objects.filter(pk=done.pk).update(status=StatementImport.Status.RUNNING)

    statement_import_fail(import_id=done.pk, message="The worker gave up.")

    # Its matched lines are queued; the ones it already recognised leave at the first sweep.
    assert _queued() == {"G-1", "G-2", "G-3"}
    assert recognize_pending(agency=world.agency_a).recognised == 0
    assert _queued() == set()


def test_a_line_assigned_by_hand_is_recognised_right_away(
    statement_world, celery_eager, django_capture_on_commit_callbacks
) -> None:
    """Issue 14: the person who settles an exception sees the line recognised when the page
    reloads, not at the next periodic sweep: the resolution enqueues its agency's recognition
    after commit (here a real task, run eagerly)."""

    world = statement_world
    run_import(
        world,
        "before-contract.csv",
        csv(["H-1,2026-11-03T10:00:00+08:00,douyin,dy_88231,live_gifts,100.00,CNY,,,"]),
    )
    line = IncomeLine.objects.get(external_id="H-1")
    assert (line.status, line.exception_reason) == ("exception", "no_contract")
    sign_contract(world, world.creator_a, ["douyin"])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        income_line_resolve(line=line, actor=world.owner_a, creator=world.creator_a)

    assert len(callbacks) == 1
    assert line_states()["H-1"] == "recognised"
    payable = Account.objects.get(creator=world.creator_a, purpose=Account.Purpose.CREATOR_PAYABLE)
    assert AccountBalance.objects.get(account=payable).balance_minor < 0  # a credit: owed to the creator


def test_a_dismissed_line_enqueues_nothing(statement_world, django_capture_on_commit_callbacks) -> None:
    world = statement_world
    run_import(
        world, "x.csv", csv(["H-2,2026-11-03T10:00:00+08:00,douyin,dy_88231,live_gifts,100.00,CNY,,,"])
    )
    line = IncomeLine.objects.get(external_id="H-2")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        income_line_resolve(line=line, actor=world.owner_a, dismiss_reason="Not our creator's")
    assert callbacks == []
