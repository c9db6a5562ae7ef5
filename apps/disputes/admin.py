"""Disputes in admin, read-only: staff audit the thread and the correction's ledger entry; every
change (and every fen) goes through the services, never through admin's forms."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from apps.common.admin import ReadOnlyAdmin, ReadOnlyInline, admin_link
from apps.common.money import format_money
from apps.disputes.models import Dispute, DisputeAttachment, DisputeMessage


class MessageInline(ReadOnlyInline):
    model = DisputeMessage
    fields = ("created_at", "side", "kind", "author", "body", "state_after", "notified_at")
    readonly_fields = fields
    show_change_link = True


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "agency", "creator", "state", "answer_due", "last_message_at", "correction")
    list_filter = ("state",)
    list_select_related = ("agency", "creator", "income_line", "statement", "correction_entry")
    search_fields = ("public_id",)
    readonly_fields = (
        "public_id",
        "agency",
        "creator",
        "line_link",
        "statement_link",
        "currency",
        "state",
        "answer_due",
        "opened_by",
        "opened_at",
        "last_message_at",
        "closed_at",
        "closed_by",
        "resolution_note",
        "correction",
        "entry_link",
    )
    fields = readonly_fields
    inlines = (MessageInline,)

    @admin.display(description="correction")
    def correction(self, dispute: Dispute) -> str:
        if dispute.correction_minor is None:
            return "—"
        return format_money(dispute.correction_minor, dispute.currency)

    @admin.display(description="income line")
    def line_link(self, dispute: Dispute) -> Any:
        return admin_link(dispute.income_line)

    @admin.display(description="statement")
    def statement_link(self, dispute: Dispute) -> Any:
        return admin_link(dispute.statement)

    @admin.display(description="correcting ledger entry")
    def entry_link(self, dispute: Dispute) -> Any:
        entry = dispute.correction_entry
        return admin_link(entry, f"#{entry.seq} {entry.public_id}" if entry else None)


@admin.register(DisputeMessage)
class DisputeMessageAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "dispute", "side", "kind", "author", "created_at", "notified_at")
    list_filter = ("kind", "side")
    list_select_related = ("dispute", "author")
    readonly_fields = (
        "public_id",
        "dispute",
        "author",
        "side",
        "kind",
        "body",
        "state_after",
        "created_at",
        "notified_at",
    )
    fields = readonly_fields


@admin.register(DisputeAttachment)
class DisputeAttachmentAdmin(ReadOnlyAdmin):
    # The file's name, type, size and hash; its content is downloaded through the dispute's
    # tenancy-checked view, never a /media/ URL (admin's file widget would link one).
    list_display = ("public_id", "dispute", "name", "content_type", "size", "created_at")
    list_select_related = ("dispute",)
    readonly_fields = (
        "public_id",
        "dispute",
        "message",
        "name",
        "content_type",
        "size",
        "sha256",
        "created_at",
    )
    fields = readonly_fields
