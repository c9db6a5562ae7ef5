from django.contrib import admin

from apps.invitations.models import Invitation


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: invitations change through their services (the token's hash is never shown)."""

    actions = None
    list_display = [
        "agency",
        "kind",
        "channel",
        "email",
        "phone",
        "role",
        "status",
        "expires_at",
        "created_at",
    ]
    list_filter = ["kind", "channel", "status"]
    search_fields = ["email", "phone", "agency__name"]
    exclude = ["token_sha256"]
    list_select_related = ["agency"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
