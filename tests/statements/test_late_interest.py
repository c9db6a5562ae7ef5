"""Posting late interest: the agency's decision, one click, one ledger entry, never twice.

Creator A's October statement (tests/statements/conftest.py) closes at 34,680.00, due on 20
November, at 7.30 % a year: 0.02 % a day, 6.936 a day on the whole amount. Nothing is paid.
* up to 25 November: 5 days × 6.936 = 34.68;
* up to 2 December: 12 days × 6.936 = 83.232 → 83.23, of which 34.68 posted already: 48.55 more.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Sum
from django.urls import reverse

from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.ledger.models import Account, JournalEntry, Posting
from apps.ledger.services import PostingSpec, ledger_account_get_or_create, ledger_post
from apps.recognition.period_close import period_close
from apps.statements.models import Statement, StatementInterestPosting
from apps.statements.services import (
    statement_correct,
    statement_late_interest_post,
    statement_publish,
    statements_draft,
)
from tests.conftest import api_as, web_as
from tests.factories import creator_for
from tests.statements.conftest import post_payout

pytestmark = pytest.mark.django_db
Purpose = Account.Purpose
NOV_25, DEC_2 = datetime.date(2026, 11, 25), datetime.date(2026, 12, 2)


def _published(world: Any) -> Statement:
    statements_draft(agency=world.agency_a, period=world.month, actor=world.finance_a)
    draft = Statement.objects.get(creator=world.creator_a, period=world.month)
    return statement_publish(statement=draft, actor=world.finance_a)


def _interest_entries(world: Any) -> list[JournalEntry]:
    return list(
        JournalEntry.objects.filter(agency=world.agency_a, kind=JournalEntry.Kind.LATE_INTEREST).order_by(
            "seq"
        )
    )


def _payable_credit(entry: JournalEntry) -> int:
    return -int(
        Posting.objects.filter(entry=entry, account__purpose=Purpose.CREATOR_PAYABLE).aggregate(
            total=Sum("amount_minor")
        )["total"]
    )


def test_posting_makes_one_entry_from_the_interest_expense_to_the_creator_and_records_who(
    october: Any,
) -> None:
    world = october
    statement = _published(world)

    result = statement_late_interest_post(statement=statement, actor=world.finance_a, as_of=NOV_25)

    posting = result.posting
    assert result.created
    assert (posting.amount_minor, posting.accrued_minor, posting.posted_before_minor) == (34_68, 34_68, 0)
    assert posting.interest_days == 5 and str(posting.late_interest_percent) == "7.30"
    assert posting.unpaid_minor == 34_680_00 and posting.posted_by == world.finance_a and posting.posted_at
    [entry] = _interest_entries(world)
    assert posting.entry == entry and entry.effective_date == NOV_25 and entry.author == world.finance_a
    assert entry.creator == world.creator_a
    lines = {
        (purpose, creator): amount
        for purpose, creator, amount in Posting.objects.filter(entry=entry).values_list(
            "account__purpose", "account__creator", "amount_minor"
        )
    }
    # The agency's expense is debited, the creator's payable credited: the creator is owed more.
    assert lines == {
        (Purpose.LATE_INTEREST, None): 34_68,
        (Purpose.CREATOR_PAYABLE, world.creator_a.pk): -34_68,
    }


def test_posting_the_same_day_twice_does_nothing_and_a_later_day_posts_only_what_accrued_since(
    october: Any,
) -> None:
    world = october
    statement = _published(world)
    first = statement_late_interest_post(statement=statement, actor=world.finance_a, as_of=NOV_25)

    again = statement_late_interest_post(statement=statement, actor=world.owner_a, as_of=NOV_25)
    later = statement_late_interest_post(statement=statement, actor=world.finance_a, as_of=DEC_2)

    assert not again.created and again.posting == first.posting
    assert later.created
    assert (later.posting.accrued_minor, later.posting.posted_before_minor, later.posting.amount_minor) == (
        83_23,
        34_68,
        48_55,
    )
    entries = _interest_entries(world)
    assert [_payable_credit(entry) for entry in entries] == [34_68, 48_55]  # 83.23 in all, never more
    with pytest.raises(ApplicationError) as earlier:
        statement_late_interest_post(
            statement=statement, actor=world.finance_a, as_of=datetime.date(2026, 11, 28)
        )
    assert earlier.value.status == 409 and "2026-12-02" in earlier.value.message
    assert not statement_late_interest_post(statement=statement, actor=world.finance_a, as_of=DEC_2).created
    assert StatementInterestPosting.objects.count() == 2 and len(_interest_entries(world)) == 2


def test_once_paid_nothing_more_accrues_and_a_later_day_posts_nothing(october: Any) -> None:
    world = october
    statement = _published(world)
    statement_late_interest_post(statement=statement, actor=world.finance_a, as_of=NOV_25)  # 34.68
    # Paid in full on 26 November: the interest stopped on the 25th.
    post_payout(world, world.creator_a, day=datetime.date(2026, 11, 26), gross=34_680_00, tax=0, key="paid")

    with pytest.raises(ApplicationError) as nothing_more:
        statement_late_interest_post(statement=statement, actor=world.finance_a, as_of=DEC_2)

    assert nothing_more.value.code == "no_interest" and nothing_more.value.status == 409
    assert "34.68" in nothing_more.value.message
    assert [_payable_credit(entry) for entry in _interest_entries(world)] == [34_68]


@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_post_once(october: Any) -> None:
    world = october
    statement = _published(world)
    barrier = threading.Barrier(2)
    results: list[bool] = []
    errors: list[BaseException] = []

    def post() -> None:
        try:
            barrier.wait()
            results.append(
                statement_late_interest_post(statement=statement, actor=world.finance_a, as_of=NOV_25).created
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and sorted(results) == [False, True]
    assert [_payable_credit(entry) for entry in _interest_entries(world)] == [34_68]


def test_the_posted_interest_is_the_next_statements_late_interest_figure(october: Any) -> None:
    world = october
    statement = _published(world)
    statement_late_interest_post(statement=statement, actor=world.finance_a, as_of=NOV_25)
    statement_late_interest_post(statement=statement, actor=world.finance_a, as_of=DEC_2)  # December's

    period_close(agency=world.agency_a, period="2026-11", actor=world.finance_a)
    statements_draft(agency=world.agency_a, period="2026-11", actor=world.finance_a)
    november = Statement.objects.get(creator=world.creator_a, period="2026-11")
    page = (
        web_as(world.finance_a).get(reverse("statements:detail", args=[november.public_id])).content.decode()
    )

    assert november.opening_minor == 34_680_00 and november.late_interest_minor == 34_68
    assert november.adjustments_minor == 0  # its own figure, not an adjustment
    assert november.closing_minor == 34_714_68
    payable = Account.objects.get(
        agency=world.agency_a, creator=world.creator_a, purpose=Purpose.CREATOR_PAYABLE
    )
    movement = payable.period_balances.get(period="2026-11").net_minor
    assert november.closing_minor - november.opening_minor == -movement  # still the ledger's movement
    row = page[page.index('data-figure="late_interest"') :]
    assert "Late payment interest posted" in row[:300] and "¥34.68" in row[:300]
    # November is closed now: a day in it can no longer be posted.
    with pytest.raises(ApplicationError) as closed:
        statement_late_interest_post(
            statement=statement, actor=world.finance_a, as_of=datetime.date(2026, 11, 30)
        )
    assert closed.value.code == "period_closed"


# --- refusals ----------------------------------------------------------------------------------------


def test_a_draft_no_interest_and_a_day_in_the_future_are_refused(october: Any) -> None:
    world = october
    statements_draft(agency=world.agency_a, period=world.month, actor=world.finance_a)
    draft = Statement.objects.get(creator=world.creator_a, period=world.month)

    with pytest.raises(ApplicationError) as unpublished:
        statement_late_interest_post(statement=draft, actor=world.finance_a, as_of=NOV_25)
    published = statement_publish(statement=draft, actor=world.finance_a)
    with pytest.raises(ApplicationError) as before_due:  # due 20 November: nothing accrued on the 15th
        statement_late_interest_post(
            statement=published, actor=world.finance_a, as_of=datetime.date(2026, 11, 15)
        )
    with pytest.raises(ApplicationError) as future:
        statement_late_interest_post(
            statement=published, actor=world.finance_a, as_of=datetime.date(2027, 6, 1)
        )
    # A creator without a contract: the defaults, payment 30 days after the month, no interest.
    no_contract = creator_for(agency=world.agency_a, name="Creator C")
    ledger_post(
        agency=world.agency_a,
        idempotency_key="c:owed",
        kind=JournalEntry.Kind.MANUAL_ADJUSTMENT,
        effective_date=datetime.date(2026, 10, 15),
        creator=no_contract,
        author=world.finance_a,
        reason="Owed for October",
        postings=[
            PostingSpec(
                ledger_account_get_or_create(
                    agency=world.agency_a, purpose=Purpose.AGENCY_REVENUE, currency="CNY"
                ),
                500_00,
            ),
            PostingSpec(
                ledger_account_get_or_create(
                    agency=world.agency_a,
                    purpose=Purpose.CREATOR_PAYABLE,
                    currency="CNY",
                    creator=no_contract,
                ),
                -500_00,
            ),
        ],
    )
    statements_draft(agency=world.agency_a, period=world.month, actor=world.finance_a)
    c = statement_publish(statement=Statement.objects.get(creator=no_contract), actor=world.finance_a)
    with pytest.raises(ApplicationError) as no_rate:  # due 30 November, unpaid, but at 0 %
        statement_late_interest_post(statement=c, actor=world.finance_a, as_of=DEC_2)

    assert unpublished.value.code == "not_published" and unpublished.value.status == 400
    assert before_due.value.code == "no_interest" and "2026-11-15" in before_due.value.message
    assert future.value.code == "invalid_as_of" and "future" in future.value.message
    assert c.late_interest_percent == 0 and c.payment_due == datetime.date(2026, 11, 30)
    assert no_rate.value.code == "no_interest"
    assert StatementInterestPosting.objects.count() == 0 and _interest_entries(world) == []


def test_only_owner_and_finance_post_interest(october: Any) -> None:
    world = october
    statement = _published(world)

    for actor in (world.manager_a, world.viewer_a, world.creator_a.user):
        with pytest.raises(PermissionDenied):
            statement_late_interest_post(statement=statement, actor=actor, as_of=NOV_25)
    with pytest.raises(NotFound):
        statement_late_interest_post(statement=statement, actor=world.owner_b, as_of=NOV_25)

    assert _interest_entries(world) == []
    assert statement_late_interest_post(statement=statement, actor=world.owner_a, as_of=NOV_25).created


def test_a_corrected_statement_posts_on_its_correction_and_never_counts_the_interest_twice(
    october: Any,
) -> None:
    world = october
    original = _published(world)
    statement_late_interest_post(statement=original, actor=world.finance_a, as_of=NOV_25)  # 34.68
    # 1,000.00 more was owed in October: the correction closes at 35,680.00.
    ledger_post(
        agency=world.agency_a,
        idempotency_key="fix:interest",
        kind=JournalEntry.Kind.MANUAL_ADJUSTMENT,
        effective_date=datetime.date(2026, 10, 31),
        creator=world.creator_a,
        author=world.finance_a,
        reason="Missed bonus",
        postings=[
            PostingSpec(
                ledger_account_get_or_create(
                    agency=world.agency_a, purpose=Purpose.AGENCY_REVENUE, currency="CNY"
                ),
                1_000_00,
            ),
            PostingSpec(
                ledger_account_get_or_create(
                    agency=world.agency_a,
                    purpose=Purpose.CREATOR_PAYABLE,
                    currency="CNY",
                    creator=world.creator_a,
                ),
                -1_000_00,
            ),
        ],
    )
    correction = statement_publish(
        statement=statement_correct(statement=original, actor=world.finance_a), actor=world.finance_a
    )

    with pytest.raises(ApplicationError) as superseded:
        statement_late_interest_post(statement=original, actor=world.finance_a, as_of=DEC_2)
    result = statement_late_interest_post(statement=correction, actor=world.finance_a, as_of=NOV_25)

    assert superseded.value.status == 409 and f"No. {correction.number}" in superseded.value.message
    # 5 days × 35,680.00 × 0.0002 = 35.68, of which 34.68 was posted on the original: 1.00 more.
    assert (result.posting.accrued_minor, result.posting.posted_before_minor) == (35_68, 34_68)
    assert result.posting.amount_minor == 1_00
    assert sum(_payable_credit(entry) for entry in _interest_entries(world)) == 35_68


def test_a_posting_is_never_changed_or_deleted(october: Any) -> None:
    world = october
    posting = statement_late_interest_post(
        statement=_published(world), actor=world.finance_a, as_of=NOV_25
    ).posting

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE statements_statementinterestposting SET amount_minor = 1 WHERE id = %s", [posting.pk]
        )
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM statements_statementinterestposting WHERE id = %s", [posting.pk])


# --- the page and the API ------------------------------------------------------------------------------


def test_finance_posts_from_the_page_after_confirming_and_sees_the_audit_trail(october: Any) -> None:
    world = october
    statement = _published(world)
    client = web_as(world.finance_a)
    url = reverse("statements:late_interest", args=[statement.public_id])
    detail = reverse("statements:detail", args=[statement.public_id])

    page = client.get(detail).content.decode()
    unconfirmed = client.post(url, {"as_of": "2026-11-25"}, follow=True).content.decode()
    assert 'id="late-interest-form"' in page and 'name="confirm"' in page and "csrfmiddlewaretoken" in page
    assert "Tick the box" in unconfirmed and _interest_entries(world) == []

    response = client.post(url, {"as_of": "2026-11-25", "confirm": "yes"})
    again = client.post(url, {"as_of": "2026-11-25", "confirm": "yes"}, follow=True).content.decode()
    page = client.get(detail).content.decode()

    assert response.status_code == 302 and len(_interest_entries(world)) == 1
    assert "posted already: nothing was posted again" in again
    trail = page[page.index('id="interest-postings"') :]
    assert (
        "2026-11-25" in trail and "7.30 %" in trail and "¥34.68" in trail and world.finance_a.email in trail
    )
    assert f"#{_interest_entries(world)[0].seq}" in trail
    assert "posted so far: ¥34.68" in page
    bad_day = client.post(url, {"as_of": "25/11/2026", "confirm": "yes"})
    assert bad_day.status_code == 400 and "YYYY-MM-DD" in bad_day.content.decode()


def test_a_manager_gets_no_button_and_a_403(october: Any) -> None:
    world = october
    statement = _published(world)
    client = web_as(world.manager_a)

    page = client.get(reverse("statements:detail", args=[statement.public_id])).content.decode()
    response = client.post(
        reverse("statements:late_interest", args=[statement.public_id]),
        {"as_of": "2026-11-25", "confirm": "yes"},
    )

    assert 'id="late-interest-form"' not in page
    assert response.status_code == 403 and _interest_entries(world) == []


def test_the_api_posts_once_per_day_and_refuses_with_problems(october: Any) -> None:
    world = october
    statement = _published(world)
    url = f"/api/v1/statements/{statement.public_id}/late-interest/"

    created = api_as(world.finance_a).post(url, {"as_of": "2026-11-25"}, format="json")
    repeated = api_as(world.finance_a).post(url, {"as_of": "2026-11-25"}, format="json")
    manager = api_as(world.manager_a).post(url, {"as_of": "2026-12-02"}, format="json")
    outsider = api_as(world.owner_b).post(url, {"as_of": "2026-12-02"}, format="json")
    bad_day = api_as(world.finance_a).post(url, {"as_of": "2026-13-01"}, format="json")
    detail = api_as(world.creator_a.user).get(f"/api/v1/statements/{statement.public_id}/").json()

    assert created.status_code == 201 and repeated.status_code == 200
    assert created.json()["amount"] == "34.68" and created.json()["interest_days"] == 5
    assert repeated.json()["public_id"] == created.json()["public_id"]
    assert (manager.status_code, outsider.status_code, bad_day.status_code) == (403, 404, 400)
    assert [posting["amount"] for posting in detail["late_interest_postings"]] == ["34.68"]
    assert detail["figures"]["late_interest"] == "0.00"  # October's own figure: posted in November
    assert len(_interest_entries(world)) == 1


def test_the_api_is_in_the_schema(world: Any) -> None:
    schema = api_as(world.owner_a).get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/statements/{public_id}/late-interest/" in schema["paths"]
