"""The agency's calendar (apps/agencies/time.py): a moment's day and month are the agency's."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from django.utils import timezone

from apps.agencies.models import Agency
from apps.agencies.time import (
    agency_local_date,
    agency_local_datetime,
    agency_month,
    agency_today,
    agency_zone,
)

# 2026-11-30 20:30 UTC is already 1 December in Shanghai (UTC+8), still 30 November in New York.
MOMENT = datetime.datetime(2026, 11, 30, 20, 30, tzinfo=datetime.UTC)


def test_the_day_and_month_are_the_agency_zones_not_utc() -> None:
    shanghai = Agency(name="A", legal_name="A", time_zone="Asia/Shanghai")
    assert agency_local_date(shanghai, MOMENT) == datetime.date(2026, 12, 1)
    assert agency_month(shanghai, MOMENT) == "2026-12"
    assert agency_local_date("America/New_York", MOMENT) == datetime.date(2026, 11, 30)
    assert agency_month(ZoneInfo("America/New_York"), MOMENT) == "2026-11"
    assert agency_local_datetime(shanghai, MOMENT).hour == 4


def test_today_is_the_agencys_today() -> None:
    now = timezone.now()
    assert agency_today("Pacific/Kiritimati") == now.astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    assert agency_today("Pacific/Pago_Pago") == now.astimezone(ZoneInfo("Pacific/Pago_Pago")).date()


def test_a_zone_the_tz_database_lacks_raises_as_zoneinfo_does() -> None:
    # deals_flag_overdue relies on it to skip (and log) the agencies of a zone it cannot load.
    with pytest.raises(ZoneInfoNotFoundError):
        agency_zone("Mars/Olympus_Mons")
