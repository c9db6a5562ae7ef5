"""Writes of disputes: open, answer, reply, resolve (with or without money), reject; the mail.

The states and who moves them (anything else is refused, and nothing changes):

    open ──answer (agency)──▶ answered ──reply (creator)──▶ open
    open / answered ──resolve (agency)──▶ resolved        open / answered ──reject (agency)──▶ rejected

* Only the creator the income line or published statement belongs to opens a dispute about it,
  and one at a time per subject (a partial unique index). The agency's owner, managers and
  finance members answer, resolve and reject; its viewers read. A resolved or rejected dispute is
  closed: a new question is a new dispute.
* The agency must answer within DISPUTE_ANSWER_DAYS days of the agency-local day the dispute was
  opened or the creator last replied to an answer (`answer_due`); after it the dispute is overdue.
* A resolution that changes money posts one manual-adjustment entry to the agency's ledger
  (apps/ledger/services.ledger_post, kind manual_adjustment, with the note as its reason and the
  resolver as its author): the creator's payable against the agency's dispute corrections account,
  keyed by the dispute so it is posted once, its cause naming the dispute, and the dispute stores
  the entry. Only owners and finance
  members resolve with money (it changes what the agency owes, as a statement does).
* Every state change is a message of the thread, written under the dispute's row lock, and the
  other side is mailed after commit (dispute_message_notify, run by a task, mails once).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.agencies.time import agency_today
from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.common.money import format_money
from apps.common.outbox import outbox_send
from apps.common.tenancy import require_agency_role, scope_for
from apps.disputes.models import Dispute, DisputeAttachment, DisputeMessage
from apps.disputes.selectors import DISPUTE_CORRECTORS, DISPUTE_RESPONDERS, dispute_subject_text
from apps.ledger.models import Account, JournalEntry
from apps.ledger.services import PostingSpec, ledger_account_get_or_create, ledger_post

logger = logging.getLogger(__name__)

State = Dispute.State
Kind = DisputeMessage.Kind
Side = DisputeMessage.Side

# Days the agency has to answer. A contract version carries no dispute term (its terms are
# statement, payment, notice and threshold days), so every dispute gets the same 15 days; the
# day count is the agency's calendar, from the day the dispute opened or last went back to open.
DISPUTE_ANSWER_DAYS = 15
# The agency's side of a correcting entry: its dispute corrections account (one per currency),
# so the agency's corrections are told apart from its share of splits in its books and reports.
# (Until issue 14 they were posted to agency revenue under the key "dispute_adjustments"; those
# accounts keep what was posted to them, and the reports count them as corrections too.)
CORRECTION_ACCOUNT = Account.Purpose.DISPUTE_CORRECTION

MAX_MESSAGE_CHARS = 5_000
MAX_NOTE_CHARS = 2_000
MAX_FILES_PER_MESSAGE = 5
MAX_FILE_BYTES = 10 * 1024 * 1024
# A thread is read whole (the pages and the API's detail): a bound keeps it one page.
MAX_MESSAGES_PER_DISPUTE = 200
# Magic numbers, not the browser's content type (which the client chooses freely).
_FILE_TYPES = (
    (b"%PDF-", "application/pdf", ("pdf",)),
    (b"\xff\xd8\xff", "image/jpeg", ("jpg", "jpeg")),
    (b"\x89PNG\r\n\x1a\n", "image/png", ("png",)),
)


# --- input checks (before anything is written) ------------------------------------------------------


def _text(value: str | None, *, limit: int, field: str, missing: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ApplicationError(missing, code="message_required", extra={"field": field})
    if len(text) > limit:
        raise ApplicationError(
            _("Keep it under %(limit)d characters (this one has %(count)d).")
            % {"limit": limit, "count": len(text)},
            code="message_too_long",
            extra={"field": field},
        )
    if "\x00" in text:
        raise ApplicationError(
            _("The text contains a NUL character."), code="message_invalid", extra={"field": field}
        )
    return text


@dataclass(frozen=True)
class _CheckedFile:
    upload: UploadedFile
    name: str
    content_type: str
    size: int
    sha256: str


def dispute_files_check(files: Sequence[UploadedFile]) -> list[_CheckedFile]:
    """Each file's type from its first bytes (a PDF, JPG or PNG) and at most 10 MB; at most five."""
    if len(files) > MAX_FILES_PER_MESSAGE:
        raise ApplicationError(
            _("Attach at most %(count)d files to one message.") % {"count": MAX_FILES_PER_MESSAGE},
            code="too_many_files",
            extra={"field": "files"},
        )
    checked = []
    for upload in files:
        name = (upload.name or "file").replace("\x00", "")[-255:]
        if upload.size is None or upload.size > MAX_FILE_BYTES:
            raise ApplicationError(
                _("%(name)s is larger than 10 MB.") % {"name": name},
                code="file_too_large",
                extra={"field": "files"},
            )
        if upload.size == 0:
            raise ApplicationError(
                _("%(name)s is empty.") % {"name": name}, code="file_invalid", extra={"field": "files"}
            )
        upload.seek(0)
        head = upload.read(16)
        upload.seek(0)
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        content_type = next(
            (
                kind
                for magic, kind, extensions in _FILE_TYPES
                if head.startswith(magic) and extension in extensions
            ),
            None,
        )
        if content_type is None:
            raise ApplicationError(
                _("%(name)s is not a PDF, JPG or PNG file.") % {"name": name},
                code="file_invalid_type",
                extra={"field": "files"},
            )
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        checked.append(
            _CheckedFile(
                upload=upload,
                name=name,
                content_type=content_type,
                size=upload.size,
                sha256=digest.hexdigest(),
            )
        )
    return checked


