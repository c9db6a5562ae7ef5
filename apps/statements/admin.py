"""Staff read statements in admin; drafting, publishing and corrections go through the services."""

from __future__ import annotations

from django.contrib import admin

from apps.common.admin import ReadOnlyAdmin
from apps.statements.models import (
    Statement,
    StatementAcknowledgement,
    StatementInterestPosting,
    StatementNotice,
)


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "agency",
        "creator",
        "period",
        "currency",
        "status",
        "closing_minor",
        "published_at",
    )
    list_filter = ("status", "period")
    search_fields = ("public_id", "creator__display_name", "agency__name")
    list_select_related = ("agency", "creator")


@admin.register(StatementNotice)
class StatementNoticeAdmin(ReadOnlyAdmin):
    list_display = ("statement", "email", "sent_at")


@admin.register(StatementAcknowledgement)
class StatementAcknowledgementAdmin(ReadOnlyAdmin):
    list_display = ("statement", "user", "acknowledged_at")


@admin.register(StatementInterestPosting)
class StatementInterestPostingAdmin(ReadOnlyAdmin):
    list_display = (
        "statement",
        "as_of",
        "interest_days",
        "late_interest_percent",
        "amount_minor",
        "posted_by",
        "posted_at",
    )
    list_select_related = ("statement", "posted_by")
