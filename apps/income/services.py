"""Income services: the exceptions queue's actions, the set-based status marks and the lock
that keeps them and recognition apart.

The import pipeline lives in apps/income/pipeline.py; recognition (matched lines → splits →
ledger) in apps/recognition/, which marks a line recognised by writing its allocation: a
recognised line is never updated here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.agencies.models import Membership, Representation
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import require_agency_role
from apps.creators.models import Creator
from apps.income.models import IncomeLine

Status = IncomeLine.Status
Reason = IncomeLine.ExceptionReason

# Roles that may act on the exceptions queue and upload statements.
INCOME_ROLES = (Membership.Role.OWNER, Membership.Role.MANAGER, Membership.Role.FINANCE)
# A line dismissed by a person is never re-marked by a batch; nor is a recognised one (it has an
# allocation, see _unrecognised).
_FINAL = (Status.RECOGNISED, Status.DISMISSED)
_LOCK_NAMESPACE = 0x1C0E  # pg_advisory_xact_lock(namespace, agency id): one recogniser per agency


def income_recognition_lock(agency_id: int, *, shared: bool = False) -> None:
    """Hold the agency's recognition lock until the transaction ends (re-entrant).

    Recognition reads matched lines without row locks (a row lock writes every line once more)
    and holds the lock exclusively; whatever changes a matched line or what recognition reads of
    it (a resolution here, a deal's approved expenses) takes it first, so it and a recognition
    batch never interleave. `shared`: for changes that may run side by side with each other
    (two people settling queued lines), though never beside a recognition batch."""
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [_LOCK_NAMESPACE, agency_id])


def _unrecognised(lines: QuerySet[IncomeLine]) -> QuerySet[IncomeLine]:
    # The recognition app's allocation is the line's recognised state (its reverse one-to-one
    # `allocation`): read here through the ORM relation, never written.
    return lines.filter(allocation__isnull=True)


@transaction.atomic
def income_line_resolve(
    *, line: IncomeLine, actor: Any, creator: Creator | None = None, dismiss_reason: str | None = None
) -> IncomeLine:
    """Settle an exception by hand: assign the line to a creator (→ matched) or dismiss it as
    not ours, with a reason (→ dismissed). Invariant: a recognised line is never touched."""
    income_recognition_lock(line.agency_id, shared=True)
    # of=("self",): the line is what this settles; locking the joined agency row too made every
    # other settlement and deal edit of the agency wait for this one.
    line = (
        IncomeLine.objects.select_for_update(no_key=True, of=("self",))
        .select_related("agency")
        .get(pk=line.pk)
    )
    require_agency_role(actor, line.agency, INCOME_ROLES)
    if line.status in _FINAL or not _unrecognised(IncomeLine.objects.filter(pk=line.pk)).exists():
        raise ApplicationError(
            f"This line is already {line.state_display.lower()}; it cannot be changed.",
            code="income_line_final",
        )
    if (creator is None) == (dismiss_reason is None):
        raise ApplicationError(
            "Either assign the line to a creator or dismiss it with a reason.", code="invalid_resolution"
        )
    if creator is not None:
        represented = Representation.objects.filter(agency=line.agency, creator=creator).exists()
        if not represented:
            # Tenancy: a creator this agency never represented is "not found" for it.
            raise ApplicationError(
                "This agency does not represent that creator.", code="creator_not_represented"
            )
        line.creator = creator
        line.status = Status.MATCHED
        line.exception_reason = ""
        line.exception_detail = ""
    else:
        assert dismiss_reason is not None
        if not dismiss_reason.strip():
            raise ApplicationError("Say why the line is not ours.", code="dismiss_needs_reason")
        line.status = Status.DISMISSED
        line.dismiss_reason = dismiss_reason.strip()
    line.resolved_by = actor
    line.save(
        update_fields=[
            "creator",
            "status",
            "exception_reason",
            "exception_detail",
            "dismiss_reason",
            "resolved_by",
            "updated_at",
        ]
    )
    return line


def income_line_mark(
    *,
    lines_qs_or_ids: QuerySet[IncomeLine] | Iterable[int],
    status: str,
    exception_reason: str | None = None,
    detail: str = "",
) -> int:
    """Set the status of many lines in one UPDATE (reconciliation's outcome); returns how many.

    Recognised and dismissed lines are left alone, so a late or repeated batch cannot undo them.
    Matched needs a creator on the line (a database constraint says so too).
    """
    if status not in (Status.IMPORTED, Status.MATCHED, Status.EXCEPTION):
        raise ApplicationError(
            f"Lines can be marked imported, matched or exception, not {status!r}.", code="invalid_status"
        )
    if status == Status.EXCEPTION and exception_reason not in Reason.values:
        raise ApplicationError(
            "An exception needs one of the known reasons.", code="invalid_exception_reason"
        )
    if status != Status.EXCEPTION and exception_reason:
        raise ApplicationError("Only an exception has a reason.", code="invalid_exception_reason")
    if isinstance(lines_qs_or_ids, QuerySet):
        lines = lines_qs_or_ids
    else:
        lines = IncomeLine.objects.filter(pk__in=list(lines_qs_or_ids))
    return _unrecognised(lines.exclude(status__in=_FINAL)).update(
        status=status,
        exception_reason=exception_reason or "",
        exception_detail=detail if status == Status.EXCEPTION else "",
        updated_at=timezone.now(),
    )
