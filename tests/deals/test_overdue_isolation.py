"""The overdue sweep flags every agency's deals, whatever one agency's stored time zone (issue 11:
one agency's failure must not stop the others)."""

from __future__ import annotations

import datetime
import logging

import pytest

from apps.agencies.models import Agency
from apps.deals.models import BrandDeal
from apps.deals.tasks import flag_overdue
from tests.deals.conftest import deal

pytestmark = pytest.mark.django_db


def test_an_agency_whose_time_zone_does_not_load_stops_no_other(world, caplog) -> None:
    later = datetime.date.today() + datetime.timedelta(days=30)
    stuck = deal(world, due_on=later)
    flagged = deal(
        world,
        actor=world.owner_b,
        agency=world.agency_b,
        creator=world.creator_b,
        platform="youtube",
        due_on=later,
    )
    # Time passes: both are past due, nothing paid.
    BrandDeal.objects.filter(pk__in=[stuck.pk, flagged.pk]).update(due_on=datetime.date(2026, 6, 1))
    # Stored before the agencies service checked zones (or missing from this worker's tz database).
    Agency.objects.filter(pk=world.agency_a.pk).update(time_zone="Mars/Olympus")

    with caplog.at_level(logging.ERROR):
        assert flag_overdue.apply().get() == 1

    statuses = dict(BrandDeal.objects.values_list("pk", "status"))
    assert statuses[flagged.pk] == BrandDeal.Status.OVERDUE
    assert statuses[stuck.pk] != BrandDeal.Status.OVERDUE
    assert any("Mars/Olympus" in record.getMessage() for record in caplog.records)
