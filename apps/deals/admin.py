"""Staff read deals in Django admin; every change goes through the services (pages, API), whose
guards the admin's forms would bypass."""

from __future__ import annotations

from django.contrib import admin

from apps.common.admin import ReadOnlyAdmin
from apps.common.money import format_money
from apps.deals.models import (
    BrandDeal,
    DealExpense,
    DealPayment,
    Deliverable,
    ExpenseDeduction,
    ExpenseReissue,
)


class DeliverableInline(admin.TabularInline):
    model = Deliverable
    extra = 0
    fields = ("description", "due_on", "delivered_at")
    readonly_fields = fields
    can_delete = False


class DealExpenseInline(admin.TabularInline):
    model = DealExpense
    extra = 0
    fields = ("description", "amount_minor", "status", "receipt_name", "decided_at")
    readonly_fields = fields
    can_delete = False


class DealPaymentInline(admin.TabularInline):
    model = DealPayment
    extra = 0
    fields = ("income_line", "amount_minor", "outcome", "method", "assigned_by", "created_at")
    readonly_fields = fields
    can_delete = False


class ExpenseDeductionInline(admin.TabularInline):
    model = ExpenseDeduction
    extra = 0
    fields = ("income_line", "amount_minor", "created_at")
    readonly_fields = fields
    can_delete = False


class ExpenseReissueInline(admin.TabularInline):
    model = ExpenseReissue
    fk_name = "deal"
    extra = 0
    fields = ("expense", "original_line", "reversal_line", "reissue_line", "created_at")
    readonly_fields = fields
    can_delete = False


@admin.register(BrandDeal)
class BrandDealAdmin(ReadOnlyAdmin):
    list_display = ("brand", "campaign", "agency", "creator", "fee", "paid", "status", "due_on")
    list_filter = ("status", "platform")
    search_fields = ("brand", "campaign", "order_ref", "public_id")
    list_select_related = ("agency", "creator")
    inlines = (
        DeliverableInline,
        DealExpenseInline,
        DealPaymentInline,
        ExpenseDeductionInline,
        ExpenseReissueInline,
    )

    @admin.display(description="fee")
    def fee(self, deal: BrandDeal) -> str:
        return format_money(deal.fee_minor, deal.currency)

    @admin.display(description="paid")
    def paid(self, deal: BrandDeal) -> str:
        return format_money(deal.paid_minor, deal.currency)
