"""Income hands its brand-deal lines to the reconciler apps.deals registers (apps/income/hooks.py)
instead of importing deals; without one it matches by order reference alone."""

from __future__ import annotations

import pytest

from apps.deals.models import DealPayment
from apps.deals.services import deal_reconcile_lines
from apps.income import hooks
from apps.income.models import IncomeLine
from apps.income.pipeline import reconcile_lines
from tests.deals.conftest import deal, line

pytestmark = pytest.mark.django_db


def test_deals_registers_its_reconciler_when_the_app_is_ready() -> None:
    assert hooks.brand_deal_reconciler() is deal_reconcile_lines


def test_reconcile_lines_pays_the_deal_through_the_registered_reconciler(world) -> None:
    target = deal(world, order_ref="XT-HOOK", fee_minor=10_000_00)
    payment = line(world.agency_a, world.creator_a, order_ref="XT-HOOK", gross_minor=10_000_00)
    queued = reconcile_lines(agency_id=world.agency_a.pk, line_ids=[payment.pk])
    assert queued == 0
    assert DealPayment.objects.get(income_line=payment).deal_id == target.pk
    assert IncomeLine.objects.get(pk=payment.pk).status == IncomeLine.Status.MATCHED


def test_without_a_registered_reconciler_income_matches_by_order_reference(world) -> None:
    with_ref = line(world.agency_a, world.creator_a, order_ref="XT-NONE")
    without_ref = line(world.agency_a, world.creator_a, order_ref="")
    saved = dict(hooks._reconcilers)
    hooks._reconcilers.clear()  # as if apps.deals were not installed
    try:
        queued = reconcile_lines(agency_id=world.agency_a.pk, line_ids=[with_ref.pk, without_ref.pk])
    finally:
        hooks._reconcilers.update(saved)
    assert queued == 1
    assert IncomeLine.objects.get(pk=with_ref.pk).status == IncomeLine.Status.MATCHED
    unmatched = IncomeLine.objects.get(pk=without_ref.pk)
    assert unmatched.status == IncomeLine.Status.EXCEPTION
    assert unmatched.exception_reason == IncomeLine.ExceptionReason.UNMATCHED_DEAL
    assert not DealPayment.objects.filter(income_line__in=[with_ref, without_ref]).exists()