def _attach(message: DisputeMessage, files: list[_CheckedFile]) -> None:
    for checked in files:
        attachment = DisputeAttachment(
            message=message,
            dispute_id=message.dispute_id,
            agency_id=message.dispute.agency_id,
            name=checked.name,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
        )
        attachment.file.save(checked.name, checked.upload, save=False)
        attachment.save()


# --- who may --------------------------------------------------------------------------------------


def _require_creator(actor: Any, dispute: Dispute) -> None:
    """The dispute's creator; its agency's members are told only the creator may (403)."""
    scope = scope_for(actor)
    if scope.creator_id is not None and scope.creator_id == dispute.creator_id:
        return
    if dispute.agency_id in scope.agency_ids:
        raise PermissionDenied(
            _("Only the creator who opened this dispute can reply; the agency answers it.")
        )
    raise NotFound()


def _require_responder(actor: Any, dispute: Dispute, roles: Sequence[str] = DISPUTE_RESPONDERS) -> None:
    scope = scope_for(actor)
    if scope.creator_id is not None and scope.creator_id == dispute.creator_id:
        # Also a member of the agency? They cannot answer their own dispute.
        raise PermissionDenied(_("Only %(agency)s can do this.") % {"agency": dispute.agency.name})
    require_agency_role(actor, dispute.agency, roles, creator_id=dispute.creator_id)


def _locked(dispute: Dispute) -> Dispute:
    return (
        Dispute.objects.select_for_update(no_key=True).select_related("agency", "creator").get(pk=dispute.pk)
    )


def _refuse_closed(dispute: Dispute) -> None:
    if dispute.state in Dispute.CLOSED_STATES:
        raise ApplicationError(
            _("This dispute is already %(state)s; nothing was changed. Open a new dispute to raise it again.")
            % {"state": dispute.get_state_display().lower()},
            code="dispute_closed",
        ).with_status(409)


def _refuse_long_thread(dispute: Dispute) -> None:
    if DisputeMessage.objects.filter(dispute=dispute).count() >= MAX_MESSAGES_PER_DISPUTE:
        raise ApplicationError(
            _("This dispute has %(count)d messages, the most one thread holds; resolve it or open a new one.")
            % {"count": MAX_MESSAGES_PER_DISPUTE},
            code="thread_full",
        ).with_status(409)


# --- the thread -------------------------------------------------------------------------------------


def _write_message(
    dispute: Dispute,
    *,
    actor: Any,
    side: str,
    kind: str,
    body: str,
    files: list[_CheckedFile],
    base_url: str,
) -> DisputeMessage:
    """One message of the thread, its files, and its mail to the other side after commit."""
    message = DisputeMessage.objects.create(
        dispute=dispute, author=actor, side=side, kind=kind, body=body, state_after=dispute.state
    )
    _attach(message, files)
    # Through the outbox: a broker outage delays the mail, never loses it.
    outbox_send(
        task="disputes.message_notify",
        kwargs={"message_id": message.pk, "base_url": base_url},
        key=f"disputes.message:{message.pk}",
    )
    return message


