from django.contrib import admin

from apps.creators.models import Creator, PlatformAccount


class PlatformAccountInline(admin.TabularInline):
    model = PlatformAccount
    extra = 0
    fields = ["platform", "account_id", "handle", "status", "requested_by_agency", "decided_at"]
    readonly_fields = ["requested_by_agency", "decided_at"]


@admin.register(Creator)
class CreatorAdmin(admin.ModelAdmin):
    # Money names these rows: "delete selected" would try a cascade the database refuses.
    actions = None
    list_display = ["display_name", "legal_name", "creator_type", "user"]
    search_fields = ["display_name", "legal_name", "user__email", "platform_accounts__account_id"]
    readonly_fields = ["public_id", "created_at"]
    autocomplete_fields = ["user"]
    inlines = [PlatformAccountInline]


@admin.register(PlatformAccount)
class PlatformAccountAdmin(admin.ModelAdmin):
    # Money names these rows: "delete selected" would try a cascade the database refuses.
    actions = None
    list_display = ["platform", "account_id", "handle", "creator", "status", "requested_by_agency"]
    list_filter = ["platform", "status"]
    search_fields = ["account_id", "handle", "creator__display_name"]
    readonly_fields = ["public_id", "requested_by_agency", "requested_by", "decided_at", "created_at"]
