"""Income services: the exceptions queue's actions, the set-based status marks and the lock
that keeps them and recognition apart; exchange rates (fx_rate_record), whose arrival sends the
lines that waited for one back to recognition.

The import pipeline lives in apps/income/pipeline.py; recognition (matched lines → splits →
ledger) in apps/recognition/, which marks a line recognised by writing its allocation: a
recognised line is never updated here.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.agencies.models import Agency, Membership, Representation
from apps.agencies.time import agency_today, agency_zone
from apps.common.exceptions import ApplicationError, PermissionDenied
from apps.common.money import is_known_currency
from apps.common.pgarrays import int_array
from apps.common.tenancy import require_agency_role
from apps.common.validators import EARLIEST_DATE
from apps.creators.models import Creator
from apps.income.hooks import recognition_enqueuer
from apps.income.models import FxRate, IncomeLine

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
    """Settle an exception by hand: assign the line to a creator (→ matched, and the agency's
    recognition enqueued after commit) or dismiss it as not ours, with a reason (→ dismissed).
    Invariant: a recognised line is never touched."""
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
    if creator is not None and line.exception_reason == Reason.REFUND_WAITING:
        # Assigned, it would be split as income of its own, not as the refund of its original
        # (which reverses the original's split); it is matched when the original arrives.
        raise ApplicationError(
            _("This refund waits for the line it refunds; it can be dismissed, not assigned."),
            code="refund_waiting",
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
    enqueue = recognition_enqueuer()
    if line.status == Status.MATCHED and enqueue is not None:
        # Recognised right away, not at the next periodic sweep: the person who settled it is
        # looking at the line. After commit (the worker must see the line matched); a broker that
        # is down loses only this nudge (robust): the sweep still finds the line in its queue.
        transaction.on_commit(partial(enqueue, agency_id=line.agency_id), robust=True)
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


def income_recognition_queue_remove(*, line_ids: Iterable[int]) -> int:
    """Take settled lines out of the recognition queue (recognition calls it for the lines it
    allocated or sent to the exception queue); returns how many left it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM income_recognitionqueue WHERE line_id = ANY(%s::bigint[])", [int_array(line_ids)]
        )
        return cursor.rowcount


# --- exchange rates -----------------------------------------------------------------------------

