"""Writes of statements: draft a closed month, publish (gapless number, frozen content, PDF and
email after commit), correct, acknowledge; the PDF render and the notice the tasks run.

Invariants:
* a statement exists only for a closed month (nothing posts into it any more, so its figures
  are final); drafting twice drafts nothing twice (one per creator, month and currency: a unique
  index and INSERT … ON CONFLICT DO NOTHING);
* numbers are gapless per agency: the next one is taken under the agency's StatementCounter row
  lock in the publishing transaction, so a rollback gives it back and two publishes queue;
* a published statement never changes (database trigger), except that its PDF is written once;
* a correction is a new statement naming the one it corrects; the original stays as it was;
* late interest is posted only when the agency decides (statement_late_interest_post), never
  more than what accrued for the month, whichever statement of the month it is posted on.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.agencies.models import Agency
from apps.agencies.time import agency_today
from apps.common.exceptions import ApplicationError, PermissionDenied
from apps.common.money import format_money
from apps.common.outbox import outbox_send
from apps.common.tenancy import require_agency_role, scope_for
from apps.income.models import ClosedPeriod
from apps.ledger.models import Account, JournalEntry
from apps.ledger.services import PostingSpec, ledger_account_get_or_create, ledger_post
from apps.recognition.period_close import period_bounds
from apps.statements.figures import Figures, month_figures
from apps.statements.models import (
    Statement,
    StatementAcknowledgement,
    StatementCounter,
    StatementInterestPosting,
    StatementNotice,
)
from apps.statements.selectors import (
    STATEMENT_PUBLISHERS,
    Lateness,
    Terms,
    content_sha256,
    due_dates,
    interest_postings_of_month,
    ledger_head,
    line_counts,
    statement_content,
    statement_lateness,
    statement_lines,
    statement_lines_many,
    statement_terms_many,
    statement_withholdings,
    statement_withholdings_many,
    superseded_by,
)

logger = logging.getLogger(__name__)


def _require_closed(agency: Agency, period: str) -> None:
    period_bounds(period)  # a malformed month: 400 with a sentence
    if not ClosedPeriod.objects.filter(agency=agency, period=period).exists():
        raise ApplicationError(
            _("%(period)s is still open: close the month first (Months), then draft its statements.")
            % {"period": period},
            code="period_open",
        )


def _statement_row(
    *,
    agency: Agency,
    period: str,
    figures: Figures,
    terms: Terms,
    actor_id: int | None,
    corrects: Statement | None,
) -> Statement:
    statement_due, payment_due = due_dates(period=period, terms=terms)
    return Statement(
        agency=agency,
        creator_id=figures.creator_id,
        period=period,
        currency=figures.currency,
        corrects=corrects,
        contract_version_id=terms.version_id,
        statement_due=statement_due,
        payment_due=payment_due,
        late_interest_percent=terms.late_interest_percent,
        created_by_id=actor_id,
        **figures.as_columns(),
    )


def statements_draft(*, agency: Agency, period: str, actor: Any) -> int:
    """Draft the statements of a closed month: one per creator (and currency) with postings in
    the month or a non-zero opening balance. Set-based: two grouped ledger queries, one for the
    contract terms and one INSERT; drafts already there are kept. Returns how many were new.
    `actor` None: the operator (a command, a benchmark)."""
    if actor is not None:
        require_agency_role(actor, agency, STATEMENT_PUBLISHERS)
    _require_closed(agency, period)
    first, last = period_bounds(period)
    found = month_figures(agency_id=agency.pk, first=first, last=last, period=period)
    terms = statement_terms_many(
        agency_id=agency.pk, creator_ids=sorted({key[0] for key in found}), last=last
    )
    actor_id = getattr(actor, "pk", None)
    counts = line_counts(agency_id=agency.pk, first=first, last=last)
    rows = [
        _statement_row(
            agency=agency,
            period=period,
            figures=figures,
            terms=terms[figures.creator_id],
            actor_id=actor_id,
            corrects=None,
        )
        for _key, figures in sorted(found.items())
    ]
    for row in rows:
        row.line_count = counts.get((row.creator_id, row.currency), 0)
    with transaction.atomic():
        before = Statement.objects.filter(agency=agency, period=period, corrects__isnull=True).count()
        # ON CONFLICT DO NOTHING on the one-per-month index: a second draft of the month adds none.
        Statement.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
        after = Statement.objects.filter(agency=agency, period=period, corrects__isnull=True).count()
    return after - before


# --- publishing ------------------------------------------------------------------------------------


def _lock_counter(agency_id: int) -> StatementCounter:
    """The agency's counter row, locked until the transaction ends (created once, race-free)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO statements_statementcounter (agency_id, last_number) VALUES (%s, 0) "
            "ON CONFLICT (agency_id) DO NOTHING",
            [agency_id],
        )
    return StatementCounter.objects.select_for_update().get(agency_id=agency_id)


