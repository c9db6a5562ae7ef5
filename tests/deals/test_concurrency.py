"""Reconciliation under real concurrency: two workers reconciling the same chunk count it once,
and two approvals racing for the last of the expense cap cannot both fit."""

from __future__ import annotations

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from apps.common.exceptions import ApplicationError
from apps.deals.models import BrandDeal, DealExpense, DealPayment
from apps.deals.services import deal_expense_approve, deal_expense_submit, deal_reconcile_lines
from apps.deals.tasks import flag_overdue
from tests.contracts.conftest import active_contract
from tests.deals.conftest import deal, line

pytestmark = pytest.mark.django_db(transaction=True)


def _in_threads(*targets) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(targets))

    def run(target) -> None:
        try:
            barrier.wait()
            target()
        except BaseException as error:  # collected: the test asserts on them
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


def test_two_workers_reconciling_the_same_lines_count_them_once(world) -> None:
    target = deal(world, order_ref="XT-1", fee_minor=30_000_00)
    lines = [line(world.agency_a, world.creator_a, order_ref="XT-1", gross_minor=10_000_00) for _ in range(3)]
    ids = [item.pk for item in lines]
    run = lambda: deal_reconcile_lines(agency=world.agency_a, line_ids=ids)  # noqa: E731
    assert _in_threads(run, run, run) == []
    target.refresh_from_db()
    assert (target.paid_minor, target.status) == (30_000_00, BrandDeal.Status.PAID)
    assert DealPayment.objects.count() == 3


def test_racing_approvals_never_exceed_the_cap(world) -> None:
    active_contract(world)
    target = deal(world, fee_minor=10_000_00)  # cap 15 %: ¥1,500.00
    expenses = [
        deal_expense_submit(
            deal=target,
            actor=world.manager_a,
            description=f"Cost {number}",
            amount_minor=1_000_00,
            receipt=SimpleUploadedFile("r.pdf", b"%PDF-1.7\n"),
        )
        for number in range(2)
    ]
    user = world.creator_a.user
    errors = _in_threads(
        *(lambda expense=expense: deal_expense_approve(expense=expense, actor=user) for expense in expenses)
    )
    assert len(errors) == 1 and isinstance(errors[0], ApplicationError)
    assert DealExpense.objects.filter(status="approved").count() == 1


def test_the_overdue_task_is_safe_to_run_twice(world) -> None:
    late = deal(world)
    BrandDeal.objects.filter(pk=late.pk).update(due_on="2026-01-01")  # the due date passed since
    assert flag_overdue.apply().get() == 1
    assert flag_overdue.apply().get() == 0
    assert BrandDeal.objects.get(pk=late.pk).status == BrandDeal.Status.OVERDUE
