"""Bad input found by a second reading: each must answer a clear 4xx and leave nothing behind.

Every case here once answered 500 (or leaked across tenants, or let a password be guessed)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.agencies.services import membership_set
from apps.common.tenancy import forget_scope
from apps.contracts.forms import TermsForm
from apps.contracts.models import Contract, ContractTemplate
from apps.deals.models import BrandDeal
from apps.income.models import IncomeLine
from tests.conftest import World, api_as, web_as
from tests.contracts.conftest import builtin, draft, send
from tests.deals.conftest import line
from tests.factories import Role

pytestmark = pytest.mark.django_db
DEEP_JSON = "[" * 100_000 + "]" * 100_000


def _client(user: Any) -> Any:
    client = api_as(user)
    client.raise_request_exception = False  # a 500 must show as a status, not as an exception
    return client


def _new_contract(world: World, **fields: Any) -> dict[str, Any]:
    return {
        "agency": str(world.agency_a.public_id),
        "creator": str(world.creator_a.public_id),
        "template": str(builtin().public_id),
        "platforms": ["douyin"],
        **fields,
    }


def test_deeply_nested_json_is_a_400(world: World) -> None:
    client = _client(world.owner_a)
    for url, method in (
        (f"/api/v1/agencies/{world.agency_a.public_id}/", "patch"),
        ("/api/v1/splits/simulate/", "post"),
    ):
        response = getattr(client, method)(url, data=DEEP_JSON, content_type="application/json")
        assert response.status_code == 400, url
        assert "nested too deeply" in response.json()["detail"]


def test_deeply_nested_rule_set_on_the_terms_page_is_a_form_error(world: World) -> None:
    version = draft(world)
    client = web_as(world.manager_a)
    client.raise_request_exception = False
    data = {k: v for k, v in TermsForm.initial_from(version).items() if v is not None}
    data.update(platforms=["douyin"], rule_set=DEEP_JSON)
    response = client.post(f"/contracts/v/{version.public_id}/edit/", data)
    assert response.status_code in (200, 400)
    assert "nested too deeply" in response.content.decode()


@pytest.mark.parametrize("due_on", ["9999-12-31", "0001-01-01"])
def test_a_deal_due_at_the_end_of_time_is_refused(world: World, due_on: str) -> None:
    response = _client(world.manager_a).post(
        "/api/v1/deals/",
        {
            "agency": str(world.agency_a.public_id),
            "creator": str(world.creator_a.public_id),
            "brand": "X",
            "platform": "douyin",
            "fee": "100.00",
            "currency": "CNY",
            "due_on": due_on,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "between 1900-01-01 and 2199-12-31" in response.json()["detail"]
    assert not BrandDeal.objects.exists()


@pytest.mark.parametrize(
    "fields", [{"start_date": "9999-06-01"}, {"start_date": "2026-01-01", "end_date": "9999-12-31"}]
)
def test_contract_dates_beyond_the_calendar_are_refused(world: World, fields: dict[str, str]) -> None:
    response = _client(world.manager_a).post(
        "/api/v1/contracts/", _new_contract(world, **fields), format="json"
    )
    assert response.status_code == 400
    assert not Contract.objects.exists()


def test_a_fee_cap_of_thousands_of_digits_is_refused(world: World) -> None:
    response = _client(world.manager_a).post(
        "/api/v1/contracts/", _new_contract(world, termination_fee_cap="9" * 5000), format="json"
    )
    assert response.status_code == 400
    assert not Contract.objects.exists()


@pytest.mark.parametrize(
    "terms", [{"term_months": "abc"}, {"termination_fee_cap": "1.234"}, {"late_interest_percent": "lots"}]
)
def test_a_template_with_broken_default_terms_is_refused_when_created(
    world: World, terms: dict[str, str]
) -> None:
    template = builtin()
    response = _client(world.manager_a).post(
        "/api/v1/contracts/templates/",
        {
            "agency": str(world.agency_a.public_id),
            "name": "T",
            "language": "en",
            "body": "Hello {{ creator_name }}",
            "default_rule_set": template.default_rule_set,
            "default_terms": terms,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "default terms" in response.json()["detail"]
    assert not ContractTemplate.objects.filter(agency=world.agency_a).exists()


def test_a_manager_cannot_draft_for_another_agencys_creator(world: World) -> None:
    # manager_a is also a viewer at agency B, so creator B is visible to them — but not to agency A.
    membership_set(agency=world.agency_b, user=world.manager_a, role=Role.VIEWER)
    forget_scope(world.manager_a)
    response = _client(world.manager_a).post(
        "/api/v1/contracts/",
        {
            **_new_contract(world),
            "creator": str(world.creator_b.public_id),
            "platforms": ["youtube"],
        },
        format="json",
    )
    assert response.status_code == 404
    assert not Contract.objects.exists()


def test_an_account_with_income_cannot_be_deleted(world: World) -> None:
    account = world.creator_a.platform_accounts.get()
    income = line(world.agency_a, world.creator_a)
    IncomeLine.objects.filter(pk=income.pk).update(platform_account=account)
    response = _client(world.creator_a.user).delete(f"/api/v1/platform-accounts/{account.public_id}/")
    assert response.status_code == 409
    assert "has income lines" in response.json()["detail"]
    assert world.creator_a.platform_accounts.filter(pk=account.pk).exists()


def test_guessing_the_password_at_signing_is_stopped(world: World) -> None:
    version = send(world, draft(world))
    client = _client(world.creator_a.user)
    statuses = [
        client.post(
            f"/api/v1/contracts/versions/{version.public_id}/sign/",
            {"document_sha256": version.document_sha256, "password": f"guess-{i}"},
            format="json",
        ).status_code
        for i in range(7)
    ]
    assert statuses[:5] == [403] * 5
    assert statuses[5:] == [429, 429]


def test_a_token_stops_working_when_its_owner_must_have_mfa(world: World) -> None:
    created = api_as(world.viewer_a).post("/api/v1/tokens/", {"name": "script"}, format="json").json()
    script = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {created['token']}"}
    assert script.get("/api/v1/me/", **headers).status_code == 200
    membership_set(agency=world.agency_a, user=world.viewer_a, role=Role.FINANCE)  # promoted: needs MFA now
    refused = script.get("/api/v1/me/", **headers)
    assert refused.status_code == 401
    assert "two-factor" in refused.json()["detail"]


def test_sending_an_offer_does_not_depend_on_the_mail_server(
    world: World, django_capture_on_commit_callbacks
) -> None:
    from config.celery_app import app

    version = draft(world)
    with django_capture_on_commit_callbacks() as callbacks:
        response = _client(world.manager_a).post(f"/api/v1/contracts/versions/{version.public_id}/send/")
    assert response.status_code == 200
    # The mail is a task published after commit through the outbox (a broker outage delays it,
    # never fails the send), not a call inside the request.
    from apps.common.models import OutboxMessage

    assert OutboxMessage.objects.filter(task="contracts.offer_notify", kwargs__version_id=version.pk).exists()
    assert any("outbox" in repr(callback) for callback in callbacks)
    app.autodiscover_tasks(force=True)  # as a worker does: the name the outbox holds is a real task
    assert "contracts.offer_notify" in app.tasks


def test_the_public_pdf_check_page_has_a_budget_per_address(db: Any) -> None:
    client = Client()
    statuses = [
        client.post("/contracts/check-pdf/", {}, REMOTE_ADDR="198.51.100.9").status_code for _ in range(22)
    ]
    assert statuses[:20] == [200] * 20
    assert statuses[20:] == [429, 429]
    assert (
        "Wait ten minutes"
        in client.post("/contracts/check-pdf/", {}, REMOTE_ADDR="198.51.100.9").content.decode()
    )
    # Another address is not affected.
    assert client.post("/contracts/check-pdf/", {}, REMOTE_ADDR="198.51.100.10").status_code == 200


# --- NUL in JSON stored as jsonb, deep JSON on every endpoint (issue 11) ---------------------------

NUL = "\u0000"


def _with_nul_label(rule_set: dict[str, Any]) -> dict[str, Any]:
    import copy

    rules = copy.deepcopy(rule_set)
    rules["rules"][0]["label"] = f"Brand{NUL}deals"
    return rules


def test_nul_in_a_template_rule_set_is_a_400(world: World) -> None:
    response = _client(world.manager_a).post(
        "/api/v1/contracts/templates/",
        {
            "agency": str(world.agency_a.public_id),
            "name": "T",
            "language": "en",
            "body": "Hello {{ creator_name }}",
            "default_rule_set": _with_nul_label(builtin().default_rule_set),
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "NUL character" in response.json()["detail"]
    assert not ContractTemplate.objects.filter(agency=world.agency_a).exists()


def test_nul_in_a_template_default_terms_key_is_a_400(world: World) -> None:
    response = _client(world.manager_a).post(
        "/api/v1/contracts/templates/",
        {
            "agency": str(world.agency_a.public_id),
            "name": "T",
            "language": "en",
            "body": "Hello",
            "default_rule_set": builtin().default_rule_set,
            "default_terms": {f"term{NUL}": "1"},
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "NUL character" in response.json()["detail"]


def test_nul_in_contract_terms_is_a_400(world: World) -> None:
    response = _client(world.manager_a).post(
        "/api/v1/contracts/",
        _new_contract(world, rule_set=_with_nul_label(builtin().default_rule_set)),
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "NUL character" in response.json()["detail"]
    assert not Contract.objects.exists()


def test_deeply_nested_json_on_the_expenses_endpoint_is_a_400(world: World) -> None:
    from tests.deals.conftest import deal

    brand_deal = deal(world)
    response = _client(world.manager_a).post(
        f"/api/v1/deals/{brand_deal.public_id}/expenses/", data=DEEP_JSON, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_nul_in_the_rules_textarea_of_the_terms_page_is_a_form_error(world: World) -> None:
    import json

    version = draft(world)
    client = web_as(world.manager_a)
    client.raise_request_exception = False
    data = {k: v for k, v in TermsForm.initial_from(version).items() if v is not None}
    data.update(platforms=["douyin"], rule_set=json.dumps(_with_nul_label(version.rule_set)))
    response = client.post(f"/contracts/v/{version.public_id}/edit/", data)
    assert response.status_code in (200, 400)
    assert "NUL character" in response.content.decode()
    version.refresh_from_db()
    assert NUL not in json.dumps(version.rule_set)


def test_every_api_view_parses_json_with_the_safe_parser() -> None:
    from django.urls import URLPattern, URLResolver, get_resolver
    from rest_framework.parsers import JSONParser as DrfJSONParser

    from apps.common.parsers import JSONParser

    def views(patterns: Any) -> Any:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from views(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
                yield pattern.callback.cls

    unsafe = {
        view.__name__
        for view in views(get_resolver().url_patterns)
        for parser in view.parser_classes
        if issubclass(parser, DrfJSONParser) and not issubclass(parser, JSONParser)
    }
    assert not unsafe


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "1899-12", "2200-01"])
def test_a_month_no_line_can_fall_in_is_a_400_not_a_500(world: World, month: str) -> None:
    # Found by schemathesis (make attack): 0000-01 matched the month pattern and made a date
    # Python cannot hold.
    response = _client(world.manager_a).get("/api/v1/income/lines/", {"month": month})
    assert response.status_code == 400, response.content
    assert "is not a month such as 2026-11" in response.json()["detail"]
    page = web_as(world.manager_a)
    page.raise_request_exception = False
    assert page.get("/income/", {"month": month}).status_code < 500


def test_a_named_month_of_year_zero_is_no_month() -> None:
    from apps.income.importers.exports import parse_month

    assert parse_month("Nov 0000") is None
    assert parse_month("Nov 2026") is not None


def test_a_rounded_id_without_the_plus_sign_is_refused_on_its_row() -> None:
    from zoneinfo import ZoneInfo

    from apps.income.importers.canonical import RawRow, validate_row

    row = {
        "external_id": "6.95355E18",
        "occurred_at": "2026-11-03T10:00:00+08:00",
        "platform": "douyin",
        "account_id": "dy_1",
        "source": "live_gifts",
        "gross": "10.00",
        "currency": "CNY",
        "order_ref": "",
        "refund_of": "",
        "description": "",
    }
    errors = validate_row(RawRow(2, row, {}), ZoneInfo("Asia/Shanghai"))
    assert isinstance(errors, list)
    assert any(column == "external_id" and "spreadsheet rounded" in text for column, text in errors)
