"""Reads of creators and their platform accounts, always through the caller's scope."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Prefetch, QuerySet

from apps.common.tenancy import get_scoped_or_404, scoped
from apps.creators.models import Creator, PlatformAccount


def creator_list_for_actor(*, actor: Any) -> QuerySet[Creator]:
    """The actor's own creator profile and the creators their agencies represent or represented."""
    visible = scoped(Creator.objects.all(), actor, creator_field="pk").values("pk")
    return (
        Creator.objects.filter(pk__in=visible)
        .prefetch_related(
            Prefetch("platform_accounts", queryset=PlatformAccount.objects.order_by("platform")),
            "representations",
        )
        .order_by("display_name")
    )


def creator_get_for_actor(*, actor: Any, public_id: UUID | str) -> Creator:
    return get_scoped_or_404(creator_list_for_actor(actor=actor), public_id=public_id)


def platform_account_list_for_actor(*, actor: Any) -> QuerySet[PlatformAccount]:
    visible = creator_list_for_actor(actor=actor).values("pk")
    return PlatformAccount.objects.filter(creator__in=visible).select_related("creator")


def platform_account_get_for_actor(*, actor: Any, public_id: UUID | str) -> PlatformAccount:
    return get_scoped_or_404(platform_account_list_for_actor(actor=actor), public_id=public_id)
