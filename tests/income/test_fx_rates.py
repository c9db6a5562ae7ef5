"""Exchange rates (issue 13): finance records a rate on the page, the API or (staff, reference
rates) in admin; the service refuses bad input with a sentence and changes nothing; an agency's
rates convert its own lines only, reference rates everyone's; lines that waited for a rate are
recognised when it arrives."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.contracts.services import contract_draft, contract_sign, contract_version_send
from apps.income.models import FxRate, IncomeLine
from apps.income.pipeline import statement_import_create, statement_import_run
from apps.income.selectors import fx_rate_list_for_actor
from apps.income.services import fx_rate_record
from apps.recognition.batch import convert_minor
from apps.recognition.services import recognize_pending
from tests.conftest import api_as, web_as
from tests.contracts.conftest import END, META, START, builtin
from tests.income.conftest import SIMPLE_RULES, run_import, sign_contract

pytestmark = pytest.mark.django_db
HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
NOV_1 = datetime.date(2026, 11, 1)


def _record(world: Any, **changes: Any) -> Any:
    arguments = {
        "agency": world.agency_a,
        "actor": world.finance_a,
        "base": "USD",
        "quote": "CNY",
        "date": NOV_1,
        "rate": "7.1234",
        "source": "PBOC central parity",
    }
    arguments.update(changes)
    return fx_rate_record(**arguments)


def _usd_lines_waiting(world: Any, *, amount: str = "312.77", day: str = "2026-11-30") -> IncomeLine:
    """A USD line under agency A's CNY contract, imported and queued for want of a rate."""
    sign_contract(world, world.creator_a, ["youtube"])
    run_import(
        world,
        "y.csv",
        (HEADER + f"Y-1,{day},youtube,UCx9f3,platform_revenue_share,{amount},USD,,,\n").encode(),
    )
    line = IncomeLine.objects.get(agency=world.agency_a, external_id="Y-1")
    assert (line.state, line.exception_reason) == ("exception", "no_fx_rate")
    return line


def _agency_b_usd_line_waiting(world: Any) -> IncomeLine:
    """The same for agency B: its own creator, CNY contract and USD statement."""
    version = contract_draft(
        actor=world.owner_b,
        agency=world.agency_b,
        creator=world.creator_b,
        template=builtin(),
        start_date=START,
        end_date=END,
        platforms=["youtube"],
        rule_set=SIMPLE_RULES,
    )
    version = contract_version_send(version=version, actor=world.owner_b)
    for signer in (world.creator_b.user, world.owner_b):
        contract_sign(version=version, signer=signer, document_sha256=version.document_sha256, meta=META)
    data = (HEADER + "B-1,2026-11-30,youtube,yt_b,platform_revenue_share,100.00,USD,,,\n").encode()
    statement_import = statement_import_create(
        agency=world.agency_b,
        actor=world.owner_b,
        file=SimpleUploadedFile("b.csv", data),
        enqueue=False,
    )
    statement_import_run(statement_import=statement_import)
    line = IncomeLine.objects.get(agency=world.agency_b, external_id="B-1")
    assert (line.state, line.exception_reason) == ("exception", "no_fx_rate")
    return line


# --- the service: bad input is a sentence, and nothing changes ------------------------------------


@pytest.mark.parametrize(
    ("changes", "code", "field", "words"),
    [
        ({"rate": "0"}, "rate_not_positive", "rate", "more than zero"),
        ({"rate": "0.000"}, "rate_not_positive", "rate", "more than zero"),
        ({"rate": "-7.1"}, "rate_not_positive", "rate", "more than zero"),
        ({"rate": "abc"}, "invalid_rate", "rate", "not a number"),
        ({"rate": ""}, "invalid_rate", "rate", "not a number"),
        ({"rate": "7.1e3"}, "invalid_rate", "rate", "not a number"),
        ({"rate": "７.１"}, "invalid_rate", "rate", "not a number"),  # full-width digits
        ({"rate": "7.1234567890123"}, "rate_too_precise", "rate", "12 decimal places"),
        ({"rate": "1234567890123"}, "rate_too_large", "rate", "12 digits"),
        ({"base": "XYZ"}, "invalid_currency", "base", "ISO 4217"),
        ({"quote": "yuan"}, "invalid_currency", "quote", "ISO 4217"),
        ({"quote": "USD"}, "same_currency", "quote", "must differ"),
        ({"date": datetime.date(2999, 1, 1)}, "date_in_future", "date", "future"),
        ({"source": "  "}, "source_required", "source", "who published"),
    ],
)
def test_bad_input_is_refused_with_a_sentence_and_nothing_is_recorded(
    world, changes, code, field, words
) -> None:
    with pytest.raises(ApplicationError) as refusal:
        _record(world, **changes)

    assert (refusal.value.code, refusal.value.status, refusal.value.extra["field"]) == (code, 400, field)
    assert words in refusal.value.message
    assert not FxRate.objects.exists()


