"""Writes for creator profiles and their platform accounts."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from apps.agencies.models import Membership
from apps.common.exceptions import ApplicationError, PermissionDenied
from apps.common.tenancy import forget_scope, scope_for
from apps.creators.models import Creator, Platform, PlatformAccount


def _require_creator_editor(*, actor: Any, creator: Creator) -> None:
    """The creator themself, or an owner/manager of an agency that represents them now."""
    scope = scope_for(actor)
    if scope.creator_id == creator.pk:
        return
    representing = creator.representations.filter(
        ended_on__isnull=True,
        agency__in=[
            agency_id
            for agency_id, role in scope.agency_roles.items()
            if role in (Membership.Role.OWNER, Membership.Role.MANAGER)
        ],
    ).exists()
    if not representing:
        raise PermissionDenied(
            "Only the creator or their agency's owners and managers can change this profile."
        )


@transaction.atomic
def creator_create(
    *, user: Any, display_name: str, legal_name: str, creator_type: str = Creator.Type.INDIVIDUAL
) -> Creator:
    """Give a user a creator profile (one per user)."""
    if Creator.objects.filter(user=user).exists():
        raise ApplicationError("This account already has a creator profile.", code="creator_exists")
    creator = Creator.objects.create(
        user=user, display_name=display_name, legal_name=legal_name, creator_type=creator_type
    )
    forget_scope(user)
    return creator


# A creator's legal identity is theirs alone: several agencies may represent them, and one
# agency's edit would change the others' contracts and statements.
CREATOR_ONLY_FIELDS = ("legal_name", "creator_type")


@transaction.atomic
def creator_update(*, creator: Creator, actor: Any, **changes: Any) -> Creator:
    _require_creator_editor(actor=actor, creator=creator)
    if scope_for(actor).creator_id != creator.pk and any(field in changes for field in CREATOR_ONLY_FIELDS):
        raise PermissionDenied("Only the creator can change their legal name or creator type.")
    creator = Creator.objects.select_for_update(no_key=True).get(pk=creator.pk)
    for field in ("display_name", "legal_name", "creator_type"):
        if field in changes:
            setattr(creator, field, changes[field])
    creator.save()
    return creator


def platform_account_add(
    *, creator: Creator, actor: Any | None, platform: str, account_id: str, handle: str = ""
) -> PlatformAccount:
    """Register an account; an account id already claimed on that platform is refused, not moved."""
    if actor is not None:
        _require_creator_editor(actor=actor, creator=creator)
    if platform not in Platform.values:
        raise ApplicationError(f"{platform!r} is not a platform Fenrun knows.", code="invalid_platform")
    account_id = account_id.strip()
    if not account_id:
        raise ApplicationError("An account id is required.", code="invalid_account_id")
    try:
        with transaction.atomic():
            return PlatformAccount.objects.create(
                creator=creator, platform=platform, account_id=account_id, handle=handle.strip()
            )
    except IntegrityError:
        raise ApplicationError(
            f"The {platform} account {account_id!r} is already registered to a creator.",
            code="platform_account_taken",
        ) from None


@transaction.atomic
def platform_account_remove(*, account: PlatformAccount, actor: Any) -> None:
    _require_creator_editor(actor=actor, creator=account.creator)
    if scope_for(actor).creator_id != account.creator_id:
        # Other agencies may match statements through this account: only its owner removes it.
        raise PermissionDenied("Only the creator can remove one of their platform accounts.")
    try:
        account.delete()
    except ProtectedError:
        raise ApplicationError(
            "This account has income lines; it stays registered so that they remain explained.",
            code="platform_account_in_use",
        ).with_status(409) from None
