"""Deals API: amounts as decimal strings, problem details on bad input, and the tenancy matrix."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.deals.models import BrandDeal, DealPayment
from apps.deals.services import deal_expense_submit
from apps.income.models import IncomeLine
from tests.conftest import api_as
from tests.contracts.conftest import active_contract
from tests.deals.conftest import deal, exception_line

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%receipt\n"


def create_payload(world, **changes) -> dict:
    payload = {
        "agency": str(world.agency_a.public_id),
        "creator": str(world.creator_a.public_id),
        "brand": "Tea Co",
        "campaign": "Spring",
        "platform": "douyin",
        "fee": "10,000.00",
        "currency": "CNY",
        "order_ref": "XT-ORDER-7731",
        "due_on": "2027-01-15",
        "deliverables": [{"description": "60s video", "due_on": "2027-01-05"}],
    }
    payload.update(changes)
    return payload


def test_a_manager_creates_a_deal_and_reads_it_back(world) -> None:
    response = api_as(world.manager_a).post("/api/v1/deals/", create_payload(world), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["fee"], body["paid"], body["outstanding"], body["status"]) == (
        "10000.00",
        "0.00",
        "10000.00",
        "contracted",
    )
    assert body["deliverables"][0]["description"] == "60s video"
    assert body["expenses_cap"]["reason"] == "no_contract"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"fee": "10.001"}, "invalid_amount"),
        ({"fee": "ten"}, "invalid_amount"),
        ({"fee": "-5.00"}, "invalid_amount"),
        ({"platform": "myspace"}, "invalid"),
        ({"due_on": "soon"}, "invalid"),
        ({"deliverables": [{"description": "x"}]}, "invalid"),
        ({"creator": "not-a-uuid"}, "invalid"),
    ],
)
def test_bad_input_is_a_problem_not_a_500(world, changes, code) -> None:
    response = api_as(world.manager_a).post("/api/v1/deals/", create_payload(world, **changes), format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_another_tenants_creator_or_agency_answers_404(world) -> None:
    client = api_as(world.manager_a)
    response = client.post(
        "/api/v1/deals/", create_payload(world, creator=str(world.creator_b.public_id)), format="json"
    )
    assert response.status_code == 404
    response = client.post(
        "/api/v1/deals/", create_payload(world, agency=str(world.agency_b.public_id)), format="json"
    )
    assert response.status_code == 404


def test_an_illegal_transition_is_a_400_with_a_message(world) -> None:
    target = deal(world)
    client = api_as(world.manager_a)
    assert client.post(f"/api/v1/deals/{target.public_id}/cancel/", {"reason": "Pulled"}).status_code == 200
    response = client.post(f"/api/v1/deals/{target.public_id}/deliver/")
    assert response.status_code == 400
    assert response.json()["code"] == "illegal_transition"


def test_expense_upload_and_creator_approval_over_the_api(world) -> None:
    active_contract(world)
    target = deal(world)
    upload = SimpleUploadedFile("receipt.pdf", PDF, content_type="application/pdf")
    response = api_as(world.manager_a).post(
        f"/api/v1/deals/{target.public_id}/expenses/",
        {"description": "Studio", "amount": "800.00", "receipt": upload},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    expense_id = response.json()["public_id"]
    bad = SimpleUploadedFile("receipt.pdf", b"<script>", content_type="application/pdf")
    response = api_as(world.manager_a).post(
        f"/api/v1/deals/{target.public_id}/expenses/",
        {"description": "Studio", "amount": "800.00", "receipt": bad},
        format="multipart",
    )
    assert (response.status_code, response.json()["code"]) == (400, "receipt_invalid_type")

    assert api_as(world.manager_a).post(f"/api/v1/deals/expenses/{expense_id}/approve/").status_code == 403
    response = api_as(world.creator_a.user).post(f"/api/v1/deals/expenses/{expense_id}/approve/")
    assert (response.status_code, response.json()["status"]) == (200, "approved")
    receipt = api_as(world.creator_a.user).get(f"/api/v1/deals/expenses/{expense_id}/receipt/")
    assert receipt.status_code == 200
    assert b"".join(receipt.streaming_content) == PDF
    assert api_as(world.owner_b).get(f"/api/v1/deals/expenses/{expense_id}/receipt/").status_code == 404


def test_creators_see_their_own_deals_and_payment_status_only(world) -> None:
    mine = deal(world)
    deal(world, creator=world.creator_a2)
    deal(world, actor=world.owner_b, agency=world.agency_b, creator=world.creator_b)
    body = api_as(world.creator_a.user).get("/api/v1/deals/").json()["results"]
    assert [item["public_id"] for item in body] == [str(mine.public_id)]
    assert body[0]["status"] == "contracted" and body[0]["paid"] == "0.00"


def test_the_list_is_a_constant_number_of_queries(world, django_assert_max_num_queries) -> None:
    for number in range(5):
        deal(world, brand=f"Brand {number}")
    with django_assert_max_num_queries(6):
        response = api_as(world.finance_a).get("/api/v1/deals/")
    assert len(response.json()["results"]) == 5


# --- the permission matrix ------------------------------------------------------------------------------


ROLES = ["owner_a", "manager_a", "finance_a", "viewer_a"]


@pytest.mark.parametrize("role", [*ROLES, "creator_a", "creator_a2"])
def test_no_role_of_agency_a_reaches_agency_bs_deal_or_line(world, role) -> None:
    actor = (
        world.creator_a.user
        if role == "creator_a"
        else world.creator_a2.user
        if role == "creator_a2"
        else getattr(world, role)
    )
    foreign_deal = deal(world, actor=world.owner_b, agency=world.agency_b, creator=world.creator_b)
    foreign_line = exception_line(world.agency_b, world.creator_b)
    own_line = exception_line(world.agency_a, world.creator_a)
    client = api_as(actor)
    for method, url, data in (
        ("get", f"/api/v1/deals/{foreign_deal.public_id}/", None),
        ("patch", f"/api/v1/deals/{foreign_deal.public_id}/", {"brand": "x"}),
        ("post", f"/api/v1/deals/{foreign_deal.public_id}/deliver/", None),
        ("post", f"/api/v1/deals/{foreign_deal.public_id}/cancel/", {"reason": "x"}),
        (
            "post",
            f"/api/v1/deals/exceptions/{foreign_line.public_id}/assign-deal/",
            {"deal": str(foreign_deal.public_id)},
        ),
        ("post", f"/api/v1/deals/exceptions/{foreign_line.public_id}/dismiss/", {"reason": "x"}),
        # A line of one's own agency assigned to the other agency's deal: the deal is not found.
        *(
            [
                (
                    "post",
                    f"/api/v1/deals/exceptions/{own_line.public_id}/assign-deal/",
                    {"deal": str(foreign_deal.public_id)},
                )
            ]
            if role in ("owner_a", "manager_a", "finance_a")
            else []
        ),
    ):
        response = getattr(client, method)(url, data, format="json")
        assert response.status_code == 404, (role, url, response.content)
    assert not DealPayment.objects.exists()
    assert IncomeLine.objects.get(pk=foreign_line.pk).status == "exception"


@pytest.mark.parametrize(
    ("role", "can_edit", "can_act_on_queue"),
    [
        ("owner_a", True, True),
        ("manager_a", True, True),
        ("finance_a", False, True),
        ("viewer_a", False, False),
    ],
)
def test_roles_of_the_deals_own_agency(world, role, can_edit, can_act_on_queue) -> None:
    actor = getattr(world, role)
    target = deal(world, order_ref="XT-1")
    client = api_as(actor)
    assert client.get(f"/api/v1/deals/{target.public_id}/").status_code == 200
    response = client.patch(f"/api/v1/deals/{target.public_id}/", {"campaign": "Summer"}, format="json")
    assert response.status_code == (200 if can_edit else 403)
    assert client.get("/api/v1/deals/exceptions/").status_code == 200
    line = exception_line(world.agency_a, world.creator_a, gross_minor=4_000_00)
    response = client.post(
        f"/api/v1/deals/exceptions/{line.public_id}/assign-deal/",
        {"deal": str(target.public_id)},
        format="json",
    )
    assert response.status_code == (200 if can_act_on_queue else 403), response.content
    target.refresh_from_db()
    assert target.paid_minor == (4_000_00 if can_act_on_queue else 0)


def test_creators_have_no_queue(world) -> None:
    exception_line(world.agency_a, world.creator_a)
    assert api_as(world.creator_a.user).get("/api/v1/deals/exceptions/").json()["results"] == []


def test_queue_actions_over_the_api(world) -> None:
    target = deal(world, creator=world.creator_a2, order_ref="XT-2")
    client = api_as(world.finance_a)
    wrong_creator = exception_line(world.agency_a, world.creator_a)
    response = client.post(
        f"/api/v1/deals/exceptions/{wrong_creator.public_id}/assign-deal/", {"deal": str(target.public_id)}
    )
    assert (response.status_code, response.json()["code"]) == (400, "deal_of_another_creator")
    assert "Creator A" in response.json()["detail"]

    unknown = exception_line(world.agency_a, None, exception_reason="unknown_account", account_id="dy_new")
    response = client.post(
        f"/api/v1/deals/exceptions/{unknown.public_id}/assign-deal/", {"deal": str(target.public_id)}
    )
    assert response.status_code == 200
    assert response.json()["outcome"] == "matched"
    unknown.refresh_from_db()
    assert (unknown.status, unknown.creator_id) == ("matched", world.creator_a2.pk)
    assert BrandDeal.objects.get(pk=target.pk).status == "paid"

    to_creator = exception_line(world.agency_a, None, exception_reason="unknown_account")
    response = client.post(
        f"/api/v1/deals/exceptions/{to_creator.public_id}/assign-creator/",
        {"creator": str(world.creator_a.public_id)},
    )
    assert (response.status_code, response.json()["status"]) == (200, "matched")
    foreign_creator = exception_line(world.agency_a, None, exception_reason="unknown_account")
    response = client.post(
        f"/api/v1/deals/exceptions/{foreign_creator.public_id}/assign-creator/",
        {"creator": str(world.creator_b.public_id)},
    )
    assert response.status_code == 404

    dismissed = exception_line(world.agency_a, world.creator_a)
    response = client.post(f"/api/v1/deals/exceptions/{dismissed.public_id}/dismiss/", {"reason": ""})
    assert response.status_code == 400
    response = client.post(
        f"/api/v1/deals/exceptions/{dismissed.public_id}/dismiss/", {"reason": "Test transfer"}
    )
    assert (response.status_code, response.json()["status"]) == (200, "dismissed")
    # Out of the queue now: a second action finds nothing.
    response = client.post(f"/api/v1/deals/exceptions/{dismissed.public_id}/dismiss/", {"reason": "again"})
    assert response.status_code == 404


def test_the_schema_documents_the_deals_api(world) -> None:
    response = api_as(world.manager_a).get("/api/v1/schema/", {"format": "json"})
    paths = response.json()["paths"]
    assert "/api/v1/deals/exceptions/{public_id}/assign-deal/" in paths
    assert "/api/v1/deals/{public_id}/expenses/" in paths


def test_submitting_through_the_service_keeps_the_original_name(world) -> None:
    target = deal(world)
    expense = deal_expense_submit(
        deal=target,
        actor=world.manager_a,
        description="x",
        amount_minor=1_00,
        receipt=SimpleUploadedFile("../../etc/passwd.pdf", PDF),
    )
    assert "passwd" not in expense.receipt.name  # stored under a random name
    assert expense.receipt.name.startswith(f"deals/receipts/{world.agency_a.pk}/")


def test_a_refund_waiting_for_its_original_cannot_be_assigned_to_a_deal(world) -> None:
    target = deal(world)
    waiting = exception_line(
        world.agency_a,
        world.creator_a,
        gross_minor=-1_000_00,
        exception_reason=IncomeLine.ExceptionReason.REFUND_WAITING,
    )

    response = api_as(world.manager_a).post(
        f"/api/v1/deals/exceptions/{waiting.public_id}/assign-deal/",
        {"deal": str(target.public_id)},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "refund_waiting"
    assert not DealPayment.objects.filter(income_line=waiting).exists()
    waiting.refresh_from_db()
    assert (waiting.status, waiting.exception_reason) == ("exception", "refund_waiting")