def test_a_rate_is_stored_exactly_with_its_agency_and_who_recorded_it(world) -> None:
    recorded = _record(world, base="usd", quote=" cny ", rate="7.123456789012", source=" PBOC ")

    rate = FxRate.objects.get()
    assert (rate.agency, rate.recorded_by, rate.base, rate.quote) == (
        world.agency_a,
        world.finance_a,
        "USD",
        "CNY",
    )
    assert (rate.rate, rate.source, rate.date) == (Decimal("7.123456789012"), "PBOC", NOV_1)
    assert recorded.requeued == 0


def test_today_is_accepted_and_the_same_rate_twice_is_a_conflict(world) -> None:
    today = timezone.localdate()
    _record(world, date=today)

    with pytest.raises(ApplicationError) as refusal:
        _record(world, date=today, rate="7.5")

    assert (refusal.value.code, refusal.value.status) == ("fx_rate_exists", 409)
    assert "already recorded" in refusal.value.message
    assert list(FxRate.objects.values_list("rate", flat=True)) == [Decimal("7.1234")]
    # Another source, another day, or another agency is another rate.
    _record(world, date=today, source="Bank of China")
    _record(world, agency=world.agency_b, actor=world.owner_b, date=today)
    assert FxRate.objects.count() == 3


def test_two_reference_rates_of_one_day_and_source_conflict_too(world) -> None:
    _record(world, agency=None, actor=world.staff)

    with pytest.raises(ApplicationError) as refusal:
        _record(world, agency=None, actor=world.staff, rate="7.2")

    assert refusal.value.status == 409
    assert FxRate.objects.count() == 1


@pytest.mark.parametrize("role", ["manager_a", "viewer_a"])
def test_only_owner_and_finance_record_an_agency_rate(world, role) -> None:
    with pytest.raises(PermissionDenied):
        _record(world, actor=getattr(world, role), rate="0")  # the role is checked before the input
    _record(world, actor=world.owner_a)
    assert FxRate.objects.count() == 1


def test_another_agency_and_non_staff_cannot_record_for_a_or_for_everyone(world) -> None:
    with pytest.raises(NotFound):
        _record(world, actor=world.owner_b)
    with pytest.raises(PermissionDenied):
        _record(world, agency=None, actor=world.finance_a)
    assert not FxRate.objects.exists()


# --- tenancy -----------------------------------------------------------------------------------------


def test_each_agency_sees_its_own_rates_and_the_reference_rates(world) -> None:
    _record(world, source="A's bank")
    _record(world, agency=world.agency_b, actor=world.owner_b, source="B's bank")
    _record(world, agency=None, actor=world.staff, source="PBOC")

    seen_by_b = {rate.source for rate in fx_rate_list_for_actor(actor=world.owner_b)}
    seen_by_a = {rate.source for rate in fx_rate_list_for_actor(actor=world.viewer_a)}

    assert seen_by_b == {"B's bank", "PBOC"}
    assert seen_by_a == {"A's bank", "PBOC"}
    b_page = web_as(world.owner_b).get(reverse("income:rates")).content.decode()
    assert "B&#x27;s bank" in b_page and "A&#x27;s bank" not in b_page
    b_api = api_as(world.owner_b).get("/api/v1/income/rates/").json()
    assert {rate["source"] for rate in b_api["results"]} == {"B's bank", "PBOC"}
    # Asking for agency A's rates by its id is "not found" for B.
    assert (
        api_as(world.owner_b).get(f"/api/v1/income/rates/?agency={world.agency_a.public_id}").status_code
        == 404
    )


