"""Period close as a feature: the preview of a seeded month, the close through the page, the API
and manage.py, and every refusal (a second close, an import running, a month not over, roles,
another agency, a malformed month) leaving the ledger as it was."""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from apps.agencies.time import agency_today
from apps.income.models import ClosedPeriod, IncomeLine, StatementImport
from apps.income.pipeline import statement_import_create
from apps.ledger.models import JournalEntry
from apps.recognition.period_close import period_close, period_is_over
from apps.recognition.selectors import period_close_preview
from tests.conftest import api_as, web_as
from tests.income.conftest import SIMPLE_RULES, run_import, sign_contract

pytestmark = pytest.mark.django_db
HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
GUARANTEED = {**SIMPLE_RULES, "minimum_guarantee": {"amount": "1000.00", "period": "month"}}
MONTH = "2026-10"


def _line(world: Any, external_id: str, status: str, day: int) -> IncomeLine:
    # Lines the pipeline leaves in these states only for a moment (imported before reconciliation,
    # matched before recognition): written directly, as the chunk step writes them.
    return IncomeLine.objects.create(
        agency=world.agency_a,
        creator=world.creator_a if status == IncomeLine.Status.MATCHED else None,
        platform="douyin",
        account_id="dy_88231",
        external_id=external_id,
        source="live_gifts",
        gross_minor=50_00,
        currency="CNY",
        occurred_at=datetime.datetime(2026, 10, day, 12, tzinfo=datetime.UTC),
        status=status,
    )


@pytest.fixture
def october(statement_world: Any) -> Any:
    """October 2026 of agency A: one recognised gift (creator's share 600.00 of a 1,000.00 monthly
    guarantee), two lines in the queue (an unknown account, no contract on YouTube), one line
    imported and not matched, one matched and not recognised; and a November line."""
    world = statement_world
    sign_contract(world, world.creator_a, ["douyin"], GUARANTEED)
    done = run_import(
        world,
        "october.csv",
        (
            HEADER
            + "G-1,2026-10-03T10:00:00+08:00,douyin,dy_88231,live_gifts,1000.00,CNY,,,\n"
            + "U-1,2026-10-04T10:00:00+08:00,douyin,dy_nobody,live_gifts,20.00,CNY,,,\n"
            + "Y-1,2026-10-05,youtube,UCx9f3,platform_revenue_share,10.00,CNY,,,\n"
            + "N-1,2026-11-02T10:00:00+08:00,douyin,dy_88231,live_gifts,10.00,CNY,,,\n"
        ).encode(),
    )
    assert done.status == StatementImport.Status.DONE, done.message
    world.imported = _line(world, "I-1", IncomeLine.Status.IMPORTED, 6)
    world.matched = _line(world, "M-1", IncomeLine.Status.MATCHED, 7)
    return world


def _top_ups() -> int:
    return JournalEntry.objects.filter(kind=JournalEntry.Kind.GUARANTEE_TOP_UP).count()


def _close_url(world: Any, period: str = MONTH) -> str:
    return reverse("api-period-close", args=[world.agency_a.public_id, period])


def _preview_url(world: Any, period: str = MONTH) -> str:
    return reverse("api-period-preview", args=[world.agency_a.public_id, period])


def _page_url(world: Any, period: str = MONTH, *, close: bool = False) -> str:
    name = "recognition:period_close" if close else "recognition:period"
    return reverse(name, args=[world.agency_a.public_id, period])


# --- the preview ------------------------------------------------------------------------------------


def test_the_preview_counts_the_months_lines_and_the_top_up_the_close_will_post(october: Any) -> None:
    world = october

    preview = period_close_preview(agency=world.agency_a, period=MONTH)

    assert preview.line_count == 5  # the November line is not October's
    assert (preview.recognised_count, preview.imported_count, preview.matched_count) == (1, 1, 1)
    assert preview.exception_count == 2
    assert {item.reason: item.count for item in preview.exceptions_by_reason} == {
        "unknown_account": 1,
        "no_contract": 1,
    }
    assert [line.external_id for line in preview.imported_sample] == ["I-1"]
    assert [line.external_id for line in preview.matched_sample] == ["M-1"]
    assert sorted(line.external_id for line in preview.exception_sample) == ["U-1", "Y-1"]
    assert [(item.creator_name, item.amount_minor, item.currency) for item in preview.top_ups] == [
        ("Creator A", 400_00, "CNY")  # 1,000.00 guaranteed, 600.00 earned
    ]
    assert preview.can_close and not preview.is_closed
    assert "2026-11-01" in preview.late_lines_note
    assert _top_ups() == 0  # a preview posts nothing


