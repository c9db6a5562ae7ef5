"""Idempotency-Key on the API's creating POSTs, as a client retrying a request would notice it:
one object, the first response again (marked replayed), 409 problems for a reused key, keys per
user, nothing replayed into another agency or to changed access, 4xx kept, 24 hours."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django.test import override_settings
from django.utils import timezone

from apps.accounts.models import PersonalAccessToken
from apps.deals.models import BrandDeal
from apps.idempotency.api import request_sha256, scope_sha256
from apps.idempotency.models import IdempotencyKey
from apps.idempotency.services import RequestPrint, idempotency_claim
from apps.idempotency.tasks import keys_expire
from apps.income.models import StatementImport
from tests.conftest import api_as
from tests.deals.test_api import create_payload as deal_payload
from tests.factories import Role, member
from tests.income.conftest import FILES

pytestmark = pytest.mark.django_db

DEALS = "/api/v1/deals/"
IMPORTS = "/api/v1/income/imports/"


def create_payload(world, **changes):
    # No order reference: one deal per reference, and these tests create the same deal twice.
    return deal_payload(world, **{"order_ref": "", **changes})


def post_deal(client, payload, key: str | None = "deal-key-1"):
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(DEALS, payload, format="json", headers=headers)


def test_the_same_key_and_body_create_one_deal_and_answer_the_first_response_again(world) -> None:
    client = api_as(world.manager_a)

    first = post_deal(client, create_payload(world))
    again = post_deal(client, create_payload(world))

    assert first.status_code == again.status_code == 201
    assert again.content == first.content  # the same document, byte for byte
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert BrandDeal.objects.count() == 1


def test_json_is_compared_by_value_not_by_key_order(world) -> None:
    client = api_as(world.manager_a)
    payload = create_payload(world)

    post_deal(client, payload)
    again = post_deal(client, dict(reversed(list(payload.items()))))

    assert (again.status_code, again["Idempotent-Replayed"]) == (201, "true")
    assert BrandDeal.objects.count() == 1


def test_without_a_key_every_post_creates(world) -> None:
    client = api_as(world.manager_a)
    assert post_deal(client, create_payload(world), key=None).status_code == 201
    assert post_deal(client, create_payload(world), key=None).status_code == 201
    assert BrandDeal.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_the_same_key_with_another_body_is_a_409_problem(world) -> None:
    client = api_as(world.manager_a)
    post_deal(client, create_payload(world))

    response = post_deal(client, create_payload(world, fee="20,000.00"))

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "idempotency_key_reused"
    assert "different request body" in body["detail"]
    assert BrandDeal.objects.count() == 1


def test_the_same_key_on_another_route_is_a_409_naming_the_first(world) -> None:
    client = api_as(world.manager_a)
    deal = post_deal(client, create_payload(world)).json()

    response = client.post(
        f"/api/v1/deals/{deal['public_id']}/deliverables/",
        {"description": "A second video", "due_on": "2027-01-10"},
        format="json",
        headers={"Idempotency-Key": "deal-key-1"},
    )

    assert response.status_code == 409
    assert "POST /api/v1/deals/" in response.json()["detail"]


def test_keys_are_per_user(world) -> None:
    # The manager and the owner of the same agency, with the same key and body: two deals.
    first = post_deal(api_as(world.manager_a), create_payload(world))
    second = post_deal(api_as(world.owner_a), create_payload(world))

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert first.json()["public_id"] != second.json()["public_id"]
    assert BrandDeal.objects.count() == 2


@pytest.mark.parametrize("key", ["k" * 256, "", "clé-unicode", "tab\there"])
def test_a_key_that_is_not_1_to_255_printable_ascii_is_a_400(world, key) -> None:
    response = post_deal(api_as(world.manager_a), create_payload(world), key=key)

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"
    assert not BrandDeal.objects.exists()


def test_a_255_character_key_is_accepted(world) -> None:
    response = post_deal(api_as(world.manager_a), create_payload(world), key="k" * 255)
    assert response.status_code == 201


def test_a_4xx_answer_is_kept_and_replayed(world) -> None:
    client = api_as(world.manager_a)
    bad = create_payload(world, fee="ten thousand")

    first = post_deal(client, bad)
    again = post_deal(client, bad)

    assert first.status_code == 400 and first["Content-Type"] == "application/problem+json"
    assert (again.status_code, again["Content-Type"]) == (400, "application/problem+json")
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    # Correcting the body needs a new key (as with Stripe): the old one answers the 400.
    assert post_deal(client, create_payload(world)).status_code == 409
    assert post_deal(client, create_payload(world), key="deal-key-2").status_code == 201


def test_a_key_used_in_agency_a_never_replays_into_agency_b(world) -> None:
    # One person, a manager at both agencies, sends the same key to each.
    both = world.manager_a
    member(world.agency_b, Role.MANAGER, user=both)
    client = api_as(both)
    in_a = post_deal(client, create_payload(world))

    in_b = post_deal(
        client,
        create_payload(world, agency=str(world.agency_b.public_id), creator=str(world.creator_b.public_id)),
    )

    assert in_a.status_code == 201
    assert in_b.status_code == 409 and in_b.json()["code"] == "idempotency_key_reused"
    assert in_a.json()["public_id"] not in in_b.content.decode()
    assert not BrandDeal.objects.filter(agency=world.agency_b).exists()


def test_a_replay_is_refused_once_the_users_access_changed(world) -> None:
    client = api_as(world.manager_a)
    first = post_deal(client, create_payload(world))

    member(world.agency_a, Role.VIEWER, user=world.manager_a)  # the role lowered since
    again = post_deal(client, create_payload(world))

    assert again.status_code == 409
    assert again.json()["code"] == "idempotency_key_access_changed"
    assert first.json()["public_id"] not in again.content.decode()


@override_settings(FENRUN_IDEMPOTENCY_WAIT_SECONDS=0.2)
def test_a_duplicate_of_a_request_still_running_is_a_409_in_progress(world) -> None:
    # The first request has claimed the key and not answered yet (its row, as the claim writes it).
    payload = create_payload(world)
    idempotency_claim(
        user_id=world.manager_a.pk,
        key="deal-key-1",
        request=RequestPrint(
            method="POST",
            path=DEALS,
            request_sha256=request_sha256(data=payload, query=QueryDict()),
            scope_sha256=scope_sha256(world.manager_a),
        ),
    )

    response = post_deal(api_as(world.manager_a), payload)

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_progress"
    assert not BrandDeal.objects.exists()


def test_a_multipart_upload_is_keyed_by_its_fields_and_file_bytes(statement_world) -> None:
    client = api_as(statement_world.manager_a)
    content = (FILES / "canonical_example.csv").read_bytes()

    def upload(data: bytes):
        return client.post(
            IMPORTS,
            {
                "agency": str(statement_world.agency_a.public_id),
                "file": SimpleUploadedFile("november.csv", data),
            },
            format="multipart",
            headers={"Idempotency-Key": "upload-1"},
        )

    first = upload(content)
    again = upload(content)
    changed = upload(content.replace(b"\n", b"\r\n"))

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert changed.status_code == 409 and changed.json()["code"] == "idempotency_key_reused"
    assert StatementImport.objects.count() == 1
    # The view read the whole file after the key's hash had read it.
    assert StatementImport.objects.get().file.read() == content


def test_a_secret_shown_once_is_not_kept_nor_replayed(world) -> None:
    client = api_as(world.manager_a)
    headers = {"Idempotency-Key": "token-1"}

    first = client.post("/api/v1/tokens/", {"name": "script"}, format="json", headers=headers)
    again = client.post("/api/v1/tokens/", {"name": "script"}, format="json", headers=headers)

    secret = first.json()["token"]
    assert secret and again.json()["token"] is None
    assert again.json()["public_id"] == first.json()["public_id"]
    assert PersonalAccessToken.objects.count() == 1
    assert secret not in IdempotencyKey.objects.get().response_body


def test_a_password_is_left_out_of_the_request_hash() -> None:
    query = QueryDict()
    document = {"document_sha256": "a" * 64, "password": "first try"}
    other_password = {**document, "password": "second try"}
    other_document = {**document, "document_sha256": "b" * 64}
    secrets = frozenset({"password", "code"})

    assert request_sha256(data=document, query=query, unhashed=secrets) == request_sha256(
        data=other_password, query=query, unhashed=secrets
    )
    assert request_sha256(data=document, query=query, unhashed=secrets) != request_sha256(
        data=other_document, query=query, unhashed=secrets
    )


def test_keys_expire_after_24_hours(world) -> None:
    client = api_as(world.manager_a)
    post_deal(client, create_payload(world))
    post_deal(client, create_payload(world), key="recent")
    IdempotencyKey.objects.filter(key="deal-key-1").update(
        created_at=timezone.now() - datetime.timedelta(hours=24, minutes=1)
    )

    # Before the hourly cleanup ran, an expired key is already a new key.
    assert "Idempotent-Replayed" not in post_deal(client, create_payload(world))
    IdempotencyKey.objects.filter(key="deal-key-1").update(
        created_at=timezone.now() - datetime.timedelta(hours=25)
    )

    assert keys_expire.apply().get() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]
    assert BrandDeal.objects.count() == 3


def test_the_schema_documents_the_header_and_the_409_on_every_creating_post(world) -> None:
    paths = api_as(world.manager_a).get("/api/v1/schema/", {"format": "json"}).json()["paths"]
    keyed = {
        path
        for path, operations in paths.items()
        if any(
            parameter["name"] == "Idempotency-Key"
            for parameter in operations.get("post", {}).get("parameters", [])
        )
    }

    assert {
        "/api/v1/deals/",
        "/api/v1/deals/{public_id}/expenses/",
        "/api/v1/deals/{public_id}/deliverables/",
        "/api/v1/deals/exceptions/{public_id}/assign-deal/",
        "/api/v1/income/imports/",
        "/api/v1/income/rates/",
        "/api/v1/payouts/batches/",
        "/api/v1/disputes/",
        "/api/v1/invitations/",
        "/api/v1/contracts/",
        "/api/v1/periods/{agency}/{period}/close/",
    } <= keyed
    for path in keyed:
        responses = paths[path]["post"]["responses"]
        assert "application/problem+json" in responses["409"]["content"], path
        assert any(code.startswith("2") for code in responses), path  # the view's own answers kept
    deal_create = paths["/api/v1/deals/"]["post"]
    assert "201" in deal_create["responses"] and "requestBody" in deal_create
    header = next(p for p in deal_create["parameters"] if p["name"] == "Idempotency-Key")
    assert (header["in"], header.get("required", False), header["schema"]["maxLength"]) == (
        "header",
        False,
        255,
    )