def _publish_locked(statements: list[Statement], counter: StatementCounter, actor: Any) -> list[Statement]:
    """Number, ledger head and content hash of locked drafts of one agency's month, in the given
    order (the counter already locked): one read of the head and of the lines for all of them,
    one UPDATE. The head is the same for all: the transaction holds the counter, and nothing
    here posts."""
    for statement in statements:
        if statement.status != Statement.Status.DRAFT:
            raise ApplicationError(
                _("Statement No. %(number)s is already published: a published statement never changes.")
                % {"number": statement.number},
                code="already_published",
            ).with_status(409)
        if statement.corrects is not None and superseded_by(statement=statement.corrects) is not None:
            raise ApplicationError(
                _("The statement this draft corrects was already corrected: correct the latest one."),
                code="already_corrected",
            ).with_status(409)
    if not statements:
        return []
    head = ledger_head(agency_id=statements[0].agency_id)
    lines = statement_lines_many(statements=statements)
    withholdings = statement_withholdings_many(statements=statements)
    now = timezone.now()
    for statement in statements:
        counter.last_number += 1
        statement.number = counter.last_number
        statement.status = Statement.Status.PUBLISHED
        statement.published_at = now
        statement.published_by_id = getattr(actor, "pk", None)
        statement.ledger_head_seq, statement.ledger_head_hash = head
        statement.content_sha256 = content_sha256(
            statement_content(
                statement=statement, lines=lines[statement.pk], withholdings=withholdings[statement.pk]
            )
        )
    # One UPDATE for the month: only the number and the hash differ from row to row (Django's
    # bulk_update built a CASE per field and row: 2.4 s for 1,000 statements).
    first = statements[0]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE statements_statement s
            SET number = v.number, content_sha256 = v.sha, status = %s, published_at = %s,
                published_by_id = %s, ledger_head_seq = %s, ledger_head_hash = %s
            FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS v(id, number, sha)
            WHERE s.id = v.id
            """,
            [
                Statement.Status.PUBLISHED,
                first.published_at,
                first.published_by_id,
                first.ledger_head_seq,
                first.ledger_head_hash,
                [item.pk for item in statements],
                [item.number for item in statements],
                [item.content_sha256 for item in statements],
            ],
        )
    return statements


def _after_publish(statements: list[Statement], base_url: str) -> None:
    """After commit: one PDF task and one notice task per statement (parallel workers), through
    the outbox, so a broker outage delays them and loses none."""
    for statement in statements:
        key = f"statements.statement:{statement.pk}"
        outbox_send(task="statements.pdf_render", kwargs={"statement_id": statement.pk}, key=key)
        outbox_send(
            task="statements.notify", kwargs={"statement_id": statement.pk, "base_url": base_url}, key=key
        )


def statement_publish(*, statement: Statement, actor: Any, base_url: str = "") -> Statement:
    """Publish one draft (owner or finance): the agency's next number under the counter's lock,
    the ledger head it was drawn at and the SHA-256 of its content; after commit its PDF renders
    and the creator is emailed. A second publish gets 409."""
    require_agency_role(actor, statement.agency, STATEMENT_PUBLISHERS, creator_id=statement.creator_id)
    with transaction.atomic(durable=True):
        # Counter first, then the row: every publisher locks in this order (no deadlock).
        counter = _lock_counter(statement.agency_id)
        locked = (
            Statement.objects.select_for_update(no_key=True, of=("self",))
            .select_related("agency", "creator", "corrects")
            .get(pk=statement.pk)
        )
        [published] = _publish_locked([locked], counter, actor)
        counter.save(update_fields=["last_number"])
        _after_publish([published], base_url)
    return published


def statements_publish_month(*, agency: Agency, period: str, actor: Any, base_url: str = "") -> int:
    """Publish every draft of the month (owner or finance) in one transaction, numbered in the
    order of the creators' names. Returns how many."""
    require_agency_role(actor, agency, STATEMENT_PUBLISHERS)
    period_bounds(period)
    with transaction.atomic(durable=True):
        counter = _lock_counter(agency.pk)
        drafts = list(
            Statement.objects.select_for_update(no_key=True, of=("self",))
            .filter(agency=agency, period=period, status=Statement.Status.DRAFT)
            .select_related("agency", "creator", "corrects")
            .order_by("creator__display_name", "pk")
        )
        published = _publish_locked(drafts, counter, actor)
        counter.save(update_fields=["last_number"])
        _after_publish(published, base_url)
    return len(published)


