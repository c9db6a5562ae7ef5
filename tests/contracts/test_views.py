"""The contract pages: drafting with a live preview, errors next to their field, signing behind
re-authentication, the fairness summary in both languages, the public PDF check."""

from __future__ import annotations

import json
import time
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from apps.contracts import selectors
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


# --- the public PDF check is bounded (issue 11) ------------------------------------------------------------


def _pdf_with_many_objects(count: int) -> bytes:
    """Small objects and no usable cross-reference table: pypdf rebuilds it by scanning them all
    (300,000 of them, 9.7 MB, took pypdf 14 s)."""
    body = b"".join(b"%d 0 obj\n<</A %d>>\nendobj\n" % (number, number) for number in range(1, count + 1))
    return b"%PDF-1.7\n" + body + b"trailer\n<</Size 2/Root 1 0 R>>\nstartxref\n999999999\n%%EOF\n"


def _pdf_with_hidden_objects(streams: int = 4_000, per_stream: int = 500) -> bytes:
    """Few visible objects, each an object stream of 500 more behind a broken cross-reference
    table, which pypdf parses one by one (more than 10 s for these 8.6 MB)."""
    body = b" ".join(b"<</A %d>>" % index for index in range(per_stream))
    parts = [b"%PDF-1.7\n"]
    for number in range(1, streams + 1):
        header = b" ".join(b"%d 0" % (100_000 + number * per_stream + index) for index in range(per_stream))
        data = zlib.compress(header + b" " + body, 9)
        parts.append(
            b"%d 0 obj\n<</Type/ObjStm/N %d/First %d/Filter/FlateDecode/Length %d>>stream\n"
            % (number, per_stream, len(header) + 1, len(data))
            + data
            + b"\nendstream\nendobj\n"
        )
    root = streams + 1
    parts.append(b"%d 0 obj\n<</Type/Catalog/Pages %d 0 R>>\nendobj\n" % (root, root + 1))
    parts.append(b"%d 0 obj\n<</Type/Pages/Count 0/Kids[]>>\nendobj\n" % (root + 1))
    parts.append(
        b"trailer\n<</Size %d/Root %d 0 R/Info 100000 0 R>>\nstartxref\n999999\n%%%%EOF\n" % (root + 2, root)
    )
    return b"".join(parts)


def _check(client: Client, data: bytes, **extra: str):
    return client.post("/contracts/check-pdf/", {"file": SimpleUploadedFile("c.pdf", data)}, **extra)


def test_a_pdf_with_too_many_objects_is_refused_at_once_without_parsing(db) -> None:
    data = _pdf_with_many_objects(selectors.MAX_PDF_OBJECTS + 1)
    started = time.monotonic()
    response = _check(Client(REMOTE_ADDR="192.0.2.11"), data)
    assert response.status_code == 422
    assert "more than 20,000 objects" in response.content.decode()
    assert time.monotonic() - started < 1.5  # counted, never handed to pypdf

    api = APIClient(REMOTE_ADDR="192.0.2.12").post(
        "/api/v1/contracts/check-pdf/", {"file": SimpleUploadedFile("c.pdf", data)}, format="multipart"
    )
    assert api.status_code == 422 and api.json()["code"] == "pdf_too_complex"


def test_a_pdf_that_takes_pypdf_long_is_refused_within_the_time_limit(db) -> None:
    data = _pdf_with_hidden_objects()
    assert len(data) < selectors.MAX_PDF_BYTES

    started = time.monotonic()
    response = _check(Client(REMOTE_ADDR="192.0.2.13"), data)
    elapsed = time.monotonic() - started

    assert response.status_code == 422
    assert "takes longer than 3 seconds" in response.content.decode()
    assert elapsed < selectors.PDF_PARSE_SECONDS + 1.5  # the worker is back after the limit


def test_a_pdf_larger_than_a_signed_contract_is_refused_with_413(db) -> None:
    data = b"%PDF-1.7\n" + b"0" * selectors.MAX_PDF_BYTES
    response = _check(Client(REMOTE_ADDR="192.0.2.14"), data)
    assert response.status_code == 413
    assert "smaller than 10 MB" in response.content.decode()

    api = APIClient(REMOTE_ADDR="192.0.2.15").post(
        "/api/v1/contracts/check-pdf/", {"file": SimpleUploadedFile("c.pdf", data)}, format="multipart"
    )
    assert api.status_code == 413 and api.json()["code"] == "file_too_large"


def test_while_every_parse_slot_is_taken_a_check_answers_503_at_once(db) -> None:
    with selectors._parse_slot(), selectors._parse_slot():
        response = _check(Client(REMOTE_ADDR="192.0.2.16"), _pdf_with_many_objects(10))
    assert response.status_code == 503
    assert "busy" in response.content.decode()
    assert (
        _check(Client(REMOTE_ADDR="192.0.2.17"), _pdf_with_many_objects(10)).status_code == 200
    )  # slots given back


def test_the_pdf_check_api_shares_the_pages_budget_per_address(db) -> None:
    client = APIClient()
    statuses = [
        client.post(
            "/api/v1/contracts/check-pdf/",
            {"file": SimpleUploadedFile("c.pdf", b"not a pdf")},
            format="multipart",
            REMOTE_ADDR="198.51.100.77",
        ).status_code
        for _ in range(selectors.PDF_CHECKS_PER_WINDOW + 1)
    ]
    assert statuses[:-1] == [200] * selectors.PDF_CHECKS_PER_WINDOW
    assert statuses[-1] == 429
    assert _check(Client(), b"not a pdf", REMOTE_ADDR="198.51.100.77").status_code == 429


def test_a_long_run_of_digits_is_counted_at_once_not_backtracked_over(db) -> None:
    # The object count runs in the web worker, before any slot or time limit: a pattern that
    # backtracks over digits let 30 kB of "7" hold a worker 6 s (and 10 MB for days).
    data = b"%PDF-1.7\n" + b"7" * 60_000
    started = time.monotonic()
    response = _check(Client(REMOTE_ADDR="192.0.2.31"), data)
    assert response.status_code in (200, 422)
    assert time.monotonic() - started < selectors.PDF_PARSE_SECONDS + 1.5
    assert selectors._OBJECT_MARKER.findall(b"12 0 obj\n7 0 obj") == [b"12 0 obj", b"7 0 obj"]
