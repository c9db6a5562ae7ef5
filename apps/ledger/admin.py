"""Staff see the ledger in Django admin, read-only: nothing is added, changed or deleted here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import flatten, flatten_fieldsets
from django.http import HttpRequest

from apps.common.admin import ReadOnlyAdmin
from apps.common.money import format_money
from apps.ledger.models import (
    Account,
    AccountBalance,
    AccountPeriodBalance,
    JournalEntry,
    Posting,
)


class PostingInline(admin.TabularInline):
    model = Posting
    extra = 0
    can_delete = False
    fields = ["line_no", "account", "amount", "currency"]
    readonly_fields = flatten(fields)
    ordering = ["line_no"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="amount")
    def amount(self, posting: Posting) -> str:
        return format_money(posting.amount_minor, posting.currency)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "agency", "creator", "purpose", "key", "currency"]
    list_filter = ["purpose", "currency"]
    search_fields = ["key", "agency__name", "creator__display_name"]
    list_select_related = ["agency", "creator"]


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["seq", "agency", "kind", "effective_date", "posted_at", "idempotency_key", "creator"]
    list_filter = ["kind", "agency"]
    search_fields = ["idempotency_key", "cause_reference", "hash"]
    list_select_related = ["agency", "creator"]
    date_hierarchy = "effective_date"
    inlines = [PostingInline]
    fieldsets = [
        ("Entry", {"fields": ["agency", "seq", "kind", "effective_date", "posted_at", "creator", "memo"]}),
        ("Cause", {"fields": ["cause_reference", "reason", "author", "reverses", "idempotency_key"]}),
        ("Tamper evidence", {"fields": ["prev_hash", "hash", "request_sha256", "lines_root", "line_count"]}),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ["entry", "line_no", "account", "amount_minor", "currency"]
    list_select_related = ["entry", "account"]
    list_filter = ["currency"]


@admin.register(AccountBalance)
class AccountBalanceAdmin(ReadOnlyAdmin):
    list_display = ["account", "balance_minor", "currency", "posting_count"]
    list_select_related = ["account"]


@admin.register(AccountPeriodBalance)
class AccountPeriodBalanceAdmin(ReadOnlyAdmin):
    list_display = ["account", "period", "debit_minor", "credit_minor", "net_minor", "currency"]
    list_filter = ["period"]
    list_select_related = ["account"]
