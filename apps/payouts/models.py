"""Payouts: how a creator's payable balance leaves the ledger, four eyes at a time.

A PayoutBatch is prepared by one finance member, approved by another, exported to the rail and
closed when every item is paid or failed. Each PayoutItem takes one creator's whole payable
balance (`gross_minor`), withholds the tax its method asks (`tax_minor`, computed by
apps/payouts/withholding.py and recorded in `withholding`) and pays the rest (`net_minor`). Every
step is a ledger entry, named on the item (docs/payouts.md).

What PostgreSQL itself enforces here, so that no code path, admin or psql session can pay a
balance twice:

* one open item (prepared or approved) per agency, creator and currency: the partial unique index
  `payout_item_one_open_per_creator` (why it is enough: see PayoutItem.Meta);
* an item's money never changes once written, net = gross - tax with all three >= 0, and its
  status only moves forward: prepared → approved | cancelled, approved → paid | failed; paid,
  failed and cancelled are final and no item is ever deleted (the trigger of migration 0002);
  so an item is paid at most once, and its paid entry (ledger key `payout:<item>:paid`) is
  posted at most once;
* an item belongs to its batch's agency and currency (a composite foreign key, migration 0002);
* the person who approves a batch is not the person who prepared it (a CHECK).
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.common.ids import uuid7
from apps.payouts.withholding import Method


@pghistory.track()
class TaxProfile(models.Model):
    """How an agency withholds tax on what it pays one creator. Absent, the default applies
    (apps.payouts.services.tax_method_default: per_payment for an individual, none for a studio
    or company, which invoices)."""

    class TaxMethod(models.TextChoices):
        NONE = Method.NONE.value, _("None (the creator invoices)")
        PER_PAYMENT = Method.PER_PAYMENT.value, _("Per payment (劳务报酬)")
        CUMULATIVE = Method.CUMULATIVE.value, _("Cumulative (累计预扣法)")

    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="tax_profiles")
    creator = models.ForeignKey("creators.Creator", on_delete=models.PROTECT, related_name="tax_profiles")
    method = models.CharField(_("withholding method"), max_length=16, choices=TaxMethod.choices)
    # For `none`: who invoices and how (the studio's name, its tax number); each payout item then
    # records the invoice it was paid against.
    invoice_note = models.CharField(_("invoice note"), max_length=300, blank=True, default="")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "creator"], name="payout_tax_profile_one_per_pair"),
            models.CheckConstraint(
                condition=Q(method__in=[method.value for method in Method]),
                name="payout_tax_profile_method_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.creator_id} at {self.agency_id}: {self.method}"


@pghistory.track()
class PayoutBatch(models.Model):
    """One run of payouts of an agency in one currency, for one payment month."""

    class Status(models.TextChoices):
        PREPARED = "prepared", _("Prepared")
        APPROVED = "approved", _("Approved")
        EXPORTED = "exported", _("Exported")
        CLOSED = "closed", _("Settled")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="payout_batches")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREPARED)
    # The day the batch pays (agency calendar) and its month, which is the tax month ("2026-03"):
    # withholding is computed on what one payer paid in one calendar month.
    as_of = models.DateField(_("payment day"))
    period = models.CharField(_("payment month"), max_length=7)
    threshold_minor = models.BigIntegerField(_("threshold"))
    # Totals of the items, fixed at preparation (items' money never changes afterwards).
    item_count = models.PositiveIntegerField(default=0)
    gross_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    net_minor = models.BigIntegerField(default=0)
    prepared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    prepared_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    exported_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = _("payout batches")
        ordering = ["-prepared_at", "-pk"]
        constraints = [
            # Four eyes: a NULL approver (not yet approved) passes, the preparer never does.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("prepared_by")),
                name="payout_batch_four_eyes",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "exported", "closed"])
                | (Q(approved_by__isnull=False) & Q(approved_at__isnull=False)),
                name="payout_batch_approved_has_approver",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["exported", "closed"]) | Q(exported_at__isnull=False),
                name="payout_batch_exported_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled")
                | (Q(cancelled_at__isnull=False) & Q(approved_at__isnull=True)),
                name="payout_batch_cancelled_before_approval",
            ),
            models.CheckConstraint(
                condition=Q(period__regex=r"^[0-9]{4}-(0[1-9]|1[0-2])$"), name="payout_batch_period_month"
            ),
            models.CheckConstraint(
                condition=Q(gross_minor__gte=0)
                & Q(tax_minor__gte=0)
                & Q(net_minor=F("gross_minor") - F("tax_minor")),
                name="payout_batch_totals_add_up",
            ),
            # Target of the items' composite foreign key (batch, agency, currency).
            models.UniqueConstraint(
                fields=["id", "agency", "currency"], name="payout_batch_id_agency_currency"
            ),
        ]
        indexes = [models.Index(fields=["agency", "-prepared_at"], name="payout_batch_agency_prepared")]

    def __str__(self) -> str:
        return f"payout batch {self.public_id} ({self.status})"


# Items are written ten thousand at a time (bulk_create at preparation, one UPDATE … FROM unnest
# at approval): no insert events; an event when an item's status changes (paid, failed…).
@pghistory.track(
    pghistory.UpdateEvent("status_changed", condition=pghistory.AnyChange("status")),
    fields=["batch", "creator", "status", "reference", "failure_reason", "invoice_reference"],
    model_name="PayoutItemEvent",
)
class PayoutItem(models.Model):
    """One creator's payout in a batch: the payable taken, the tax withheld, the net paid."""

    class Status(models.TextChoices):
        PREPARED = "prepared", _("Prepared")
        APPROVED = "approved", _("Approved, in flight")
        PAID = "paid", _("Paid out")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN = (Status.PREPARED, Status.APPROVED)

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    # The composite foreign key (batch, agency, currency) → batch is added in migration 0002;
    # this one keeps Django's join.
    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="items")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+", db_index=False)
    creator = models.ForeignKey("creators.Creator", on_delete=models.PROTECT, related_name="payout_items")
    currency = models.CharField(max_length=3)
    gross_minor = models.BigIntegerField(_("payable taken"))
    tax_minor = models.BigIntegerField(_("tax withheld"))
    net_minor = models.BigIntegerField(_("net paid"))
    method = models.CharField(_("withholding method"), max_length=16, choices=TaxProfile.TaxMethod.choices)
    period = models.CharField(_("tax month"), max_length=7)
    # The computation as docs/withholding.md writes it (the spec's field names: month, gross, tax
    # and the method's figures), plus what earlier payouts of the same month paid and withheld.
    withholding = models.JSONField()
    invoice_reference = models.CharField(_("invoice"), max_length=200, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREPARED)
    reference = models.CharField(_("payment reference"), max_length=200, blank=True, default="")
    failure_reason = models.CharField(_("why it failed"), max_length=500, blank=True, default="")
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    # The ledger entries of each step (ids; entries are never deleted).
    tax_entry = models.ForeignKey(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    approval_entry = models.ForeignKey(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    paid_entry = models.ForeignKey(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    failure_entry = models.ForeignKey(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    tax_reversal_entry = models.ForeignKey(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["batch_id", "pk"]
        constraints = [
            # Why this one index is enough to stop two batches taking one balance:
            # * a prepared item has moved no money yet, so two prepared items of one creator would
            #   both claim the same balance: refused here, whichever transaction commits second;
            # * approval moves the item's gross out of creator payable (tax and approval entries)
            #   in the transaction that flips the item to approved, so once an item is approved
            #   the balance it took is no longer there to take; the index still keeps a second
            #   item out while the first is in flight, so a month's tax is computed on settled
            #   figures, and a failed item (money back) frees the creator for the next batch;
            # * an item's money never changes after insert (trigger), so what was approved is
            #   what was prepared.
            # The approval re-reads the balance after posting under the ledger's chain lock (no
            # other writer of the agency's ledger runs meanwhile), so a refund that lowered the
            # balance since preparation refuses the batch instead of overdrawing the creator.
            models.UniqueConstraint(
                fields=["agency", "creator", "currency"],
                condition=Q(status__in=["prepared", "approved"]),
                name="payout_item_one_open_per_creator",
            ),
            models.UniqueConstraint(fields=["batch", "creator"], name="payout_item_one_per_batch_creator"),
            models.CheckConstraint(
                condition=Q(gross_minor__gt=0)
                & Q(tax_minor__gte=0)
                & Q(net_minor__gte=0)
                & Q(net_minor=F("gross_minor") - F("tax_minor")),
                name="payout_item_net_is_gross_less_tax",
            ),
            models.CheckConstraint(
                condition=Q(method__in=[method.value for method in Method]), name="payout_item_method_known"
            ),
            # Every status carries the evidence of the steps it passed, and none of the later ones.
            models.CheckConstraint(
                condition=~Q(status__in=["prepared", "cancelled"])
                | (Q(approval_entry__isnull=True) & Q(tax_entry__isnull=True) & Q(paid_entry__isnull=True)),
                name="payout_item_unapproved_has_no_entries",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "paid", "failed"])
                | (
                    Q(approval_entry__isnull=False)
                    & Q(approved_at__isnull=False)
                    & (Q(tax_minor=0) | Q(tax_entry__isnull=False))
                ),
                name="payout_item_approved_has_entries",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid")
                | (Q(paid_entry__isnull=False) & Q(paid_at__isnull=False) & ~Q(reference="")),
                name="payout_item_paid_has_reference_and_entry",
            ),
            models.CheckConstraint(
                condition=Q(status="paid") | (Q(paid_entry__isnull=True) & Q(paid_at__isnull=True)),
                name="payout_item_only_paid_has_paid_entry",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed")
                | (Q(failure_entry__isnull=False) & Q(failed_at__isnull=False) & ~Q(failure_reason="")),
                name="payout_item_failed_has_reason_and_entry",
            ),
            models.CheckConstraint(
                condition=Q(status="failed")
                | (Q(failure_entry__isnull=True) & Q(tax_reversal_entry__isnull=True)),
                name="payout_item_only_failed_has_failure_entry",
            ),
        ]
        indexes = [
            # The earlier items of a year (cumulative withholding) and a creator's payouts.
            models.Index(fields=["agency", "creator", "period"], name="payout_item_creator_period"),
        ]

    def __str__(self) -> str:
        return f"payout item {self.public_id} ({self.status})"


@pghistory.track()
class PayoutDetails(models.Model):
    """Where a creator is paid: a bank account (代发), an Alipay account, or WeChat Pay (商家转账 to
    the openid the creator has under the agency's AppID), in their real name. WeChat Pay needs
    the real name only from 2,000.00 a transfer, so for it the name may be left out (an export
    then refuses a transfer from 2,000.00, apps/payouts/rails/wechat.py).

    The creator's alone (apps/payouts/details.py): only the creator changes them, after
    re-authentication in the page; every change is kept (pghistory's event table, with the user
    and URL of the request), mails the creator and holds their payouts for 24 hours from
    `changed_at` (a stolen session that redirects the money is seen before money moves). An
    agency reads them masked, except in the rail's export file (apps/payouts/exports.py). The
    real name is stored as the creator typed it, even "=…"; the export escapes it.
    """

    class Method(models.TextChoices):
        BANK = "bank", _("Bank account")
        ALIPAY = "alipay", _("Alipay")
        WECHAT = "wechat", _("WeChat Pay")

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    creator = models.OneToOneField(
        "creators.Creator", on_delete=models.PROTECT, related_name="payout_details"
    )
    method = models.CharField(_("paid by"), max_length=16, choices=Method.choices)
    real_name = models.CharField(_("real name"), max_length=100)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True, default="")
    bank_branch = models.CharField(_("branch"), max_length=200, blank=True, default="")
    # A bank account number (digits only), an Alipay account (a mobile number or an email) or a
    # WeChat openid (which belongs to one AppID: wechat_appid).
    account = models.CharField(_("account"), max_length=100)
    wechat_appid = models.CharField(_("WeChat AppID"), max_length=32, blank=True, default="")
    changed_at = models.DateTimeField(_("changed at"))
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = _("payout details")
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=["bank", "alipay", "wechat"]), name="payout_details_method_known"
            ),
            models.CheckConstraint(
                condition=(~Q(real_name="") | Q(method="wechat")) & ~Q(account=""),
                name="payout_details_name_and_account",
            ),
            # An openid means nothing without the AppID it was issued under (wx + 16 hex digits).
            models.CheckConstraint(
                condition=Q(
                    method="wechat",
                    wechat_appid__regex=r"^wx[0-9a-f]{16}$",
                    account__regex=r"^[A-Za-z0-9_-]{10,64}$",
                )
                | (~Q(method="wechat") & Q(wechat_appid="")),
                name="payout_details_wechat_openid_and_appid",
            ),
            models.CheckConstraint(
                condition=~Q(method="bank") | (~Q(bank_name="") & Q(account__regex=r"^[0-9]{8,34}$")),
                name="payout_details_bank_account_digits",
            ),
        ]

    def __str__(self) -> str:
        return f"payout details of {self.creator_id} ({self.method})"
