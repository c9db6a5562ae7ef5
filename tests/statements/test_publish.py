"""Publishing, freezing, correcting, notifying, acknowledging; the CSV, the PDF, due dates and
late interest of the seeded October (tests/statements/conftest.py)."""

from __future__ import annotations

import csv
import datetime
import io
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import DatabaseError, connection, connections, transaction
from django.urls import reverse
from pypdf import PdfReader

from apps.common.exceptions import ApplicationError, PermissionDenied
from apps.ledger.models import Account, JournalEntry
from apps.ledger.services import PostingSpec, ledger_account_get_or_create, ledger_post
from apps.statements.models import Statement
from apps.statements.pdf import METADATA_CONTENT_HASH
from apps.statements.selectors import late_interest_minor, statement_lateness
from apps.statements.services import (
    statement_acknowledge,
    statement_correct,
    statement_publish,
    statements_draft,
)
from tests.conftest import api_as, web_as
from tests.statements.conftest import post_payout

pytestmark = pytest.mark.django_db


def _drafts(world: Any) -> tuple[Statement, Statement]:
    statements_draft(agency=world.agency_a, period=world.month, actor=world.finance_a)
    return Statement.objects.get(creator=world.creator_a), Statement.objects.get(creator=world.creator_a2)


def _publish(world: Any, statement: Statement, capture: Any) -> Statement:
    with capture(execute=True):
        return statement_publish(
            statement=statement, actor=world.finance_a, base_url="https://fenrun.example/"
        )


# --- bad input ---------------------------------------------------------------------------------------


def test_a_statement_for_an_open_month_is_refused_with_a_clear_error(october: Any) -> None:
    world = october

    with pytest.raises(ApplicationError) as refused:
        statements_draft(agency=world.agency_a, period="2026-11", actor=world.finance_a)
    response = api_as(world.finance_a).post(
        "/api/v1/statements/draft/",
        {"agency": str(world.agency_a.public_id), "period": "2026-12"},
        format="json",
    )

    assert "close the month first" in refused.value.message
    assert response.status_code == 400 and "close the month first" in response.json()["detail"]
    assert Statement.objects.count() == 0


def test_a_manager_or_viewer_cannot_draft_or_publish(october: Any) -> None:
    world = october
    with pytest.raises(PermissionDenied):
        statements_draft(agency=world.agency_a, period=world.month, actor=world.manager_a)
    a, _a2 = _drafts(world)
    response = api_as(world.viewer_a).post(f"/api/v1/statements/{a.public_id}/publish/")
    assert response.status_code == 403
    assert api_as(world.owner_b).post(f"/api/v1/statements/{a.public_id}/publish/").status_code == 404
    a.refresh_from_db()
    assert a.number is None


# --- publish: numbers, freezing ---------------------------------------------------------------------