def test_agency_a_rate_never_converts_agency_b_lines_and_a_reference_rate_converts_both(
    statement_world, django_capture_on_commit_callbacks, celery_eager
) -> None:
    world = statement_world
    a_line = _usd_lines_waiting(world)
    b_line = _agency_b_usd_line_waiting(world)

    with django_capture_on_commit_callbacks(execute=True):
        recorded = _record(world, rate="7")
    recognize_pending(agency=world.agency_b)  # even if B's recognition ran now

    a_line.refresh_from_db()
    b_line.refresh_from_db()
    assert recorded.requeued == 1
    assert a_line.state == "recognised" and a_line.allocation.fx_rate == Decimal("7")
    assert (b_line.state, b_line.exception_reason) == ("exception", "no_fx_rate")

    with django_capture_on_commit_callbacks(execute=True):
        reference = _record(world, agency=None, actor=world.staff, rate="7.2", source="PBOC")

    b_line = IncomeLine.objects.get(pk=b_line.pk)
    assert reference.requeued == 1  # B's line only: A's is recognised
    assert b_line.state == "recognised"
    assert (b_line.allocation.fx_rate, b_line.allocation.fx_source) == (Decimal("7.2"), "PBOC")
    assert b_line.allocation.gross_minor == 720_00


def test_the_agency_own_rate_comes_before_a_reference_rate_and_a_reference_rate_fills_earlier_days(
    statement_world,
) -> None:
    world = statement_world
    sign_contract(world, world.creator_a, ["youtube"])
    _record(world, agency=None, actor=world.staff, date=datetime.date(2026, 10, 1), rate="6.9", source="PBOC")
    _record(
        world, agency=None, actor=world.staff, date=datetime.date(2026, 11, 20), rate="7.3", source="PBOC"
    )
    _record(world, date=datetime.date(2026, 11, 10), rate="7.1", source="Our bank")
    data = (
        HEADER
        + "Y-1,2026-11-05,youtube,UCx9f3,platform_revenue_share,1.00,USD,,,\n"
        + "Y-2,2026-11-25,youtube,UCx9f3,platform_revenue_share,1.00,USD,,,\n"
    ).encode()

    run_import(world, "y.csv", data)

    early, late = (IncomeLine.objects.get(external_id=key).allocation for key in ("Y-1", "Y-2"))
    # Before the agency's first own rate: the reference rate of that time.
    assert (early.fx_rate, early.fx_source) == (Decimal("6.9"), "PBOC")
    # From it on: the agency's own, though a newer reference rate exists.
    assert (late.fx_rate, late.fx_source, late.fx_date) == (
        Decimal("7.1"),
        "Our bank",
        datetime.date(2026, 11, 10),
    )


# --- end to end: lines wait, the rate arrives, they are recognised ---------------------------------


def test_usd_lines_wait_then_finance_records_the_rate_and_they_are_recognised(
    statement_world, django_capture_on_commit_callbacks, celery_eager
) -> None:
    world = statement_world
    line = _usd_lines_waiting(world)
    # A rate dated after the line's day does not convert it: it keeps waiting.
    with django_capture_on_commit_callbacks(execute=True):
        later = _record(world, date=datetime.date(2026, 12, 1), source="Too late")
    assert later.requeued == 0
    assert IncomeLine.objects.get(pk=line.pk).exception_reason == "no_fx_rate"

    with django_capture_on_commit_callbacks(execute=True):
        response = web_as(world.finance_a).post(
            reverse("income:rates"),
            {
                "agency": str(world.agency_a.public_id),
                "base": "USD",
                "quote": "CNY",
                "date": "2026-11-01",
                "rate": "7.1234",
                "source": "PBOC",
            },
            follow=True,
        )

    assert response.status_code == 200
    assert "1 line that waited for a rate was sent back to recognition" in response.content.decode()
    line = IncomeLine.objects.get(pk=line.pk)
    assert line.state == "recognised"
    allocation = line.allocation
    assert (allocation.original_gross_minor, allocation.original_currency) == (31277, "USD")
    assert (allocation.gross_minor, allocation.currency) == (
        convert_minor(31277, "USD", "CNY", Decimal("7.1234")),
        "CNY",
    )
    assert allocation.gross_minor == 222799
    assert (allocation.fx_rate, allocation.fx_source, allocation.fx_date) == (
        Decimal("7.1234"),
        "PBOC",
        NOV_1,
    )


