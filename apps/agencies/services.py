"""Writes for agencies, memberships and representation spans."""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import available_timezones

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from apps.agencies.models import Agency, Membership, Representation
from apps.agencies.time import agency_today
from apps.common.exceptions import ApplicationError
from apps.common.money import is_known_currency
from apps.common.tenancy import forget_scope, require_agency_role

Role = Membership.Role


def _validate_agency_fields(*, time_zone: str | None, default_currency: str | None) -> None:
    if time_zone is not None and time_zone not in available_timezones():
        raise ApplicationError(
            f"{time_zone!r} is not an IANA time zone such as Asia/Shanghai.", code="invalid_time_zone"
        )
    if default_currency is not None and not is_known_currency(default_currency):
        raise ApplicationError(
            f"{default_currency!r} is not a known ISO 4217 currency.", code="invalid_currency"
        )


@transaction.atomic
def agency_create(
    *, owner: Any, name: str, legal_name: str, time_zone: str = "Asia/Shanghai", default_currency: str = "CNY"
) -> Agency:
    """Create an agency with `owner` as its first owner."""
    _validate_agency_fields(time_zone=time_zone, default_currency=default_currency)
    agency = Agency.objects.create(
        name=name, legal_name=legal_name, time_zone=time_zone, default_currency=default_currency
    )
    Membership.objects.create(agency=agency, user=owner, role=Role.OWNER)
    forget_scope(owner)
    return agency


@transaction.atomic
def agency_update(*, agency: Agency, actor: Any, **changes: Any) -> Agency:
    """Only owners change an agency's identity, time zone and currency."""
    require_agency_role(actor, agency, [Role.OWNER])
    _validate_agency_fields(
        time_zone=changes.get("time_zone"), default_currency=changes.get("default_currency")
    )
    agency = Agency.objects.select_for_update(no_key=True).get(pk=agency.pk)
    for field in ("name", "legal_name", "time_zone", "default_currency"):
        if field in changes:
            setattr(agency, field, changes[field])
    agency.save()
    return agency


@transaction.atomic
def membership_set(*, agency: Agency, user: Any, role: str, actor: Any | None = None) -> Membership:
    """Give `user` a role in `agency` (owners only; `actor=None` is the system, e.g. the seed)."""
    if actor is not None:
        require_agency_role(actor, agency, [Role.OWNER])
    if role not in Role.values:
        raise ApplicationError(
            f"{role!r} is not a role; use one of {', '.join(Role.values)}.", code="invalid_role"
        )
    membership, _ = Membership.objects.update_or_create(
        agency=agency, user=user, defaults={"role": role, "is_active": True}
    )
    forget_scope(user)
    return membership


@transaction.atomic
def representation_open(*, agency: Agency, creator: Any, started_on: datetime.date) -> Representation:
    """Start (or keep) an open representation span; idempotent for an already open span."""
    existing = Representation.objects.filter(agency=agency, creator=creator, ended_on__isnull=True).first()
    if existing is not None:
        return existing
    try:
        # A savepoint: two activations at once both pass the check above; the partial unique
        # constraint lets one insert, and the other takes the row it made.
        with transaction.atomic():
            return Representation.objects.create(agency=agency, creator=creator, started_on=started_on)
    except IntegrityError:
        return Representation.objects.get(agency=agency, creator=creator, ended_on__isnull=True)


@transaction.atomic
def representation_close(*, agency: Agency, creator: Any, ended_on: datetime.date) -> Representation | None:
    """End the open representation span (contracts call this when the last active version ends); idempotent."""
    span = (
        Representation.objects.select_for_update(no_key=True)
        .filter(agency=agency, creator=creator, ended_on__isnull=True)
        .first()
    )
    if span is None:
        return None
    span.ended_on = max(ended_on, span.started_on)
    span.save(update_fields=["ended_on"])
    return span


@transaction.atomic
def representation_end(*, agency: Agency, creator: Any, actor: Any) -> Representation:
    """An owner or manager ends the agency's open representation of a creator today (the agency's
    calendar): from tomorrow no statement row routes to the creator through this agency.

    Refused while a contract with the creator is in force: the contract says the agency represents
    them, and its end closes the span itself (contract_version_end)."""
    # Contracts are above agencies (they open and close these spans); this is the one read of
    # them from here, so the import stays inside the function.
    from apps.contracts.selectors import contract_versions_in_force_many

    require_agency_role(actor, agency, [Role.OWNER, Role.MANAGER])
    in_force = contract_versions_in_force_many(agency_id=agency.pk, creator_ids=[creator.pk]).get(creator.pk)
    if in_force:
        version = in_force[-1]
        raise ApplicationError(
            _(
                "A contract with this creator is in force until %(date)s (%(title)s): the "
                "representation ends with it."
            )
            % {"date": version.end_date.isoformat(), "title": version.contract.title},
            code="representation_under_contract",
        ).with_status(409)
    span = representation_close(agency=agency, creator=creator, ended_on=agency_today(agency))
    if span is None:
        raise ApplicationError(
            _("%(agency)s does not represent this creator now.") % {"agency": agency.name},
            code="representation_not_open",
        ).with_status(409)
    return span
