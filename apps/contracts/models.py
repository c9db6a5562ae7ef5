"""Contracts between an agency and a creator, as versions that are drafted, sent, signed and run.

Design
------
* A Contract is the relationship (agency, creator, template); every change is a ContractVersion.
  Version 1 is the original offer; later versions are amendments with an `effective_from` date.
* A version's terms are typed columns plus the split `rule_set` (validated by the engine). Once a
  version leaves `draft` its terms and its rendered document are frozen: the services refuse the
  change, and a database trigger refuses any UPDATE of those columns on a non-draft row (status
  transitions and bookkeeping timestamps stay allowed).
* What is signed is the rendered document (HTML → canonical text → SHA-256). The split rules
  appear in it in plain words, with worked examples computed by the engine and the exact rule
  set as JSON, so the signed text and the executable rule are the same object.
* When both parties have signed, one ContractCoverage row per platform records the dates the
  version governs. A PostgreSQL EXCLUDE constraint makes two governing versions for the same
  creator, agency and platform on the same day impossible; `contract_version_in_force` reads it.
"""

from __future__ import annotations

import uuid

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateRangeField, RangeOperators
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.common.catalog import Platform


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    CHINESE = "zh-hans", "简体中文"


class TemplateKind(models.TextChoices):
    EXCLUSIVE_MANAGEMENT = "exclusive_management", _("Exclusive management")
    NON_EXCLUSIVE = "non_exclusive", _("Non-exclusive management")
    SINGLE_CAMPAIGN = "single_campaign", _("Single campaign")
    CUSTOM = "custom", _("Custom")


class Exclusivity(models.TextChoices):
    EXCLUSIVE = "exclusive", _("Exclusive")
    NON_EXCLUSIVE = "non_exclusive", _("Non-exclusive")


class CreativeControl(models.TextChoices):
    CREATOR = "creator", _("The creator has the final say")
    AGENCY = "agency", _("The agency has the final say")
    JOINT = "joint", _("Joint: both must agree")


