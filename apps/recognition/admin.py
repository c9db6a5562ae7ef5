"""Staff read closed months here; a month closes only through `period_close` (page, API or
manage.py), which posts its guarantee top-ups in the same transaction: admin must not add,
change or delete one (a deleted row would reopen a month whose top-ups are already posted).

ClosedPeriod is income's model; it is registered here, beside the service that writes it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.income.models import ClosedPeriod


@admin.register(ClosedPeriod)
class ClosedPeriodAdmin(admin.ModelAdmin):
    list_display = ("agency", "period", "closed_at", "closed_by", "top_up_count")
    list_filter = ("agency",)
    search_fields = ("period", "agency__name")
    list_select_related = ("agency", "closed_by")
    readonly_fields = ("agency", "period", "closed_at", "closed_by", "top_up_count")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
