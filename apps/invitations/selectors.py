"""Reads of invitations.

Three ways in, each its own rule:
* an agency's members see the agency's invitations (tenancy: another agency's answer 404);
* whoever holds a link's token reaches that one invitation: the token is the credential (only its
  hash is stored, so the lookup is by hash);
* a signed-in person sees the open email invitations sent to one of their verified addresses,
  which they may answer without the link (they proved the address already).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from apps.common.catalog import Platform
from apps.common.exceptions import ApplicationError, NotFound
from apps.common.tenancy import agency_filter, get_scoped_or_404, scope_for
from apps.creators.models import PlatformAccount
from apps.invitations.models import Invitation

Status = Invitation.Status
# secrets.token_urlsafe(32): 43 characters of the URL-safe base64 alphabet.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
STATES = ("open", "expired", *Status.values)


def _state(invitations: QuerySet[Invitation], state: str | None) -> QuerySet[Invitation]:
    """`open`: pending and not expired; `expired`: pending past its date; or a status."""
    if state is None or state == "":
        return invitations
    now = timezone.now()
    if state == "open":
        return invitations.filter(status=Status.PENDING, expires_at__gt=now)
    if state == "expired":
        return invitations.filter(status=Status.PENDING, expires_at__lte=now)
    if state in Status.values:
        return invitations.filter(status=state)
    raise ApplicationError(
        f"{state!r} is not an invitation state; use one of {', '.join(STATES)}.", code="invalid_state"
    )


def invitation_list_for_actor(
    *, actor: Any, agency_id: int | None = None, kind: str | None = None, state: str | None = None
) -> QuerySet[Invitation]:
    """The invitations of the actor's agencies, newest first."""
    if scope_for(actor).user_id is None:
        return Invitation.objects.none()
    invitations = Invitation.objects.filter(agency_filter(actor))
    if agency_id is not None:
        invitations = invitations.filter(agency_id=agency_id)
    if kind:
        if kind not in Invitation.Kind.values:
            raise ApplicationError(
                f"{kind!r} is not a kind of invitation; use creator or member.", code="invalid_kind"
            )
        invitations = invitations.filter(kind=kind)
    return (
        _state(invitations, state)
        .select_related("agency", "invited_by", "decided_by", "creator")
        .order_by("-created_at", "-id")
    )


def invitation_get_for_actor(*, actor: Any, public_id: UUID | str) -> Invitation:
    return get_scoped_or_404(invitation_list_for_actor(actor=actor), public_id=public_id)


def invitation_get_by_token(*, token: str) -> Invitation:
    """The invitation a link opens, whatever its state (the page says why a closed one is closed)."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise NotFound()
    return get_scoped_or_404(
        Invitation.objects.select_related("agency", "invited_by"), token_sha256=Invitation.hash(token)
    )


def invitation_list_for_invitee(*, user: Any) -> QuerySet[Invitation]:
    """The open email invitations sent to one of the signed-in person's verified addresses."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Invitation.objects.none()
    from allauth.account.models import EmailAddress

    # The verified addresses (lowered: invitations keep theirs lowered) as a subquery: one query,
    # not two (the home asks on every visit).
    verified = (
        EmailAddress.objects.filter(user_id=user.pk, verified=True)
        .annotate(lowered=Lower("email"))
        .values("lowered")
    )
    return (
        Invitation.objects.filter(
            channel=Invitation.Channel.EMAIL,
            email__in=verified,
            status=Status.PENDING,
            expires_at__gt=timezone.now(),
        )
        .select_related("agency", "invited_by")
        .order_by("-created_at", "-id")
    )


def invitation_get_for_invitee(*, user: Any, public_id: UUID | str) -> Invitation:
    return get_scoped_or_404(invitation_list_for_invitee(user=user), public_id=public_id)


@dataclass(frozen=True)
class ProposedAccount:
    index: int
    platform: str
    platform_label: str
    account_id: str
    handle: str
    is_on_profile: bool  # already confirmed on the viewer's own creator profile


def invitation_proposed_accounts(*, invitation: Invitation, viewer: Any = None) -> list[ProposedAccount]:
    """The accounts the invitation proposes, marked when already on the viewer's creator profile."""
    creator_id = scope_for(viewer).creator_id if viewer is not None else None
    on_profile: set[tuple[str, str]] = set()
    if creator_id is not None and invitation.proposed_accounts:
        wanted = Q()
        for account in invitation.proposed_accounts:
            wanted |= Q(platform=account["platform"], account_id=account["account_id"])
        on_profile = set(
            PlatformAccount.objects.filter(
                wanted, creator_id=creator_id, status=PlatformAccount.Status.CONFIRMED
            ).values_list("platform", "account_id")
        )
    return [
        ProposedAccount(
            index=index,
            platform=account["platform"],
            platform_label=str(Platform(account["platform"]).label),
            account_id=account["account_id"],
            handle=account.get("handle", ""),
            is_on_profile=(account["platform"], account["account_id"]) in on_profile,
        )
        for index, account in enumerate(invitation.proposed_accounts)
    ]
