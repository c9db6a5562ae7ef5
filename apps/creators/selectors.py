"""Reads of creators and their platform accounts, always through the caller's scope."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet

from apps.agencies.models import Representation
from apps.common.tenancy import creator_rows_filter, get_scoped_or_404, scope_for, scoped
from apps.creators.models import Creator, PlatformAccount


def _accounts_visible_to(actor: Any) -> Q:
    """A confirmed account to whoever sees its creator; a pending or rejected one only to the
    creator and to the agency that asked for it (another agency learns nothing of the request)."""
    scope = scope_for(actor)
    condition = Q(status=PlatformAccount.Status.CONFIRMED) | Q(requested_by_agency__in=scope.agency_ids)
    if scope.creator_id is not None:
        condition |= Q(creator_id=scope.creator_id)
    return condition


def creator_list_for_actor(*, actor: Any) -> QuerySet[Creator]:
    """The actor's own creator profile and the creators their agencies represent or represented,
    with the accounts the actor may see (rejected requests left out)."""
    accounts = (
        PlatformAccount.objects.filter(_accounts_visible_to(actor))
        .exclude(status=PlatformAccount.Status.REJECTED)
        .select_related("requested_by_agency")
        .order_by("platform", "account_id")
    )
    return (
        Creator.objects.filter(creator_rows_filter(actor))
        .prefetch_related(
            Prefetch("platform_accounts", queryset=accounts),
            # With their agency: the home lists the agencies representing the creator from these.
            Prefetch("representations", queryset=Representation.objects.select_related("agency")),
        )
        .order_by("display_name", "pk")  # pk: names repeat; pages must not skip or repeat a creator
    )


def creator_get_for_actor(*, actor: Any, public_id: UUID | str) -> Creator:
    return get_scoped_or_404(creator_list_for_actor(actor=actor), public_id=public_id)


def platform_account_list_for_actor(*, actor: Any) -> QuerySet[PlatformAccount]:
    visible = scoped(Creator.objects.all(), actor, creator_field="pk").values("pk")
    return (
        PlatformAccount.objects.filter(creator__in=visible)
        .filter(_accounts_visible_to(actor))
        .select_related("creator", "requested_by_agency")
    )


def platform_account_get_for_actor(*, actor: Any, public_id: UUID | str) -> PlatformAccount:
    return get_scoped_or_404(platform_account_list_for_actor(actor=actor), public_id=public_id)


def platform_account_pending_for_creator(*, actor: Any) -> QuerySet[PlatformAccount]:
    """The requests waiting for the actor's decision as a creator (none for anyone else)."""
    scope = scope_for(actor)
    if scope.creator_id is None:
        return PlatformAccount.objects.none()
    return (
        PlatformAccount.objects.filter(creator_id=scope.creator_id, status=PlatformAccount.Status.PENDING)
        .select_related("requested_by_agency")
        .order_by("created_at")
    )
