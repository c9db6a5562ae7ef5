"""Approved deal expenses reach the split: deducted per line under the cap the creator signed,
carried over instalments, reversed with refunds, and re-issued when approved after the fact.

The contract is the built-in exclusive management template: brand deals lose a 5 % platform
fee, then approved expenses up to 15 % of the line's gross, and the creator gets 70 % of the
rest (80 % above 100,000.00 a month). So a 60,000.00 deal with 9,000.00 of approved expenses
pays the creator 70 % × (60,000 − 3,000 − 9,000) = 33,600.00, not 70 % × 57,000 = 39,900.00.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.deals.models import DealExpense, ExpenseDeduction, ExpenseReissue
from apps.deals.selectors import deal_expense_cap
from apps.deals.services import deal_create, deal_expense_approve, deal_expense_submit
from apps.income.models import IncomeLine
from apps.ledger.models import Account, AccountBalance, JournalEntry
from apps.ledger.verification import ledger_verify_agency
from apps.recognition.selectors import line_split as income_line_split
from tests.contracts.conftest import active_contract
from tests.income.conftest import run_import

pytestmark = pytest.mark.django_db
HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
PDF = b"%PDF-1.7\n%receipt\n"


def _payable(creator: Any) -> int:
    balance = AccountBalance.objects.filter(
        account__creator=creator, account__purpose=Account.Purpose.CREATOR_PAYABLE
    ).first()
    return -balance.balance_minor if balance else 0


def _deal(world: Any, fee_minor: int = 60_000_00, order_ref: str = "XT-9000") -> Any:
    import datetime

    return deal_create(
        actor=world.manager_a,
        agency=world.agency_a,
        creator=world.creator_a,
        brand="Tea Co",
        platform="douyin",
        fee_minor=fee_minor,
        currency="CNY",
        due_on=datetime.date(2027, 1, 15),
        order_ref=order_ref,
    )


def _approve(world: Any, deal: Any, amount_minor: int, description: str = "Studio") -> DealExpense:
    expense = deal_expense_submit(
        deal=deal,
        actor=world.manager_a,
        description=description,
        amount_minor=amount_minor,
        receipt=SimpleUploadedFile("receipt.pdf", PDF, content_type="application/pdf"),
    )
    return deal_expense_approve(expense=expense, actor=world.creator_a.user)


def _statement(world: Any, *rows: str, name: str = "s.csv") -> None:
    run_import(world, name, (HEADER + "".join(f"{row}\n" for row in rows)).encode())


def _pay(world: Any, key: str, amount: str, day: str = "2027-01-10", ref: str = "XT-9000") -> str:
    return f"{key},{day}T10:00:00+08:00,douyin,dy_a,brand_deal,{amount},CNY,{ref},,Tea Co video"


def _verified(world: Any) -> None:
    report = ledger_verify_agency(world.agency_a)
    assert report.problems == []


def test_expenses_approved_before_the_payment_are_deducted_from_its_split(world) -> None:
    active_contract(world)
    deal = _deal(world)
    _approve(world, deal, 9_000_00)

    _statement(world, _pay(world, "P-1", "60000.00"))

    line = IncomeLine.objects.get(external_id="P-1")
    assert line.state == "recognised"
    assert _payable(world.creator_a) == 33_600_00  # 70 % of 48,000.00
    split = income_line_split(line=line)
    assert split["result"]["deductions"] == {"platform_fee": "3000.00", "expenses": "9000.00"}
    # The expenses offered to the engine are stored on the line's allocation (its entry covers
    # many lines since issue 12, so it no longer holds one line's engine input).
    assert line.allocation.expenses_claimed_minor == 9_000_00
    assert deal_expense_cap(deal=deal).deducted_minor == 9_000_00
    _verified(world)


def test_expenses_approved_after_the_payment_reissue_the_line_with_them(world) -> None:
    active_contract(world)
    deal = _deal(world)
    _statement(world, _pay(world, "P-1", "60000.00"))
    assert _payable(world.creator_a) == 39_900_00  # nothing approved yet: 70 % of 57,000.00

    expense = _approve(world, deal, 9_000_00)

    assert _payable(world.creator_a) == 33_600_00
    original = IncomeLine.objects.get(external_id="P-1")
    reissue = ExpenseReissue.objects.get(original_line=original)
    assert reissue.expense == expense and reissue.deal == deal
    reversal, again = reissue.reversal_line, reissue.reissue_line
    # Two real income lines of the creator, recognised through the normal path.
    assert (reversal.state, again.state) == ("recognised", "recognised")
    assert (reversal.gross_minor, again.gross_minor) == (-60_000_00, 60_000_00)
    assert reversal.allocation.refund_of_line_id == original.pk
    assert JournalEntry.objects.get(pk=reversal.allocation.entry_id).kind == JournalEntry.Kind.REFUND
    assert income_line_split(line=again)["result"]["deductions"]["expenses"] == "9000.00"
    assert deal_expense_cap(deal=deal).deducted_minor == 9_000_00
    # The brand's money is unchanged: the adjustment is not a payment.
    deal.refresh_from_db()
    assert deal.paid_minor == 60_000_00
    # The creator opens both lines and their explanations.
    from django.urls import reverse

    from tests.conftest import web_as

    creator = web_as(world.creator_a.user)
    for adjustment in (reversal, again):
        page = creator.get(reverse("income:line", args=[adjustment.public_id]))
        assert page.status_code == 200
    assert "9,000.00" in creator.get(reverse("income:line", args=[again.public_id])).content.decode()
    listed = creator.get(reverse("income:lines")).content.decode()
    assert str(reversal.public_id) in listed and str(again.public_id) in listed
    _verified(world)


def test_instalments_each_carry_expenses_up_to_their_own_cap(world) -> None:
    active_contract(world)
    deal = _deal(world)
    _approve(world, deal, 9_000_00)

    _statement(world, _pay(world, "P-1", "30000.00"))
    first = IncomeLine.objects.get(external_id="P-1")
    # 15 % of this line's 30,000.00: 4,500.00 now, the other 4,500.00 waits for the next line.
    assert income_line_split(line=first)["result"]["deductions"]["expenses"] == "4500.00"
    assert deal_expense_cap(deal=deal).deducted_minor == 4_500_00

    _statement(world, _pay(world, "P-2", "30000.00", day="2027-01-12"), name="s2.csv")
    second = IncomeLine.objects.get(external_id="P-2")
    assert income_line_split(line=second)["result"]["deductions"]["expenses"] == "4500.00"
    assert deal_expense_cap(deal=deal).deducted_minor == 9_000_00
    assert _payable(world.creator_a) == 33_600_00  # 2 × 70 % × (30,000 − 1,500 − 4,500)
    _verified(world)


def test_an_approval_between_instalments_reissues_the_first_and_leaves_the_rest_to_the_second(
    world,
) -> None:
    active_contract(world)
    deal = _deal(world)
    _statement(world, _pay(world, "P-1", "30000.00"))
    _approve(world, deal, 9_000_00)

    first = IncomeLine.objects.get(external_id="P-1")
    reissued = ExpenseReissue.objects.get(original_line=first).reissue_line
    assert income_line_split(line=reissued)["result"]["deductions"]["expenses"] == "4500.00"
    assert deal_expense_cap(deal=deal).deducted_minor == 4_500_00

    _statement(world, _pay(world, "P-2", "30000.00", day="2027-01-12"), name="s2.csv")

    assert deal_expense_cap(deal=deal).deducted_minor == 9_000_00
    assert _payable(world.creator_a) == 33_600_00
    _verified(world)


def test_a_refund_reverses_its_share_of_the_expenses_and_frees_them_for_later_income(world) -> None:
    active_contract(world)
    deal = _deal(world)
    _approve(world, deal, 9_000_00)
    _statement(world, _pay(world, "P-1", "60000.00"))

    _statement(
        world,
        "R-1,2027-01-20T10:00:00+08:00,douyin,dy_a,brand_deal,-20000.00,CNY,XT-9000,P-1,Partial refund",
        name="r.csv",
    )

    refund = IncomeLine.objects.get(external_id="R-1")
    assert refund.state == "recognised"
    # A third of the line is refunded: a third of each of its parts, expenses included.
    assert income_line_split(line=refund)["result"]["deductions"] == {
        "platform_fee": "-1000.00",
        "expenses": "-3000.00",
    }
    assert ExpenseDeduction.objects.get(income_line=refund).amount_minor == -3_000_00
    assert deal_expense_cap(deal=deal).deducted_minor == 6_000_00
    assert _payable(world.creator_a) == 33_600_00 - 11_200_00  # less 70 % of the refund's 16,000.00 net
    _verified(world)


def test_a_refund_in_the_same_statement_as_its_payment_frees_its_share_of_the_expenses(world) -> None:
    # One statement holds the payment and its refund, so one batch recognises both: the refund's
    # share of the expenses must be recorded as freed although the payment's deduction is not
    # saved yet when the batch reads the refunds' originals.
    active_contract(world)
    deal = _deal(world)
    _approve(world, deal, 9_000_00)

    _statement(
        world,
        _pay(world, "P-1", "60000.00"),
        "R-1,2027-01-20T10:00:00+08:00,douyin,dy_a,brand_deal,-20000.00,CNY,XT-9000,P-1,Partial refund",
    )

    refund = IncomeLine.objects.get(external_id="R-1")
    assert refund.state == "recognised"
    assert income_line_split(line=refund)["result"]["deductions"]["expenses"] == "-3000.00"
    assert ExpenseDeduction.objects.get(income_line=refund).amount_minor == -3_000_00
    assert deal_expense_cap(deal=deal).deducted_minor == 6_000_00
    _verified(world)


def test_a_brand_refund_after_a_reissue_refunds_the_reissued_line(world) -> None:
    active_contract(world)
    deal = _deal(world)
    _statement(world, _pay(world, "P-1", "60000.00"))
    _approve(world, deal, 9_000_00)

    # The brand's statement names its own payment, P-1; the ledger refunds its re-issue.
    _statement(
        world,
        "R-1,2027-01-20T10:00:00+08:00,douyin,dy_a,brand_deal,-60000.00,CNY,XT-9000,P-1,Full refund",
        name="r.csv",
    )

    refund = IncomeLine.objects.get(external_id="R-1")
    assert refund.state == "recognised", refund.exception_detail
    reissued = ExpenseReissue.objects.get(original_line__external_id="P-1").reissue_line
    assert refund.allocation.refund_of_line_id == reissued.pk
    assert _payable(world.creator_a) == 0
    assert deal_expense_cap(deal=deal).deducted_minor == 0
    _verified(world)


def test_a_line_whose_contract_accepts_no_expenses_waits_in_the_queue(world) -> None:
    import copy
    import datetime

    from apps.contracts.builtin_templates import BUILTIN_TEMPLATES

    # The deal's due date falls under a contract with an expenses clause (so the creator could
    # approve them); the payment arrives under a later one without it.
    active_contract(world, start_date=datetime.date(2026, 1, 1), end_date=datetime.date(2027, 1, 31))
    rules = copy.deepcopy(
        next(t for t in BUILTIN_TEMPLATES if t["key"] == "exclusive-management-en")["default_rule_set"]
    )
    del rules["rules"][0]["expenses"]
    active_contract(
        world, start_date=datetime.date(2027, 2, 1), end_date=datetime.date(2027, 12, 31), rule_set=rules
    )
    deal = _deal(world)
    _approve(world, deal, 9_000_00)

    _statement(world, _pay(world, "P-1", "60000.00", day="2027-02-10"))

    line = IncomeLine.objects.get(external_id="P-1")
    assert (line.status, line.exception_reason) == ("exception", "engine_error")
    assert line.exception_detail.startswith("EXPENSES_NOT_ALLOWED")
    assert "9,000.00" in line.exception_detail
    assert _payable(world.creator_a) == 0
    assert deal_expense_cap(deal=deal).deducted_minor == 0


def test_the_deal_shows_what_of_its_approved_expenses_was_deducted(world) -> None:
    from tests.conftest import api_as, web_as

    active_contract(world)
    deal = _deal(world)
    _approve(world, deal, 9_000_00)
    _statement(world, _pay(world, "P-1", "30000.00"))

    body = api_as(world.creator_a.user).get(f"/api/v1/deals/{deal.public_id}/").json()
    assert (body["expenses_cap"]["approved"], body["expenses_cap"]["deducted"]) == ("9000.00", "4500.00")
    page = web_as(world.manager_a).get(f"/deals/{deal.public_id}/")
    assert page.status_code == 200
    assert "4,500.00" in page.content.decode()


def test_the_repair_command_deducts_expenses_approved_before_they_reached_the_split(world) -> None:
    """Approvals made before this fix changed nothing in the ledger; the command re-issues."""
    from django.core.management import call_command
    from django.utils import timezone

    active_contract(world)
    deal = _deal(world)
    _statement(world, _pay(world, "P-1", "60000.00"))
    expense = deal_expense_submit(
        deal=deal,
        actor=world.manager_a,
        description="Studio",
        amount_minor=9_000_00,
        receipt=SimpleUploadedFile("receipt.pdf", PDF, content_type="application/pdf"),
    )
    # As the old approval left it: approved, and nothing else.
    DealExpense.objects.filter(pk=expense.pk).update(
        status=DealExpense.Status.APPROVED, decided_by=world.creator_a.user, decided_at=timezone.now()
    )
    assert _payable(world.creator_a) == 39_900_00

    call_command("deal_expenses_repair")
    assert _payable(world.creator_a) == 33_600_00
    call_command("deal_expenses_repair")  # again: nothing more

    assert ExpenseReissue.objects.count() == 1
    assert _payable(world.creator_a) == 33_600_00
    _verified(world)


def _usd_deal(world: Any) -> Any:
    import datetime
    from decimal import Decimal

    from apps.income.models import FxRate

    FxRate.objects.create(
        base="USD", quote="CNY", date=datetime.date(2027, 1, 1), rate=Decimal("7.0000"), source="PBOC"
    )
    return deal_create(
        actor=world.manager_a,
        agency=world.agency_a,
        creator=world.creator_a,
        brand="Tea Co",
        platform="douyin",
        fee_minor=10_000_00,
        currency="USD",
        due_on=datetime.date(2027, 1, 15),
        order_ref="XT-USD",
    )


def _pay_usd(key: str = "P-USD") -> str:
    return f"{key},2027-01-10T10:00:00+08:00,douyin,dy_a,brand_deal,10000.00,USD,XT-USD,,Tea Co video"


def test_a_converted_payment_with_expenses_to_deduct_waits_in_the_queue(world) -> None:
    active_contract(world)  # the split rules are in CNY
    deal = _usd_deal(world)
    _approve(world, deal, 1_000_00)

    _statement(world, _pay_usd())

    line = IncomeLine.objects.get(external_id="P-USD")
    assert (line.status, line.exception_reason) == ("exception", "engine_error")
    assert "converted from USD to CNY" in line.exception_detail
    assert "$1,000.00" in line.exception_detail or "US$1,000.00" in line.exception_detail
    assert _payable(world.creator_a) == 0


def test_an_approval_that_cannot_reach_a_converted_payment_is_refused(world) -> None:
    from apps.common.exceptions import ApplicationError

    active_contract(world)
    deal = _usd_deal(world)
    _statement(world, _pay_usd())
    assert IncomeLine.objects.get(external_id="P-USD").state == "recognised"
    before = _payable(world.creator_a)
    expense = deal_expense_submit(
        deal=deal,
        actor=world.manager_a,
        description="Studio",
        amount_minor=1_000_00,
        receipt=SimpleUploadedFile("receipt.pdf", PDF, content_type="application/pdf"),
    )

    with pytest.raises(ApplicationError) as error:
        deal_expense_approve(expense=expense, actor=world.creator_a.user)

    assert error.value.code == "expenses_not_deductible"
    assert DealExpense.objects.get(pk=expense.pk).status == DealExpense.Status.SUBMITTED
    assert not ExpenseReissue.objects.exists()
    assert _payable(world.creator_a) == before


def test_an_approval_after_a_partial_refund_reissues_what_is_left_under_its_own_cap(world) -> None:
    active_contract(world)
    deal = _deal(world)
    _statement(world, _pay(world, "P-1", "60000.00"))
    _statement(
        world,
        "R-1,2027-01-20T10:00:00+08:00,douyin,dy_a,brand_deal,-20000.00,CNY,XT-9000,P-1,Partial refund",
        name="r.csv",
    )
    assert _payable(world.creator_a) == 39_900_00 - 13_300_00

    _approve(world, deal, 9_000_00)

    reissue = ExpenseReissue.objects.get(original_line__external_id="P-1")
    assert (reissue.reversal_line.gross_minor, reissue.reissue_line.gross_minor) == (-40_000_00, 40_000_00)
    # 15 % of the 40,000.00 left: 6,000.00 now; 3,000.00 stays approved, not deducted.
    assert income_line_split(line=reissue.reissue_line)["result"]["deductions"]["expenses"] == "6000.00"
    cap = deal_expense_cap(deal=deal)
    assert (cap.deducted_minor, cap.undeducted_minor) == (6_000_00, 3_000_00)
    assert _payable(world.creator_a) == 22_400_00  # 70 % × (40,000 − 2,000 − 6,000)
    _verified(world)