# --- corrections and acknowledgement --------------------------------------------------------------


def statement_correct(*, statement: Statement, actor: Any) -> Statement:
    """A new draft that corrects a published statement: the figures drawn again from the ledger
    as it is now (a manual adjustment dated in the month, say); the original stays unchanged and
    the correction shows the difference. One draft correction at a time (409)."""
    require_agency_role(actor, statement.agency, STATEMENT_PUBLISHERS, creator_id=statement.creator_id)
    if statement.status != Statement.Status.PUBLISHED:
        raise ApplicationError(
            _("Only a published statement can be corrected; edit the draft's month instead."),
            code="not_published",
        )
    later = superseded_by(statement=statement)
    if later is not None:
        raise ApplicationError(
            _("Statement No. %(number)s was already corrected by No. %(later)s: correct that one.")
            % {"number": statement.number, "later": later.number},
            code="already_corrected",
        ).with_status(409)
    first, last = period_bounds(statement.period)
    found = month_figures(agency_id=statement.agency_id, first=first, last=last, period=statement.period)
    figures = found.get((statement.creator_id, statement.currency)) or Figures(
        creator_id=statement.creator_id, currency=statement.currency
    )
    terms = statement_terms_many(agency_id=statement.agency_id, creator_ids=[statement.creator_id], last=last)
    counts = line_counts(
        agency_id=statement.agency_id, first=first, last=last, creator_id=statement.creator_id
    )
    row = _statement_row(
        agency=statement.agency,
        period=statement.period,
        figures=figures,
        terms=terms[statement.creator_id],
        actor_id=getattr(actor, "pk", None),
        corrects=statement,
    )
    row.line_count = counts.get((statement.creator_id, statement.currency), 0)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise ApplicationError(
            _("A correction of this statement is already waiting as a draft: publish or review it."),
            code="correction_pending",
        ).with_status(409) from None
    return row


def statement_acknowledge(*, statement: Statement, actor: Any) -> StatementAcknowledgement:
    """The creator confirms receiving a published statement (the creator only; once)."""
    if scope_for(actor).creator_id != statement.creator_id:
        raise PermissionDenied(_("Only the creator the statement is for can acknowledge it."))
    if statement.status != Statement.Status.PUBLISHED:
        raise ApplicationError(_("Only a published statement can be acknowledged."), code="not_published")
    acknowledgement, _created = StatementAcknowledgement.objects.get_or_create(
        statement=statement, defaults={"agency_id": statement.agency_id, "user": actor}
    )
    return acknowledgement


# --- late interest: posted when the agency decides -------------------------------------------------


@dataclass(frozen=True)
class InterestPosted:
    posting: StatementInterestPosting
    created: bool  # False: this day was posted already, and nothing was posted again


def _interest_day(statement: Statement, as_of: Any) -> datetime.date:
    """The day the interest runs to (the agency's today by default): not in the future, and in an
    open month, because the entry is dated on it and a closed month's figures are final."""
    today = agency_today(statement.agency)
    if as_of is None:
        return today
    if not isinstance(as_of, datetime.date) or isinstance(as_of, datetime.datetime):
        raise ApplicationError(
            _("The interest day must be a calendar date, e.g. 2026-12-03."), code="invalid_as_of"
        )
    if as_of > today:
        raise ApplicationError(
            _("%(day)s is in the future: interest is posted up to today (%(today)s) at the latest.")
            % {"day": as_of.isoformat(), "today": today.isoformat()},
            code="invalid_as_of",
        )
    if ClosedPeriod.objects.filter(agency_id=statement.agency_id, period=as_of.strftime("%Y-%m")).exists():
        raise ApplicationError(
            _(
                "%(month)s is closed: interest is posted on a day of an open month, so a closed "
                "month's statements stay as they are. Post it up to a later day."
            )
            % {"month": as_of.strftime("%Y-%m")},
            code="period_closed",
        )
    return as_of