def _due_from_today(dispute: Dispute) -> datetime.date:
    return agency_today(dispute.agency) + datetime.timedelta(days=DISPUTE_ANSWER_DAYS)


def _subject_of(actor: Any, income_line: Any | None, statement: Any | None) -> tuple[Any, int, str]:
    """(agency, creator id, currency) of the subject; refuses anyone but its creator."""
    if (income_line is None) == (statement is None):
        raise ApplicationError(
            _("A dispute is about one income line or one statement."), code="dispute_subject_required"
        )
    subject: Any = income_line if income_line is not None else statement
    scope = scope_for(actor)
    if subject.creator_id is None or scope.creator_id != subject.creator_id:
        if subject.agency_id in scope.agency_ids:
            raise PermissionDenied(_("Only the creator it belongs to can open a dispute about it."))
        raise NotFound()
    if statement is not None:
        from apps.statements.models import Statement

        if statement.status != Statement.Status.PUBLISHED:
            raise NotFound()  # a creator never sees a draft
        return statement.agency, statement.creator_id, statement.currency
    from apps.recognition.selectors import allocation_of

    # A converted line's money is in the currency its split was posted in, not the imported one.
    allocation = allocation_of(subject)
    return subject.agency, subject.creator_id, allocation.currency if allocation else subject.currency


def _already_open(income_line: Any | None, statement: Any | None) -> ApplicationError:
    active = Dispute.objects.filter(state__in=Dispute.ACTIVE_STATES)
    existing = (
        active.filter(income_line=income_line)
        if income_line is not None
        else active.filter(statement=statement)
    ).first()
    return ApplicationError(
        _("A dispute about this is already open; add to its thread instead."),
        code="dispute_already_open",
        extra={"dispute": str(existing.public_id)} if existing else {},
    ).with_status(409)


def dispute_open(
    *,
    actor: Any,
    message: str,
    files: Sequence[UploadedFile] = (),
    income_line: Any | None = None,
    statement: Any | None = None,
    base_url: str = "",
) -> Dispute:
    """The creator opens a dispute about their income line or published statement, with its first
    message and files; the agency has DISPUTE_ANSWER_DAYS days to answer."""
    agency, creator_id, currency = _subject_of(actor, income_line, statement)
    body = _text(message, limit=MAX_MESSAGE_CHARS, field="message", missing=_("Say what is wrong."))
    checked = dispute_files_check(files)
    now = timezone.now()
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                agency=agency,
                creator_id=creator_id,
                income_line=income_line,
                statement=statement,
                currency=currency,
                answer_due=agency_today(agency) + datetime.timedelta(days=DISPUTE_ANSWER_DAYS),
                opened_by=actor,
                last_message_at=now,
            )
            _write_message(
                dispute,
                actor=actor,
                side=Side.CREATOR,
                kind=Kind.OPENING,
                body=body,
                files=checked,
                base_url=base_url,
            )
    except IntegrityError as error:
        if "dispute_one_active_per" in str(error):
            raise _already_open(income_line, statement) from None
        raise
    return dispute


def dispute_answer(
    *, dispute: Dispute, actor: Any, message: str, files: Sequence[UploadedFile] = (), base_url: str = ""
) -> DisputeMessage:
    """The agency answers (open → answered; a further answer keeps it answered)."""
    _require_responder(actor, dispute)
    body = _text(message, limit=MAX_MESSAGE_CHARS, field="message", missing=_("Write the answer."))
    checked = dispute_files_check(files)
    with transaction.atomic():
        locked = _locked(dispute)
        _refuse_closed(locked)
        _refuse_long_thread(locked)
        locked.state = State.ANSWERED
        locked.last_message_at = timezone.now()
        locked.save(update_fields=["state", "last_message_at"])
        return _write_message(
            locked,
            actor=actor,
            side=Side.AGENCY,
            kind=Kind.ANSWER,
            body=body,
            files=checked,
            base_url=base_url,
        )


