"""Staff read deals in Django admin; every change goes through the services (pages, API), whose
guards the admin's forms would bypass."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.common.money import format_money
from apps.deals.models import (
    BrandDeal,
    DealExpense,
    DealPayment,
    Deliverable,
    ExpenseDeduction,
    ExpenseReissue,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    actions = None

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
