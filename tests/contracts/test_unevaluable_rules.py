"""A contract whose split rules could not be evaluated is refused when it is saved and when it is
signed, with the rule set's JSON pointer, not found out later by recognition (issue 11).

Two kinds: a time zone ZoneInfo loads on this server but that is no tz database name, and an id
the engine accepts but the ledger cannot record (a rule id is each entry's rule_id, deduction ids
and extra parties name accounts: 64 characters).
"""

from __future__ import annotations

import copy
import json

import pgtrigger
import pytest
from django.db import connection
from django.urls import reverse

from apps.contracts.models import ContractSignature, ContractVersion
from tests.conftest import api_as, web_as
from tests.contracts.conftest import builtin, draft, send, tiered_rules
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
BASE = "/api/v1/contracts/"
LONG = "a" + "b" * 64  # 65 characters: a valid slug, one more than the ledger's columns hold


def _draft_via_api(world, rule_set):
    body = {
        "agency": str(world.agency_a.public_id),
        "creator": str(world.creator_a.public_id),
        "template": str(builtin().public_id),
        "start_date": "2026-01-01",
        "end_date": "2027-12-31",
        "platforms": ["douyin"],
        "rule_set": rule_set,
    }
    return api_as(world.manager_a).post(BASE, body, format="json")


def _rules(change) -> dict:
    rules = copy.deepcopy(tiered_rules())
    change(rules)
    return rules


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda r: r.update(timezone="localtime"), "/timezone"),
        (lambda r: r.update(timezone="posix/Asia/Shanghai"), "/timezone"),
        (lambda r: r.update(timezone="Mars/Olympus"), "/timezone"),
        (lambda r: r["rules"][0].update(id=LONG), "/rules/0/id"),
        (
            lambda r: r["rules"][0].update(deductions=[{"id": LONG, "percent": "5"}]),
            "/rules/0/deductions/0/id",
        ),
        (
            lambda r: (
                r.update(parties=["creator", "agency", LONG]),
                [rule["split"].update({LONG: "0"}) for rule in r["rules"]],
                [tier["split"].update({LONG: "0"}) for rule in r["rules"] for tier in rule.get("tiers", [])],
            ),
            "/parties/2",
        ),
    ],
)
def test_saving_unevaluable_rules_answers_400_with_the_pointer(world, change, path) -> None:
    response = _draft_via_api(world, _rules(change))

    assert response.status_code == 400, response.json()
    body = response.json()
    assert (body["code"], body["field"], body["path"]) == ("invalid_rules", "rule_set", path)
    assert path in body["detail"]
    assert not ContractVersion.objects.exists()


def test_the_edit_page_shows_the_refusal_next_to_the_rules(world) -> None:
    version = draft(world)
    url = reverse("contracts:edit", kwargs={"public_id": version.public_id})
    client = web_as(world.manager_a)
    form = client.get(url).context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {name: value for name, value in data.items() if value is not None}
    data["audit_right"] = "on" if data.get("audit_right") else ""
    data["rule_set"] = json.dumps(_rules(lambda r: r.update(timezone="localtime")))

    response = client.post(url, data)

    assert response.status_code == 200
    errors = response.context["form"].errors["rule_set"]
    assert any("/timezone" in error for error in errors)
    version.refresh_from_db()
    assert version.rule_set.get("timezone") != "localtime"


def test_signing_validates_the_rules_again(world) -> None:
    """The stored rule set is what gets split: if it cannot be evaluated (written by hand, or a
    server whose tz database lacks the zone), nobody can sign it and nothing is bound."""
    version = send(world, draft(world, platforms=["douyin"]))
    with (
        pgtrigger.ignore("contracts.ContractVersion:frozen_terms_after_draft"),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE contracts_contractversion SET rule_set = jsonb_set(rule_set, '{timezone}', '\"Mars/Olympus\"')"
            " WHERE id = %s",
            [version.pk],
        )
    url = f"{BASE}versions/{version.public_id}/sign/"

    response = api_as(world.creator_a.user).post(
        url, {"document_sha256": version.document_sha256, "password": PASSWORD}
    )

    assert response.status_code == 409, response.json()
    body = response.json()
    assert (body["code"], body["path"]) == ("invalid_rules", "/timezone")
    assert "Mars/Olympus" in body["detail"]
    assert not ContractSignature.objects.filter(version=version).exists()
