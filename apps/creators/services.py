"""Writes for creator profiles and their platform accounts.

A creator's identity (display name, legal name, type) and their platform accounts are the
creator's. Several agencies may represent one creator, so one agency's edit would change what
the others' contracts, statements and pages say: only the creator edits their identity, and an
account an agency asks for waits for the creator's confirmation (see PlatformAccount).

Every creator profile belongs to a user (creator_create takes the user), so "an agency sets the
identity of a creator who has no account yet" has no case: staff correct a profile in admin.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.agencies.models import Membership, Representation
from apps.common.catalog import Platform
from apps.common.exceptions import ApplicationError, PermissionDenied
from apps.common.tenancy import forget_scope, scope_for
from apps.creators.models import Creator, PlatformAccount

AccountStatus = PlatformAccount.Status
# Roles of an agency that may ask for an account on a creator it alone represents.
_REQUESTING_ROLES = (Membership.Role.OWNER, Membership.Role.MANAGER)


def _refused_for_agency() -> ApplicationError:
    """Every refusal an agency meets, in the same words and status: whether the creator has another
    agency, or the id is someone else's, is not this agency's to learn."""
    return PermissionDenied(
        _("This account cannot be added here; the creator can add it from their own page."),
        code="platform_account_refused",
    )


def _refused_for_creator() -> ApplicationError:
    """The creator's own id conflicts with an account confirmed elsewhere: refused, naming nobody."""
    return ApplicationError(
        _("This account cannot be added to your profile. If it is yours, please contact support."),
        code="platform_account_refused",
    ).with_status(409)


def _is_the_creator(actor: Any, creator_id: int) -> bool:
    return scope_for(actor).creator_id == creator_id


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


IDENTITY_FIELDS = ("display_name", "legal_name", "creator_type")


@transaction.atomic
def creator_update(*, creator: Creator, actor: Any, **changes: Any) -> Creator:
    """The creator changes their own identity fields; nobody else does (403 for an agency)."""
    if not _is_the_creator(actor, creator.pk):
        raise PermissionDenied(
            _("Only the creator can change their name, legal name or type: they do it from their own page."),
            code="creator_identity_is_the_creators",
        )
    creator = Creator.objects.select_for_update(no_key=True).get(pk=creator.pk)
    for field in IDENTITY_FIELDS:
        if field in changes:
            setattr(creator, field, changes[field])
    creator.save()
    return creator


def _sole_representing_agency(*, actor: Any, creator: Creator) -> int | None:
    """The agency that alone represents `creator` now, if the actor is its owner or manager."""
    open_agencies = set(
        Representation.objects.filter(creator=creator, ended_on__isnull=True).values_list(
            "agency_id", flat=True
        )
    )
    if len(open_agencies) != 1:
        return None
    (agency_id,) = open_agencies
    role = scope_for(actor).agency_roles.get(agency_id)
    return agency_id if role in _REQUESTING_ROLES else None


def platform_account_add(
    *, creator: Creator, actor: Any | None, platform: str, account_id: str, handle: str = ""
) -> PlatformAccount:
    """Register an account on `creator`'s profile.

    The creator (or the system: `actor=None`, e.g. the seed) adds it confirmed. An owner or
    manager of the one agency that represents the creator now asks for it: it waits, pending,
    for the creator's confirmation and routes no statement row until then; a pending request is
    taken whoever holds the id, so it tells the agency nothing about other tenants. Anyone else
    is refused, in the same words whatever the reason.
    """
    if platform not in Platform.values:
        raise ApplicationError(
            _("%(platform)r is not a platform Fenrun knows.") % {"platform": platform},
            code="invalid_platform",
        )
    account_id = account_id.strip()
    if not account_id:
        raise ApplicationError(_("An account id is required."), code="invalid_account_id")
    fields: dict[str, Any] = {"status": AccountStatus.CONFIRMED}
    by_creator = actor is None or _is_the_creator(actor, creator.pk)
    if not by_creator:
        agency_id = _sole_representing_agency(actor=actor, creator=creator)
        if agency_id is None:
            raise _refused_for_agency()
        fields = {"status": AccountStatus.PENDING, "requested_by_agency_id": agency_id, "requested_by": actor}
    try:
        with transaction.atomic():
            if by_creator:
                # The creator confirms what an agency asked for by adding the same id themself.
                pending = PlatformAccount.objects.filter(
                    creator=creator, platform=platform, account_id=account_id, status=AccountStatus.PENDING
                ).first()
                if pending is not None:
                    return _confirm(pending)
            return PlatformAccount.objects.create(
                creator=creator, platform=platform, account_id=account_id, handle=handle.strip(), **fields
            )
    except IntegrityError:
        raise (_refused_for_creator() if by_creator else _refused_for_agency().with_status(409)) from None


