"""Reconciliation of brand payments against deals: order reference first, then creator, brand,
amount within a tolerance and a date window; partial, overpaid, refunds, and re-runs."""

from __future__ import annotations

import datetime

import pytest

from apps.deals.models import BrandDeal, DealPayment
from apps.deals.services import deal_reconcile_lines, payment_tolerance
from apps.income.models import IncomeLine
from tests.deals.conftest import deal, line

pytestmark = pytest.mark.django_db

Status = BrandDeal.Status
LineStatus = IncomeLine.Status
Reason = IncomeLine.ExceptionReason


def reconcile(world, *lines: IncomeLine) -> None:
    deal_reconcile_lines(agency=world.agency_a, line_ids=[item.pk for item in lines])


def fresh(obj):
    obj.refresh_from_db()
    return obj


def test_a_payment_with_the_order_ref_pays_the_deal(world) -> None:
    target = deal(world, order_ref="XT-ORDER-7731")
    payment = line(world.agency_a, world.creator_a, order_ref="XT-ORDER-7731", gross_minor=10_000_00)
    reconcile(world, payment)
    assert fresh(payment).status == LineStatus.MATCHED
    assert (fresh(target).paid_minor, target.status) == (10_000_00, Status.PAID)
    link = DealPayment.objects.get(income_line=payment)
    assert (link.deal_id, link.outcome, link.method) == (target.pk, "matched", "order_ref")


def test_the_order_ref_wins_over_a_better_fuzzy_candidate(world) -> None:
    by_ref = deal(world, order_ref="REF-A", brand="Phone Co", due_on=datetime.date(2027, 2, 20))
    deal(world, brand="Tea Co")  # same creator, amount and date: would fit fuzzily
    payment = line(world.agency_a, world.creator_a, order_ref="REF-A", description="Tea Co video")
    reconcile(world, payment)
    assert DealPayment.objects.get(income_line=payment).deal_id == by_ref.pk


def test_instalments_by_order_ref_make_a_deal_partially_paid_then_paid(world) -> None:
    target = deal(world, order_ref="XT-5")
    first = line(world.agency_a, world.creator_a, order_ref="XT-5", gross_minor=5_000_00)
    second = line(
        world.agency_a,
        world.creator_a,
        order_ref="XT-5",
        gross_minor=5_000_00,
        occurred_at=datetime.datetime(2027, 1, 20, tzinfo=datetime.UTC),
    )
    reconcile(world, first)
    assert (fresh(target).status, target.paid_minor) == (Status.PARTIALLY_PAID, 5_000_00)
    assert DealPayment.objects.get(income_line=first).outcome == "partial"
    assert fresh(first).status == LineStatus.MATCHED  # a partial payment is real income of the deal
    reconcile(world, second)
    assert (fresh(target).status, target.paid_minor) == (Status.PAID, 10_000_00)
    assert DealPayment.objects.get(income_line=second).outcome == "matched"


def test_two_instalments_in_one_batch_are_counted_in_order(world) -> None:
    target = deal(world)
    lines = [
        line(world.agency_a, world.creator_a, gross_minor=10_000_00, description="Tea Co"),
        line(world.agency_a, world.creator_a, gross_minor=10_000_00, description="Tea Co"),
    ]
    reconcile(world, *lines)
    # The first pays the deal in full; the second no longer fits anything and goes to the queue.
    assert fresh(target).paid_minor == 10_000_00
    assert [fresh(item).status for item in lines] == [LineStatus.MATCHED, LineStatus.EXCEPTION]


def test_an_overpayment_goes_to_the_queue_without_counting(world) -> None:
    target = deal(world, order_ref="XT-6")
    payment = line(world.agency_a, world.creator_a, order_ref="XT-6", gross_minor=12_000_00)
    reconcile(world, payment)
    fresh(payment)
    assert (payment.status, payment.exception_reason) == (LineStatus.EXCEPTION, Reason.OVERPAID)
    assert "¥2,000.00 more" in payment.exception_detail and "XT-6" in payment.exception_detail
    assert fresh(target).paid_minor == 0
    assert not DealPayment.objects.exists()


def test_fuzzy_match_by_creator_brand_amount_and_date(world) -> None:
    target = deal(world, brand="Tea Co", fee_minor=10_000_00, due_on=datetime.date(2027, 1, 15))
    # Within 1 %: a bank fee took ¥50.
    payment = line(
        world.agency_a,
        world.creator_a,
        gross_minor=9_950_00,
        description="Tea Co spring campaign",
        occurred_at=datetime.datetime(2027, 2, 20, 9, tzinfo=datetime.UTC),  # 36 days after due
    )
    reconcile(world, payment)
    link = DealPayment.objects.get(income_line=payment)
    assert (link.deal_id, link.method, link.outcome) == (target.pk, "fuzzy", "partial")
    assert fresh(target).status == Status.PARTIALLY_PAID


def test_fuzzy_prefers_the_deal_whose_brand_the_line_names(world) -> None:
    deal(world, brand="Phone Co")
    tea = deal(world, brand="Tea Co")
    payment = line(world.agency_a, world.creator_a, description="TEA CO payment")
    reconcile(world, payment)
    assert DealPayment.objects.get(income_line=payment).deal_id == tea.pk


def test_an_explicit_brand_in_the_metadata_excludes_other_brands(world) -> None:
    deal(world, brand="Phone Co")
    payment = line(world.agency_a, world.creator_a, metadata={"brand": "Tea Co"})
    reconcile(world, payment)
    assert fresh(payment).exception_reason == Reason.UNMATCHED_DEAL