def test_the_api_preview_shows_amounts_as_decimal_strings(october: Any) -> None:
    world = october

    body = api_as(world.viewer_a).get(_preview_url(world)).json()

    assert body["lines"]["exception"] == 2 and body["lines"]["matched"] == 1
    assert body["top_ups"][0]["amount"] == "400.00"
    assert body["top_ups"][0]["guarantee"] == "1000.00"
    assert body["top_ups"][0]["creator_share"] == "600.00"
    assert body["can_close"] is True and body["refusals"] == []


def test_the_preview_page_names_the_lines_and_offers_the_close_to_finance(october: Any) -> None:
    world = october

    finance = web_as(world.finance_a).get(_page_url(world)).content.decode()
    manager = web_as(world.manager_a).get(_page_url(world)).content.decode()

    assert reverse("income:line", args=[world.matched.public_id]) in finance
    assert "No matching brand deal" not in finance and "Unknown account" in finance
    assert "¥400.00" in finance
    assert 'id="close-form"' in finance and 'name="confirm"' in finance
    assert "2026-11-01" in finance  # where late lines of the month will post
    assert 'id="close-form"' not in manager


# --- closing ----------------------------------------------------------------------------------------


def test_closing_through_the_page_posts_the_top_up_once(october: Any) -> None:
    world = october
    client = web_as(world.finance_a)

    unconfirmed = client.post(_page_url(world, close=True), follow=True)
    assert not ClosedPeriod.objects.exists()
    assert "Tick the box" in unconfirmed.content.decode()

    response = client.post(_page_url(world, close=True), {"confirm": "yes"}, follow=True)

    page = response.content.decode()
    assert "2026-10 is closed" in page and "¥400.00" in page
    closed = ClosedPeriod.objects.get(agency=world.agency_a, period=MONTH)
    assert closed.closed_by == world.finance_a
    assert _top_ups() == 1

    again = client.post(_page_url(world, close=True), {"confirm": "yes"})

    assert again.status_code == 409
    assert "already closed" in again.content.decode()
    assert _top_ups() == 1
    assert ClosedPeriod.objects.count() == 1


def test_closing_through_the_api_answers_201_and_a_second_close_409(october: Any) -> None:
    world = october
    client = api_as(world.owner_a)
    entries = JournalEntry.objects.count()

    response = client.post(_close_url(world))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["period"], body["closed_by"], body["top_up_count"]) == (MONTH, world.owner_a.email, 1)
    assert [(item["creator_name"], item["amount"], item["currency"]) for item in body["top_ups"]] == [
        ("Creator A", "400.00", "CNY")
    ]
    assert JournalEntry.objects.count() == entries + 1

    again = client.post(_close_url(world))

    assert again.status_code == 409
    assert again.json()["code"] == "period_closed"
    assert JournalEntry.objects.count() == entries + 1
    preview = client.get(_preview_url(world)).json()
    assert preview["is_closed"] is True and preview["top_ups"] == []
    assert preview["posted_top_ups"][0]["amount"] == "400.00"


def test_a_close_retried_with_its_idempotency_key_answers_the_first_close(october: Any) -> None:
    world = october
    client = api_as(world.owner_a)
    entries = JournalEntry.objects.count()

    first = client.post(_close_url(world), HTTP_IDEMPOTENCY_KEY="close-2026-10")
    retry = client.post(_close_url(world), HTTP_IDEMPOTENCY_KEY="close-2026-10")
    fresh = client.post(_close_url(world), HTTP_IDEMPOTENCY_KEY="another-key")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert fresh.status_code == 409 and fresh.json()["code"] == "period_closed"
    assert JournalEntry.objects.count() == entries + 1  # one top-up, however often it was sent


def test_the_command_previews_closes_and_refuses_a_second_close(october: Any) -> None:
    world = october
    dry = StringIO()

    call_command("period_close", "Agency A", MONTH, "--dry-run", stdout=dry)

    assert "Guarantee top-ups to post: 1" in dry.getvalue()
    assert "400.00 CNY" in dry.getvalue() and "Dry run" in dry.getvalue()
    assert "no_contract" not in dry.getvalue() and "No contract in force: 1" in dry.getvalue()
    assert not ClosedPeriod.objects.exists() and _top_ups() == 0

    out = StringIO()
    call_command("period_close", str(world.agency_a.public_id), MONTH, stdout=out)

    assert "Guarantee top-ups posted: 1" in out.getvalue()
    closed = ClosedPeriod.objects.get(agency=world.agency_a, period=MONTH)
    assert closed.closed_by is None  # the operator of manage.py
    assert _top_ups() == 1

    with pytest.raises(CommandError, match="already closed"):
        call_command("period_close", "Agency A", MONTH, stdout=StringIO())
    assert _top_ups() == 1


