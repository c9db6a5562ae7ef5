"""The payout threshold is a contract term: 100.00 unless the parties agree otherwise, edited on the
terms page and over the API as a decimal string, printed in the signed document, frozen once
sent, never negative (the service and a CHECK in the database)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, transaction

from apps.contracts.models import ContractVersion
from tests.conftest import api_as, web_as
from tests.contracts.conftest import builtin, draft, send
from tests.contracts.test_views import _terms_post

pytestmark = pytest.mark.django_db
BASE = "/api/v1/contracts/"


def test_a_new_version_pays_from_100_by_default(world) -> None:
    version = draft(world)
    assert version.payout_threshold_minor == 10_000
    body = api_as(world.manager_a).get(f"{BASE}versions/{version.public_id}/").json()
    assert body["payout_threshold"] == "100.00"


def test_the_api_sets_the_threshold_as_a_decimal_string(world) -> None:
    version = draft(world)
    url = f"{BASE}versions/{version.public_id}/"
    response = api_as(world.manager_a).patch(url, {"payout_threshold": "250.50"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["payout_threshold"] == "250.50"
    assert ContractVersion.objects.get(pk=version.pk).payout_threshold_minor == 25_050


@pytest.mark.parametrize("value", ["-1.00", "12.345", "abc"])
def test_the_api_refuses_a_threshold_that_is_not_an_amount(world, value: str) -> None:
    version = draft(world)
    url = f"{BASE}versions/{version.public_id}/"
    response = api_as(world.manager_a).patch(url, {"payout_threshold": value}, format="json")
    assert response.status_code == 400, response.json()
    assert "payout_threshold" in str(response.json())
    assert ContractVersion.objects.get(pk=version.pk).payout_threshold_minor == 10_000


def test_the_terms_page_shows_and_saves_the_threshold(world) -> None:
    version = draft(world)
    client = web_as(world.manager_a)
    page = client.get(f"/contracts/v/{version.public_id}/edit/").content.decode()
    assert 'name="payout_threshold"' in page and 'value="100.00"' in page
    saved = client.post(
        f"/contracts/v/{version.public_id}/edit/", _terms_post(version, payout_threshold="1,000.00")
    )
    assert saved.status_code == 302
    assert ContractVersion.objects.get(pk=version.pk).payout_threshold_minor == 100_000


def test_the_terms_page_refuses_a_negative_threshold_next_to_the_field(world) -> None:
    version = draft(world)
    response = web_as(world.manager_a).post(
        f"/contracts/v/{version.public_id}/edit/", _terms_post(version, payout_threshold="-5.00")
    )
    assert response.status_code == 200
    assert response.context["form"].errors.get("payout_threshold")
    assert ContractVersion.objects.get(pk=version.pk).payout_threshold_minor == 10_000


def test_the_signed_document_states_the_threshold(world) -> None:
    version = send(world, draft(world, payout_threshold_minor=30_000))
    assert "Payout threshold" in version.document_text
    assert "300.00" in version.document_text


def test_the_database_refuses_a_negative_threshold_and_a_change_after_sending(world) -> None:
    version = draft(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractVersion.objects.filter(pk=version.pk).update(payout_threshold_minor=-1)
    sent = send(world, version)
    with pytest.raises(DatabaseError), transaction.atomic():
        ContractVersion.objects.filter(pk=sent.pk).update(payout_threshold_minor=1)


def test_an_agency_template_may_set_the_threshold_as_a_decimal_string(world) -> None:
    from apps.contracts.services import contract_template_create

    base = builtin()
    template = contract_template_create(
        agency=world.agency_a,
        actor=world.manager_a,
        name="Ours",
        language="en",
        body=base.body,
        default_rule_set=base.default_rule_set,
        default_terms={**base.default_terms, "payout_threshold": "300.00"},
    )
    assert draft(world, template=template).payout_threshold_minor == 30_000
