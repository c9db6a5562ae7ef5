from django.contrib import admin

from apps.agencies.models import Agency, Membership, Representation


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "legal_name", "time_zone", "default_currency", "created_at"]
    search_fields = ["name", "legal_name"]
    readonly_fields = ["public_id", "created_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    # Money names these rows: "delete selected" would try a cascade the database refuses.
    actions = None
    list_display = ["user", "agency", "role", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__email", "agency__name"]
    autocomplete_fields = ["user", "agency"]


@admin.register(Representation)
class RepresentationAdmin(admin.ModelAdmin):
    # Money names these rows: "delete selected" would try a cascade the database refuses.
    actions = None
    list_display = ["agency", "creator", "started_on", "ended_on"]
    list_filter = ["agency"]
    search_fields = ["creator__display_name", "agency__name"]
