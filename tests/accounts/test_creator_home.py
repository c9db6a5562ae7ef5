"""The creator's home (issue 14): owed now, this month so far, the next payment and whether it is
late, twelve months by source and by platform, an offer to sign and disputes waiting, in the
creator's own terms, in the same number of queries at any size."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.creator_home import creator_home_for_actor
from apps.agencies.time import agency_today
from apps.common.money import format_money, to_decimal_string
from apps.disputes.services import dispute_answer, dispute_open
from apps.income.models import IncomeLine
from apps.recognition.models import LineAllocation
from apps.statements.models import Statement
from apps.statements.services import statement_publish, statements_draft
from tests.conftest import web_as
from tests.contracts.conftest import draft, send
from tests.income.history import contract_for, creator_share, history_rows, import_at, month_back, period_of
from tests.statements.conftest import october, october_open, post_payout, statement_world

__all__ = ["october", "october_open", "statement_world"]

pytestmark = pytest.mark.django_db


def _home(user: Any) -> str:
    response = web_as(user).get("/")
    assert response.status_code == 200
    return response.content.decode()


def _chart(page: str) -> dict[str, Any]:
    found = re.search(r'<script id="portal-chart" type="application/json">(.*?)</script>', page, re.S)
    assert found, "no chart data on the page"
    return json.loads(found.group(1))


def _shares_by_month(world: Any) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in IncomeLine.objects.filter(creator=world.creator_a):
        period = period_of(LineAllocation.objects.get(pk=line.pk).effective_date)
        totals[period] = totals.get(period, 0) + creator_share(line)
    return totals


def test_a_two_month_history_is_charted_by_source_and_platform(statement_world: Any) -> None:
    world = statement_world
    contract_for(world, world.creator_a, ["douyin", "youtube"])
    import_at(world, history_rows(12, 2, prefix="T"))  # last month and this month
    today = agency_today(world.agency_a)
    this_month, last_month = period_of(today), period_of(month_back(today, 1))

    page = _home(world.creator_a.user)
    chart = _chart(page)
    expected = _shares_by_month(world)

    assert chart["currency"] == "CNY" and len(chart["months"]) == 12
    assert chart["months"][-2:] == [last_month, this_month]
    assert set(expected) == {last_month, this_month}
    for series in ("bySource", "byPlatform"):
        summed = {month: 0 for month in chart["months"]}
        for dataset in chart[series]:
            for month, text in zip(chart["months"], dataset["data"], strict=True):
                summed[month] += int(text.replace(".", ""))
        assert summed[this_month] == expected[this_month] and summed[last_month] == expected[last_month]
        assert sum(summed.values()) == sum(expected.values())  # nothing in the ten months before
    live = next(item for item in chart["bySource"] if item["key"] == "live_gifts")
    gifts = [line for line in IncomeLine.objects.filter(creator=world.creator_a, source="live_gifts")]
    by_month = {month: 0 for month in (last_month, this_month)}
    for line in gifts:
        by_month[period_of(LineAllocation.objects.get(pk=line.pk).effective_date)] += creator_share(line)
    assert live["label"] == "Live gifts"
    assert live["data"][-2:] == [
        to_decimal_string(by_month[last_month], "CNY"),
        to_decimal_string(by_month[this_month], "CNY"),
    ]
    youtube = next(item for item in chart["byPlatform"] if item["key"] == "youtube")
    assert youtube["label"] == "YouTube"

    # This month so far, and what is owed (nothing paid yet: every share), in plain words.
    this_month_figure = re.search(r'id="this-month".*?</article>', page, re.S).group(0)
    assert format_money(expected[this_month], "CNY") in this_month_figure
    owed = re.search(r'id="owed-now".*?</article>', page, re.S).group(0)
    assert format_money(sum(expected.values()), "CNY") in owed
    assert "Creator payable" not in page and "creator_payable" not in page
    # The chart is drawn by the vendored Chart.js from a static file: no CDN, no inline script.
    assert "/static/vendor/chart.umd.min.js" in page and "/static/js/charts.js" in page
    assert "cdn" not in page.lower()


def test_the_home_runs_the_same_queries_for_3_and_30_lines(statement_world: Any) -> None:
    world = statement_world
    contract_for(world, world.creator_a, ["douyin", "youtube"])
    import_at(world, history_rows(3, 3, prefix="Q"), name="three.csv")
    client = web_as(world.creator_a.user)

    def count() -> int:
        client.get("/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        return len(queries)

    few = count()
    import_at(world, history_rows(27, 9, prefix="Q", start=3), name="thirty.csv")
    assert IncomeLine.objects.filter(creator=world.creator_a).count() == 30
    many = count()

    assert few == many
    assert many <= 20


def test_a_published_statement_unpaid_after_its_due_day_is_late(
    october: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = october
    statements_draft(agency=world.agency_a, period="2026-10", actor=world.finance_a)
    statement = Statement.objects.get(creator=world.creator_a)
    with django_capture_on_commit_callbacks(execute=True):
        statement_publish(statement=statement, actor=world.finance_a)
    statement.refresh_from_db()
    assert statement.payment_due == datetime.date(2026, 11, 20)  # 20 days after October

    on_time = creator_home_for_actor(
        actor=world.creator_a.user, agencies=[world.agency_a], today=datetime.date(2026, 11, 15)
    ).next_payment
    late = creator_home_for_actor(
        actor=world.creator_a.user, agencies=[world.agency_a], today=datetime.date(2026, 11, 25)
    ).next_payment

    assert on_time.due == late.due == datetime.date(2026, 11, 20) and on_time.statement == statement
    assert on_time.amount_minor == statement.closing_minor == 34_680_00
    assert not on_time.is_late and late.is_late and late.days_late == 5
    page = _home(world.creator_a.user)  # today is past 2026-11-20
    assert 'id="payment-late"' in page and "2026-11-20" in page and "¥34,680.00" in page


def test_once_paid_the_next_payment_is_the_following_month_by_the_contracts_days(
    october: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = october
    statements_draft(agency=world.agency_a, period="2026-10", actor=world.finance_a)
    statement = Statement.objects.get(creator=world.creator_a)
    with django_capture_on_commit_callbacks(execute=True):
        statement_publish(statement=statement, actor=world.finance_a)
    post_payout(world, world.creator_a, day=datetime.date(2026, 11, 10), gross=34_680_00, tax=0, key="paid")

    next_payment = creator_home_for_actor(
        actor=world.creator_a.user, agencies=[world.agency_a], today=datetime.date(2026, 11, 15)
    ).next_payment

    # November's payment: 20 days after the month's end (the contract's payment_days).
    assert next_payment.period == "2026-11" and next_payment.due == datetime.date(2026, 12, 20)
    assert next_payment.statement is None and not next_payment.is_late


def test_an_offer_to_sign_and_an_answered_dispute_wait_on_the_home(october_open: Any) -> None:
    world = october_open
    offer = send(world, draft(world, creator=world.creator_a2, platforms=["kuaishou"]))
    line = IncomeLine.objects.get(external_id="B-10")
    dispute = dispute_open(actor=world.creator_a2.user, message="The split looks wrong.", income_line=line)
    dispute_answer(dispute=dispute, actor=world.manager_a, message="It follows clause 1.")

    page = _home(world.creator_a2.user)
    others = _home(world.creator_a.user)

    offered = re.search(r'id="offer-waiting".*?</article>', page, re.S).group(0)
    assert f"/contracts/v/{offer.public_id}/" in offered and "Read and sign" in offered
    waiting = re.search(r'id="disputes-waiting".*?</article>', page, re.S).group(0)
    assert f"/disputes/{dispute.public_id}/" in waiting and "answered your dispute" in waiting
    assert f"/contracts/v/{offer.public_id}/" not in others and 'id="disputes-waiting"' not in others


def test_recouped_advance_is_not_counted_as_owed(october_open: Any) -> None:
    """Creator A2's gift of 500.00: 60 % is 300.00, half of which repays the advance: 150.00."""
    world = october_open
    line = IncomeLine.objects.get(external_id="B-10")
    home = creator_home_for_actor(
        actor=world.creator_a2.user, agencies=[world.agency_a], today=datetime.date(2026, 10, 31)
    )

    assert creator_share(line) == 150_00
    assert [(item.currency, item.amount_minor) for item in home.month_share] == [("CNY", 150_00)]
    assert [(item.currency, item.amount_minor) for item in home.owed] == [("CNY", 150_00)]


