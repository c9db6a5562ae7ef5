"""Writes for people: personal access tokens, MFA policy."""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import PersonalAccessToken, User
from apps.agencies.models import Membership
from apps.common.exceptions import ApplicationError, NotFound
from apps.common.ratelimit import hit, hits

MAX_TOKENS_PER_USER = 20
# Failed re-authentications (a password or code typed to confirm a signature) share allauth's
# budget for failed logins: 5 per 5 minutes per user, so a stolen session cannot guess.
REAUTHENTICATION_FAILURES = 5
REAUTHENTICATION_WINDOW_SECONDS = 300


def user_requires_mfa(*, user: User) -> bool:
    """Staff and the agency roles that move money (owner, finance) must use a second factor."""
    if user.is_staff or user.is_superuser:
        return True
    return Membership.objects.filter(
        user=user, is_active=True, role__in=[Membership.Role.OWNER, Membership.Role.FINANCE]
    ).exists()


def user_has_mfa(*, user: User) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


@transaction.atomic
def access_token_create(
    *, user: User, name: str, expires_in_days: int | None = 90
) -> tuple[PersonalAccessToken, str]:
    """Create a token and return it with its secret; the secret is never stored or shown again."""
    name = name.strip()
    if not name:
        raise ApplicationError(
            "Give the token a name, so you can recognise it later.", code="token_name_required"
        )
    if expires_in_days is not None and not 1 <= expires_in_days <= 366:
        raise ApplicationError("A token lives between 1 and 366 days.", code="token_lifetime")
    # Lock the user row so that two concurrent creations cannot both pass the limit.
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()
    if user.access_tokens.filter(revoked_at__isnull=True).count() >= MAX_TOKENS_PER_USER:
        raise ApplicationError(
            f"You already have {MAX_TOKENS_PER_USER} tokens; revoke one first.", code="too_many_tokens"
        )
    secret = PersonalAccessToken.PREFIX + secrets.token_urlsafe(32)
    token = PersonalAccessToken.objects.create(
        user=user,
        name=name,
        token_prefix=secret[:10],
        token_sha256=PersonalAccessToken.hash(secret),
        expires_at=timezone.now() + datetime.timedelta(days=expires_in_days) if expires_in_days else None,
    )
    return token, secret


def access_token_revoke(*, user: User, public_id: Any) -> PersonalAccessToken:
    try:
        token = user.access_tokens.get(public_id=public_id)
    except (PersonalAccessToken.DoesNotExist, ValueError, ValidationError):
        raise NotFound() from None
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def _reauthentication_key(user: User) -> str:
    return f"reauth-failures:{user.pk}"


def reauthentication_allowed(*, user: User) -> None:
    """Refuse (429) while the user has used up their failed re-authentication budget."""
    # The default cache, not the per-process throttle one: the budget must hold across processes.
    if hits(_reauthentication_key(user), cache_alias="default") >= REAUTHENTICATION_FAILURES:
        raise ApplicationError(
            "Too many wrong passwords or codes. Wait five minutes and try again.", code="too_many_attempts"
        ).with_status(429)


def reauthentication_failed(*, user: User) -> None:
    """Count one failed re-authentication in the user's window."""
    hit(_reauthentication_key(user), window_seconds=REAUTHENTICATION_WINDOW_SECONDS, cache_alias="default")
