"""Navigation per role: the base layout shows only what the signed-in person can use."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from apps.agencies.models import Membership
from apps.common.tenancy import scope_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {"signed_in": False}}
    scope = scope_for(user)
    roles = set(scope.agency_roles.values())
    return {
        "nav": {
            "signed_in": True,
            "is_creator": scope.creator_id is not None,
            "is_agency": bool(roles),
            "can_manage": bool(roles & {Membership.Role.OWNER, Membership.Role.MANAGER}),
            "is_finance": bool(roles & {Membership.Role.OWNER, Membership.Role.FINANCE}),
            "is_staff": user.is_staff,
        }
    }
