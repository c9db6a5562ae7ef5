"""Deals fixtures: deals through the real services; income lines as the statement importer leaves them."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

from apps.deals.models import BrandDeal
from apps.deals.services import deal_create
from apps.income.models import IncomeLine

DUE = datetime.date(2027, 1, 15)  # in the future, inside the contracts' test term (2026-2027)
_external_ids = itertools.count(1)


def deal(world: Any, **fields: Any) -> BrandDeal:
    values: dict[str, Any] = {
        "actor": world.manager_a,
        "agency": world.agency_a,
        "creator": world.creator_a,
        "brand": "Tea Co",
        "campaign": "Spring tea",
        "platform": "douyin",
        "fee_minor": 10_000_00,
        "currency": "CNY",
        "due_on": DUE,
    }
    values.update(fields)
    return deal_create(**values)


def line(agency: Any, creator: Any = None, **fields: Any) -> IncomeLine:
    """An `imported` brand-deal line, as a statement import chunk leaves it before reconciliation.

    The import pipeline is income's; these tests exercise what deals does with its lines.
    """
    values: dict[str, Any] = {
        "platform": "douyin",
        "external_id": f"DL-{next(_external_ids)}",
        "account_id": "dy_a",
        "source": "brand_deal",
        "gross_minor": 10_000_00,
        "currency": "CNY",
        "occurred_at": datetime.datetime(2027, 1, 10, 10, tzinfo=datetime.UTC),
        "status": IncomeLine.Status.IMPORTED,
    }
    values.update(fields)
    return IncomeLine.objects.create(agency=agency, creator=creator, **values)


def exception_line(agency: Any, creator: Any = None, **fields: Any) -> IncomeLine:
    fields.setdefault("status", IncomeLine.Status.EXCEPTION)
    fields.setdefault("exception_reason", IncomeLine.ExceptionReason.UNMATCHED_DEAL)
    return line(agency, creator, **fields)