def test_publish_numbers_in_order_and_a_second_publish_is_refused(
    october: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = october
    a, a2 = _drafts(world)

    first = _publish(world, a2, django_capture_on_commit_callbacks)
    second = _publish(world, a, django_capture_on_commit_callbacks)

    assert (first.number, second.number) == (1, 2)
    assert len(first.content_sha256) == 64 and first.ledger_head_seq >= 1
    with pytest.raises(ApplicationError) as again:
        statement_publish(statement=a, actor=world.owner_a)
    assert again.value.status == 409
    assert Statement.objects.get(pk=a.pk).number == 2


@pytest.mark.django_db(transaction=True)
def test_two_publishes_at_once_take_consecutive_numbers(october: Any) -> None:
    world = october
    a, a2 = _drafts(world)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def publish(statement: Statement) -> None:
        try:
            barrier.wait()
            statement_publish(statement=statement, actor=world.finance_a)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=publish, args=(statement,)) for statement in (a, a2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(Statement.objects.values_list("number", flat=True)) == [1, 2]  # gapless, no duplicate


def test_a_published_statement_cannot_be_changed_by_the_orm_or_by_sql(
    october: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = october
    a, _a2 = _drafts(world)
    published = _publish(world, a, django_capture_on_commit_callbacks)

    published.closing_minor += 1
    published.opening_minor += 1
    with pytest.raises(DatabaseError), transaction.atomic():
        published.save()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE statements_statement SET number = 99 WHERE id = %s", [published.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM statements_statement WHERE id = %s", [published.pk])
    stored = Statement.objects.get(pk=published.pk)
    assert (stored.number, stored.closing_minor) == (1, 34_680_00)


def test_the_pdf_is_written_once(
    october: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = october
    a, _a2 = _drafts(world)
    published = _publish(world, a, django_capture_on_commit_callbacks)
    published.refresh_from_db()
    assert len(published.pdf_sha256) == 64

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE statements_statement SET pdf_sha256 = %s WHERE id = %s", ["0" * 64, published.pk]
        )


# --- corrections -----------------------------------------------------------------------------------


def test_a_correction_names_the_original_and_shows_the_difference(
    october: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = october
    a, _a2 = _drafts(world)
    original = _publish(world, a, django_capture_on_commit_callbacks)
    # Finance finds 50.00 owed to the creator in October and posts it into the closed month.
    payable = ledger_account_get_or_create(
        agency=world.agency_a,
        purpose=Account.Purpose.CREATOR_PAYABLE,
        currency="CNY",
        creator=world.creator_a,
    )
    revenue = ledger_account_get_or_create(
        agency=world.agency_a, purpose=Account.Purpose.AGENCY_REVENUE, currency="CNY"
    )
    ledger_post(
        agency=world.agency_a,
        idempotency_key="fix:1",
        kind=JournalEntry.Kind.MANUAL_ADJUSTMENT,
        effective_date=datetime.date(2026, 10, 31),
        creator=world.creator_a,
        author=world.finance_a,
        reason="Missed bonus",
        postings=[PostingSpec(revenue, 50_00), PostingSpec(payable, -50_00)],
    )

    correction = statement_correct(statement=original, actor=world.finance_a)
    page = (
        web_as(world.finance_a)
        .get(reverse("statements:detail", args=[correction.public_id]))
        .content.decode()
    )

    assert correction.corrects == original and correction.status == "draft"
    assert correction.adjustments_minor == 50_00 and correction.closing_minor == 34_730_00
    assert (
        f"corrects No. {original.number}" in page or f"This statement corrects No. {original.number}" in page
    )
    assert "¥50.00" in page  # the difference column
    published = _publish(world, correction, django_capture_on_commit_callbacks)
    assert published.number == 2
    original.refresh_from_db()
    assert original.closing_minor == 34_680_00 and original.status == "published"  # unchanged
    with pytest.raises(ApplicationError):
        statement_correct(statement=original, actor=world.finance_a)  # correct the correction instead


# --- who sees what, notice, acknowledgement ----------------------------------------------------------


def test_the_creator_sees_only_their_own_published_statements(
    october: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = october
    a, a2 = _drafts(world)

    assert api_as(world.creator_a.user).get("/api/v1/statements/").json()["count"] == 0
    assert api_as(world.creator_a.user).get(f"/api/v1/statements/{a.public_id}/").status_code == 404
    _publish(world, a2, django_capture_on_commit_callbacks)
    assert api_as(world.creator_a.user).get(f"/api/v1/statements/{a2.public_id}/").status_code == 404
    assert (
        web_as(world.creator_a.user).get(reverse("statements:detail", args=[a2.public_id])).status_code == 404
    )
    assert api_as(world.owner_b).get(f"/api/v1/statements/{a2.public_id}/").status_code == 404
    own = api_as(world.creator_a2.user).get("/api/v1/statements/").json()
    assert [item["public_id"] for item in own["results"]] == [str(a2.public_id)]
    assert api_as(world.finance_a).get("/api/v1/statements/").json()["count"] == 2  # drafts too


def test_publishing_emails_the_creator_a_link_and_the_creator_acknowledges(
    october: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = october
    a, _a2 = _drafts(world)
    mail.outbox.clear()

    published = _publish(world, a, django_capture_on_commit_callbacks)

    assert [message.to for message in mail.outbox] == [[world.creator_a.user.email]]
    link = "https://fenrun.example" + reverse("statements:detail", args=[published.public_id])
    assert link in mail.outbox[0].body
    listing = web_as(world.creator_a.user).get(reverse("statements:list")).content.decode()
    assert "please review and acknowledge" in listing
    with pytest.raises(PermissionDenied):
        statement_acknowledge(statement=published, actor=world.finance_a)
    assert (
        api_as(world.owner_a).post(f"/api/v1/statements/{published.public_id}/acknowledge/").status_code
        == 403
    )
    response = api_as(world.creator_a.user).post(f"/api/v1/statements/{published.public_id}/acknowledge/")
    assert response.status_code == 200 and response.json()["acknowledged_at"]
    agency_page = (
        web_as(world.finance_a).get(reverse("statements:detail", args=[published.public_id])).content.decode()
    )
    assert "Acknowledged by the creator" in agency_page


# --- CSV and PDF --------------------------------------------------------------------------------------


def test_the_csv_is_the_canonical_format_with_formula_cells_escaped(october: Any) -> None:
    world = october
    a, _a2 = _drafts(world)

    response = web_as(world.finance_a).get(reverse("statements:csv", args=[a.public_id]))
    data = response.content
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))

    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    assert rows[0] == [
        "external_id",
        "occurred_at",
        "platform",
        "account_id",
        "source",
        "gross",
        "currency",
        "order_ref",
        "refund_of",
        "description",
        "creator_share",
        "share_currency",
    ]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id["G-10"][9] == '\'=HYPERLINK("http://evil")'
    assert by_id["R-10"][9] == "'@refund"
    assert by_id["R-10"][5] == "-200.00" and by_id["R-10"][8] == "G-10"  # a plain number is not escaped
    assert by_id["R-10"][10] == "-120.00"
    assert by_id["P-1"][1] == "2026-10-10T10:00:00+08:00" and by_id["P-1"][10] == "33600.00"


def test_the_pdf_has_both_languages_the_number_and_the_hash(
    october: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = october
    a, _a2 = _drafts(world)
    published = _publish(world, a, django_capture_on_commit_callbacks)

    response = web_as(world.creator_a.user).get(reverse("statements:pdf", args=[published.public_id]))
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)

    published.refresh_from_db()
    assert response.status_code == 200
    assert "Closing balance" in text and "期末余额" in text and "创作者结算单" in text
    assert "34,680.00" in text
    assert published.content_sha256 in text.replace("\n", "")
    assert reader.metadata[f"/{METADATA_CONTENT_HASH}"] == published.content_sha256
    import hashlib

    assert hashlib.sha256(response.content).hexdigest() == published.pdf_sha256
    from tests.contracts.test_pdf import _embedded_fonts

    fonts = _embedded_fonts(reader)  # only the repository's font, embedded: no system font
    assert fonts and all(name.startswith("Fenrun-Sans-SC") and embedded for name, embedded in fonts.items())


# --- due dates, days late, late interest ------------------------------------------------------------------


def test_days_late_and_late_interest_per_day_on_the_unpaid_amount(
    october: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = october
    a, _a2 = _drafts(world)
    published = _publish(world, a, django_capture_on_commit_callbacks)
    # 30,000.00 paid on 25 November (5,000.00 of it tax withheld), 4,680.00 still unpaid.
    post_payout(
        world, world.creator_a, day=datetime.date(2026, 11, 25), gross=30_000_00, tax=5_000_00, key="p1"
    )

    lateness = statement_lateness(statement=published, today=datetime.date(2026, 12, 3))

    # Payment due 20 November; 7.30 % a year is 0.02 % a day (7.30 / 100 / 365 = 0.0002).
    #   21–24 November, 4 days × 34,680.00 × 0.0002 = 27.744
    #   25 November – 3 December, 9 days × 4,680.00 × 0.0002 = 8.424
    #   27.744 + 8.424 = 36.168 → 36.17 (rounded half up once, at the end)
    assert lateness.late_interest_minor == 36_17
    assert lateness.interest_days == 13
    assert lateness.payment_days_late == 13 and lateness.unpaid_minor == 4_680_00
    assert lateness.paid_after_close_minor == 30_000_00
    # Published on (the agency's) today, due 10 November.
    local_today = datetime.date.fromisoformat(str(statement_lateness(statement=published).today))
    assert (
        statement_lateness(statement=published).statement_days_late
        == (local_today - datetime.date(2026, 11, 10)).days
    )
    page = (
        web_as(world.creator_a.user)
        .get(reverse("statements:detail", args=[published.public_id]))
        .content.decode()
    )
    assert "2026-11-20" in page and "days late" in page


def test_paid_in_full_stops_the_interest_and_the_days_late() -> None:
    # 1,000.00 unpaid for 3 days at 36.50 % a year: 3 × 1,000.00 × 0.001 = 3.00
    assert (
        late_interest_minor(unpaid_by_day=[1_000_00, 1_000_00, 1_000_00, 0, 0], percent=Decimal("36.50"))
        == 3_00
    )
    assert late_interest_minor(unpaid_by_day=[], percent=Decimal("7.30")) == 0