@pghistory.track()
class ContractTemplate(models.Model):
    """A contract text with typed defaults. Built-in templates have no agency and are shared."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="contract_templates"
    )
    key = models.SlugField(max_length=64, help_text="Stable name of a built-in template.")
    kind = models.CharField(max_length=32, choices=TemplateKind.choices, default=TemplateKind.CUSTOM)
    language = models.CharField(max_length=10, choices=Language.choices, default=Language.ENGLISH)
    name = models.CharField(_("name"), max_length=200)
    body = models.TextField(
        help_text="Clauses in Django template syntax; variables are the version's terms (see rendering)."
    )
    default_terms = models.JSONField(default=dict, blank=True)
    default_rule_set = models.JSONField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agency_id", "kind", "language", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(agency__isnull=True), name="contract_template_builtin_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_builtin(self) -> bool:
        return self.agency_id is None


@pghistory.track()
class Contract(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="contracts")
    creator = models.ForeignKey("creators.Creator", on_delete=models.PROTECT, related_name="contracts")
    template = models.ForeignKey(ContractTemplate, on_delete=models.PROTECT, related_name="contracts")
    title = models.CharField(_("title"), max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


# The columns a signature covers. Frozen once a version leaves draft (services and trigger).
TERM_FIELDS = (
    "language",
    "start_date",
    "end_date",
    "effective_from",
    "auto_renewal",
    "renewal_notice_days",
    "platforms",
    "exclusivity",
    "creative_control",
    "statement_days",
    "payment_days",
    "late_interest_percent",
    "payout_threshold_minor",
    "audit_right",
    "termination_notice_days",
    "termination_fee_cap_minor",
    "currency",
    "rule_set",
    "worked_examples",
    "offer_valid_days",
)
DOCUMENT_FIELDS = ("document_html", "document_text", "document_sha256")
_FROZEN_COLUMNS = (*TERM_FIELDS, *DOCUMENT_FIELDS, "number", "contract_id")
_FROZEN_CONDITION = (
    "OLD.status <> 'draft' AND ("
    + " OR ".join(f'OLD."{column}" IS DISTINCT FROM NEW."{column}"' for column in _FROZEN_COLUMNS)
    + ")"
)


# The rendered HTML is left out of the snapshots: it is derived from the text, which they keep.
@pghistory.track(exclude=["document_html"])
class ContractVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENT = "sent", _("Sent for signature")
        SIGNED = "signed", _("Signed by both")
        ACTIVE = "active", _("Active")
        SUPERSEDED = "superseded", _("Superseded by an amendment")
        ENDED = "ended", _("Ended")
        DECLINED = "declined", _("Declined")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        OFFER_EXPIRED = "offer_expired", _("Offer expired")

    # Statuses of a version that governs income over its coverage.
    BINDING = (Status.SIGNED, Status.ACTIVE, Status.SUPERSEDED, Status.ENDED)
    OPEN = (Status.DRAFT, Status.SENT)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)

    # --- terms (frozen once sent)
    language = models.CharField(_("language"), max_length=10, choices=Language.choices)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    effective_from = models.DateField(
        _("effective from"), help_text="The start date for version 1; an amendment's effective date."
    )
    auto_renewal = models.BooleanField(_("renews automatically"), default=False)
    renewal_notice_days = models.PositiveIntegerField(_("notice to stop renewal (days)"), default=30)
    platforms = ArrayField(
        models.CharField(max_length=32, choices=Platform.choices), verbose_name=_("platforms covered")
    )
    exclusivity = models.CharField(_("exclusivity"), max_length=16, choices=Exclusivity.choices)
    creative_control = models.CharField(_("creative control"), max_length=16, choices=CreativeControl.choices)
    statement_days = models.PositiveIntegerField(_("statement due (days after period close)"), default=15)
    payment_days = models.PositiveIntegerField(_("payment due (days after period close)"), default=30)
    # A rate, not money: a Decimal with 2 places (percent per year); never a float.
    late_interest_percent = models.DecimalField(
        _("late payment interest (% per year)"), max_digits=5, decimal_places=2, default=0
    )
    # The smallest net (after tax) a payout batch pays the creator, in minor units of `currency`
    # like the fee cap: below it the balance waits for a later batch (apps/payouts/services.py).
    payout_threshold_minor = models.BigIntegerField(_("payout threshold"), default=10_000)
    audit_right = models.BooleanField(_("creator may audit platform statements"), default=True)
    termination_notice_days = models.PositiveIntegerField(_("termination notice (days)"), default=30)
    termination_fee_cap_minor = models.BigIntegerField(_("termination fee cap"), default=0)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    rule_set = models.JSONField(_("split rules"))
    worked_examples = models.JSONField(default=list, blank=True)
    offer_valid_days = models.PositiveIntegerField(_("offer valid for (days)"), default=14)

    # --- the document, rendered and hashed when sent (frozen with the terms)
    document_html = models.TextField(blank=True, default="")
    document_text = models.TextField(blank=True, default="")
    document_sha256 = models.CharField(max_length=64, blank=True, default="")

    # --- lifecycle bookkeeping (may change after sending)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=300, blank=True, default="")
    pdf = models.FileField(upload_to="contracts/pdf/", blank=True, default="")
    pdf_sha256 = models.CharField(max_length=64, blank=True, default="", db_index=True)

    class Meta:
        ordering = ["contract_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "number"], name="contract_version_number_unique"),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="contract_version_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(effective_from__gte=F("start_date")) & Q(effective_from__lte=F("end_date")),
                name="contract_version_effective_within_term",
            ),
            models.CheckConstraint(
                condition=Q(termination_fee_cap_minor__gte=0), name="contract_version_fee_cap_positive"
            ),
            models.CheckConstraint(
                condition=Q(payout_threshold_minor__gte=0), name="contract_version_payout_threshold_positive"
            ),
            models.CheckConstraint(
                condition=Q(late_interest_percent__gte=0) & Q(late_interest_percent__lte=100),
                name="contract_version_interest_percent",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | ~Q(document_sha256=""), name="contract_version_sent_has_hash"
            ),
        ]
        triggers = [
            # Terms and document are what people sign: once sent they never change again.
            pgtrigger.Protect(
                name="frozen_terms_after_draft",
                operation=pgtrigger.Update,
                condition=pgtrigger.Condition(_FROZEN_CONDITION),
            ),
            pgtrigger.Protect(
                name="no_delete_after_draft",
                operation=pgtrigger.Delete,
                condition=pgtrigger.Q(old__status__df="draft"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract} v{self.number}"

    @property
    def is_amendment(self) -> bool:
        return self.number > 1

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


@pghistory.track()
class ContractSignature(models.Model):
    """One party's signature on one version: who, when, from where, on which exact text."""

    class Party(models.TextChoices):
        CREATOR = "creator", _("Creator")
        AGENCY = "agency", _("Agency")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.ForeignKey(ContractVersion, on_delete=models.PROTECT, related_name="signatures")
    party = models.CharField(max_length=16, choices=Party.choices)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signer_name = models.CharField(max_length=300)
    signer_email = models.EmailField()
    signed_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True, default="")
    document_sha256 = models.CharField(max_length=64)
    reauthenticated_by = models.CharField(max_length=32, help_text="How the signer re-authenticated.")

    class Meta:
        ordering = ["signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["version", "party"], name="contract_signature_one_per_party"),
        ]
        triggers = [
            pgtrigger.Protect(name="signatures_immutable", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.party} signature on {self.version}"


class ContractCoverage(models.Model):
    """The days one signed version governs one platform: [from, to) in the rule set's calendar.

    One row per platform, because an EXCLUDE constraint cannot look inside an array.
    """

    version = models.ForeignKey(ContractVersion, on_delete=models.PROTECT, related_name="coverage")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    creator = models.ForeignKey("creators.Creator", on_delete=models.PROTECT, related_name="+")
    platform = models.CharField(max_length=32, choices=Platform.choices)
    during = DateRangeField()

    class Meta:
        constraints = [
            ExclusionConstraint(
                name="contract_coverage_no_overlap",
                expressions=[
                    ("creator", RangeOperators.EQUAL),
                    ("agency", RangeOperators.EQUAL),
                    ("platform", RangeOperators.EQUAL),
                    ("during", RangeOperators.OVERLAPS),
                ],
            ),
            models.UniqueConstraint(
                fields=["version", "platform"], name="contract_coverage_one_per_platform"
            ),
        ]
        indexes = [models.Index(fields=["creator", "platform"], name="contract_coverage_lookup")]

    def __str__(self) -> str:
        return f"{self.version} on {self.platform} {self.during}"


class ContractReminder(models.Model):
    """A reminder sent once: the unique key makes the beat task safe to run any number of times."""

    version = models.ForeignKey(ContractVersion, on_delete=models.PROTECT, related_name="reminders")
    kind = models.CharField(max_length=32)
    key = models.CharField(max_length=64)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "kind", "key"], name="contract_reminder_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} reminder for {self.version} ({self.key})"
