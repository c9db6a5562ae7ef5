"""Payouts API: paginated batches and items (details masked), prepare, approve by another finance
member, export returns the file, paid/failed, result file; refusals as problem documents."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from apps.payouts.models import PayoutBatch, PayoutDetails
from tests.conftest import api_as
from tests.payouts.conftest import Payouts

pytestmark = pytest.mark.django_db


def _owe(payouts: Payouts) -> None:
    payouts.owe(payouts.world.creator_a, 500_000, key="a")
    payouts.owe(payouts.world.creator_a2, 20_000, key="a2")


def _prepare(payouts: Payouts) -> dict:
    _owe(payouts)
    response = api_as(payouts.world.finance_a).post(
        "/api/v1/payouts/batches/", {"agency": str(payouts.agency.public_id)}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_prepare_list_and_items_with_masked_details(payouts: Payouts) -> None:
    batch = _prepare(payouts)
    assert (batch["status"], batch["item_count"], batch["net"], batch["tax"]) == (
        "prepared",
        2,
        "4400.00",
        "800.00",
    )

    listing = api_as(payouts.finance_b).get("/api/v1/payouts/batches/?limit=1").json()
    assert listing["count"] == 1 and listing["results"][0]["public_id"] == batch["public_id"]

    items = api_as(payouts.finance_b).get(f"/api/v1/payouts/batches/{batch['public_id']}/items/").json()
    assert items["count"] == 2
    first = {item["creator_name"]: item for item in items["results"]}["Creator A"]
    account = PayoutDetails.objects.get(creator=payouts.world.creator_a).account
    assert first["details"]["account"] == f"{account[:4]} **** **** {account[-4:]}"
    assert first["details"]["real_name"].endswith("*")
    assert first["withholding"]["taxable"] == "4000.00"
    assert (first["gross"], first["tax"], first["net"]) == ("5000.00", "800.00", "4200.00")


def test_the_preparer_cannot_approve_over_the_api(payouts: Payouts) -> None:
    batch = _prepare(payouts)
    response = api_as(payouts.world.finance_a).post(f"/api/v1/payouts/batches/{batch['public_id']}/approve/")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")
    assert "cannot approve" in response.json()["detail"]
    assert (
        api_as(payouts.world.manager_a)
        .post(f"/api/v1/payouts/batches/{batch['public_id']}/approve/")
        .status_code
        == 403
    )
    assert (
        api_as(payouts.world.owner_b)
        .post(f"/api/v1/payouts/batches/{batch['public_id']}/approve/")
        .status_code
        == 404
    )


def test_approve_export_and_settle(payouts: Payouts) -> None:
    batch = _prepare(payouts)
    other = api_as(payouts.finance_b)
    approved = other.post(f"/api/v1/payouts/batches/{batch['public_id']}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"

    exported = other.post(
        f"/api/v1/payouts/batches/{batch['public_id']}/export/", {"rail": "bank_xlsx"}, format="json"
    )
    assert exported.status_code == 200 and exported["X-Fenrun-Left-Out"] == "0"
    sheet = load_workbook(io.BytesIO(exported.content)).active
    account = PayoutDetails.objects.get(creator=payouts.world.creator_a).account
    assert account in [row[1] for row in sheet.iter_rows(values_only=True)]

    items = {
        item["creator_name"]: item
        for item in other.get(f"/api/v1/payouts/batches/{batch['public_id']}/items/").json()["results"]
    }
    paid = other.post(
        f"/api/v1/payouts/items/{items['Creator A']['public_id']}/paid/",
        {"reference": "ICBC-1"},
        format="json",
    )
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    again = other.post(
        f"/api/v1/payouts/items/{items['Creator A']['public_id']}/paid/",
        {"reference": "ICBC-2"},
        format="json",
    )
    assert again.status_code == 409 and again.json()["code"] == "already_paid"
    failed = other.post(
        f"/api/v1/payouts/items/{items['Creator A2']['public_id']}/failed/", {"reason": ""}, format="json"
    )
    assert failed.status_code == 400

    result = io.BytesIO(
        f"item_reference,status,reference,reason,amount\r\n{items['Creator A2']['public_id']},failed,,账户冻结,200.00\r\n".encode()
    )
    result.name = "result.csv"
    outcomes = other.post(
        f"/api/v1/payouts/batches/{batch['public_id']}/results/",
        {"rail": "bank_xlsx", "file": result},
        format="multipart",
    )
    assert outcomes.status_code == 200
    assert [row["outcome"] for row in outcomes.json()] == ["failed"]
    assert PayoutBatch.objects.get(public_id=batch["public_id"]).status == "closed"
    assert payouts.owed(payouts.world.creator_a2) == 20_000


def test_a_creator_reads_no_batch_and_settles_nothing(payouts: Payouts) -> None:
    batch = _prepare(payouts)
    creator = api_as(payouts.world.creator_a.user)
    assert creator.get(f"/api/v1/payouts/batches/{batch['public_id']}/").status_code == 404
    assert creator.get("/api/v1/payouts/batches/").json()["count"] == 0
    item = PayoutBatch.objects.get(public_id=batch["public_id"]).items.get(creator=payouts.world.creator_a)
    assert (
        creator.post(
            f"/api/v1/payouts/items/{item.public_id}/paid/", {"reference": "x"}, format="json"
        ).status_code
        == 404
    )


def test_bad_input_is_a_problem_document(payouts: Payouts) -> None:
    client = api_as(payouts.world.finance_a)
    nothing = client.post(
        "/api/v1/payouts/batches/", {"agency": str(payouts.agency.public_id)}, format="json"
    )
    assert nothing.status_code == 400 and nothing.json()["code"] == "nothing_to_pay"
    bad_day = client.post(
        "/api/v1/payouts/batches/",
        {"agency": str(payouts.agency.public_id), "as_of": "2020-01-01"},
        format="json",
    )
    assert bad_day.status_code == 400
    batch = _prepare(payouts)
    rail = client.post(
        f"/api/v1/payouts/batches/{batch['public_id']}/export/", {"rail": "cash"}, format="json"
    )
    assert rail.status_code == 400
    early = client.post(
        f"/api/v1/payouts/batches/{batch['public_id']}/export/", {"rail": "bank_csv"}, format="json"
    )
    assert early.status_code == 409


def test_the_schema_lists_the_payout_endpoints(payouts: Payouts) -> None:
    schema = api_as(payouts.world.finance_a).get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    text = schema.content.decode()
    assert schema.status_code == 200
    for path in (
        "/api/v1/payouts/batches/",
        "/api/v1/payouts/batches/{public_id}/approve/",
        "/api/v1/payouts/items/{public_id}/paid/",
    ):
        assert path in text
