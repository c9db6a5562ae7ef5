"""The contract pages: drafting with a live preview, errors next to their field, signing behind
re-authentication, the fairness summary in both languages, the public PDF check."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from apps.contracts.models import ContractVersion
from tests.conftest import web_as
from tests.contracts.conftest import active_contract, builtin, draft, send, tiered_rules

pytestmark = pytest.mark.django_db


def _terms_post(version: ContractVersion, **changes) -> dict:
    from apps.contracts.forms import TermsForm

    data = TermsForm.initial_from(version)
    data = {key: value for key, value in data.items() if key in TermsForm.base_fields}
    data.update(changes)
    for key, value in list(data.items()):
        if isinstance(value, bool):
            if value:
                data[key] = "on"
            else:
                data.pop(key)
    if version.number == 1:
        data.pop("effective_from", None)
    return data


def test_manager_drafts_from_a_template_and_previews_live(world) -> None:
    client = web_as(world.manager_a)
    response = client.post(
        "/contracts/new/",
        {"creator": world.creator_a.pk, "template": builtin().pk, "title": "", "start_date": "2026-12-01"},
    )
    assert response.status_code == 302, response.context["form"].errors
    version = ContractVersion.objects.get()
    assert response["Location"] == f"/contracts/v/{version.public_id}/edit/"

    page = client.get(response["Location"])
    assert "Schedule B" in page.content.decode()

    rules = tiered_rules()
    rules["rules"][0]["split"]["agency"] = "40"
    preview = client.post(
        f"/contracts/v/{version.public_id}/preview/",
        _terms_post(version, rule_set=json.dumps(rules)),
        HTTP_HX_REQUEST="true",
    )
    body = preview.content.decode()
    assert "/rules/0/split" in body and "error-path" in body
    assert (
        ContractVersion.objects.get(pk=version.pk).rule_set["rules"][0]["split"]["agency"] == "30"
    )  # unsaved

    saved = client.post(f"/contracts/v/{version.public_id}/edit/", _terms_post(version, payment_days="20"))
    assert saved.status_code == 302
    assert ContractVersion.objects.get(pk=version.pk).payment_days == 20


def test_end_before_start_shows_next_to_the_field(world) -> None:
    version = draft(world)
    response = web_as(world.manager_a).post(
        f"/contracts/v/{version.public_id}/edit/", _terms_post(version, end_date="2025-01-01")
    )
    assert response.status_code == 200
    assert "is before the start date" in response.content.decode()


def test_creator_reads_the_fairness_summary_in_english_and_chinese(world) -> None:
    version = send(world, draft(world))
    page = web_as(world.creator_a.user).get(f"/contracts/v/{version.public_id}/").content.decode()
    assert "Before you sign: the fairness summary" in page
    assert "You may ask for the underlying platform statements." in page
    assert 'lang="zh-hans"' in page and "审计" in page
    assert "Sign as the creator" in page


def test_signing_in_the_browser_requires_reauthentication(world) -> None:
    version = send(world, draft(world))
    response = web_as(world.creator_a.user).post(
        f"/contracts/v/{version.public_id}/sign/", {"document_sha256": version.document_sha256}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not version.signatures.exists()


def test_pages_query_counts(world, django_assert_max_num_queries) -> None:
    versions = [
        active_contract(world, creator=c, platforms=["douyin"]) for c in (world.creator_a, world.creator_a2)
    ]
    client = web_as(world.manager_a)
    with django_assert_max_num_queries(12):
        assert client.get("/contracts/").status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get(f"/contracts/v/{versions[0].public_id}/").status_code == 200


def test_other_tenants_get_404_on_pages(world) -> None:
    version = send(world, draft(world))
    for person in (world.owner_b, world.creator_b.user):
        client = web_as(person)
        assert client.get(f"/contracts/v/{version.public_id}/").status_code == 404
        assert client.get(f"/contracts/{version.contract.public_id}/diff/").status_code == 404


def test_pdf_check_page_is_public(world) -> None:
    assert Client().get("/contracts/check-pdf/").status_code == 200
