"""Deal pages: console and creator views, the HTMX exceptions queue, errors next to their fields."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.deals.models import BrandDeal, DealExpense
from apps.deals.services import deal_expense_submit
from apps.income.models import IncomeLine
from tests.conftest import web_as
from tests.contracts.conftest import active_contract
from tests.deals.conftest import deal, exception_line

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%receipt\n"
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_a_manager_records_a_deal_from_the_console(world) -> None:
    client = web_as(world.manager_a)
    response = client.post(
        "/deals/new/",
        {
            "creator": world.creator_a.public_id,
            "brand": "Tea Co",
            "campaign": "Spring",
            "platform": "douyin",
            "fee": "10,000.00",
            "currency": "CNY",
            "order_ref": "XT-1",
            "due_on": "2027-01-15",
            "deliverable": "60s video",
            "deliverable_due_on": "2027-01-05",
        },
    )
    created = BrandDeal.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/deals/{created.public_id}/"
    assert created.fee_minor == 10_000_00
    page = client.get(response["Location"]).content.decode()
    assert "¥10,000.00" in page and "60s video" in page


def test_form_errors_show_next_to_their_field(world) -> None:
    deal(world, order_ref="XT-1")
    response = web_as(world.manager_a).post(
        "/deals/new/",
        {
            "creator": world.creator_a.public_id,
            "brand": "Tea Co",
            "platform": "douyin",
            "fee": "12.345",
            "currency": "CNY",
            "order_ref": "XT-1",
            "due_on": "2027-01-15",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="fee-error"' in page and "more decimals" in page


def test_viewers_and_creators_cannot_open_the_new_deal_page(world) -> None:
    assert web_as(world.viewer_a).get("/deals/new/").status_code == 404
    assert web_as(world.creator_a.user).get("/deals/new/").status_code == 404


def test_the_creator_sees_payment_status_and_approves_an_expense(world) -> None:
    active_contract(world)
    target = deal(world)
    expense = deal_expense_submit(
        deal=target,
        actor=world.manager_a,
        description="Studio hire",
        amount_minor=800_00,
        receipt=SimpleUploadedFile("r.pdf", PDF),
    )
    client = web_as(world.creator_a.user)
    listing = client.get("/deals/").content.decode()
    assert 'id="my-deals"' in listing and "Contracted" in listing and 'id="agency-deals"' not in listing
    page = client.get(f"/deals/{target.public_id}/").content.decode()
    assert "up to 15% of the fee: ¥1,500.00" in page
    client.post(f"/deals/expenses/{expense.public_id}/approve/")
    assert DealExpense.objects.get(pk=expense.pk).status == "approved"
    # A manager cannot approve, the page says so (403), nothing changes.
    other = deal_expense_submit(
        deal=target,
        actor=world.manager_a,
        description="x",
        amount_minor=1_00,
        receipt=SimpleUploadedFile("r.pdf", PDF),
    )
    assert web_as(world.manager_a).post(f"/deals/expenses/{other.public_id}/approve/").status_code == 403


def test_an_expense_over_the_cap_shows_the_reason(world) -> None:
    active_contract(world)
    target = deal(world)
    expense = deal_expense_submit(
        deal=target,
        actor=world.manager_a,
        description="x",
        amount_minor=2_000_00,
        receipt=SimpleUploadedFile("r.pdf", PDF),
    )
    response = web_as(world.creator_a.user).post(f"/deals/expenses/{expense.public_id}/approve/", follow=True)
    assert "above the cap of ¥1,500.00" in response.content.decode()


def test_uploading_a_bad_receipt_shows_the_error(world) -> None:
    target = deal(world)
    response = web_as(world.manager_a).post(
        f"/deals/{target.public_id}/expenses/",
        {"description": "x", "amount": "10.00", "receipt": SimpleUploadedFile("r.png", b"GIF89a")},
    )
    assert response.status_code == 400
    assert "must be a PDF, JPG or PNG" in response.content.decode()
    assert not DealExpense.objects.exists()


def test_other_tenants_pages_answer_404(world) -> None:
    foreign = deal(world, actor=world.owner_b, agency=world.agency_b, creator=world.creator_b)
    for user in (world.manager_a, world.viewer_a, world.creator_a.user):
        client = web_as(user)
        assert client.get(f"/deals/{foreign.public_id}/").status_code == 404
        assert client.post(f"/deals/{foreign.public_id}/deliver/").status_code == 404


def test_pages_use_a_bounded_number_of_queries(world, django_assert_max_num_queries) -> None:
    for number in range(5):
        deal(world, brand=f"Brand {number}")
        exception_line(world.agency_a, world.creator_a)
    client = web_as(world.manager_a)
    client.get("/deals/")  # warm the session and caches
    with django_assert_max_num_queries(14):
        assert client.get("/deals/").status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get("/deals/exceptions/").status_code == 200


# --- the exceptions queue ----------------------------------------------------------------------------------


def test_the_queue_lists_exceptions_with_reason_detail_amount_account_and_date(world) -> None:
    exception_line(
        world.agency_a,
        None,
        exception_reason="unknown_account",
        exception_detail="No creator has registered dy_zz.",
        account_id="dy_zz",
        gross_minor=1_234_50,
    )
    exception_line(world.agency_b, world.creator_b, external_id="FOREIGN-1")
    page = web_as(world.viewer_a).get("/deals/exceptions/").content.decode()
    assert "Unknown account" in page and "No creator has registered dy_zz." in page
    assert "¥1,234.50" in page and "dy_zz" in page and "2027-01-10" in page
    assert "FOREIGN-1" not in page
    assert "Assign to deal" not in page  # viewers read only


def test_creators_have_no_queue_page(world) -> None:
    assert web_as(world.creator_a.user).get("/deals/exceptions/").status_code == 404


def test_htmx_assign_to_a_deal_replaces_the_row(world) -> None:
    target = deal(world)
    line = exception_line(world.agency_a, world.creator_a)
    response = web_as(world.manager_a).post(
        f"/deals/exceptions/{line.public_id}/assign-deal/", {"deal": target.public_id}, **HTMX
    )
    assert response.status_code == 200
    assert 'data-state="resolved"' in response.content.decode()
    assert IncomeLine.objects.get(pk=line.pk).status == "matched"
    assert BrandDeal.objects.get(pk=target.pk).status == "paid"


def test_htmx_errors_come_back_in_the_row_with_a_4xx(world) -> None:
    other_creators = deal(world, creator=world.creator_a2)
    foreign = deal(world, actor=world.owner_b, agency=world.agency_b, creator=world.creator_b)
    line = exception_line(world.agency_a, world.creator_a)
    client = web_as(world.finance_a)
    url = f"/deals/exceptions/{line.public_id}/assign-deal/"
    response = client.post(url, {"deal": other_creators.public_id}, **HTMX)
    assert response.status_code == 400
    assert "the deal is Creator A2" in response.content.decode()
    response = client.post(url, {"deal": foreign.public_id}, **HTMX)
    assert response.status_code == 404
    assert "No such deal in this line" in response.content.decode()
    response = client.post(f"/deals/exceptions/{line.public_id}/dismiss/", {"reason": "  "}, **HTMX)
    assert response.status_code == 400 and "Say why" in response.content.decode()
    assert IncomeLine.objects.get(pk=line.pk).status == "exception"
    # A viewer may not act at all.
    assert web_as(world.viewer_a).post(url, {"deal": other_creators.public_id}, **HTMX).status_code == 403


def test_htmx_dismiss_and_assign_to_creator(world) -> None:
    first = exception_line(world.agency_a, None, exception_reason="unknown_account")
    second = exception_line(world.agency_a, None, exception_reason="unknown_account")
    client = web_as(world.owner_a)
    response = client.post(
        f"/deals/exceptions/{first.public_id}/assign-creator/",
        {"creator": world.creator_a2.public_id},
        **HTMX,
    )
    assert response.status_code == 200 and "Assigned to Creator A2" in response.content.decode()
    response = client.post(
        f"/deals/exceptions/{second.public_id}/dismiss/", {"reason": "A test transfer"}, **HTMX
    )
    assert response.status_code == 200
    statuses = dict(IncomeLine.objects.values_list("pk", "status"))
    assert (statuses[first.pk], statuses[second.pk]) == ("matched", "dismissed")


def test_the_queue_and_its_messages_speak_chinese(world) -> None:
    target = deal(world, creator=world.creator_a2)
    line = exception_line(world.agency_a, world.creator_a)
    client = web_as(world.manager_a)
    client.cookies["django_language"] = "zh-hans"
    page = client.get("/deals/exceptions/").content.decode()
    assert "异常队列" in page and "指派给商单" in page
    response = client.post(
        f"/deals/exceptions/{line.public_id}/assign-deal/", {"deal": target.public_id}, HTTP_HX_REQUEST="true"
    )
    assert "这条收入属于 Creator A，而该商单属于 Creator A2。" in response.content.decode()