def _require_the_creator(*, actor: Any, account: PlatformAccount) -> None:
    if not _is_the_creator(actor, account.creator_id):
        raise PermissionDenied(
            _("Only the creator can confirm or reject an account on their profile."),
            code="platform_account_creator_only",
        )


def _locked(account: PlatformAccount) -> PlatformAccount:
    return PlatformAccount.objects.select_for_update(no_key=True).get(pk=account.pk)


def _confirm(account: PlatformAccount) -> PlatformAccount:
    """Confirm a pending account and route the statement lines queued for it meanwhile."""
    # Income depends on creators (its lines name accounts); creators reaches it here, at the one
    # moment an account starts to route, and inside the same transaction.
    from apps.income.routing import income_lines_route_account

    account.status, account.decided_at = AccountStatus.CONFIRMED, timezone.now()
    try:
        with transaction.atomic():
            account.save(update_fields=["status", "decided_at"])
    except IntegrityError:
        # Another creator holds this id confirmed.
        raise _refused_for_creator() from None
    income_lines_route_account(account=account)
    return account


@transaction.atomic
def platform_account_confirm(*, account: PlatformAccount, actor: Any) -> PlatformAccount:
    """The creator confirms an account an agency asked for: from now on (and for the lines already
    in the queue, on the days an agency represented them) statement rows route to them."""
    _require_the_creator(actor=actor, account=account)
    account = _locked(account)
    if account.status == AccountStatus.CONFIRMED:
        return account
    if account.status == AccountStatus.REJECTED:
        raise ApplicationError(
            _("You rejected this account; add it again if it is yours."), code="platform_account_rejected"
        ).with_status(409)
    return _confirm(account)


@transaction.atomic
def platform_account_reject(*, account: PlatformAccount, actor: Any) -> PlatformAccount:
    """The creator rejects an account an agency asked for; its statement lines stay in the queue."""
    _require_the_creator(actor=actor, account=account)
    account = _locked(account)
    if account.status == AccountStatus.REJECTED:
        return account
    if account.status == AccountStatus.CONFIRMED:
        raise ApplicationError(
            _("This account is confirmed; remove it instead."), code="platform_account_confirmed"
        ).with_status(409)
    account.status, account.decided_at = AccountStatus.REJECTED, timezone.now()
    account.save(update_fields=["status", "decided_at"])
    return account


@transaction.atomic
def platform_account_remove(*, account: PlatformAccount, actor: Any) -> None:
    """The creator removes one of their accounts; the agency that asked for a pending one may
    withdraw it (its owners and managers)."""
    scope = scope_for(actor)
    withdrawing = (
        account.status == AccountStatus.PENDING
        and account.requested_by_agency_id is not None
        and scope.agency_roles.get(account.requested_by_agency_id) in _REQUESTING_ROLES
    )
    if scope.creator_id != account.creator_id and not withdrawing:
        # Other agencies may match statements through this account: only its owner removes it.
        raise PermissionDenied(
            _("Only the creator can remove one of their platform accounts."),
            code="platform_account_creator_only",
        )
    try:
        account.delete()
    except ProtectedError:
        raise ApplicationError(
            _("This account has income lines; it stays registered so that they remain explained."),
            code="platform_account_in_use",
        ).with_status(409) from None