def dispute_reply(
    *, dispute: Dispute, actor: Any, message: str, files: Sequence[UploadedFile] = (), base_url: str = ""
) -> DisputeMessage:
    """The creator adds to the thread. A reply to an answer reopens the dispute (answered → open)
    with a new answer due day; a reply to an open dispute keeps its due day."""
    _require_creator(actor, dispute)
    body = _text(message, limit=MAX_MESSAGE_CHARS, field="message", missing=_("Write your reply."))
    checked = dispute_files_check(files)
    with transaction.atomic():
        locked = _locked(dispute)
        _refuse_closed(locked)
        _refuse_long_thread(locked)
        fields = ["last_message_at"]
        if locked.state == State.ANSWERED:
            locked.state, locked.answer_due = State.OPEN, _due_from_today(locked)
            fields += ["state", "answer_due"]
        locked.last_message_at = timezone.now()
        locked.save(update_fields=fields)
        return _write_message(
            locked,
            actor=actor,
            side=Side.CREATOR,
            kind=Kind.REPLY,
            body=body,
            files=checked,
            base_url=base_url,
        )


def _post_correction(dispute: Dispute, *, actor: Any, amount_minor: int, note: str) -> JournalEntry:
    """The agency's dispute corrections account (debit) → the creator's payable (credit) for a positive
    amount: the creator is owed more and the next payout pays it; a negative amount the other
    way. Dated on the agency's today (always an open month: a month closes only once it is over)."""
    agency = dispute.agency
    payable = ledger_account_get_or_create(
        agency=agency,
        purpose=Account.Purpose.CREATOR_PAYABLE,
        currency=dispute.currency,
        creator=dispute.creator,
    )
    adjustments = ledger_account_get_or_create(
        agency=agency, purpose=CORRECTION_ACCOUNT, currency=dispute.currency
    )
    return ledger_post(
        agency=agency,
        idempotency_key=f"dispute:{dispute.public_id}:resolution",
        kind=JournalEntry.Kind.MANUAL_ADJUSTMENT,
        effective_date=agency_today(agency),
        postings=[PostingSpec(adjustments, amount_minor), PostingSpec(payable, -amount_minor)],
        cause_reference=f"dispute:{dispute.public_id}",
        reason=note,
        author=actor,
        creator=dispute.creator,
        memo=f"Correction resolving dispute {dispute.public_id}"[:500],
    )


def dispute_resolve(
    *, dispute: Dispute, actor: Any, note: str, correction_minor: int | None = None, base_url: str = ""
) -> Dispute:
    """The agency resolves the dispute (open / answered → resolved), with a note to the creator and,
    when money changes, a correcting ledger entry linked to the dispute; all in one transaction."""
    if correction_minor is not None:
        if isinstance(correction_minor, bool) or not isinstance(correction_minor, int):
            raise ApplicationError(_("The correction is an amount of money."), code="invalid_amount")
        if correction_minor == 0:
            raise ApplicationError(
                _("A correction of zero changes nothing: leave the amount empty to resolve without money."),
                code="invalid_amount",
                extra={"field": "amount"},
            )
    _require_responder(
        actor, dispute, DISPUTE_CORRECTORS if correction_minor is not None else DISPUTE_RESPONDERS
    )
    body = _text(
        note, limit=MAX_NOTE_CHARS, field="note", missing=_("Explain the resolution to the creator.")
    )
    with transaction.atomic():
        locked = _locked(dispute)
        _refuse_closed(locked)
        body_shown = body
        if correction_minor is not None:
            locked.correction_minor = correction_minor
            locked.correction_entry = _post_correction(
                locked, actor=actor, amount_minor=correction_minor, note=body
            )
            body_shown += "\n\n" + _("Correction posted to the creator's balance: %(amount)s.") % {
                "amount": format_money(correction_minor, locked.currency)
            }
        _close(
            locked,
            actor=actor,
            state=State.RESOLVED,
            note=body,
            fields=["correction_minor", "correction_entry"],
        )
        _write_message(
            locked,
            actor=actor,
            side=Side.AGENCY,
            kind=Kind.RESOLUTION,
            body=body_shown,
            files=[],
            base_url=base_url,
        )
    return locked