def test_equally_good_candidates_are_not_guessed(world) -> None:
    deal(world, brand="Tea Co", campaign="A")
    deal(world, brand="Tea Co", campaign="B")
    payment = line(world.agency_a, world.creator_a, description="Tea Co")
    reconcile(world, payment)
    fresh(payment)
    assert payment.exception_reason == Reason.UNMATCHED_DEAL
    assert "2 deals fit this payment equally" in payment.exception_detail
    assert not DealPayment.objects.exists()


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"gross_minor": 9_800_00}, "2 % short: outside the tolerance"),
        ({"occurred_at": datetime.datetime(2027, 3, 5, tzinfo=datetime.UTC)}, "49 days after due"),
        ({"currency": "USD"}, "another currency"),
        ({"order_ref": "OTHER-REF"}, "the deal carries another reference"),
    ],
)
def test_lines_outside_the_rules_are_unmatched(world, fields, why) -> None:
    target = deal(world, order_ref="XT-7")
    payment = line(world.agency_a, world.creator_a, **fields)
    reconcile(world, payment)
    fresh(payment)
    assert (payment.status, payment.exception_reason) == (LineStatus.EXCEPTION, Reason.UNMATCHED_DEAL), why
    assert payment.exception_detail
    assert fresh(target).paid_minor == 0


def test_another_creators_deal_is_never_paid(world) -> None:
    deal(world, creator=world.creator_a2, order_ref="XT-8")
    by_ref = line(world.agency_a, world.creator_a, order_ref="XT-8")
    fuzzy = line(world.agency_a, world.creator_a, description="Tea Co")
    reconcile(world, by_ref, fuzzy)
    assert "another creator" in fresh(by_ref).exception_detail
    assert fresh(fuzzy).exception_reason == Reason.UNMATCHED_DEAL


def test_another_agencys_deal_is_never_paid(world) -> None:
    deal(world, actor=world.owner_b, agency=world.agency_b, creator=world.creator_b, order_ref="XT-B")
    payment = line(world.agency_a, world.creator_a, order_ref="XT-B")
    reconcile(world, payment)
    assert fresh(payment).exception_reason == Reason.UNMATCHED_DEAL
    # And lines of agency A are not reconciled when agency B's batch names them.
    other = line(world.agency_a, world.creator_a, order_ref="XT-B")
    deal_reconcile_lines(agency=world.agency_b, line_ids=[other.pk])
    assert fresh(other).status == LineStatus.IMPORTED


def test_a_rerun_counts_nothing_twice(world, django_assert_max_num_queries) -> None:
    target = deal(world, order_ref="XT-10")
    lines = [line(world.agency_a, world.creator_a, order_ref="XT-10", gross_minor=2_000_00) for _ in range(3)]
    reconcile(world, *lines)
    reconcile(world, *lines)
    # Even if income put a line back to imported, its payment link stops a second count.
    from apps.income.services import income_line_mark

    income_line_mark(lines_qs_or_ids=[lines[0].pk], status=LineStatus.IMPORTED)
    with django_assert_max_num_queries(3):
        reconcile(world, *lines)
    assert fresh(target).paid_minor == 6_000_00
    assert DealPayment.objects.count() == 3


def test_a_refund_reduces_what_was_paid(world) -> None:
    target = deal(world, order_ref="XT-ORDER-7731")
    original = line(world.agency_a, world.creator_a, order_ref="XT-ORDER-7731")
    reconcile(world, original)
    refund = line(
        world.agency_a,
        world.creator_a,
        order_ref="",
        gross_minor=-2_000_00,
        refund_of=original,
        occurred_at=datetime.datetime(2027, 1, 20, tzinfo=datetime.UTC),
    )
    reconcile(world, refund)
    assert (fresh(target).paid_minor, target.status) == (8_000_00, Status.PARTIALLY_PAID)
    link = DealPayment.objects.get(income_line=refund)
    assert (link.amount_minor, link.outcome, link.method) == (-2_000_00, "refund", "refund_of")
    assert fresh(refund).status == LineStatus.MATCHED


def test_a_refund_of_an_unmatched_payment_goes_to_the_queue(world) -> None:
    refund = line(world.agency_a, world.creator_a, gross_minor=-100_00)
    reconcile(world, refund)
    assert fresh(refund).exception_reason == Reason.UNMATCHED_DEAL


def test_other_sources_and_unknown_accounts_are_left_to_income(world) -> None:
    deal(world, order_ref="XT-11")
    gifts = line(world.agency_a, world.creator_a, source="live_gifts", order_ref="XT-11")
    unknown = line(world.agency_a, None, order_ref="XT-11")
    reconcile(world, gifts, unknown)
    assert fresh(gifts).status == LineStatus.IMPORTED
    assert fresh(unknown).status == LineStatus.IMPORTED


def test_one_query_finds_the_candidates_of_a_whole_batch(world, django_assert_max_num_queries) -> None:
    for number in range(10):
        deal(world, order_ref=f"B-{number}", brand=f"Brand {number}", fee_minor=(number + 1) * 1_000_00)
    lines = [
        line(world.agency_a, world.creator_a, order_ref=f"B-{number}", gross_minor=(number + 1) * 1_000_00)
        for number in range(10)
    ]
    # lines, refund origins, deals, payments insert, deals update, one mark: independent of the batch size.
    with django_assert_max_num_queries(8):
        reconcile(world, *lines)
    assert set(IncomeLine.objects.values_list("status", flat=True)) == {LineStatus.MATCHED}
    assert set(BrandDeal.objects.values_list("status", flat=True)) == {Status.PAID}


def test_the_tolerance_is_one_percent_or_one_major_unit() -> None:
    assert payment_tolerance(10_000_00, "CNY") == 100_00
    assert payment_tolerance(50_00, "CNY") == 1_00
    assert payment_tolerance(5_000, "JPY") == 50