def _lock_month(statement: Statement) -> None:
    """Lock the month's original statement (the one no correction names as `corrects`): every
    posting of interest for this creator, month and currency takes this one row first, so two
    postings, on the statement or on its corrections, never count the same interest twice."""
    Statement.objects.select_for_update(no_key=True).filter(
        agency_id=statement.agency_id,
        creator_id=statement.creator_id,
        period=statement.period,
        currency=statement.currency,
        corrects__isnull=True,
    ).values_list("pk", flat=True).get()


def _check_can_post_interest(statement: Statement) -> None:
    if statement.status != Statement.Status.PUBLISHED:
        raise ApplicationError(
            _("Late interest is posted on a published statement: publish this draft first."),
            code="not_published",
        )
    later = superseded_by(statement=statement)
    if later is not None:
        raise ApplicationError(
            _("Statement No. %(number)s was corrected by No. %(later)s: post the interest on the correction.")
            % {"number": statement.number, "later": later.number},
            code="already_corrected",
        ).with_status(409)


def statement_late_interest_post(
    *, statement: Statement, actor: Any, as_of: datetime.date | None = None
) -> InterestPosted:
    """Post the late interest a published statement accrued up to `as_of` (default: the agency's
    today) and that is not posted yet (owner or finance): one ledger entry, the agency's late
    interest expense (debit) to the creator's payable (credit), and its audit row.

    Invariant: for one creator, month and currency the interest posted never exceeds what
    accrued. Postings are serialised by the row lock of the month's original statement; each
    posts what accrued to its day minus everything posted for the month before; a day is posted
    once (unique (statement, day), and the ledger key `statement:<id>:late-interest:<day>`), and
    never a day before the last one posted."""
    require_agency_role(actor, statement.agency, STATEMENT_PUBLISHERS, creator_id=statement.creator_id)
    day = _interest_day(statement, as_of)
    with transaction.atomic(durable=True):
        _lock_month(statement)
        locked = Statement.objects.select_related("agency", "creator", "corrects").get(pk=statement.pk)
        _check_can_post_interest(locked)
        same_day = StatementInterestPosting.objects.filter(statement=locked, as_of=day).first()
        if same_day is not None:
            return InterestPosted(posting=same_day, created=False)
        earlier = list(interest_postings_of_month(statement=locked))
        if earlier and day < earlier[-1].as_of:
            raise ApplicationError(
                _("Interest was already posted up to %(day)s: post it up to that day or a later one.")
                % {"day": earlier[-1].as_of.isoformat()},
                code="interest_posted_later",
            ).with_status(409)
        lateness = statement_lateness(statement=locked, today=day)
        if lateness.late_interest_minor <= 0:
            raise ApplicationError(
                _(
                    "No late interest has accrued by %(day)s: the payment was not late, it was paid on "
                    "time, or the contract sets no interest rate."
                )
                % {"day": day.isoformat()},
                code="no_interest",
            )
        posted_before = sum(posting.amount_minor for posting in earlier)
        amount = lateness.late_interest_minor - posted_before
        if amount <= 0:
            raise ApplicationError(
                _("The interest accrued by %(day)s (%(accrued)s) is posted already: nothing more to post.")
                % {
                    "day": day.isoformat(),
                    "accrued": format_money(lateness.late_interest_minor, locked.currency),
                },
                code="no_interest",
            ).with_status(409)
        entry = _post_interest_entry(locked, actor, day, amount, lateness)
        posting = StatementInterestPosting.objects.create(
            statement=locked,
            agency_id=locked.agency_id,
            as_of=day,
            currency=locked.currency,
            late_interest_percent=locked.late_interest_percent,
            interest_days=lateness.interest_days,
            unpaid_minor=lateness.unpaid_minor,
            accrued_minor=lateness.late_interest_minor,
            posted_before_minor=posted_before,
            amount_minor=amount,
            entry=entry,
            posted_by=actor,
        )
    return InterestPosted(posting=posting, created=True)


