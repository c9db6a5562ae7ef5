"""Staff read contracts here; every change goes through the services (and the trigger refuses the rest)."""

from __future__ import annotations

from django.contrib import admin

from apps.common.admin import ReadOnlyAdmin
from apps.contracts.models import (
    Contract,
    ContractCoverage,
    ContractSignature,
    ContractTemplate,
    ContractVersion,
)


class VersionInline(admin.TabularInline):
    model = ContractVersion
    fields = ("number", "status", "effective_from", "end_date", "document_sha256", "signed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_display = ("title", "agency", "creator", "created_at")
    list_select_related = ("agency", "creator")
    list_filter = ("agency",)
    search_fields = ("title", "public_id", "creator__display_name")
    inlines = [VersionInline]


@admin.register(ContractVersion)
class ContractVersionAdmin(ReadOnlyAdmin):
    list_display = ("contract", "number", "status", "effective_from", "end_date", "signed_at")
    list_select_related = ("contract",)
    list_filter = ("status",)
    search_fields = ("public_id", "document_sha256", "pdf_sha256")


@admin.register(ContractSignature)
class ContractSignatureAdmin(ReadOnlyAdmin):
    list_display = ("version", "party", "signer_email", "signed_at", "ip_address", "reauthenticated_by")
    list_select_related = ("version__contract",)
    search_fields = ("signer_email", "document_sha256")


@admin.register(ContractCoverage)
class ContractCoverageAdmin(ReadOnlyAdmin):
    list_display = ("version", "creator", "agency", "platform", "during")
    list_select_related = ("version__contract", "creator", "agency")


@admin.register(ContractTemplate)
class ContractTemplateAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "language", "agency", "is_active")
    list_select_related = ("agency",)
