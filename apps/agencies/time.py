"""An agency's calendar: the one place that turns a moment into the agency's local day or month.

Due dates, ledger effective dates, closed periods and the days a statement's naive dates fall on
are all days of the agency's time zone (Agency.time_zone), never the server's or UTC. Every app
asks here instead of building a ZoneInfo of its own, so the rule cannot drift between them.
Functions take an agency (anything with a `time_zone`), a zone name or a ZoneInfo: callers that
work zone by zone (one UPDATE per zone) need not load an agency.
"""

from __future__ import annotations

import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from django.utils import timezone


class _HasTimeZone(Protocol):
    time_zone: str


AgencyOrZone = _HasTimeZone | str | ZoneInfo


def agency_zone(agency_or_zone: AgencyOrZone) -> ZoneInfo:
    """The agency's ZoneInfo. A name the tz database lacks raises ZoneInfoNotFoundError (or
    ValueError for a malformed one): agencies_create/update validate it, older rows may not be."""
    if isinstance(agency_or_zone, ZoneInfo):
        return agency_or_zone
    name = agency_or_zone if isinstance(agency_or_zone, str) else agency_or_zone.time_zone
    return ZoneInfo(name)  # ZoneInfo caches instances by name: no cache of our own


def agency_local_datetime(agency_or_zone: AgencyOrZone, moment: datetime.datetime) -> datetime.datetime:
    """`moment` on the agency's wall clock (an aware datetime)."""
    return moment.astimezone(agency_zone(agency_or_zone))


def agency_local_date(agency_or_zone: AgencyOrZone, moment: datetime.datetime) -> datetime.date:
    """The calendar day of `moment` in the agency's time zone: the day an entry counts for."""
    return moment.astimezone(agency_zone(agency_or_zone)).date()


def agency_today(agency_or_zone: AgencyOrZone) -> datetime.date:
    """Today in the agency's time zone (a due date is a day of the agency's calendar)."""
    return agency_local_date(agency_or_zone, timezone.now())


def agency_month(agency_or_zone: AgencyOrZone, moment: datetime.datetime) -> str:
    """The agency-local month of `moment` as a period key, "2026-11" (ledger periods' form)."""
    day = agency_local_date(agency_or_zone, moment)
    return f"{day.year:04d}-{day.month:02d}"
