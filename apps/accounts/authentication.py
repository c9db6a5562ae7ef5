"""DRF authentication by personal access token: `Authorization: Bearer fnr_...`."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions

from apps.accounts.models import PersonalAccessToken
from apps.accounts.services import user_has_mfa, user_requires_mfa

_LAST_USED_RESOLUTION = datetime.timedelta(minutes=5)


class PersonalAccessTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, PersonalAccessToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header must be 'Bearer <token>'.")
        secret = header[1].decode(errors="replace")
        token = (
            PersonalAccessToken.objects.select_related("user")
            .filter(token_sha256=PersonalAccessToken.hash(secret))
            .first()
        )
        if token is None or not token.is_usable or not token.user.is_active:
            raise exceptions.AuthenticationFailed("This token is unknown, expired or revoked.")
        # The MFA policy holds for scripts too: a token made before a promotion to owner or
        # finance stops working until its owner enrols a second factor.
        if user_requires_mfa(user=token.user) and not user_has_mfa(user=token.user):
            raise exceptions.AuthenticationFailed(
                "Your role requires two-factor authentication; enrol at /accounts/2fa/ to use this token."
            )
        now = timezone.now()
        # Write last_used_at at most every few minutes: a busy script must not write per request.
        if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
            PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
