"""Web hardening found by an outside review (issue 11): the client address behind the TLS proxy,
private media, Content-Security-Policy, audit history, 403 for what a creator can see, pagination."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

from apps.contracts.models import ContractSignature
from tests.conftest import World, api_as
from tests.contracts.conftest import draft, send
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
PROXY = "10.0.0.2"  # the TLS proxy: every request reaches the app from this address


# --- 1. the client address behind the trusted proxy -------------------------------------------------


def test_the_trusted_proxy_count_comes_from_the_environment() -> None:
    def setting(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "--verbosity=0",
                "-c",
                "from django.conf import settings; "
                "print(settings.ALLAUTH_TRUSTED_PROXY_COUNT, settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER)",
            ],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert setting().stdout.split() == ["0", "None"]
    assert setting(FENRUN_TRUSTED_PROXY_COUNT="1").stdout.split() == ["1", "None"]
    assert setting(FENRUN_TRUSTED_CLIENT_IP_HEADER="X-Real-IP").stdout.split() == ["0", "X-Real-IP"]
    refused = setting(FENRUN_TRUSTED_PROXY_COUNT="one")
    assert refused.returncode != 0
    assert "FENRUN_TRUSTED_PROXY_COUNT must be a whole number" in refused.stderr
    assert "Traceback" not in refused.stderr


@override_settings(ALLAUTH_TRUSTED_PROXY_COUNT=1)
def test_ten_bad_logins_behind_the_proxy_lock_out_only_their_sender(world: World) -> None:
    attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.66")
    for i in range(12):  # ten failures per minute per address, spread over accounts (5 per account)
        attacker.post("/accounts/login/", {"login": f"nobody{i % 3}@example.test", "password": "wrong"})
    limited = "Too many failed login attempts"
    assert (
        limited
        in attacker.post(
            "/accounts/login/", {"login": "nobody9@example.test", "password": "wrong"}
        ).content.decode()
    )
    # A colleague behind the same proxy signs in.
    colleague = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7")
    response = colleague.post("/accounts/login/", {"login": world.viewer_a.email, "password": PASSWORD})
    assert limited not in response.content.decode()
    assert response.status_code == 302


@override_settings(ALLAUTH_TRUSTED_PROXY_COUNT=1)
def test_the_public_pdf_check_budget_is_per_client_behind_the_proxy(db: Any) -> None:
    first = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.21")
    assert [first.post("/contracts/check-pdf/", {}).status_code for _ in range(21)][-1] == 429
    second = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.22")
    assert second.post("/contracts/check-pdf/", {}).status_code == 200


@override_settings(ALLAUTH_TRUSTED_PROXY_COUNT=1)
def test_a_forwarded_address_not_added_by_the_trusted_proxy_is_ignored(db: Any) -> None:
    # The client sent its own X-Forwarded-For; the proxy appended the real address after it.
    spoofer = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.31, 198.51.100.32")
    assert [spoofer.post("/contracts/check-pdf/", {}).status_code for _ in range(21)][-1] == 429
    changed = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.99, 198.51.100.32")
    assert changed.post("/contracts/check-pdf/", {}).status_code == 429


@override_settings(ALLAUTH_TRUSTED_PROXY_COUNT=2)
def test_a_request_that_skipped_a_proxy_is_counted_by_its_own_address_not_a_500(db: Any) -> None:
    client = Client(REMOTE_ADDR="192.0.2.5", HTTP_X_FORWARDED_FOR="198.51.100.41")
    client.raise_request_exception = False
    assert (
        client.post("/accounts/login/", {"login": "x@example.test", "password": "wrong"}).status_code == 200
    )


@override_settings(ALLAUTH_TRUSTED_CLIENT_IP_HEADER="X-Real-IP")
def test_the_signature_records_the_address_the_proxy_names(world: World) -> None:
    version = send(world, draft(world))
    client = api_as(world.creator_a.user)
    response = client.post(
        f"/api/v1/contracts/versions/{version.public_id}/sign/",
        {"document_sha256": version.document_sha256, "password": PASSWORD},
        format="json",
        REMOTE_ADDR=PROXY,
        HTTP_X_REAL_IP="203.0.113.44",
    )
    assert response.status_code == 201, response.content
    assert ContractSignature.objects.get(version=version).ip_address == "203.0.113.44"


@override_settings(ALLAUTH_TRUSTED_PROXY_COUNT=1)
def test_api_throttles_count_anonymous_clients_behind_the_proxy_apart(db: Any) -> None:
    from rest_framework.test import APIRequestFactory

    from apps.common.throttling import AnonRateThrottle

    factory = APIRequestFactory()
    one = factory.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.51")
    two = factory.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.52")
    throttle = AnonRateThrottle()
    assert throttle.get_ident(one) == "198.51.100.51"
    assert throttle.get_ident(two) == "198.51.100.52"


def test_api_throttles_ignore_a_forwarded_address_without_a_trusted_proxy(db: Any) -> None:
    from rest_framework.test import APIRequestFactory

    from apps.common.throttling import AnonRateThrottle

    # Without a proxy setting, a client-sent X-Forwarded-For must not pick the throttle bucket.
    request = APIRequestFactory().get("/", REMOTE_ADDR="192.0.2.9", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert AnonRateThrottle().get_ident(request) == "192.0.2.9"


# --- 5. a creator changing a contract they can see: 403 with a message, as for deals ---------------


def test_a_creator_changing_their_own_contract_is_told_403(world: World) -> None:
    version = send(world, draft(world))  # an offer: the creator sees it
    client = api_as(world.creator_a.user)
    assert client.get(f"/api/v1/contracts/versions/{version.public_id}/").status_code == 200
    attempts = {
        "edit": client.patch(
            f"/api/v1/contracts/versions/{version.public_id}/", {"platforms": ["douyin"]}, format="json"
        ),
        "send": client.post(f"/api/v1/contracts/versions/{version.public_id}/send/"),
        "withdraw": client.post(f"/api/v1/contracts/versions/{version.public_id}/withdraw/"),
        "amend": client.post(
            f"/api/v1/contracts/{version.contract.public_id}/amendments/",
            {"effective_from": "2026-06-01"},
            format="json",
        ),
    }
    for action, response in attempts.items():
        assert response.status_code == 403, (action, response.content)
        assert world.agency_a.name in response.json()["detail"], action
    # Another agency's creator still cannot tell that the contract exists.
    stranger = api_as(world.creator_b.user)
    response = stranger.post(f"/api/v1/contracts/versions/{version.public_id}/send/")
    assert response.status_code == 404


# --- 2. private media: only through views that check tenancy, in development too -----------------


@pytest.fixture
def debug_urls(settings: Any) -> Any:
    """config.urls as `make run` builds it (DEBUG on)."""
    import importlib

    from django.urls import clear_url_caches

    import config.urls

    settings.DEBUG = True
    importlib.reload(config.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(config.urls)
    clear_url_caches()


def test_media_files_are_not_served_by_url_even_in_development(debug_urls: Any, settings: Any) -> None:
    folder = Path(settings.MEDIA_ROOT) / "income" / "imports" / "2026" / "11"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "x.html").write_text("<script>alert(document.cookie)</script>")
    (folder / "statement.csv").write_text("platform,amount\n")
    client = Client()
    for path in ("income/imports/2026/11/x.html", "income/imports/2026/11/statement.csv"):
        response = client.get(f"/media/{path}")
        assert response.status_code == 404, path
        assert b"<script>" not in response.content


def _expense(world: World) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.deals.services import deal_expense_submit
    from tests.contracts.conftest import active_contract
    from tests.deals.conftest import deal

    active_contract(world)
    return deal_expense_submit(
        deal=deal(world),
        actor=world.manager_a,
        description="Studio",
        amount_minor=800_00,
        receipt=SimpleUploadedFile("receipt.pdf", b"%PDF-1.7\n%receipt\n", content_type="application/pdf"),
    )


def test_a_receipt_downloads_as_an_attachment_only_to_who_may_see_it(world: World) -> None:
    from tests.conftest import web_as

    expense = _expense(world)
    for response in (
        web_as(world.creator_a.user).get(f"/deals/expenses/{expense.public_id}/receipt/"),
        api_as(world.manager_a).get(f"/api/v1/deals/expenses/{expense.public_id}/receipt/"),
    ):
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
    assert web_as(world.owner_b).get(f"/deals/expenses/{expense.public_id}/receipt/").status_code == 404
    assert (
        api_as(world.owner_b).get(f"/api/v1/deals/expenses/{expense.public_id}/receipt/").status_code == 404
    )


def test_a_signed_contract_pdf_downloads_as_an_attachment_with_nosniff(world: World) -> None:
    from tests.conftest import web_as
    from tests.contracts.conftest import active_contract

    version = active_contract(world)
    for response in (
        web_as(world.creator_a.user).get(f"/contracts/v/{version.public_id}/pdf/"),
        api_as(world.manager_a).get(f"/api/v1/contracts/versions/{version.public_id}/pdf/"),
    ):
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
    assert (
        api_as(world.owner_b).get(f"/api/v1/contracts/versions/{version.public_id}/pdf/").status_code == 404
    )


def test_every_file_field_has_a_download_through_tenancy_or_none() -> None:
    """A new FileField must be added here with the view that serves it (tenancy-checked) or be
    declared never downloaded: /media/ is never served."""
    import pghistory.models
    from django.apps import apps
    from django.db import models

    served = {
        "deals.DealExpense.receipt": "deals:receipt / api-deal-expense-receipt (deal_expense_get_for_actor)",
        "contracts.ContractVersion.pdf": "contracts:pdf / api-contract-pdf (contract_version_get_for_actor)",
        "income.StatementImport.file": "never downloaded: the worker reads it; people see the import's rows",
        "statements.Statement.pdf": "statements:pdf (statement_get_for_actor)",
        "disputes.DisputeAttachment.file": "disputes:attachment / api-dispute-file (dispute_attachment_get_for_actor)",
        "evidence.EvidenceBundleBuild.file": "evidence:file (evidence_build_get_for_actor: its creator only)",
    }
    fields = {
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        if not issubclass(model, pghistory.models.Event)  # audit copies: shown in admin as text
        for field in model._meta.get_fields()
        if isinstance(field, models.FileField)
    }
    assert fields == set(served)


# --- 6. every list endpoint is paginated, and the schema says so ----------------------------------


def _schema(client: Any) -> dict[str, Any]:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _json_responses(schema: dict[str, Any]) -> Any:
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        body = get["responses"].get("200", {}).get("content", {}).get("application/json")
        if body is not None:
            yield path, get, body["schema"]


def test_every_list_endpoint_in_the_schema_is_paginated_and_answers_pages(world: World) -> None:
    client = api_as(world.owner_a)
    schema = _schema(client)
    components = schema["components"]["schemas"]
    arrays = [path for path, _get, body in _json_responses(schema) if body.get("type") == "array"]
    assert not arrays, f"list endpoints documented as bare arrays: {arrays}"

    path_values = {"public_id": str(world.agency_a.public_id)}
    # A path under a payout batch names a batch, not an agency: an empty one of agency A's.
    from apps.payouts.models import PayoutBatch

    batch = PayoutBatch.objects.create(
        agency=world.agency_a,
        currency="CNY",
        as_of=datetime.date(2026, 12, 1),
        period="2026-12",
        threshold_minor=100_00,
        prepared_by=world.finance_a,
    )
    batch_values = {"public_id": str(batch.public_id)}
    paginated = []
    for path, get, body in _json_responses(schema):
        component = components[body["$ref"].split("/")[-1]] if "$ref" in body else body
        if "results" not in component.get("properties", {}):
            continue
        paginated.append(path)
        parameters = {parameter["name"] for parameter in get.get("parameters", [])}
        assert {"limit", "offset"} <= parameters or "cursor" in parameters, path
        url = path.format(**(batch_values if path.startswith("/api/v1/payouts/batches/") else path_values))
        response = client.get(url, {"limit": 1} if "limit" in parameters else {"page_size": 1})
        assert response.status_code == 200, (url, response.content)
        page = response.json()
        assert set(component["properties"]) <= set(page), url
        assert isinstance(page["results"], list) and len(page["results"]) <= 1, url
        assert {"next", "previous"} <= set(page), url
    assert len(paginated) >= 12, paginated


def test_more_than_500_income_lines_are_reachable_page_by_page(world: World) -> None:
    import datetime

    from apps.income.models import IncomeLine

    count = 1_203
    IncomeLine.objects.bulk_create(  # one set-based INSERT
        IncomeLine(
            agency=world.agency_a,
            creator=world.creator_a,
            platform="douyin",
            external_id=f"PAGE-{n}",
            account_id="dy_a",
            source="brand_deal",
            gross_minor=100 + n,
            currency="CNY",
            occurred_at=datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC)
            + datetime.timedelta(minutes=n % 7),
            status=IncomeLine.Status.IMPORTED,
        )
        for n in range(count)
    )
    client = api_as(world.owner_a)
    seen: list[str] = []
    url: str | None = "/api/v1/income/lines/?page_size=500"
    pages = 0
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 500
        seen.extend(line["public_id"] for line in page["results"])
        url = page["next"]
        pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == count


# --- 4. audit history: every change a person makes, with who made it -------------------------------


def _events(model_label: str, obj: Any) -> list[Any]:
    from django.apps import apps

    app_label, model_name = model_label.split(".")
    event_model = apps.get_model(app_label, f"{model_name}Event")
    return list(
        event_model.objects.filter(pgh_obj_id=obj.pk).select_related("pgh_context").order_by("pgh_id")
    )


def _user_of(event: Any) -> Any:
    return event.pgh_context.metadata.get("user") if event.pgh_context else None


def test_resolving_an_exception_line_is_recorded_with_who_did_it(world: World) -> None:
    from tests.deals.conftest import exception_line

    line = exception_line(world.agency_a)
    response = api_as(world.manager_a).post(
        f"/api/v1/deals/exceptions/{line.public_id}/dismiss/", {"reason": "Not our brand"}, format="json"
    )
    assert response.status_code == 200, response.content
    events = _events("income.IncomeLine", line)
    assert [(event.status, event.dismiss_reason) for event in events] == [("dismissed", "Not our brand")]
    assert _user_of(events[0]) == world.manager_a.pk
    assert events[0].pgh_context.metadata["url"] == f"/api/v1/deals/exceptions/{line.public_id}/dismiss/"


def test_lines_imported_and_marked_in_bulk_leave_no_events(world: World) -> None:
    from apps.income.models import IncomeLine
    from apps.income.services import income_line_mark
    from tests.deals.conftest import line

    lines = [line(world.agency_a, world.creator_a) for _ in range(3)]
    income_line_mark(lines_qs_or_ids=[item.pk for item in lines], status=IncomeLine.Status.MATCHED)
    assert all(_events("income.IncomeLine", item) == [] for item in lines)


def test_a_signature_and_its_version_are_recorded_with_the_signer(world: World) -> None:
    version = send(world, draft(world))
    response = api_as(world.creator_a.user).post(
        f"/api/v1/contracts/versions/{version.public_id}/sign/",
        {"document_sha256": version.document_sha256, "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.content
    signature = ContractSignature.objects.get(version=version)
    events = _events("contracts.ContractSignature", signature)
    assert [event.pgh_label for event in events] == ["insert"]
    assert _user_of(events[0]) == world.creator_a.user.pk
    assert events[0].document_sha256 == version.document_sha256
    version_events = _events("contracts.ContractVersion", version)
    assert {"draft", "sent"} <= {event.status for event in version_events}
    assert _events("contracts.Contract", version.contract)


def test_a_template_change_is_recorded(world: World) -> None:
    from tests.contracts.conftest import builtin

    response = api_as(world.manager_a).post(
        "/api/v1/contracts/templates/",
        {
            "agency": str(world.agency_a.public_id),
            "name": "Ours",
            "language": "en",
            "body": "Hello",
            "default_rule_set": builtin().default_rule_set,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    from apps.contracts.models import ContractTemplate

    template = ContractTemplate.objects.get(public_id=response.json()["public_id"])
    events = _events("contracts.ContractTemplate", template)
    assert [(event.pgh_label, _user_of(event)) for event in events] == [("insert", world.manager_a.pk)]


def test_creating_and_using_a_token_is_recorded_without_its_hash(world: World) -> None:
    from apps.accounts.models import PersonalAccessToken

    created = api_as(world.viewer_a).post("/api/v1/tokens/", {"name": "script"}, format="json").json()
    token = PersonalAccessToken.objects.get(public_id=created["public_id"])
    events = _events("accounts.PersonalAccessToken", token)
    assert [(event.pgh_label, _user_of(event)) for event in events] == [("insert", world.viewer_a.pk)]
    assert not hasattr(events[0], "token_sha256")
    # Every authenticated request stamps last_used_at: that is not an event.
    assert Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {created['token']}").status_code == 200
    assert len(_events("accounts.PersonalAccessToken", token)) == 1


def test_an_import_is_recorded_with_who_uploaded_it(world: World) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.income.models import StatementImport

    upload = SimpleUploadedFile("s.csv", b"platform,account_id\n", content_type="text/csv")
    response = api_as(world.owner_a).post(
        "/api/v1/income/imports/",
        {"agency": str(world.agency_a.public_id), "file": upload},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    statement_import = StatementImport.objects.get(public_id=response.json()["public_id"])
    events = _events("income.StatementImport", statement_import)
    assert events and _user_of(events[0]) == world.owner_a.pk


# --- 3. Content-Security-Policy --------------------------------------------------------------------


def test_pages_and_the_api_carry_a_strict_content_security_policy(world: World) -> None:
    from tests.conftest import web_as

    for response in (
        Client().get("/accounts/login/"),
        web_as(world.manager_a).get("/"),
        web_as(world.manager_a).get("/income/"),
        api_as(world.manager_a).get("/api/v1/agencies/"),
    ):
        policy = response["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["object-src"] == "'none'"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe" not in policy


def test_no_template_has_inline_script_style_or_event_handlers() -> None:
    """The policy allows no inline code: scripts and styles live in static/."""
    import re

    inline = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|\shx-on[:-]|javascript:", re.IGNORECASE
    )
    # The signed-contract PDF is rendered by WeasyPrint from its own stylesheet, never by a browser.
    exempt = {ROOT / "apps/contracts/templates/contracts/pdf.html"}
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
        for folder in [ROOT / "templates", *ROOT.glob("apps/*/templates")]
        for path in folder.rglob("*.html")
        if path not in exempt
        for match in inline.finditer(path.read_text())
    ]
    assert not offenders
