"""Reads about the signed-in person: what their home page and navigation show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.agencies.models import Agency, Membership
from apps.agencies.selectors import agency_list_for_actor
from apps.common.tenancy import scope_for
from apps.creators.models import Creator
from apps.creators.selectors import creator_list_for_actor


@dataclass(frozen=True)
class AgencyDesk:
    agency: Agency
    role: str
    role_label: str
    creators: list[Creator]
    members: list[Membership]


@dataclass(frozen=True)
class Home:
    creator: Creator | None
    creator_agencies: list[Agency]
    desks: list[AgencyDesk]
    is_staff: bool


def home_for_actor(*, actor: Any) -> Home:
    """Everything the home page shows: the creator portal part, one desk per agency, staff links."""
    scope = scope_for(actor)
    creators = list(creator_list_for_actor(actor=actor))
    own = next((c for c in creators if c.pk == scope.creator_id), None)
    # The agencies representing the creator now, from the representations read with the
    # creator (and their agency): no query of their own.
    creator_agencies = sorted(
        {
            r.agency_id: r.agency for r in (own.representations.all() if own else []) if r.ended_on is None
        }.values(),
        key=lambda agency: (agency.name, agency.pk),
    )
    desks = []
    for agency in agency_list_for_actor(actor=actor).prefetch_related("memberships__user"):
        roster = [c for c in creators if any(r.agency_id == agency.pk for r in c.representations.all())]
        role = scope.agency_roles[agency.pk]
        desks.append(
            AgencyDesk(
                agency=agency,
                role=role,
                role_label=str(Membership.Role(role).label),
                creators=roster,
                members=sorted(
                    agency.memberships.all(),
                    key=lambda m: (list(Membership.Role.values).index(m.role), m.user.email),
                ),
            )
        )
    return Home(creator=own, creator_agencies=creator_agencies, desks=desks, is_staff=bool(actor.is_staff))
