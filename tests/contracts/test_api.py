"""The contracts API end to end, its errors as problem details, and who may reach what."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from apps.contracts.models import ContractVersion
from tests.conftest import api_as
from tests.contracts.conftest import active_contract, builtin, draft, send, tiered_rules
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
BASE = "/api/v1/contracts/"


def _draft_via_api(world, **extra):
    body = {
        "agency": str(world.agency_a.public_id),
        "creator": str(world.creator_a.public_id),
        "template": str(builtin().public_id),
        "start_date": "2026-01-01",
        "end_date": "2027-12-31",
        "platforms": ["douyin"],
        "termination_fee_cap": "20000.00",
        **extra,
    }
    return api_as(world.manager_a).post(BASE, body, format="json")


def test_full_flow_through_the_api(world) -> None:
    manager, creator = api_as(world.manager_a), api_as(world.creator_a.user)
    response = _draft_via_api(world, rule_set=tiered_rules())
    assert response.status_code == 201, response.json()
    version = response.json()
    assert version["termination_fee_cap"] == "20000.00"
    assert version["worked_examples"][0]["gross"] == "1000.00"
    url = f"{BASE}versions/{version['public_id']}/"

    assert manager.patch(url, {"payment_days": 25}, format="json").json()["payment_days"] == 25
    preview = manager.get(url + "document/").json()
    assert "Schedule B" in preview["html"]
    sent = manager.post(url + "send/").json()
    assert sent["status"] == "sent" and sent["document_sha256"] == preview["sha256"]

    fairness = creator.get(url + "fairness/").json()
    assert any(item["key"] == "audit_right" for item in fairness["en"])
    assert any("审计" in item["label"] or "审计" in item["text"] for item in fairness["zh_hans"])

    signed = creator.post(url + "sign/", {"document_sha256": sent["document_sha256"], "password": PASSWORD})
    assert signed.status_code == 201, signed.json()
    assert signed.json()["party"] == "creator"
    assert signed.json()["reauthenticated_by"] == "password"
    manager.post(url + "sign/", {"document_sha256": sent["document_sha256"], "password": PASSWORD})
    assert creator.get(url).json()["status"] == "active"

    contract_id = version["contract"]
    effective = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    amendment = manager.post(
        f"{BASE}{contract_id}/amendments/",
        {"effective_from": effective, "rule_set": tiered_rules("75", "85")},
        format="json",
    )
    assert amendment.status_code == 201, amendment.json()
    assert amendment.json()["number"] == 2
    diff = creator.get(f"{BASE}{contract_id}/diff/?from=1&to=2")
    # The creator cannot see the amendment while it is a draft.
    assert diff.status_code == 400
    manager.post(f"{BASE}versions/{amendment.json()['public_id']}/send/")
    diff = creator.get(f"{BASE}{contract_id}/diff/?from=1&to=2").json()
    changed = {change["path"]: change for change in diff["rule_set"]}
    assert changed["/rules/0/split/creator"] == {
        "path": "/rules/0/split/creator",
        "before": '"70"',
        "after": '"75"',
    }
    assert diff["rules"][0]["status"] == "changed"
    assert any("75%" in sentence for sentence in diff["rules"][0]["after"])


def test_invalid_rules_answer_400_with_the_pointer(world) -> None:
    rules = tiered_rules()
    rules["rules"][0]["tiers"][0]["above"] = "-5"
    response = _draft_via_api(world, rule_set=rules)
    assert response.status_code == 400
    body = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert (body["code"], body["field"], body["path"]) == (
        "invalid_rules",
        "rule_set",
        "/rules/0/tiers/0/above",
    )


def test_dates_out_of_order_answer_400(world) -> None:
    response = _draft_via_api(world, start_date="2026-05-01", end_date="2026-04-01")
    assert response.status_code == 400
    assert response.json()["code"] == "dates_out_of_order"


def test_signing_needs_the_password_and_the_current_hash(world) -> None:
    version = send(world, draft(world))
    creator = api_as(world.creator_a.user)
    url = f"{BASE}versions/{version.public_id}/sign/"

    wrong_password = creator.post(url, {"document_sha256": version.document_sha256, "password": "nope"})
    assert (wrong_password.status_code, wrong_password.json()["code"]) == (403, "reauthentication_failed")
    stale_hash = creator.post(url, {"document_sha256": "a" * 64, "password": PASSWORD})
    assert (stale_hash.status_code, stale_hash.json()["code"]) == (409, "document_hash_mismatch")
    assert (
        creator.post(url, {"document_sha256": version.document_sha256, "password": PASSWORD}).status_code
        == 201
    )
    twice = creator.post(url, {"document_sha256": version.document_sha256, "password": PASSWORD})
    assert (twice.status_code, twice.json()["code"]) == (409, "already_signed")
    manager_as_creator = api_as(world.manager_a).post(
        url, {"document_sha256": version.document_sha256, "password": PASSWORD, "party": "creator"}
    )
    assert manager_as_creator.status_code == 403


def test_permission_matrix(world) -> None:
    sent = send(world, draft(world))
    a_draft = draft(world, creator=world.creator_a2)
    readers = [world.owner_a, world.manager_a, world.finance_a, world.viewer_a]
    for person in readers:
        client = api_as(person)
        assert client.get(f"{BASE}versions/{sent.public_id}/").status_code == 200
        assert client.get(f"{BASE}versions/{a_draft.public_id}/").status_code == 200
    for person in (world.finance_a, world.viewer_a):
        response = api_as(person).post(f"{BASE}versions/{a_draft.public_id}/send/")
        assert response.status_code == 403, person
    # Other tenants, other creators, and the creator before the draft is sent: 404.
    outsiders = [world.owner_b, world.creator_b.user, world.loner.user, world.creator_a2.user]
    for person in outsiders:
        client = api_as(person)
        assert client.get(f"{BASE}versions/{sent.public_id}/").status_code == 404, person
        assert client.post(f"{BASE}versions/{sent.public_id}/send/").status_code == 404
        assert client.get(f"{BASE}{sent.contract.public_id}/").status_code == 404
    assert api_as(world.creator_a2.user).get(f"{BASE}versions/{a_draft.public_id}/").status_code == 404
    assert api_as(world.creator_a.user).get(f"{BASE}versions/{sent.public_id}/").status_code == 200
    # Another agency's ids in the input answer 404 too.
    response = api_as(world.owner_b).post(
        BASE,
        {
            "agency": str(world.agency_b.public_id),
            "creator": str(world.creator_a.public_id),
            "template": str(builtin().public_id),
        },
        format="json",
    )
    assert response.status_code == 404
    assert api_as(world.owner_b).get(BASE).json()["results"] == []


def test_contract_list_query_count(world, django_assert_max_num_queries) -> None:
    for creator in (world.creator_a, world.creator_a2):
        active_contract(world, creator=creator, platforms=["douyin"])
    client = api_as(world.manager_a)
    with django_assert_max_num_queries(6):
        response = client.get(BASE)
    assert len(response.json()["results"]) == 2


def test_agency_templates(world) -> None:
    client = api_as(world.manager_a)
    body = {
        "agency": str(world.agency_a.public_id),
        "name": "Our standard",
        "language": "en",
        "body": "## Deal\n{{ creator_legal_name }} works with {{ agency_legal_name }}.",
        "default_rule_set": tiered_rules(),
    }
    assert client.post(f"{BASE}templates/", body, format="json").status_code == 201
    names = {template["name"] for template in client.get(f"{BASE}templates/").json()["results"]}
    assert {"Our standard", "独家经纪合同", "Single campaign"} <= names
    assert all(
        t["name"] != "Our standard" for t in api_as(world.owner_b).get(f"{BASE}templates/").json()["results"]
    )
    bad = client.post(f"{BASE}templates/", {**body, "body": "{{ secret_key }}"}, format="json")
    assert bad.json()["code"] == "invalid_template"


def test_openapi_schema_lists_the_contract_endpoints(world) -> None:
    response = api_as(world.manager_a).get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/contracts/",
        "/api/v1/contracts/versions/{public_id}/sign/",
        "/api/v1/contracts/check-pdf/",
        "/api/v1/contracts/{public_id}/diff/",
    ):
        assert path in paths


def test_versions_in_the_api_are_immutable_once_sent(world) -> None:
    version = send(world, draft(world))
    response = api_as(world.manager_a).patch(
        f"{BASE}versions/{version.public_id}/", {"payment_days": 60}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "version_immutable")
    assert ContractVersion.objects.get(pk=version.pk).payment_days == version.payment_days