def test_the_command_refuses_an_unknown_agency_and_a_malformed_month(october: Any) -> None:
    with pytest.raises(CommandError, match="No agency"):
        call_command("period_close", "Agency Z", MONTH, stdout=StringIO())
    with pytest.raises(CommandError, match="not a month"):
        call_command("period_close", "Agency A", "2026-13", stdout=StringIO())


def test_a_line_recognised_after_the_close_posts_into_the_next_open_month(october: Any) -> None:
    world = october
    period_close(agency=world.agency_a, period=MONTH, actor=world.owner_a)

    run_import(
        world, "late.csv", (HEADER + "L-1,2026-10-20,douyin,dy_88231,live_gifts,100.00,CNY,,,\n").encode()
    )

    late = IncomeLine.objects.get(external_id="L-1")
    assert late.allocation.effective_date == datetime.date(2026, 11, 1)
    assert _top_ups() == 1  # the closed month's top-up stays what it was


# --- refusals ---------------------------------------------------------------------------------------


def test_a_running_import_refuses_the_close(october: Any) -> None:
    world = october
    statement_import_create(
        agency=world.agency_a,
        actor=world.manager_a,
        file=SimpleUploadedFile(
            "queued.csv", (HEADER + "Q-1,2026-10-09,douyin,dy_88231,live_gifts,1.00,CNY,,,\n").encode()
        ),
        enqueue=False,
    )

    preview = api_as(world.owner_a).get(_preview_url(world)).json()
    response = api_as(world.owner_a).post(_close_url(world))

    assert preview["running_import_count"] == 1 and preview["can_close"] is False
    assert response.status_code == 409
    assert response.json()["code"] == "import_running"
    with pytest.raises(CommandError, match="still queued or running"):
        call_command("period_close", "Agency A", MONTH, stdout=StringIO())
    assert not ClosedPeriod.objects.exists() and _top_ups() == 0


def test_the_current_and_a_future_month_are_refused(october: Any) -> None:
    world = october
    today = agency_today(world.agency_a)
    current = f"{today.year:04d}-{today.month:02d}"

    for period in (current, f"{today.year + 1:04d}-01"):
        response = api_as(world.owner_a).post(_close_url(world, period))
        assert response.status_code == 400, period
        assert response.json()["code"] == "period_not_over"
    assert not ClosedPeriod.objects.exists()


