"""End to end through income's real import pipeline: a canonical statement's brand payments
reach their deals; importing the same file again counts nothing twice."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.deals.models import BrandDeal, DealPayment
from apps.income.models import IncomeLine
from apps.income.pipeline import statement_import_create, statement_import_run
from tests.deals.conftest import deal

pytestmark = pytest.mark.django_db

CSV = """external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description
XT-20270110-0001,2027-01-10T10:00:00+08:00,douyin,dy_a,brand_deal,10000.00,CNY,XT-ORDER-7731,,Brand video for a tea brand
XT-20270112-0002,2027-01-12T10:00:00+08:00,douyin,dy_a,brand_deal,"4,999.00",CNY,,,Phone Co unboxing
XT-20270113-0003,2027-01-13T10:00:00+08:00,douyin,dy_a,brand_deal,777.00,CNY,,,Unknown sponsor
XT-20270120-0004,2027-01-20T09:00:00+08:00,douyin,dy_a,brand_deal,-2000.00,CNY,XT-ORDER-7731,XT-20270110-0001,Partial refund
BL-GIFT-551,2027-01-14,bilibili,bl_a2,live_gifts,"1,204.50",CNY,,,Live gifts
"""


def run_import(world) -> None:
    upload = SimpleUploadedFile("statement.csv", CSV.encode(), content_type="text/csv")
    statement = statement_import_create(
        agency=world.agency_a, actor=world.manager_a, file=upload, enqueue=False
    )
    statement_import_run(statement_import=statement)


def test_a_statement_pays_its_deals_and_a_second_import_adds_nothing(world) -> None:
    tea = deal(world, order_ref="XT-ORDER-7731")
    phone = deal(world, brand="Phone Co", campaign="Unboxing", fee_minor=5_000_00)

    run_import(world)
    tea.refresh_from_db()
    phone.refresh_from_db()
    assert (tea.paid_minor, tea.status) == (8_000_00, BrandDeal.Status.PARTIALLY_PAID)
    assert (phone.paid_minor, phone.status) == (4_999_00, BrandDeal.Status.PARTIALLY_PAID)
    unknown = IncomeLine.objects.get(external_id="XT-20270113-0003")
    assert (unknown.status, unknown.exception_reason) == ("exception", "unmatched_deal")
    assert DealPayment.objects.count() == 3

    run_import(world)
    assert DealPayment.objects.count() == 3
    assert BrandDeal.objects.get(pk=tea.pk).paid_minor == 8_000_00
