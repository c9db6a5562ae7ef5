"""Disputes: a creator questions an income line or a statement, and the agency answers.

* Dispute: about exactly one income line or one published statement (a database check), at the
  agency the subject belongs to, in the currency its money is in. Its state moves
  open → answered → resolved / rejected, and back from answered to open when the creator replies;
  only the services in apps/disputes/services.py move it. `answer_due` is the agency-local day by
  which the agency must answer an open dispute. A resolution that changes money names the
  correcting ledger entry it posted (`correction_entry`), with its amount in minor units.
* DisputeMessage: the thread, visible to both sides. Every state change is a message too (the
  opening, each answer and reply, the resolution or rejection), so the thread is the audit trail:
  who did what, when, and the state it left.
* DisputeAttachment: a file on a message, stored privately (never under a public URL: /media/
  is not served) and downloaded only through a view that checks who may see the dispute.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.common.ids import uuid7


class Dispute(models.Model):
    class State(models.TextChoices):
        # "Awaiting an answer", not "Open": the catalogue's "Open" is an open (not yet closed) period.
        OPEN = "open", _("Awaiting an answer")
        ANSWERED = "answered", _("Answered")
        RESOLVED = "resolved", _("Resolved")
        REJECTED = "rejected", _("Rejected")

    ACTIVE_STATES = (State.OPEN, State.ANSWERED)
    CLOSED_STATES = (State.RESOLVED, State.REJECTED)

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    # No single-column indexes: the composite and partial indexes of Meta lead with these columns.
    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.PROTECT, related_name="disputes", db_index=False
    )
    creator = models.ForeignKey(
        "creators.Creator", on_delete=models.PROTECT, related_name="disputes", db_index=False
    )
    income_line = models.ForeignKey(
        "income.IncomeLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disputes",
        db_index=False,
    )
    statement = models.ForeignKey(
        "statements.Statement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disputes",
        db_index=False,
    )
    currency = models.CharField(max_length=3)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    answer_due = models.DateField(help_text="The agency-local day by which the agency must answer.")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(blank=True, default="")
    # Positive: the creator is owed more; negative: less. Null: resolved without money.
    correction_minor = models.BigIntegerField(null=True, blank=True)
    correction_entry = models.OneToOneField(
        "ledger.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(income_line__isnull=False, statement__isnull=True)
                | Q(income_line__isnull=True, statement__isnull=False),
                name="dispute_one_subject",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["open", "answered"], closed_at__isnull=True)
                | Q(state__in=["resolved", "rejected"], closed_at__isnull=False),
                name="dispute_closed_when_decided",
            ),
            models.CheckConstraint(
                condition=Q(correction_minor__isnull=True, correction_entry__isnull=True)
                | (
                    Q(state="resolved", correction_minor__isnull=False, correction_entry__isnull=False)
                    & ~Q(correction_minor=0)
                ),
                name="dispute_correction_posted_on_resolution",
            ),
            # One dispute at a time about a subject: a second one would split the conversation.
            models.UniqueConstraint(
                fields=["income_line"],
                condition=Q(state__in=["open", "answered"], income_line__isnull=False),
                name="dispute_one_active_per_line",
            ),
            models.UniqueConstraint(
                fields=["statement"],
                condition=Q(state__in=["open", "answered"], statement__isnull=False),
                name="dispute_one_active_per_statement",
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "state", "answer_due"], name="dispute_agency_state_due"),
            models.Index(fields=["creator", "last_message_at"], name="dispute_creator_activity"),
            models.Index(fields=["income_line"], condition=Q(income_line__isnull=False), name="dispute_line"),
            models.Index(
                fields=["statement"], condition=Q(statement__isnull=False), name="dispute_statement"
            ),
        ]

    def __str__(self) -> str:
        return f"dispute {self.public_id}"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES


class DisputeMessage(models.Model):
    class Side(models.TextChoices):
        CREATOR = "creator", _("Creator")
        AGENCY = "agency", _("Agency")

    class Kind(models.TextChoices):
        OPENING = "opening", _("Opened the dispute")
        ANSWER = "answer", _("Answer")
        REPLY = "reply", _("Reply")
        RESOLUTION = "resolution", _("Resolution")
        REJECTION = "rejection", _("Rejection")

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=16, choices=Side.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    body = models.TextField()
    state_after = models.CharField(max_length=16, choices=Dispute.State.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by the notify task once the other side was mailed: a task run twice mails once.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="dispute_message_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.dispute_id}"


def attachment_path(instance: DisputeAttachment, filename: str) -> str:
    # Never the uploaded name in the path: it is user input. The original name is kept in a field.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"disputes/{instance.agency_id}/{uuid.uuid4().hex}.{extension[:8]}"


class DisputeAttachment(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message = models.ForeignKey(DisputeMessage, on_delete=models.PROTECT, related_name="attachments")
    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="attachments")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=attachment_path, max_length=255)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["message_id", "id"]

    def __str__(self) -> str:
        return self.name
