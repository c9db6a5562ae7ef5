"""The admin base every money app's read-only registrations share: staff audit through admin,
and every change goes through the services (pages, API, manage.py), whose guards, ledger entries
and four-eyes rules admin's forms would bypass."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

__all__ = ["ReadOnlyAdmin", "ReadOnlyInline", "admin_link"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """No add, change or delete, and no bulk action (it would offer "delete selected")."""

    actions = None

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def admin_link(obj: Any, text: str | None = None) -> str:
    """An admin change-page link to obj (escaped), or "—" for None: audits follow links, not ids."""
    from django.urls import NoReverseMatch, reverse
    from django.utils.html import format_html

    if obj is None:
        return "—"
    meta = obj._meta
    try:
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return str(text or obj)
    return format_html('<a href="{}">{}</a>', url, text or str(obj))
