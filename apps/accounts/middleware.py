"""Enforce the MFA policy: people who must have a second factor enrol before doing anything else."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from apps.accounts.services import user_has_mfa, user_requires_mfa

# Paths a person without MFA can still reach: the enrolment itself, logout, language, assets.
_OPEN_PREFIXES = ("/accounts/", "/i18n/", "/static/", "/health/")
_SESSION_FLAG = "fenrun_mfa_ok"
_RECHECK_SECONDS = 300


def _recently_checked(request: HttpRequest) -> bool:
    checked_at = request.session.get(_SESSION_FLAG)
    return isinstance(checked_at, (int, float)) and 0 <= time.time() - checked_at < _RECHECK_SECONDS


class RequireMfaMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES)
            and not _recently_checked(request)
        ):
            if user_requires_mfa(user=user) and not user_has_mfa(user=user):
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {
                            "type": "https://fenrun.org/problems/mfa_required",
                            "title": "Forbidden",
                            "status": 403,
                            "code": "mfa_required",
                            "detail": "Your role requires two-factor authentication. Enrol at /accounts/2fa/.",
                        },
                        status=403,
                        content_type="application/problem+json",
                    )
                return redirect("mfa_activate_totp")
            # Remember for a few minutes: the check costs two queries per page. The window bounds
            # how long a promotion to owner or finance takes to demand MFA in an open session.
            request.session[_SESSION_FLAG] = time.time()
        return self.get_response(request)
