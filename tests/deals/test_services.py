"""Deals services: the status machine, expenses under the contract's cap, the overdue sweep."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.deals.models import BrandDeal, DealExpense
from apps.deals.selectors import deal_expense_cap
from apps.deals.services import (
    MAX_RECEIPT_BYTES,
    deal_cancel,
    deal_create,
    deal_expense_approve,
    deal_expense_reject,
    deal_expense_submit,
    deal_mark_delivered,
    deal_mark_invoiced,
    deal_reconcile_lines,
    deal_update,
    deals_flag_overdue,
    deliverable_add,
    deliverable_mark_delivered,
)
from tests.contracts.conftest import END, active_contract
from tests.deals.conftest import DUE, deal, line

pytestmark = pytest.mark.django_db

Status = BrandDeal.Status
PDF = b"%PDF-1.7\n%receipt\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def receipt(name: str = "receipt.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


# --- creation and permissions -------------------------------------------------------------------------


def test_a_manager_records_a_deal_with_deliverables(world) -> None:
    created = deal(
        world,
        order_ref="XT-1",
        deliverables=[{"description": "60s video", "due_on": datetime.date(2027, 1, 5)}],
    )
    assert created.status == Status.CONTRACTED
    assert created.paid_minor == 0
    assert [d.description for d in created.deliverables.all()] == ["60s video"]


@pytest.mark.parametrize("role", ["finance_a", "viewer_a"])
def test_finance_and_viewers_cannot_create_deals(world, role) -> None:
    with pytest.raises(PermissionDenied):
        deal(world, actor=getattr(world, role))


def test_another_agency_cannot_create_a_deal_here(world) -> None:
    with pytest.raises(NotFound):
        deal(world, actor=world.owner_b)


def test_a_deal_needs_a_creator_the_agency_represents_now(world) -> None:
    with pytest.raises(ApplicationError) as error:
        deal(world, creator=world.creator_b)
    assert error.value.code == "creator_not_represented"


def test_order_refs_are_unique_per_agency_only(world) -> None:
    deal(world, order_ref="XT-1")
    with pytest.raises(ApplicationError) as error:
        deal(world, order_ref="XT-1")
    assert error.value.code == "duplicate_order_ref"
    deal(world, actor=world.owner_b, agency=world.agency_b, creator=world.creator_b, order_ref="XT-1")
    # Blank references never collide.
    deal(world)
    deal(world)


def test_bad_amounts_and_currencies_are_refused(world) -> None:
    for fields, code in (({"fee_minor": 0}, "invalid_amount"), ({"currency": "XYZ"}, "invalid_currency")):
        with pytest.raises(ApplicationError) as error:
            deal(world, **fields)
        assert error.value.code == code


# --- the status machine -------------------------------------------------------------------------------


def test_work_steps_move_forward_only(world) -> None:
    created = deal(world)
    delivered = deal_mark_delivered(deal=created, actor=world.manager_a)
    assert delivered.status == Status.DELIVERED
    with pytest.raises(ApplicationError) as error:
        deal_mark_delivered(deal=delivered, actor=world.manager_a)
    assert error.value.code == "illegal_transition"
    invoiced = deal_mark_invoiced(deal=delivered, actor=world.owner_a)
    assert invoiced.status == Status.INVOICED
    with pytest.raises(ApplicationError):
        deal_mark_invoiced(deal=invoiced, actor=world.owner_a)


def test_the_last_deliverable_delivered_marks_the_deal_delivered(world) -> None:
    created = deal(world)
    first = deliverable_add(deal=created, actor=world.manager_a, description="Video", due_on=created.due_on)
    second = deliverable_add(deal=created, actor=world.manager_a, description="Post", due_on=created.due_on)
    deliverable_mark_delivered(deliverable=first, actor=world.manager_a)
    assert BrandDeal.objects.get(pk=created.pk).status == Status.CONTRACTED
    deliverable_mark_delivered(deliverable=second, actor=world.manager_a)
    assert BrandDeal.objects.get(pk=created.pk).status == Status.DELIVERED


def test_a_cancelled_deal_is_terminal(world) -> None:
    created = deal(world)
    with pytest.raises(ApplicationError) as error:
        deal_cancel(deal=created, actor=world.manager_a, reason=" ")
    assert error.value.code == "reason_required"
    cancelled = deal_cancel(deal=created, actor=world.manager_a, reason="Brand pulled out")
    assert cancelled.status == Status.CANCELLED
    for action in (deal_mark_delivered, deal_mark_invoiced):
        with pytest.raises(ApplicationError):
            action(deal=cancelled, actor=world.manager_a)
    with pytest.raises(ApplicationError) as error:
        deal_update(deal=cancelled, actor=world.manager_a, brand="Other")
    assert error.value.code == "deal_cancelled"


def test_a_deal_with_money_received_cannot_be_cancelled(world) -> None:
    created = deal(world, order_ref="XT-9")
    paid = line(world.agency_a, world.creator_a, order_ref="XT-9", gross_minor=4_000_00)
    deal_reconcile_lines(agency=world.agency_a, line_ids=[paid.pk])
    created.refresh_from_db()
    assert created.status == Status.PARTIALLY_PAID
    with pytest.raises(ApplicationError) as error:
        deal_cancel(deal=created, actor=world.manager_a, reason="no")
    assert error.value.code == "deal_has_payments"


def test_raising_the_fee_turns_paid_into_partially_paid(world) -> None:
    created = deal(world, order_ref="XT-2")
    paid = line(world.agency_a, world.creator_a, order_ref="XT-2")
    deal_reconcile_lines(agency=world.agency_a, line_ids=[paid.pk])
    created.refresh_from_db()
    assert created.status == Status.PAID
    updated = deal_update(deal=created, actor=world.manager_a, fee_minor=12_000_00)
    assert updated.status == Status.PARTIALLY_PAID
    assert updated.outstanding_minor == 2_000_00


# --- overdue ------------------------------------------------------------------------------------------


def test_the_overdue_sweep_flags_unpaid_deals_past_due_once(world) -> None:
    unpaid = deal(world, due_on=datetime.date(2027, 1, 15))
    part_paid = deal(world, due_on=datetime.date(2027, 1, 15), order_ref="XT-3")
    future = deal(world, due_on=datetime.date(2027, 3, 1))
    cancelled = deal_cancel(
        deal=deal(world, due_on=datetime.date(2027, 1, 15)), actor=world.manager_a, reason="x"
    )
    payment = line(world.agency_a, world.creator_a, order_ref="XT-3", gross_minor=1_00)
    deal_reconcile_lines(agency=world.agency_a, line_ids=[payment.pk])

    assert deals_flag_overdue(today=datetime.date(2027, 2, 1)) == 1
    assert deals_flag_overdue(today=datetime.date(2027, 2, 1)) == 0  # idempotent
    statuses = dict(BrandDeal.objects.values_list("pk", "status"))
    assert statuses[unpaid.pk] == Status.OVERDUE
    assert statuses[part_paid.pk] == Status.PARTIALLY_PAID
    assert statuses[future.pk] == Status.CONTRACTED
    assert statuses[cancelled.pk] == Status.CANCELLED


def test_an_overdue_deal_paid_later_becomes_paid_and_moving_the_due_date_clears_overdue(world) -> None:
    late = deal(world, due_on=datetime.date(2026, 10, 1), order_ref="XT-4")
    assert late.status == Status.OVERDUE  # recorded after its due date
    moved = deal_update(deal=late, actor=world.manager_a, due_on=datetime.date(2027, 6, 1))
    assert moved.status == Status.CONTRACTED
    payment = line(world.agency_a, world.creator_a, order_ref="XT-4")
    deal_reconcile_lines(agency=world.agency_a, line_ids=[payment.pk])
    moved.refresh_from_db()
    assert moved.status == Status.PAID


# --- expenses and the contract's cap ------------------------------------------------------------------


def test_receipts_must_be_pdf_jpg_or_png_of_at_most_10_mb(world) -> None:
    created = deal(world)
    submit = lambda upload: deal_expense_submit(  # noqa: E731
        deal=created, actor=world.manager_a, description="Studio", amount_minor=100_00, receipt=upload
    )
    assert submit(receipt()).receipt_content_type == "application/pdf"
    assert submit(receipt("scan.png", PNG)).receipt_content_type == "image/png"
    for upload, code in (
        (receipt("evil.pdf", b"MZ\x90\x00 not a pdf"), "receipt_invalid_type"),
        (receipt("receipt.exe", PDF), "receipt_invalid_type"),
        (receipt("big.pdf", PDF + b"0" * MAX_RECEIPT_BYTES), "receipt_too_large"),
        (None, "receipt_required"),
    ):
        with pytest.raises(ApplicationError) as error:
            submit(upload)
        assert error.value.code == code


def test_the_creator_approves_expenses_up_to_the_contracts_cap(world) -> None:
    active_contract(world)  # the built-in template: brand deals allow expenses up to 15 %
    created = deal(world, fee_minor=10_000_00)
    cap = deal_expense_cap(deal=created)
    assert (cap.cap_minor, cap.percent) == (1_500_00, "15")

    first = deal_expense_submit(
        deal=created, actor=world.manager_a, description="Studio", amount_minor=1_000_00, receipt=receipt()
    )
    second = deal_expense_submit(
        deal=created, actor=world.manager_a, description="Travel", amount_minor=600_00, receipt=receipt()
    )
    assert (
        deal_expense_approve(expense=first, actor=world.creator_a.user).status == DealExpense.Status.APPROVED
    )
    with pytest.raises(ApplicationError) as error:
        deal_expense_approve(expense=second, actor=world.creator_a.user)
    assert error.value.code == "expense_cap_exceeded"
    assert "¥1,500.00" in error.value.message and "15%" in error.value.message
    assert DealExpense.objects.get(pk=second.pk).status == DealExpense.Status.SUBMITTED
    assert (
        deal_expense_reject(expense=second, actor=world.creator_a.user, reason="Too much").status
        == "rejected"
    )


def test_without_a_contract_no_expense_can_be_approved(world) -> None:
    created = deal(world)
    expense = deal_expense_submit(
        deal=created, actor=world.manager_a, description="Studio", amount_minor=1_00, receipt=receipt()
    )
    with pytest.raises(ApplicationError) as error:
        deal_expense_approve(expense=expense, actor=world.creator_a.user)
    assert error.value.code == "expense_cap_exceeded"
    assert "No signed contract" in error.value.message


def test_only_the_creator_approves_expenses(world) -> None:
    active_contract(world)
    created = deal(world)
    expense = deal_expense_submit(
        deal=created, actor=world.manager_a, description="Studio", amount_minor=1_00, receipt=receipt()
    )
    for member in (world.owner_a, world.manager_a, world.finance_a):
        with pytest.raises(PermissionDenied):
            deal_expense_approve(expense=expense, actor=member)
    for outsider in (world.owner_b, world.creator_a2.user, world.creator_b.user):
        with pytest.raises(NotFound):
            deal_expense_approve(expense=expense, actor=outsider)
    deal_expense_approve(expense=expense, actor=world.creator_a.user)
    with pytest.raises(ApplicationError) as error:
        deal_expense_approve(expense=expense, actor=world.creator_a.user)
    assert error.value.code == "expense_already_decided"


def test_lowering_the_fee_below_what_approved_expenses_need_is_refused(world) -> None:
    active_contract(world)
    created = deal(world, fee_minor=10_000_00)
    expense = deal_expense_submit(
        deal=created, actor=world.manager_a, description="Studio", amount_minor=1_500_00, receipt=receipt()
    )
    deal_expense_approve(expense=expense, actor=world.creator_a.user)
    with pytest.raises(ApplicationError) as error:
        deal_update(deal=created, actor=world.manager_a, fee_minor=5_000_00)
    assert error.value.code == "expense_cap_exceeded"
    assert BrandDeal.objects.get(pk=created.pk).fee_minor == 10_000_00


def test_moving_the_due_date_outside_the_contract_with_approved_expenses_is_refused(world) -> None:
    active_contract(world)
    created = deal(world, fee_minor=10_000_00)
    expense = deal_expense_submit(
        deal=created, actor=world.manager_a, description="Studio", amount_minor=500_00, receipt=receipt()
    )
    deal_expense_approve(expense=expense, actor=world.creator_a.user)
    after_the_term = END + datetime.timedelta(days=30)

    with pytest.raises(ApplicationError) as error:
        deal_update(deal=created, actor=world.manager_a, due_on=after_the_term)

    assert error.value.code == "expense_cap_exceeded"
    assert "contract in force on that date" in error.value.message
    assert BrandDeal.objects.get(pk=created.pk).due_on == DUE
    moved = deal_update(deal=created, actor=world.manager_a, due_on=DUE + datetime.timedelta(days=7))
    assert moved.due_on == DUE + datetime.timedelta(days=7)


def test_deal_create_direct_call_keeps_currency_upper_case(world) -> None:
    created = deal_create(
        actor=world.owner_a,
        agency=world.agency_a,
        creator=world.creator_a2,
        brand="Phone Co",
        platform="bilibili",
        fee_minor=500_00,
        currency="usd",
        due_on=datetime.date(2027, 2, 1),
    )
    assert created.currency == "USD"
