"""The exceptions queue's actions and the set-based marks the deals app relies on."""

from __future__ import annotations

import datetime

import pytest

from apps.common.exceptions import ApplicationError, NotFound
from apps.income.models import IncomeLine
from apps.income.selectors import income_line_list_for_actor
from apps.income.services import income_line_mark, income_line_resolve

pytestmark = pytest.mark.django_db

Status = IncomeLine.Status


def _line(agency, **fields) -> IncomeLine:
    values = {
        "platform": "douyin",
        "external_id": f"X-{IncomeLine.objects.count() + 1}",
        "source": "brand_deal",
        "gross_minor": 100_00,
        "currency": "CNY",
        "occurred_at": datetime.datetime(2026, 11, 3, 10, tzinfo=datetime.UTC),
        "status": Status.EXCEPTION,
        "exception_reason": IncomeLine.ExceptionReason.UNKNOWN_ACCOUNT,
    }
    values.update(fields)
    return IncomeLine.objects.create(agency=agency, **values)


def test_assigning_an_unknown_account_line_to_a_creator_matches_it(world) -> None:
    line = _line(world.agency_a)

    resolved = income_line_resolve(line=line, actor=world.manager_a, creator=world.creator_a)

    assert resolved.status == Status.MATCHED
    assert resolved.creator == world.creator_a
    assert resolved.exception_reason == ""


def test_dismissing_needs_a_reason_and_keeps_it(world) -> None:
    line = _line(world.agency_a)
    with pytest.raises(ApplicationError):
        income_line_resolve(line=line, actor=world.finance_a, dismiss_reason="  ")

    resolved = income_line_resolve(line=line, actor=world.finance_a, dismiss_reason="Another MCN's creator")

    assert resolved.status == Status.DISMISSED
    assert resolved.dismiss_reason == "Another MCN's creator"


def test_a_viewer_cannot_resolve_and_another_agency_gets_404(world) -> None:
    line = _line(world.agency_a)
    with pytest.raises(ApplicationError) as refused:
        income_line_resolve(line=line, actor=world.viewer_a, creator=world.creator_a)
    assert refused.value.status == 403
    with pytest.raises(NotFound):
        income_line_resolve(line=line, actor=world.owner_b, creator=world.creator_b)


def test_a_creator_of_another_agency_cannot_be_assigned(world) -> None:
    line = _line(world.agency_a)
    with pytest.raises(ApplicationError, match="does not represent"):
        income_line_resolve(line=line, actor=world.manager_a, creator=world.creator_b)


def test_mark_is_set_based_and_never_touches_recognised_lines(world) -> None:
    open_line = _line(world.agency_a, creator=world.creator_a, status=Status.IMPORTED, exception_reason="")
    done = _line(world.agency_a, creator=world.creator_a, status=Status.RECOGNISED, exception_reason="")

    count = income_line_mark(
        lines_qs_or_ids=[open_line.pk, done.pk],
        status=Status.EXCEPTION,
        exception_reason=IncomeLine.ExceptionReason.PARTIAL,
        detail="paid 50 of 100",
    )

    assert count == 1
    open_line.refresh_from_db()
    done.refresh_from_db()
    assert (open_line.status, open_line.exception_reason, open_line.exception_detail) == (
        Status.EXCEPTION,
        "partial",
        "paid 50 of 100",
    )
    assert done.status == Status.RECOGNISED


def test_an_exception_needs_a_known_reason(world) -> None:
    line = _line(world.agency_a)
    with pytest.raises(ApplicationError):
        income_line_mark(lines_qs_or_ids=[line.pk], status=Status.EXCEPTION)


def test_lines_are_listed_per_tenant_and_creators_see_only_their_own(world) -> None:
    mine = _line(world.agency_a, creator=world.creator_a, status=Status.MATCHED, exception_reason="")
    _line(world.agency_a)
    theirs = _line(world.agency_b)

    assert set(income_line_list_for_actor(actor=world.viewer_a)) == {
        mine,
        *IncomeLine.objects.filter(agency=world.agency_a),
    }
    assert theirs not in income_line_list_for_actor(actor=world.owner_a)
    assert list(income_line_list_for_actor(actor=world.creator_a.user)) == [mine]
    assert list(income_line_list_for_actor(actor=world.owner_a, status="exception")) == [
        line for line in income_line_list_for_actor(actor=world.owner_a) if line.status == "exception"
    ]