def dispute_reject(*, dispute: Dispute, actor: Any, note: str, base_url: str = "") -> Dispute:
    """The agency rejects the dispute (open / answered → rejected), saying why."""
    _require_responder(actor, dispute)
    body = _text(note, limit=MAX_NOTE_CHARS, field="note", missing=_("Say why the dispute is rejected."))
    with transaction.atomic():
        locked = _locked(dispute)
        _refuse_closed(locked)
        _close(locked, actor=actor, state=State.REJECTED, note=body, fields=[])
        _write_message(
            locked, actor=actor, side=Side.AGENCY, kind=Kind.REJECTION, body=body, files=[], base_url=base_url
        )
    return locked


def _close(dispute: Dispute, *, actor: Any, state: str, note: str, fields: list[str]) -> None:
    now = timezone.now()
    dispute.state, dispute.closed_at, dispute.closed_by = state, now, actor
    dispute.resolution_note, dispute.last_message_at = note, now
    dispute.save(
        update_fields=["state", "closed_at", "closed_by", "resolution_note", "last_message_at", *fields]
    )


# --- mail ---------------------------------------------------------------------------------------------


def dispute_url(dispute: Dispute, base_url: str = "") -> str:
    """The dispute's page, absolute when the base is known (the request's host)."""
    path = reverse("disputes:detail", args=[dispute.public_id])
    base = base_url or (settings.CSRF_TRUSTED_ORIGINS[0] if settings.CSRF_TRUSTED_ORIGINS else "")
    return base.rstrip("/") + path


def _recipients(message: DisputeMessage) -> list[Any]:
    """The other side: the creator for the agency's messages; the agency's owner, managers and
    finance members (who answer) for the creator's."""
    from apps.accounts.models import User

    dispute = message.dispute
    if message.side == Side.AGENCY:
        users = [dispute.creator.user]
    else:
        users = list(
            User.objects.filter(
                memberships__agency_id=dispute.agency_id,
                memberships__is_active=True,
                memberships__role__in=DISPUTE_RESPONDERS,
            )
            .distinct()
            .order_by("pk")
        )
    return [user for user in users if user.email and user.pk != message.author_id]


_SUBJECTS = {
    Kind.OPENING: gettext_noop("%(creator)s opened a dispute with %(agency)s"),
    Kind.ANSWER: gettext_noop("%(agency)s answered your dispute"),
    Kind.REPLY: gettext_noop("%(creator)s replied in a dispute with %(agency)s"),
    Kind.RESOLUTION: gettext_noop("%(agency)s resolved your dispute"),
    Kind.REJECTION: gettext_noop("%(agency)s rejected your dispute"),
}


def _mail_text(message: DisputeMessage, base_url: str) -> tuple[str, str]:
    """Subject and body in the active language (the caller chose the recipient's)."""
    dispute = message.dispute
    names = {"agency": dispute.agency.name, "creator": dispute.creator.display_name}
    subject = _(_SUBJECTS[Kind(message.kind)]) % names
    body = _(
        "%(subject)s\n\nAbout: %(about)s\nState: %(state)s\nAnswer due: %(due)s\n\n%(body)s\n\n"
        "Read the whole thread and answer here:\n%(link)s\n"
    ) % {
        "subject": subject,
        "about": dispute_subject_text(dispute),
        "state": Dispute.State(message.state_after).label,
        "due": dispute.answer_due.isoformat(),
        "body": message.body,
        "link": dispute_url(dispute, base_url),
    }
    return subject, body


def dispute_message_notify(*, message_id: int, base_url: str = "") -> int:
    """Mail the other side about one message, with the dispute's link, once: the message's
    notified_at and the mails in one transaction (a mail that fails undoes it, and a retry sends)."""
    with transaction.atomic():
        message = (
            DisputeMessage.objects.select_for_update(of=("self",))
            .select_related(
                "dispute__agency", "dispute__creator__user", "dispute__income_line", "dispute__statement"
            )
            .get(pk=message_id)
        )
        if message.notified_at is not None:
            return 0
        recipients = _recipients(message)
        for user in recipients:
            with translation.override(getattr(user, "preferred_language", None) or settings.LANGUAGE_CODE):
                subject, body = _mail_text(message, base_url)
            send_mail(subject, body, None, [user.email])
        message.notified_at = timezone.now()
        message.save(update_fields=["notified_at"])
    return len(recipients)