def test_a_month_is_over_when_it_is_over_in_the_agencys_time_zone(
    october: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = october  # Asia/Shanghai, UTC+8
    monkeypatch.setattr(timezone, "now", lambda: datetime.datetime(2026, 11, 30, 15, 30, tzinfo=datetime.UTC))
    assert not period_is_over(agency=world.agency_a, period="2026-11")  # 23:30 on 30 November there
    monkeypatch.setattr(timezone, "now", lambda: datetime.datetime(2026, 11, 30, 16, 30, tzinfo=datetime.UTC))
    assert period_is_over(agency=world.agency_a, period="2026-11")  # 00:30 on 1 December there


@pytest.mark.parametrize("role", ["viewer_a", "manager_a"])
def test_a_viewer_or_manager_may_not_close(october: Any, role: str) -> None:
    world = october
    user = getattr(world, role)

    api = api_as(user).post(_close_url(world))
    page = web_as(user).post(_page_url(world, close=True), {"confirm": "yes"})

    assert api.status_code == 403 and api.json()["code"] == "forbidden"
    assert page.status_code == 403
    assert not ClosedPeriod.objects.exists() and _top_ups() == 0


def test_another_agency_gets_404(october: Any) -> None:
    world = october
    outsider = world.owner_b

    assert api_as(outsider).get(_preview_url(world)).status_code == 404
    assert api_as(outsider).post(_close_url(world)).status_code == 404
    assert (
        api_as(outsider).get(reverse("api-periods"), {"agency": world.agency_a.public_id}).status_code == 404
    )
    assert web_as(outsider).get(_page_url(world)).status_code == 404
    assert web_as(outsider).post(_page_url(world, close=True), {"confirm": "yes"}).status_code == 404
    assert not ClosedPeriod.objects.exists()


@pytest.mark.parametrize(
    "period", ["2026-13", "2026-1", "october", "2026-00", "0000-01", "9999-12", "2026-01\n"]
)
def test_a_malformed_month_is_a_400(october: Any, period: str) -> None:
    world = october

    preview = api_as(world.owner_a).get(_preview_url(world, period))
    close = api_as(world.owner_a).post(_close_url(world, period))
    page = web_as(world.owner_a).get(_page_url(world, period))

    assert preview.status_code == close.status_code == page.status_code == 400
    assert close.json()["code"] == "invalid_period"
    assert "not a month such as 2026-11" in page.content.decode()
    assert not ClosedPeriod.objects.exists()


# --- the months ---------------------------------------------------------------------------------------


def test_the_months_list_shows_open_months_with_income_and_closed_ones_with_who(
    october: Any, django_assert_max_num_queries: Any
) -> None:
    world = october
    client = api_as(world.viewer_a)

    before = client.get(reverse("api-periods"), {"agency": world.agency_a.public_id}).json()
    period_close(agency=world.agency_a, period=MONTH, actor=world.finance_a)
    after = client.get(reverse("api-periods"), {"agency": world.agency_a.public_id}).json()

    months = {row["period"]: row for row in before["results"]}
    assert months[MONTH]["status"] == "open"
    assert months[MONTH]["income"] == [{"currency": "CNY", "amount": "1000.00"}]
    assert months[MONTH]["waiting_lines"] == 3  # imported + two in the queue
    assert months["2026-11"]["income"] == [{"currency": "CNY", "amount": "10.00"}]
    closed = {row["period"]: row for row in after["results"]}[MONTH]
    assert closed["status"] == "closed" and closed["closed"]["closed_by"] == world.finance_a.email
    assert after["count"] == 2
    mine = client.get(reverse("api-periods")).json()  # without ?agency=: every agency of the caller's
    assert {row["agency"] for row in mine["results"]} == {str(world.agency_a.public_id)}
    assert api_as(world.owner_b).get(reverse("api-periods")).json()["count"] == 0
    assert client.get(reverse("api-periods"), {"agency": "nope"}).status_code == 400

    page_client = web_as(world.viewer_a)
    with django_assert_max_num_queries(12):
        page = page_client.get(reverse("recognition:periods"))
    text = page.content.decode()
    assert 'data-period="2026-10"' in text and world.finance_a.email in text
    assert reverse("recognition:periods") in web_as(world.owner_a).get(reverse("home")).content.decode()


def test_the_api_schema_documents_the_period_endpoints(october: Any) -> None:
    schema = api_as(october.owner_a).get("/api/schema/", {"format": "json"}).json()

    assert "/api/v1/periods/" in schema["paths"]
    assert "post" in schema["paths"]["/api/v1/periods/{agency}/{period}/close/"]
    assert "/api/v1/periods/{agency}/{period}/preview/" in schema["paths"]


def test_closed_months_are_read_only_in_admin(october: Any) -> None:
    from django.contrib import admin

    period_close(agency=october.agency_a, period=MONTH, actor=october.owner_a)
    model_admin = admin.site._registry[ClosedPeriod]
    request = type("Request", (), {"user": october.staff})()

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, ClosedPeriod.objects.get())
    assert not model_admin.has_delete_permission(request, ClosedPeriod.objects.get())


def test_the_preview_page_and_api_read_in_a_bounded_number_of_queries(
    october: Any, django_assert_max_num_queries: Any
) -> None:
    world = october
    page_client, api_client = web_as(world.finance_a), api_as(world.finance_a)

    with django_assert_max_num_queries(20):
        assert page_client.get(_page_url(world)).status_code == 200
    with django_assert_max_num_queries(16):
        assert api_client.get(_preview_url(world)).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_closes_at_once_close_the_month_once_and_post_once(october: Any) -> None:
    import threading

    from django.db import connection

    from apps.common.exceptions import ApplicationError

    world = october
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def close(actor: Any) -> None:
        try:
            barrier.wait(5)
            period_close(agency=world.agency_a, period=MONTH, actor=actor)
            outcomes.append("closed")
        except ApplicationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=close, args=(user,)) for user in (world.owner_a, world.finance_a)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["closed", "period_closed"]
    assert ClosedPeriod.objects.filter(agency=world.agency_a, period=MONTH).count() == 1
    assert _top_ups() == 1
