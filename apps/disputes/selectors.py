"""Reads of disputes, always through the caller's scope (apps.common.tenancy).

A dispute is between one creator and one agency: the agency's active members see it (every role,
viewers too), and so does the creator it belongs to. Nobody else does, not even another agency
that also represents the creator: it answers 404, like a row that does not exist.

Overdue is a fact of the agency's calendar: an open dispute is overdue once the agency's today
(apps/agencies/time.py, the agency's time zone) is past its `answer_due` day.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from apps.agencies.time import agency_local_date, agency_today
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import get_scoped_or_404, scope_for
from apps.disputes.models import Dispute, DisputeAttachment, DisputeMessage

# Who answers, resolves and rejects for the agency. Viewers read the thread only.
DISPUTE_RESPONDERS = ("owner", "manager", "finance")
# Who may resolve with money: a correction changes what the agency owes, like a statement does
# (apps/statements/selectors.py STATEMENT_PUBLISHERS).
DISPUTE_CORRECTORS = ("owner", "finance")


def _visible(actor: Any) -> Q | None:
    scope = scope_for(actor)
    if scope.user_id is None:
        return None
    condition = Q(agency_id__in=scope.agency_ids)
    if scope.creator_id is not None:
        condition |= Q(creator_id=scope.creator_id)
    return condition


def _overdue_condition(disputes: QuerySet[Dispute]) -> Q:
    """Open and past the due day, each agency on its own calendar: one Q per time zone among the
    agencies of `disputes` (a handful), not one per agency or per row."""
    zones = disputes.order_by().values_list("agency__time_zone", flat=True).distinct()
    condition = Q(pk__in=[])
    for zone in zones:
        condition |= Q(agency__time_zone=zone, answer_due__lt=agency_today(zone))
    return Q(state=Dispute.State.OPEN) & condition


def dispute_list_for_actor(
    *,
    actor: Any,
    state: str | None = None,
    overdue: bool | None = None,
    agency: Any | None = None,
    own_only: bool = False,
) -> QuerySet[Dispute]:
    """Disputes the actor may see, most recently active first: their agencies' and their own.

    `own_only`: only the actor's own disputes as a creator (the creator's "My disputes").
    """
    condition = _visible(actor)
    if condition is None:
        return Dispute.objects.none()
    if own_only:
        creator_id = scope_for(actor).creator_id
        if creator_id is None:
            return Dispute.objects.none()
        condition = Q(creator_id=creator_id)
    disputes = Dispute.objects.filter(condition)
    if state:
        if state not in Dispute.State.values:
            raise ApplicationError(
                f"{state!r} is not a dispute state ({', '.join(Dispute.State.values)}).", code="invalid_state"
            )
        disputes = disputes.filter(state=state)
    if agency is not None:
        disputes = disputes.filter(agency=agency)
    if overdue is not None:
        overdue_condition = _overdue_condition(disputes)
        disputes = disputes.filter(overdue_condition) if overdue else disputes.exclude(overdue_condition)
    return disputes.select_related(
        "agency", "creator", "income_line", "statement", "correction_entry"
    ).order_by("-last_message_at", "-id")


def dispute_get_for_actor(*, actor: Any, public_id: UUID | str) -> Dispute:
    return get_scoped_or_404(dispute_list_for_actor(actor=actor), public_id=public_id)


def dispute_thread(*, dispute: Dispute) -> list[DisputeMessage]:
    """The whole thread, oldest first, with authors and files: three queries whatever its length."""
    return list(
        DisputeMessage.objects.filter(dispute=dispute)
        .select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=DisputeAttachment.objects.order_by("id")))
        .order_by("created_at", "id")
    )


def dispute_attachment_get_for_actor(*, actor: Any, public_id: UUID | str) -> DisputeAttachment:
    """A file of a dispute the actor may see (404 otherwise)."""
    condition = _visible(actor)
    if condition is None:
        return get_scoped_or_404(DisputeAttachment.objects.none(), public_id=public_id)
    attachments = DisputeAttachment.objects.filter(
        dispute__in=Dispute.objects.filter(condition).values("pk")
    ).select_related("dispute")
    return get_scoped_or_404(attachments, public_id=public_id)


def dispute_is_overdue(dispute: Dispute, *, today: datetime.date | None = None) -> bool:
    """Whether the agency is late with its answer, on the agency's calendar."""
    if dispute.state != Dispute.State.OPEN:
        return False
    return (today or agency_today(dispute.agency)) > dispute.answer_due


def dispute_rows(disputes: Iterable[Dispute]) -> list[Dispute]:
    """The disputes with `is_overdue` and `about` set on each, for lists: no query per row (the
    agency and the subject are joined by dispute_list_for_actor)."""
    rows = list(disputes)
    for dispute in rows:
        dispute.is_overdue = dispute_is_overdue(dispute)  # type: ignore[attr-defined]
        dispute.about = dispute_subject_text(dispute)  # type: ignore[attr-defined]
    return rows


@dataclass(frozen=True)
class DisputeActions:
    """What the actor may do on one dispute: the pages show only these forms."""

    side: str | None  # "creator", "agency" or None
    can_reply: bool
    can_answer: bool
    can_close: bool
    can_correct: bool


def dispute_actions(*, actor: Any, dispute: Dispute) -> DisputeActions:
    scope = scope_for(actor)
    active = dispute.state in Dispute.ACTIVE_STATES
    if scope.creator_id is not None and scope.creator_id == dispute.creator_id:
        return DisputeActions(
            side="creator", can_reply=active, can_answer=False, can_close=False, can_correct=False
        )
    role = scope.agency_roles.get(dispute.agency_id)
    if role is None:
        return DisputeActions(
            side=None, can_reply=False, can_answer=False, can_close=False, can_correct=False
        )
    responder = active and role in DISPUTE_RESPONDERS
    return DisputeActions(
        side="agency",
        can_reply=False,
        can_answer=responder,
        can_close=responder,
        can_correct=responder and role in DISPUTE_CORRECTORS,
    )


def dispute_active_for_line(*, line_id: int) -> Dispute | None:
    """The open or answered dispute about an income line, if any (the line page links to it)."""
    return (
        Dispute.objects.filter(income_line_id=line_id, state__in=Dispute.ACTIVE_STATES)
        .only("public_id")
        .first()
    )


def dispute_subject_text(dispute: Dispute) -> str:
    """What the dispute is about, in the active language: "income line douyin G-10 of 2026-10-12"
    or "statement No. 3 for 2026-10" (the subject is joined by dispute_list_for_actor)."""
    if dispute.statement is not None:
        return _("statement No. %(number)s for %(period)s") % {
            "number": dispute.statement.number,
            "period": dispute.statement.period,
        }
    line = dispute.income_line
    assert line is not None  # a dispute has one subject (database check)
    return _("income line %(platform)s %(external_id)s of %(date)s") % {
        "platform": line.get_platform_display(),
        "external_id": line.external_id,
        "date": agency_local_date(dispute.agency, line.occurred_at).isoformat(),
    }
