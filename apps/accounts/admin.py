from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import PersonalAccessToken, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "name"]
    readonly_fields = ["public_id", "date_joined", "last_login"]
    fieldsets = (
        (None, {"fields": ("email", "password", "public_id")}),
        (_("Profile"), {"fields": ("name", "preferred_language")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(PersonalAccessToken)
class PersonalAccessTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "token_prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    search_fields = ["user__email", "name", "token_prefix"]
    # Staff may look and revoke (set revoked_at), never read or mint a secret.
    readonly_fields = [
        "public_id",
        "user",
        "name",
        "token_prefix",
        "token_sha256",
        "created_at",
        "expires_at",
        "last_used_at",
    ]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
