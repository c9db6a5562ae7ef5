"""Brand deals (商单): what a brand agreed to pay a creator through an agency, what must be
delivered for it, the costs the agency advanced for it, and the payments matched to it.

`paid_minor` is a cache of the sum of the deal's DealPayment rows, maintained by the
reconciliation services under a row lock on the deal; the payments are the truth.
"""

from __future__ import annotations

import uuid

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.common.catalog import Platform


@pghistory.track()
class BrandDeal(models.Model):
    class Status(models.TextChoices):
        CONTRACTED = "contracted", _("Contracted")
        DELIVERED = "delivered", _("Delivered")
        INVOICED = "invoiced", _("Invoiced")
        PAID = "paid", _("Paid")
        PARTIALLY_PAID = "partially_paid", _("Partially paid")
        OVERDUE = "overdue", _("Overdue")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="brand_deals")
    creator = models.ForeignKey("creators.Creator", on_delete=models.PROTECT, related_name="brand_deals")
    brand = models.CharField(_("brand"), max_length=200)
    campaign = models.CharField(_("campaign"), max_length=200, blank=True)
    platform = models.CharField(_("platform"), max_length=32, choices=Platform.choices)
    fee_minor = models.BigIntegerField(_("agreed fee"))
    currency = models.CharField(_("currency"), max_length=3)
    paid_minor = models.BigIntegerField(_("paid"), default=0)
    order_ref = models.CharField(_("order reference"), max_length=128, blank=True)
    due_on = models.DateField(_("payment due"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONTRACTED)
    # When the work steps happened: a refund back to zero returns the deal to the step it had reached.
    delivered_at = models.DateTimeField(null=True, blank=True)
    invoiced_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-due_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(fee_minor__gt=0), name="brand_deal_fee_positive"),
            # The order reference is how a brand's payment finds its deal: one deal per reference.
            models.UniqueConstraint(
                fields=["agency", "order_ref"],
                condition=~Q(order_ref=""),
                name="brand_deal_order_ref_unique_per_agency",
            ),
        ]
        indexes = [
            # Fuzzy reconciliation looks up open deals of a creator around a due date.
            models.Index(fields=["agency", "creator", "due_on"], name="brand_deal_creator_due"),
            # The overdue sweep.
            models.Index(fields=["status", "due_on"], name="brand_deal_status_due"),
        ]

    def __str__(self) -> str:
        return f"{self.brand} · {self.campaign}" if self.campaign else self.brand

    @property
    def outstanding_minor(self) -> int:
        return self.fee_minor - self.paid_minor

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CANCELLED


@pghistory.track()
class Deliverable(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    deal = models.ForeignKey(BrandDeal, on_delete=models.CASCADE, related_name="deliverables")
    description = models.CharField(_("description"), max_length=300)
    due_on = models.DateField(_("due"))
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "pk"]

    def __str__(self) -> str:
        return self.description

    @property
    def is_delivered(self) -> bool:
        return self.delivered_at is not None


def receipt_path(instance: DealExpense, filename: str) -> str:
    # Never the uploaded name in the path: it is user input. The original name is kept in a field.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"deals/receipts/{instance.deal.agency_id}/{uuid.uuid4().hex}.{extension}"


@pghistory.track()
class DealExpense(models.Model):
    """A cost the agency advanced for a deal (production, travel); deducted only once the creator approves."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Awaiting the creator")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    deal = models.ForeignKey(BrandDeal, on_delete=models.PROTECT, related_name="expenses")
    description = models.CharField(_("description"), max_length=300)
    amount_minor = models.BigIntegerField(_("amount"))
    receipt = models.FileField(_("receipt"), upload_to=receipt_path, max_length=255)
    receipt_name = models.CharField(max_length=255)
    receipt_content_type = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="deal_expense_amount_positive"),
            models.CheckConstraint(
                condition=Q(status="submitted") | Q(decided_at__isnull=False),
                name="deal_expense_decision_dated",
            ),
        ]

    def __str__(self) -> str:
        return self.description


@pghistory.track()
class DealPayment(models.Model):
    """One income line counted towards one deal. The unique line makes reconciliation idempotent:
    running it again finds the link and counts nothing twice."""

    class Outcome(models.TextChoices):
        MATCHED = "matched", _("Paid in full")
        PARTIAL = "partial", _("Partial payment")
        OVERPAID = "overpaid", _("Overpaid")
        REFUND = "refund", _("Refund")

    class Method(models.TextChoices):
        ORDER_REF = "order_ref", _("Order reference")
        FUZZY = "fuzzy", _("Creator, brand, amount and date")
        REFUND_OF = "refund_of", _("Refund of a matched payment")
        MANUAL = "manual", _("Assigned by a person")

    deal = models.ForeignKey(BrandDeal, on_delete=models.PROTECT, related_name="payments")
    income_line = models.OneToOneField(
        "income.IncomeLine", on_delete=models.PROTECT, related_name="deal_payment"
    )
    amount_minor = models.BigIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    method = models.CharField(max_length=16, choices=Method.choices)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_minor=0), name="deal_payment_amount_nonzero"),
            models.CheckConstraint(
                condition=Q(outcome="refund", amount_minor__lt=0)
                | (~Q(outcome="refund") & Q(amount_minor__gt=0)),
                name="deal_payment_refunds_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deal} ← line {self.income_line_id}"


@pghistory.track()
class ExpenseDeduction(models.Model):
    """What the split engine deducted as `expenses` from one recognised income line of a deal:
    positive for a payment (or re-issue) that carried the deal's approved expenses, negative for
    a refund, which reverses its share of its original's expenses.

    Σ over a deal is what of its approved expenses the ledger has deducted; approved − that is
    what the deal's next positive line carries (apps/deals/expenses.py). Written by recognition
    in the transaction that posts the line's entry, so it never disagrees with the ledger.
    """

    deal = models.ForeignKey(BrandDeal, on_delete=models.PROTECT, related_name="expense_deductions")
    income_line = models.OneToOneField(
        "income.IncomeLine", on_delete=models.PROTECT, related_name="expense_deduction"
    )
    amount_minor = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_minor=0), name="expense_deduction_nonzero"),
        ]

    def __str__(self) -> str:
        return f"{self.deal} expenses {self.amount_minor} on line {self.income_line_id}"


@pghistory.track()
class ExpenseReissue(models.Model):
    """An approval that came after a line of the deal was recognised: the line was reversed (a
    refund of all that was left of it) and re-issued with the same gross carrying the expenses.
    Both are income lines of the creator, recognised like any other; the brand's payments and
    the deal's paid amount are unchanged. A line is re-issued at most once (its re-issue can be
    re-issued in turn); a refund from the brand that names it refunds the latest re-issue.
    """

    deal = models.ForeignKey(BrandDeal, on_delete=models.PROTECT, related_name="expense_reissues")
    expense = models.ForeignKey(DealExpense, on_delete=models.PROTECT, related_name="reissues")
    original_line = models.OneToOneField(
        "income.IncomeLine", on_delete=models.PROTECT, related_name="expense_reissue"
    )
    reversal_line = models.OneToOneField(
        "income.IncomeLine", on_delete=models.PROTECT, related_name="expense_reversal_of"
    )
    reissue_line = models.OneToOneField(
        "income.IncomeLine", on_delete=models.PROTECT, related_name="expense_reissue_of"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"line {self.original_line_id} re-issued as {self.reissue_line_id} (expense {self.expense_id})"
