"""An approval racing the recognition of the deal's payment: whichever runs first, the expenses
are deducted once, and neither waits for the other for ever (both take the agency's recognition
lock first)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.deals.models import ExpenseDeduction
from apps.deals.selectors import deal_expense_cap
from apps.deals.services import deal_expense_approve, deal_expense_submit, deal_reconcile_lines
from apps.income.models import IncomeLine
from apps.ledger.models import Account, AccountBalance
from apps.recognition.services import recognize_pending as income_recognize_pending
from tests.contracts.conftest import active_contract
from tests.deals.conftest import deal, line
from tests.deals.test_concurrency import _in_threads

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("attempt", range(3))
def test_an_approval_racing_recognition_deducts_the_expenses_once(world, attempt) -> None:
    active_contract(world)
    target = deal(world, order_ref="XT-RACE", fee_minor=60_000_00)
    payment = line(world.agency_a, world.creator_a, order_ref="XT-RACE", gross_minor=60_000_00)
    deal_reconcile_lines(agency=world.agency_a, line_ids=[payment.pk])
    expense = deal_expense_submit(
        deal=target,
        actor=world.manager_a,
        description="Studio",
        amount_minor=9_000_00,
        receipt=SimpleUploadedFile("r.pdf", b"%PDF-1.7\n"),
    )
    user = world.creator_a.user

    errors = _in_threads(
        lambda: income_recognize_pending(agency=world.agency_a),
        lambda: deal_expense_approve(expense=expense, actor=user),
    )

    assert errors == []
    assert IncomeLine.objects.get(pk=payment.pk).state == "recognised"  # allocated (issue 12)
    assert deal_expense_cap(deal=target).deducted_minor == 9_000_00
    assert sum(ExpenseDeduction.objects.values_list("amount_minor", flat=True)) == 9_000_00
    payable = AccountBalance.objects.get(
        account__creator=world.creator_a, account__purpose=Account.Purpose.CREATOR_PAYABLE
    )
    assert -payable.balance_minor == 33_600_00
