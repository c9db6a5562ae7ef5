"""Staff read import templates, their versions and which version read which import; a template
changes only through its services (page, API), and a version never changes."""

from __future__ import annotations

from django.contrib import admin

from apps.common.admin import ReadOnlyAdmin, ReadOnlyInline
from apps.importmaps.models import ImportTemplate, ImportTemplateUse, ImportTemplateVersion


class VersionInline(ReadOnlyInline):
    model = ImportTemplateVersion
    fields = ("number", "header", "header_row", "mapping", "created_by", "created_at")
    readonly_fields = fields
    ordering = ("-number",)


@admin.register(ImportTemplate)
class ImportTemplateAdmin(ReadOnlyAdmin):
    list_display = ("name", "agency", "current_version", "is_archived", "updated_at")
    list_filter = ("is_archived",)
    search_fields = ("name", "agency__name")
    list_select_related = ("agency", "current_version__template")
    readonly_fields = (
        "public_id",
        "agency",
        "name",
        "current_version",
        "is_archived",
        "created_by",
        "created_at",
    )
    inlines = [VersionInline]


@admin.register(ImportTemplateUse)
class ImportTemplateUseAdmin(ReadOnlyAdmin):
    list_display = ("statement_import", "version", "is_chosen", "created_at")
    search_fields = ("=statement_import__public_id",)
    list_select_related = ("statement_import", "version__template")
    readonly_fields = ("statement_import", "version", "is_chosen", "created_at")