def test_a_rate_that_would_make_a_line_larger_than_the_ledger_holds_queues_the_line(
    statement_world, django_capture_on_commit_callbacks, celery_eager
) -> None:
    """A mistyped rate (12 digits before the point are accepted) must not make a line the ledger
    cannot hold and stop the agency's recognition: that line waits with a sentence (found by a
    second reading: 10,000,000.00 USD at 999,999,999,999 is 10^21 fen)."""
    world = statement_world
    line = _usd_lines_waiting(world, amount="10000000.00")

    with django_capture_on_commit_callbacks(execute=True):
        _record(world, rate="999999999999")

    line = IncomeLine.objects.get(pk=line.pk)
    assert (line.state, line.exception_reason) == ("exception", "engine_error")
    assert "check the USD→CNY rate" in line.exception_detail


# --- the page ---------------------------------------------------------------------------------------


def test_the_page_shows_a_refusal_by_its_field_and_records_nothing(world) -> None:
    response = web_as(world.finance_a).post(
        reverse("income:rates"),
        {
            "agency": str(world.agency_a.public_id),
            "base": "USD",
            "quote": "CNY",
            "date": "2026-11-01",
            "rate": "-1",
            "source": "PBOC",
        },
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["rate"] == [
        "A rate must be more than zero: 1 unit of the base currency buys how many of the quote."
    ]
    assert not FxRate.objects.exists()


@pytest.mark.parametrize("role", ["manager_a", "viewer_a"])
def test_a_manager_or_viewer_reads_the_rates_but_gets_a_403_page_when_recording(world, role) -> None:
    _record(world, source="Visible")
    client = web_as(getattr(world, role))

    page = client.get(reverse("income:rates"))
    refused = client.post(
        reverse("income:rates"),
        {
            "agency": str(world.agency_a.public_id),
            "base": "USD",
            "quote": "CNY",
            "date": "2026-11-02",
            "rate": "7",
            "source": "X",
        },
    )

    assert page.status_code == 200
    assert "Visible" in page.content.decode() and 'id="rate-form"' not in page.content.decode()
    assert refused.status_code == 403
    assert "owner or finance" in refused.content.decode()
    assert FxRate.objects.count() == 1


def test_the_rates_page_lists_newest_first_in_pages_with_bounded_queries(
    world, django_assert_max_num_queries
) -> None:
    for day in range(1, 61):
        _record(world, date=datetime.date(2026, 1, 1) + datetime.timedelta(days=day), rate=f"7.{day:02d}")
    client = web_as(world.finance_a)

    with django_assert_max_num_queries(15):
        first = client.get(reverse("income:rates")).content.decode()
    second = client.get(reverse("income:rates") + "?page=2").content.decode()

    assert first.index("2026-03-02") < first.index("2026-03-01")  # newest first
    assert "2026-01-02" not in first and "2026-01-02" in second
    assert reverse("income:rates") in web_as(world.finance_a).get(reverse("income:lines")).content.decode()


# --- the API -----------------------------------------------------------------------------------------


def _post(user: Any, world: Any, **changes: Any) -> Any:
    body = {
        "agency": str(world.agency_a.public_id),
        "base": "USD",
        "quote": "CNY",
        "date": "2026-11-01",
        "rate": "7.1234",
        "source": "PBOC",
    }
    body.update(changes)
    return api_as(user).post("/api/v1/income/rates/", body, format="json")


def test_api_records_a_rate_201_then_409_for_the_same_one(world) -> None:
    created = _post(world.finance_a, world)
    again = _post(world.finance_a, world, rate="8")

    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["agency"], body["is_reference"], body["rate"], body["date"]) == (
        str(world.agency_a.public_id),
        False,
        "7.1234",
        "2026-11-01",
    )
    assert body["requeued_lines"] == 0
    assert again.status_code == 409 and again["Content-Type"] == "application/problem+json"
    assert again.json()["code"] == "fx_rate_exists"
    listed = api_as(world.viewer_a).get("/api/v1/income/rates/").json()
    assert (listed["count"], listed["results"][0]["rate"]) == (1, "7.1234")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rate": "0"}, "rate"),
        ({"rate": "-2"}, "rate"),
        ({"rate": "abc"}, "rate"),
        ({"rate": 7.1234}, "rate"),  # a JSON number: may have lost digits already
        ({"base": "ABC"}, "base"),
        ({"quote": "USD"}, "quote"),
        ({"date": "2999-01-01"}, "date"),
        ({"date": "yesterday"}, "date"),
    ],
)
def test_api_bad_input_is_a_400_problem_naming_the_field(world, changes, field) -> None:
    response = _post(world.finance_a, world, **changes)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]
    assert not FxRate.objects.exists()