def test_someone_who_is_not_a_creator_has_no_portal(statement_world: Any) -> None:
    page = _home(statement_world.manager_a)
    assert 'id="portal"' not in page and "portal-chart" not in page
    assert creator_home_for_actor(actor=statement_world.manager_a, agencies=[]) is None


def test_what_is_unpaid_agrees_with_the_statements_own_lateness(
    october: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The home reads what was paid through the ledger's day index (creator_payable_paid), not
    the statements' scan of the account: both must say the same, partial payments and a failed
    payout's reversal included."""
    from apps.ledger.models import JournalEntry
    from apps.ledger.services import ledger_reverse
    from apps.statements.selectors import statement_lateness

    world = october
    statements_draft(agency=world.agency_a, period="2026-10", actor=world.finance_a)
    statement = Statement.objects.get(creator=world.creator_a)
    with django_capture_on_commit_callbacks(execute=True):
        statement_publish(statement=statement, actor=world.finance_a)
    statement.refresh_from_db()
    day = datetime.date(2026, 11, 28)

    def both() -> tuple[int, int]:
        home = creator_home_for_actor(actor=world.creator_a.user, agencies=[world.agency_a], today=day)
        unpaid = home.next_payment.amount_minor if home.next_payment.statement else 0
        return unpaid, statement_lateness(statement=statement, today=day).unpaid_minor

    assert both() == (34_680_00, 34_680_00)
    post_payout(
        world, world.creator_a, day=datetime.date(2026, 11, 10), gross=10_000_00, tax=1_000_00, key="one"
    )
    assert both() == (24_680_00, 24_680_00)
    approved = JournalEntry.objects.get(idempotency_key="one:approved")
    ledger_reverse(entry=approved, idempotency_key="one:failed", reason="bank refused", effective_date=day)
    assert both() == (33_680_00, 33_680_00)  # the net came back; the tax withheld did not
    late = creator_home_for_actor(
        actor=world.creator_a.user, agencies=[world.agency_a], today=day
    ).next_payment
    assert late.days_late == (day - statement.payment_due).days == 8
