"""Who may build which bundle: a creator, for each agency that represents or represented them.

A bundle is the creator's own evidence about an agency's ledger, so only the creator builds it
(and downloads it: a build and its file are the creator's alone);
an agency's members (and staff) check their ledger with `manage.py verify_ledger` and the
admin's audit pages instead, and get 404 here like anyone without a creator profile.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from apps.agencies.models import Agency
from apps.agencies.selectors import representation_list_for_actor
from apps.common.exceptions import NotFound
from apps.common.tenancy import scope_for
from apps.creators.models import Creator
from apps.evidence.models import EvidenceBundleBuild


def evidence_creator_for_actor(*, actor: Any) -> Creator:
    """The actor's own creator profile; NotFound when they have none."""
    creator_id = scope_for(actor).creator_id
    creator = Creator.objects.filter(pk=creator_id).first() if creator_id is not None else None
    if creator is None:
        raise NotFound()
    return creator


@dataclass(frozen=True)
class EvidenceAgency:
    agency: Agency
    since: datetime.date  # the first representation's start
    until: datetime.date | None  # the last one's end, None while it is open


def evidence_agency_rows(*, creator: Creator) -> list[EvidenceAgency]:
    """The agencies that represent or represented the creator, by name: one query."""
    spans: dict[int, list[Any]] = {}
    for representation in representation_list_for_actor(actor=creator.user).filter(creator=creator):
        span = spans.setdefault(
            representation.agency.pk, [representation.agency, representation.started_on, None, False]
        )
        span[1] = min(span[1], representation.started_on)
        if representation.ended_on is None:
            span[3] = True
        elif span[2] is None or representation.ended_on > span[2]:
            span[2] = representation.ended_on
    rows = [
        EvidenceAgency(agency, since, None if is_open else until)
        for agency, since, until, is_open in spans.values()
    ]
    return sorted(rows, key=lambda row: (row.agency.name, row.agency.pk))


def evidence_agency_list(*, creator: Creator) -> list[Agency]:
    return [row.agency for row in evidence_agency_rows(creator=creator)]


def evidence_agency_get_for_actor(*, actor: Any, public_id: UUID | str) -> tuple[Creator, Agency]:
    """(the actor's creator profile, one of its agencies) or NotFound."""
    creator = evidence_creator_for_actor(actor=actor)
    for agency in evidence_agency_list(creator=creator):
        if str(agency.public_id) == str(public_id):
            return creator, agency
    raise NotFound()


def evidence_build_get_for_actor(*, actor: Any, public_id: UUID | str) -> EvidenceBundleBuild:
    """One of the actor's own bundle builds (a creator's, about themself); NotFound for anyone
    else's: the agency's members and staff too, as for building one."""
    creator_id = scope_for(actor).creator_id
    if creator_id is None:
        raise NotFound()
    try:
        return EvidenceBundleBuild.objects.select_related("agency").get(
            creator_id=creator_id, public_id=UUID(str(public_id))
        )
    except (ValueError, EvidenceBundleBuild.DoesNotExist):
        raise NotFound() from None


def evidence_latest_builds(*, creator: Creator) -> dict[int, EvidenceBundleBuild]:
    """{agency id: the creator's latest build for that agency}: one query."""
    builds = (
        EvidenceBundleBuild.objects.filter(creator=creator)
        .order_by("agency_id", "-requested_at", "-pk")
        .distinct("agency_id")
    )
    return {build.agency_id: build for build in builds}