def test_api_refuses_other_roles_403_and_another_agency_404(world) -> None:
    assert _post(world.manager_a, world).status_code == 403
    assert _post(world.viewer_a, world).status_code == 403
    assert _post(world.owner_b, world).status_code == 404
    assert not FxRate.objects.exists()


def test_the_rates_endpoint_is_in_the_openapi_schema(world) -> None:
    schema = api_as(world.owner_a).get("/api/v1/schema/?format=json")

    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/income/rates/" in text and "requeued_lines" in text


# --- admin --------------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(world: Any) -> Client:
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(world.staff, "JBSWY3DPEHPK3PXP")
    world.staff.is_superuser = True
    world.staff.save()
    client = Client()
    client.force_login(world.staff)
    return client


def test_staff_record_a_reference_rate_in_admin_through_the_service(
    statement_world, staff_client, django_capture_on_commit_callbacks, celery_eager
) -> None:
    line = _usd_lines_waiting(statement_world)
    add = reverse("admin:income_fxrate_add")
    form = {"base": "USD", "quote": "CNY", "date": "2026-11-01", "rate": "7.1234", "source": "PBOC"}

    refused = staff_client.post(add, {**form, "rate": "0"})
    with django_capture_on_commit_callbacks(execute=True):
        saved = staff_client.post(add, form)
    duplicate = staff_client.post(add, {**form, "rate": "7.5"})

    assert refused.status_code == 200 and "more than zero" in refused.content.decode()
    assert saved.status_code == 302, saved.content.decode()[:2000]
    rate = FxRate.objects.get()
    assert (rate.agency, rate.recorded_by, rate.rate) == (None, statement_world.staff, Decimal("7.1234"))
    assert IncomeLine.objects.get(pk=line.pk).state == "recognised"  # the service re-queued it
    assert duplicate.status_code == 200 and "already recorded" in duplicate.content.decode()
    assert FxRate.objects.count() == 1
    change = staff_client.get(reverse("admin:income_fxrate_change", args=[rate.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert (
        staff_client.get(
            reverse("admin:income_fxrate_changelist") + f"?agency__id__exact={statement_world.agency_a.pk}"
        ).status_code
        == 200
    )


@pytest.mark.django_db(transaction=True)
def test_two_people_recording_the_same_rate_at_once_the_second_gets_a_409_not_a_500(world) -> None:
    import threading

    from django.db import connection, transaction

    inserted, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                _record(world)
                inserted.set()
                release.wait(10)  # holds the row uncommitted: the second's check cannot see it
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert inserted.wait(10)
    threading.Timer(1.0, release.set).start()  # the second's INSERT waits on the unique index

    with pytest.raises(ApplicationError) as refusal:
        _record(world, rate="7.5")
    thread.join(10)

    assert not errors
    assert (refusal.value.code, refusal.value.status) == ("fx_rate_exists", 409)
    assert list(FxRate.objects.values_list("rate", flat=True)) == [Decimal("7.1234")]
