"""Reads of agencies, members and rosters, always through the caller's scope."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from apps.agencies.models import Agency, Membership, Representation
from apps.common.tenancy import get_scoped_or_404, scope_for, scoped


def agency_list_for_actor(*, actor: Any) -> QuerySet[Agency]:
    return Agency.objects.filter(pk__in=scope_for(actor).agency_ids).order_by("name")


def agency_get_for_actor(*, actor: Any, public_id: UUID | str) -> Agency:
    return get_scoped_or_404(agency_list_for_actor(actor=actor), public_id=public_id)


def membership_list_for_actor(*, actor: Any, agency: Agency) -> QuerySet[Membership]:
    return (
        scoped(Membership.objects.all(), actor, agency_field="agency")
        .filter(agency=agency)
        .select_related("user")
        .order_by("role", "user__email")
    )


def representation_list_for_actor(*, actor: Any) -> QuerySet[Representation]:
    return scoped(
        Representation.objects.select_related("agency", "creator"),
        actor,
        agency_field="agency",
        creator_field="creator",
    ).order_by("-started_on")
