"""Staff read payouts in Django admin, read-only: every money change goes through the services
(apps/payouts/services.py), whose four-eyes rule and ledger entries admin's forms would bypass."""

from __future__ import annotations

from django.contrib import admin

from apps.common.admin import ReadOnlyAdmin
from apps.common.money import format_money
from apps.payouts.details import mask_account, mask_name
from apps.payouts.models import PayoutBatch, PayoutDetails, PayoutItem, TaxProfile


@admin.register(TaxProfile)
class TaxProfileAdmin(ReadOnlyAdmin):
    list_display = ["creator", "agency", "method", "invoice_note", "updated_at"]
    list_filter = ["method"]
    search_fields = ["creator__display_name", "agency__name"]
    list_select_related = ["creator", "agency"]


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "agency",
        "period",
        "status",
        "item_count",
        "net",
        "prepared_by",
        "approved_by",
    ]
    list_filter = ["status", "currency"]
    search_fields = ["public_id", "agency__name"]
    list_select_related = ["agency", "prepared_by", "approved_by"]

    @admin.display(description="net")
    def net(self, batch: PayoutBatch) -> str:
        return format_money(batch.net_minor, batch.currency)


@admin.register(PayoutItem)
class PayoutItemAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "creator",
        "agency",
        "period",
        "method",
        "gross",
        "tax",
        "net",
        "status",
        "reference",
    ]
    list_filter = ["status", "method"]
    search_fields = ["public_id", "creator__display_name", "reference"]
    list_select_related = ["creator", "agency"]
    raw_id_fields = [
        "batch",
        "tax_entry",
        "approval_entry",
        "paid_entry",
        "failure_entry",
        "tax_reversal_entry",
    ]

    @admin.display(description="gross")
    def gross(self, item: PayoutItem) -> str:
        return format_money(item.gross_minor, item.currency)

    @admin.display(description="tax")
    def tax(self, item: PayoutItem) -> str:
        return format_money(item.tax_minor, item.currency)

    @admin.display(description="net")
    def net(self, item: PayoutItem) -> str:
        return format_money(item.net_minor, item.currency)


@admin.register(PayoutDetails)
class PayoutDetailsAdmin(ReadOnlyAdmin):
    """Masked in the list (staff read it on shared screens); the creator changes them, never staff.
    Every earlier version is under Events (pghistory)."""

    list_display = ["creator", "method", "name", "account_masked", "bank_name", "changed_at"]
    list_filter = ["method"]
    search_fields = ["creator__display_name", "public_id"]
    list_select_related = ["creator"]
    exclude = ["account", "real_name"]
    readonly_fields = ["name", "account_masked"]

    @admin.display(description="real name")
    def name(self, details: PayoutDetails) -> str:
        return mask_name(details.real_name)

    @admin.display(description="account")
    def account_masked(self, details: PayoutDetails) -> str:
        return mask_account(details.account, method=details.method)