def _post_interest_entry(
    statement: Statement, actor: Any, day: datetime.date, amount: int, lateness: Lateness
) -> JournalEntry:
    """The agency's interest expense (debit) → the creator's payable (credit): the creator is owed
    more, and the next payout pays it. Dated on the interest day, so the statement of that month
    shows it as its late interest figure."""
    agency = statement.agency
    expense = ledger_account_get_or_create(
        agency=agency, purpose=Account.Purpose.LATE_INTEREST, currency=statement.currency
    )
    payable = ledger_account_get_or_create(
        agency=agency,
        purpose=Account.Purpose.CREATOR_PAYABLE,
        currency=statement.currency,
        creator=statement.creator,
    )
    return ledger_post(
        agency=agency,
        idempotency_key=f"statement:{statement.public_id}:late-interest:{day.isoformat()}",
        kind=JournalEntry.Kind.LATE_INTEREST,
        effective_date=day,
        postings=[PostingSpec(expense, amount), PostingSpec(payable, -amount)],
        cause_reference=f"statement:{statement.public_id}",
        author=actor,
        creator=statement.creator,
        memo=(
            f"Late payment interest on statement No. {statement.number} ({statement.period}) up to "
            f"{day.isoformat()}: {lateness.interest_days} days at {statement.late_interest_percent} % a year"
        )[:500],
    )


# --- what the tasks run ------------------------------------------------------------------------------


def statement_pdf_render(*, statement_id: int) -> Statement:
    """Render and store a published statement's PDF once, with the SHA-256 of the file; later
    calls return it as it is (a task run twice renders once)."""
    from apps.statements.pdf import render_statement_pdf

    with transaction.atomic():
        statement = (
            Statement.objects.select_for_update(no_key=True, of=("self",))
            .select_related("agency", "creator", "corrects")
            .get(pk=statement_id)
        )
        if statement.status != Statement.Status.PUBLISHED or statement.pdf_sha256:
            return statement
        pdf_bytes = render_statement_pdf(
            statement, statement_lines(statement=statement), statement_withholdings(statement=statement)
        )
        statement.pdf.save(
            f"{statement.agency.public_id}-{statement.number:06d}.pdf", ContentFile(pdf_bytes), save=False
        )
        statement.pdf_sha256 = hashlib.sha256(pdf_bytes).hexdigest()
        statement.save(update_fields=["pdf", "pdf_sha256"])
    return statement


def statement_url(statement: Statement, base_url: str = "") -> str:
    """The statement's page, absolute when the base is known (the publishing request's host)."""
    path = reverse("statements:detail", args=[statement.public_id])
    base = base_url or (settings.CSRF_TRUSTED_ORIGINS[0] if settings.CSRF_TRUSTED_ORIGINS else "")
    return base.rstrip("/") + path


def statement_notify(*, statement_id: int, base_url: str = "") -> bool:
    """Email the creator once that a statement was published, with its link; the notice row and
    the mail in one transaction (a mail that fails undoes the row, and a retry sends it)."""
    with transaction.atomic():
        statement = Statement.objects.select_related("agency", "creator__user").get(pk=statement_id)
        user = statement.creator.user
        if statement.status != Statement.Status.PUBLISHED or user is None or not user.email:
            return False
        _notice, created = StatementNotice.objects.get_or_create(
            statement=statement, defaults={"agency_id": statement.agency_id, "email": user.email}
        )
        if not created:
            return False
        with translation.override(getattr(user, "preferred_language", None) or settings.LANGUAGE_CODE):
            subject = _("Your statement for %(period)s from %(agency)s") % {
                "period": statement.period,
                "agency": statement.agency.name,
            }
            body = _(
                "%(agency)s published statement No. %(number)s for %(period)s.\n\n"
                "Open it, download the PDF or the CSV, and acknowledge it:\n%(link)s\n"
            ) % {
                "agency": statement.agency.name,
                "number": statement.number,
                "period": statement.period,
                "link": statement_url(statement, base_url),
            }
        send_mail(subject, body, None, [user.email])
    return True