# Roles that may record an agency's exchange rates: conversions are money.
FX_ROLES = (Membership.Role.OWNER, Membership.Role.FINANCE)
FX_RATE_DECIMALS = 12  # FxRate.rate: DecimalField(max_digits=24, decimal_places=12)
FX_RATE_WHOLE_DIGITS = 12
# ASCII digits only (as apps.common.money): a rate typed in another script is refused, not read.
_RATE = re.compile(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?$", re.ASCII)
# A reference rate serves every agency: its day must have begun somewhere, so "today" is the
# first zone's (UTC+14) today.
_EARLIEST_ZONE = "Pacific/Kiritimati"


@dataclass(frozen=True)
class FxRateRecorded:
    rate: FxRate
    requeued: int  # lines that waited for a rate and went back to recognition


def _fx_error(message: str, *, code: str, field: str) -> ApplicationError:
    # "field" for pages (the form shows it by its field), "errors" for the API's problem document.
    return ApplicationError(message, code=code, extra={"field": field, "errors": {field: [message]}})


def _fx_currency(value: Any, *, field: str) -> str:
    code = str(value or "").strip().upper()
    if not is_known_currency(code):
        raise _fx_error(
            _("%(code)s is not a currency Fenrun knows: write its ISO 4217 code, such as USD or CNY.")
            % {"code": repr(str(value or "")[:12])},
            code="invalid_currency",
            field=field,
        )
    return code


def _fx_rate_value(value: Any) -> Decimal:
    text = format(value, "f") if isinstance(value, Decimal) else str(value if value is not None else "")
    match = _RATE.fullmatch(text.strip())
    if match is None or not (match.group(2) or match.group(3)):
        raise _fx_error(
            _("%(value)s is not a number: write the rate as a decimal such as 7.1234.")
            % {"value": repr(text[:24])},
            code="invalid_rate",
            field="rate",
        )
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    if sign == "-" or not (whole + fraction).strip("0"):
        raise _fx_error(
            _("A rate must be more than zero: 1 unit of the base currency buys how many of the quote."),
            code="rate_not_positive",
            field="rate",
        )
    if len(fraction) > FX_RATE_DECIMALS:
        raise _fx_error(
            _("A rate has at most %(places)d decimal places.") % {"places": FX_RATE_DECIMALS},
            code="rate_too_precise",
            field="rate",
        )
    if len(whole.lstrip("0")) > FX_RATE_WHOLE_DIGITS:
        raise _fx_error(
            _("A rate has at most %(digits)d digits before the decimal point.")
            % {"digits": FX_RATE_WHOLE_DIGITS},
            code="rate_too_large",
            field="rate",
        )
    return Decimal(f"{whole or '0'}.{fraction or '0'}")


def _fx_date(value: Any, *, agency: Agency | None) -> datetime.date:
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise _fx_error(_("Give the rate's date (YYYY-MM-DD)."), code="invalid_date", field="date")
    today = agency_today(agency if agency is not None else _EARLIEST_ZONE)
    if value > today:
        raise _fx_error(
            _("A rate cannot be recorded for a future day (%(date)s is after today, %(today)s).")
            % {"date": value.isoformat(), "today": today.isoformat()},
            code="date_in_future",
            field="date",
        )
    if value < EARLIEST_DATE:
        raise _fx_error(
            _("Choose a date on or after %(earliest)s.") % {"earliest": EARLIEST_DATE.isoformat()},
            code="date_out_of_range",
            field="date",
        )
    return value


def _fx_source(value: Any) -> str:
    text = str(value or "").strip()
    if not text:
        raise _fx_error(
            _("Say who published the rate, e.g. PBOC central parity."), code="source_required", field="source"
        )
    limit = FxRate._meta.get_field("source").max_length or 64
    if len(text) > limit:
        raise _fx_error(
            _("The source has at most %(limit)d characters.") % {"limit": limit},
            code="source_too_long",
            field="source",
        )
    return text


def _fx_may_record(actor: Any, agency: Agency | None) -> None:
    if agency is not None:
        require_agency_role(actor, agency, FX_ROLES)
    elif not (getattr(actor, "is_staff", False) and getattr(actor, "is_active", False)):
        # A reference rate converts every agency's lines: staff only (Django admin).
        raise PermissionDenied(_("Only Fenrun staff record reference rates; record your agency's own."))


@transaction.atomic
def fx_rate_record(
    *, agency: Agency | None, actor: Any, base: Any, quote: Any, date: Any, rate: Any, source: Any
) -> FxRateRecorded:
    """Record 1 `base` = `rate` `quote` on `date` for `agency` (None: a reference rate, staff only),
    and send the lines that waited for it (exception no_fx_rate, in `base`, on or after `date`)
    back to matched; their recognition is enqueued after commit. A rate is never changed: the same
    (agency, pair, day, source) twice is a 409."""
    _fx_may_record(actor, agency)
    base_code = _fx_currency(base, field="base")
    quote_code = _fx_currency(quote, field="quote")
    if base_code == quote_code:
        raise _fx_error(
            _("The base and quote currencies must differ (both are %(code)s).") % {"code": base_code},
            code="same_currency",
            field="quote",
        )
    value = _fx_rate_value(rate)
    day = _fx_date(date, agency=agency)
    source_text = _fx_source(source)
    duplicate = _(
        "A rate of %(base)s/%(quote)s on %(date)s from %(source)s is already recorded; a rate is never"
        " changed (lines may have been converted at it): record another source or day."
    ) % {"base": base_code, "quote": quote_code, "date": day.isoformat(), "source": source_text}
    key = {"agency": agency, "base": base_code, "quote": quote_code, "date": day, "source": source_text}
    if FxRate.objects.filter(**key).exists():
        raise ApplicationError(duplicate, code="fx_rate_exists").with_status(409)
    try:
        with transaction.atomic():  # a savepoint: a racing twin's insert leaves this transaction usable
            fx_rate = FxRate.objects.create(**key, rate=value, recorded_by=actor)
    except IntegrityError:
        raise ApplicationError(duplicate, code="fx_rate_exists").with_status(409) from None
    return FxRateRecorded(rate=fx_rate, requeued=_fx_requeue_waiting(fx_rate))


def _fx_requeue_waiting(fx_rate: FxRate) -> int:
    """The lines that waited for a rate of this base currency, on or after its day, back to
    matched; each agency's recognition enqueued after commit. The batch looks the rate up again
    (the contract's currency, the agency's own rates first): a line it still cannot convert goes
    back to the queue with the same reason."""
    waiting = IncomeLine.objects.filter(
        status=Status.EXCEPTION,
        exception_reason=Reason.NO_FX_RATE,
        currency=fx_rate.base,
        creator__isnull=False,
    )
    agencies = Agency.objects.filter(Exists(waiting.filter(agency=OuterRef("pk"))))
    if fx_rate.agency_id is not None:
        agencies = agencies.filter(pk=fx_rate.agency_id)
    enqueue = recognition_enqueuer()
    total = 0
    # By pk: the recognition locks are taken in one order (a reference rate touches many agencies).
    for agency in agencies.order_by("pk").only("pk", "time_zone"):
        # Shared, as a hand resolution: a batch running now finishes first (and may queue these
        # lines before it could see this rate), then they are marked here; a batch after this waits.
        income_recognition_lock(agency.pk, shared=True)
        day_begins = datetime.datetime.combine(fx_rate.date, datetime.time(), tzinfo=agency_zone(agency))
        count = income_line_mark(
            lines_qs_or_ids=waiting.filter(agency_id=agency.pk, occurred_at__gte=day_begins),
            status=Status.MATCHED,
        )
        if count and enqueue is not None:
            # Without an enqueuer (recognition not installed) the beat finds the matched lines.
            transaction.on_commit(partial(enqueue, agency_id=agency.pk), robust=True)
        total += count
    return total
