from __future__ import annotations

import datetime

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import PersonalAccessToken
from tests.conftest import World, api_as

pytestmark = pytest.mark.django_db


def test_personal_access_token_lifecycle(world: World) -> None:
    # given an owner (who must use MFA, and does) creates a token through the API
    TOTP.activate(world.owner_a, "JBSWY3DPEHPK3PXP")
    created = api_as(world.owner_a).post("/api/v1/tokens/", {"name": "export script"}, format="json")
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("fnr_")
    assert not PersonalAccessToken.objects.filter(token_sha256=secret).exists()  # only the hash is stored

    # when a script uses it
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    me = script.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["email"] == world.owner_a.email
    assert me.json()["agencies"][0]["role"] == "owner"

    # then after revocation it is refused with a clear problem
    public_id = created.json()["public_id"]
    assert api_as(world.owner_a).post(f"/api/v1/tokens/{public_id}/revoke/").status_code == 200
    refused = script.get("/api/v1/me/")
    assert refused.status_code == 401
    assert refused.json()["detail"] == "This token is unknown, expired or revoked."


def test_expired_token_is_refused(world: World) -> None:
    created = api_as(world.viewer_a).post(
        "/api/v1/tokens/", {"name": "old", "expires_in_days": 1}, format="json"
    )
    PersonalAccessToken.objects.filter(public_id=created.json()["public_id"]).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Bearer {created.json()['token']}")
    assert script.get("/api/v1/me/").status_code == 401


def test_anonymous_api_gets_a_problem_document(api: APIClient) -> None:
    response = api.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    body = response.json()
    assert response["Content-Type"].startswith("application/problem+json")
    assert set(body) >= {"type", "title", "status", "detail", "code"}


def test_validation_errors_name_the_field(world: World) -> None:
    response = api_as(world.owner_a).post(
        "/api/v1/tokens/", {"name": "", "expires_in_days": 999}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith(("name:", "expires_in_days:"))
    assert set(body["errors"]) == {"name", "expires_in_days"}


def test_bad_time_zone_is_a_400_with_a_reason(world: World) -> None:
    response = api_as(world.owner_a).patch(
        f"/api/v1/agencies/{world.agency_a.public_id}/", {"time_zone": "Mars/Olympus"}, format="json"
    )
    assert response.status_code == 400
    assert "IANA time zone" in response.json()["detail"]


def test_malformed_json_is_a_400_not_a_500(world: World) -> None:
    response = api_as(world.owner_a).generic(
        "POST", "/api/v1/tokens/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_openapi_schema_and_docs_are_served(world: World) -> None:
    client = api_as(world.viewer_a)
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    assert "/api/v1/creators/" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
