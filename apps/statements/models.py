"""Statements: what an agency owes one creator for one closed month, drawn from the ledger.

* Statement: one per (agency, creator, month, currency), plus corrections (each names the
  statement it corrects). Its figures are integer minor columns, each the sum of ledger postings
  (apps/statements/figures.py says which); they are stored because a published statement must
  never change, whatever is posted later. A draft has no number; publishing assigns the next
  number of the agency under the StatementCounter's row lock, so numbers are gapless.
* Once published, a row is frozen by a database trigger: no UPDATE and no DELETE, except writing
  the rendered PDF and its SHA-256 once (a Celery worker renders it after the publish commits).
* StatementCounter: the last number an agency gave (its row lock serialises publishing).
* StatementNotice: the creator was told (email sent once, by the notify task).
* StatementAcknowledgement: the creator confirmed receipt; a row of its own, so the statement
  itself never changes.
* StatementInterestPosting: late interest on a published statement that the agency chose to
  post, one row per posting with its ledger entry (who, when, up to which day, days, rate,
  amount): the audit trail. Append-only (trigger).
"""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.common.ids import uuid7

# Every column of a published statement but the PDF, which is written once afterwards.
_FROZEN_COLUMNS = (
    "id",
    "public_id",
    "agency_id",
    "creator_id",
    "period",
    "currency",
    "number",
    "status",
    "corrects_id",
    "contract_version_id",
    "opening_minor",
    "gross_minor",
    "deductions_minor",
    "expenses_minor",
    "others_share_minor",
    "recouped_minor",
    "income_share_minor",
    "guarantee_top_up_minor",
    "late_interest_minor",
    "tax_minor",
    "payouts_minor",
    "adjustments_minor",
    "closing_minor",
    "line_count",
    "statement_due",
    "payment_due",
    "late_interest_percent",
    "ledger_head_seq",
    "ledger_head_hash",
    "content_sha256",
    "created_at",
    "created_by_id",
    "published_at",
    "published_by_id",
)
_CHANGED = " OR ".join(f'OLD."{column}" IS DISTINCT FROM NEW."{column}"' for column in _FROZEN_COLUMNS)
_PUBLISHED_CHANGE = (
    "OLD.status = 'published' AND ("
    + _CHANGED
    + " OR (OLD.pdf_sha256 <> '' AND (OLD.pdf IS DISTINCT FROM NEW.pdf"
    + " OR OLD.pdf_sha256 IS DISTINCT FROM NEW.pdf_sha256)))"
)


class Statement(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    # Also the order of the figures on the page and the PDF: the balance, what the income
    # became, what moved the balance.
    FIGURES = (
        "opening_minor",
        "gross_minor",
        "deductions_minor",
        "expenses_minor",
        "others_share_minor",
        "recouped_minor",
        "income_share_minor",
        "guarantee_top_up_minor",
        "late_interest_minor",
        "tax_minor",
        "payouts_minor",
        "adjustments_minor",
        "closing_minor",
    )

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="statements")
    creator = models.ForeignKey("creators.Creator", on_delete=models.PROTECT, related_name="statements")
    period = models.CharField(max_length=7)
    currency = models.CharField(max_length=3)
    # Assigned at publish, gapless per agency; drafts have none.
    number = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections"
    )
    # The version whose terms set the due dates and the interest rate (None: the defaults).
    contract_version = models.ForeignKey(
        "contracts.ContractVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # --- figures: integer minor units of `currency`, the creator's side (owed to them positive)
    opening_minor = models.BigIntegerField(default=0)
    gross_minor = models.BigIntegerField(default=0)
    deductions_minor = models.BigIntegerField(default=0)
    expenses_minor = models.BigIntegerField(default=0)
    others_share_minor = models.BigIntegerField(default=0)
    recouped_minor = models.BigIntegerField(default=0)
    income_share_minor = models.BigIntegerField(default=0)
    guarantee_top_up_minor = models.BigIntegerField(default=0)
    # Late interest the agency posted in the month (on an earlier month's statement).
    late_interest_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    payouts_minor = models.BigIntegerField(default=0)
    adjustments_minor = models.BigIntegerField(default=0)
    closing_minor = models.BigIntegerField(default=0)
    line_count = models.PositiveIntegerField(default=0)

    statement_due = models.DateField()
    payment_due = models.DateField()
    late_interest_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)

    # --- publication
    ledger_head_seq = models.BigIntegerField(null=True, blank=True)
    ledger_head_hash = models.CharField(max_length=64, blank=True, default="")
    content_sha256 = models.CharField(max_length=64, blank=True, default="")
    pdf = models.FileField(upload_to="statements/pdf/", blank=True, default="")
    pdf_sha256 = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["agency_id", "period", "creator_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "number"], name="statement_number_unique"),
            # One statement per creator, month and currency; corrections come on top of it.
            models.UniqueConstraint(
                fields=["agency", "creator", "period", "currency"],
                condition=Q(corrects__isnull=True),
                name="statement_one_per_month",
            ),
            # At most one draft correction of a statement at a time.
            models.UniqueConstraint(
                fields=["corrects"],
                condition=Q(status="draft"),
                name="statement_one_draft_correction",
            ),
            models.CheckConstraint(
                condition=(Q(status="draft") & Q(number__isnull=True))
                | (Q(status="published") & Q(number__isnull=False) & ~Q(content_sha256="")),
                name="statement_number_iff_published",
            ),
            models.CheckConstraint(
                condition=Q(period__regex=r"^[0-9]{4}-(0[1-9]|1[0-2])$"), name="statement_period_month"
            ),
            models.CheckConstraint(
                condition=Q(
                    closing_minor=models.F("opening_minor")
                    + models.F("income_share_minor")
                    + models.F("guarantee_top_up_minor")
                    + models.F("late_interest_minor")
                    - models.F("tax_minor")
                    - models.F("payouts_minor")
                    + models.F("adjustments_minor")
                ),
                name="statement_closing_adds_up",
            ),
        ]
        indexes = [models.Index(fields=["agency", "period"], name="statement_agency_period")]
        triggers = [
            pgtrigger.Protect(
                name="published_is_frozen",
                operation=pgtrigger.Update,
                condition=pgtrigger.Condition(_PUBLISHED_CHANGE),
            ),
            pgtrigger.Protect(
                name="published_never_deleted",
                operation=pgtrigger.Delete,
                condition=pgtrigger.Q(old__status="published"),
            ),
        ]

    def __str__(self) -> str:
        label = f"No. {self.number}" if self.number else "draft"
        return f"statement {label} {self.period} creator {self.creator_id}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class StatementCounter(models.Model):
    """The last statement number of one agency: its row lock makes numbers gapless."""

    agency = models.OneToOneField(
        "agencies.Agency", on_delete=models.PROTECT, primary_key=True, related_name="statement_counter"
    )
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"statement counter of agency {self.agency_id} at {self.last_number}"


class StatementNotice(models.Model):
    """The creator was notified of a published statement (the email went once)."""

    statement = models.OneToOneField(
        Statement, on_delete=models.PROTECT, primary_key=True, related_name="notice"
    )
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    email = models.EmailField()
    sent_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"notice of {self.statement_id} to {self.email}"


class StatementAcknowledgement(models.Model):
    """The creator confirmed receiving the statement (not agreeing with it: they may still dispute)."""

    statement = models.OneToOneField(
        Statement, on_delete=models.PROTECT, primary_key=True, related_name="acknowledgement"
    )
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        triggers = [
            pgtrigger.Protect(name="protect_update_delete", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"acknowledgement of {self.statement_id}"


class StatementInterestPosting(models.Model):
    """Late interest the agency posted on a published statement, up to one day (`as_of`).

    `accrued_minor` is the statement's late interest from its payment due date to `as_of`
    (apps.statements.selectors.statement_lateness); `posted_before_minor` what earlier postings
    of the same month (the statement or the one it corrects) had posted; `amount_minor` the
    difference, which this posting's ledger entry credits to the creator's payable."""

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="interest_postings")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField(_("interest up to"))
    currency = models.CharField(max_length=3)
    late_interest_percent = models.DecimalField(max_digits=5, decimal_places=2)
    interest_days = models.PositiveIntegerField()
    unpaid_minor = models.BigIntegerField()
    accrued_minor = models.BigIntegerField()
    posted_before_minor = models.BigIntegerField()
    amount_minor = models.BigIntegerField()
    entry = models.OneToOneField("ledger.JournalEntry", on_delete=models.PROTECT, related_name="+")
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    posted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["statement_id", "as_of", "pk"]
        constraints = [
            # A day is posted once per statement (posting it again returns this row).
            models.UniqueConstraint(fields=["statement", "as_of"], name="statement_interest_one_per_day"),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0)
                & Q(posted_before_minor__gte=0)
                & Q(amount_minor=models.F("accrued_minor") - models.F("posted_before_minor")),
                name="statement_interest_adds_what_accrued",
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="protect_update_delete", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"late interest on {self.statement_id} to {self.as_of}: {self.amount_minor} {self.currency}"
