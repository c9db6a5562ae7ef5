"""Reads of income, always through the caller's scope (apps.common.tenancy).

An agency's active members see the agency's imports and lines; a creator sees their own lines
(at any agency) but never an import or a line not assigned to them. Others: 404. Exchange rates:
an agency's own to its members, reference rates (no agency) to every signed-in person.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.agencies.models import Agency
from apps.common.exceptions import ApplicationError
from apps.common.outbox import RELAY_GRACE, outbox_latest
from apps.common.pgarrays import int_array
from apps.common.tenancy import get_scoped_or_404, scope_for, scoped
from apps.creators.models import Creator
from apps.income.models import FxRate, IncomeLine, StatementImport

_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


def month_days(month: str) -> tuple[datetime.date, datetime.date]:
    """(first, last day) of "2026-11"; ApplicationError (400) for anything but such a month.
    Years outside 1900–2199 are refused too: no line can fall in them (income lines' bounds),
    and 0000-01 or 9999-12 made dates Python cannot hold (a 500 found by schemathesis)."""
    if not _MONTH.match(month or "") or not 1900 <= int(month[:4]) <= 2199:
        raise ApplicationError(f"{month!r} is not a month such as 2026-11.", code="invalid_month")
    year, number = int(month[:4]), int(month[5:])
    first = datetime.date(year, number, 1)
    following = datetime.date(year + number // 12, number % 12 + 1, 1)
    return first, following - datetime.timedelta(days=1)


def _midnight_after(day: datetime.date, zone: str) -> datetime.datetime:
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), tzinfo=ZoneInfo(zone))


def income_line_list_for_actor(
    *,
    actor: Any,
    status: str | None = None,
    agency: Any | None = None,
    creator: Any | None = None,
    statement_import: StatementImport | None = None,
    month: str | None = None,
    platform: str | None = None,
    source: str | None = None,
    condition: Q | None = None,
) -> QuerySet[IncomeLine]:
    """Lines the actor may see: their agencies' lines, and their own lines as a creator.

    `month` ("2026-11"): the recognised lines that count in that month on statements (their
    ledger day, the allocation's effective_date), so a month's lines add up to its statement;
    lines not split yet have no month. `condition`: a further Q another app supplies through
    income's hooks (a brand deal's lines). Newest first by (occurred_at, id): the order of the
    agency's (agency, occurred_at, id) index, which lists, pages (apps/common/keyset.py) and
    counts (income_line_count_capped) an agency's lines without reading all of them."""
    scope = scope_for(actor)
    if scope.user_id is None:
        return IncomeLine.objects.none()
    visible = Q(agency_id__in=scope.agency_ids)
    if scope.creator_id is not None:
        visible |= Q(creator_id=scope.creator_id)
    lines = IncomeLine.objects.filter(visible)
    if status is not None:
        if status not in IncomeLine.Status.values:
            raise ApplicationError(
                f"{status!r} is not a line status ({', '.join(IncomeLine.Status.values)}).",
                code="invalid_status",
            )
        if status == IncomeLine.Status.RECOGNISED:
            lines = lines.filter(allocation__isnull=False)  # recognised lines have an allocation
        elif status == IncomeLine.Status.MATCHED:
            lines = lines.filter(status=status, allocation__isnull=True)
        else:
            lines = lines.filter(status=status)
    if agency is not None:
        lines = lines.filter(agency=agency)
    if creator is not None:
        lines = lines.filter(creator=creator)
    if statement_import is not None:
        lines = lines.filter(statement_import=statement_import)
    if month is not None:
        first, last = month_days(month)
        lines = lines.filter(allocation__effective_date__gte=first, allocation__effective_date__lte=last)
        if not scope.agency_ids and scope.creator_id is not None:
            # Redundant (an allocation's creator is its line's) but it lets PostgreSQL read the
            # month from the allocations' (creator, effective_date) index instead of every line
            # the creator ever had.
            lines = lines.filter(allocation__creator_id=scope.creator_id)
        elif scope.creator_id is None:
            agencies = (
                [agency] if agency is not None else list(Agency.objects.filter(pk__in=scope.agency_ids))
            )
            # Redundant the same way (an allocation's agency is its line's), and a bound on time:
            # a line's ledger day is never before its own agency-local day (a closed month moves
            # it later, never earlier), so a line of the month occurred before midnight after the
            # month's last day in its agency's zone. The bound lets the (agency, occurred_at, id)
            # index start at the month's end instead of walking back from the newest line.
            lines = lines.filter(
                allocation__agency_id__in=[item.pk for item in agencies],
                occurred_at__lt=max(
                    (_midnight_after(last, item.time_zone) for item in agencies),
                    default=_midnight_after(last, "UTC"),
                ),
            )
    if platform is not None:
        lines = lines.filter(platform=platform)
    if source is not None:
        lines = lines.filter(source=source)
    if condition is not None:
        lines = lines.filter(condition)
    return lines.select_related("agency", "creator", "allocation").order_by("-occurred_at", "-id")


# The most lines the agency's list counts: past it the page says "more than 1,000 lines" (and
# leaves the totals to the reports) instead of counting an agency's million lines on every page.
# Each line counted is a read or two of a random page when the month or a filter needs the line
# or its allocation: at 10,000 a month's count took 250-580 ms at a million lines, at 1,000
# 15-80 ms (bench/agency_pages.py, a loaded machine).
LINE_COUNT_CAP = 1_000


def income_line_count_capped(*, lines: QuerySet[IncomeLine], cap: int = LINE_COUNT_CAP) -> int:
    """How many lines `lines` holds, up to cap + 1 (cap + 1 means "more than cap"): one query
    that reads the first cap + 1 lines in the list's own order and stops, so it costs what
    reading the first cap / 50 pages would, whatever the size of the table. (Unordered, the
    planner sometimes hashed a whole month of allocations to count a thousand of them.)"""
    return lines.values("pk")[: cap + 1].count()


def income_creator_find_for_actor(*, actor: Any, text: str) -> list[Any]:
    """The creators the actor's agencies represent or represented whose public id is `text`, or
    whose display name is `text` (any case): the income list's creator filter. One query; []
    when none (another agency's creator is none)."""
    text = text.strip()
    creators = scoped(Creator.objects.all(), actor, creator_field="pk").only(
        "pk", "public_id", "display_name"
    )
    try:
        condition = Q(public_id=UUID(text))
    except ValueError:
        condition = Q(display_name__iexact=text)
    return list(creators.filter(condition).distinct().order_by("display_name", "pk")[:20])


def income_line_agencies_for_actor(*, actor: Any) -> QuerySet[Agency]:
    """The agencies whose lines the actor may see, by name: their own agencies as a member, and
    as a creator every agency that represents or represented them."""
    scope = scope_for(actor)
    condition = Q(pk__in=scope.agency_ids)
    if scope.creator_id is not None:
        condition |= Q(representations__creator_id=scope.creator_id)
    return Agency.objects.filter(condition).distinct().order_by("name")


def income_line_get_for_actor(*, actor: Any, public_id: UUID | str) -> IncomeLine:
    return get_scoped_or_404(income_line_list_for_actor(actor=actor), public_id=public_id)


def statement_import_list_for_actor(*, actor: Any) -> QuerySet[StatementImport]:
    """Imports of the actor's agencies (creators do not see imports)."""
    return scoped(StatementImport.objects.all(), actor, agency_field="agency").select_related(
        "agency", "created_by"
    )


def statement_import_get_for_actor(*, actor: Any, public_id: UUID | str) -> StatementImport:
    return get_scoped_or_404(statement_import_list_for_actor(actor=actor), public_id=public_id)


# line -> its split explained with its proof, or None: registered by the recognition app (which
# owns allocations and replays the engine); income imports nothing above it.
_line_split: dict[str, Callable[..., dict[str, Any] | None]] = {}


def statement_import_outbox_key(import_id: int) -> str:
    """The outbox key of an import's step messages (apps/income/pipeline.py sends them)."""
    return f"income.import:{import_id}"


def statement_import_waiting_for_broker(*, statement_import: StatementImport) -> bool:
    """Whether the import's next step has been due longer than the relay's grace without the
    broker taking it: the page then says the import is delayed and goes on by itself."""
    if statement_import.is_finished:
        return False
    latest = outbox_latest(key=statement_import_outbox_key(statement_import.pk))
    return (
        latest is not None
        and latest.published_at is None
        and latest.created_at <= timezone.now() - RELAY_GRACE * 3
    )


def register_line_split(reader: Callable[..., dict[str, Any] | None]) -> None:
    _line_split["reader"] = reader


def income_line_split(*, line: IncomeLine, for_creator: bool = True) -> dict[str, Any] | None:
    """A recognised line's split, explanation, breakdown and Merkle proof (None if not
    recognised). `for_creator`: the breakdown says "my share" rather than "the creator's"."""
    reader = _line_split.get("reader")
    return reader(line=line, for_creator=for_creator) if reader is not None else None


def fx_rate_list_for_actor(*, actor: Any, agency: Any | None = None) -> QuerySet[FxRate]:
    """The rates of the actor's agencies (or of `agency`, one of them) and the reference rates,
    newest day first; never another agency's."""
    scope = scope_for(actor)
    if scope.user_id is None:
        return FxRate.objects.none()
    agency_ids = scope.agency_ids if agency is None else scope.agency_ids & {agency.pk}
    rates = FxRate.objects.filter(Q(agency_id__in=agency_ids) | Q(agency__isnull=True))
    return rates.select_related("agency").order_by("-date", "base", "quote", "-pk")


# --- Bulk reads for the app that splits lines ------------------------------------------------------
# Recognition owns allocations and income owns lines, so these are the reads of lines that
# recognition needs, by id, in one query each, as plain tuples: a batch reads 5,000 lines at a
# time, verify_ledger all of them. Whether a line is allocated is recognition's to say: these
# return matched lines whether or not they have been recognised.

PENDING_LINE_COLUMNS = (
    "id",
    "public_id",
    "creator_id",
    "platform",
    "external_id",
    "source",
    "gross_minor",
    "currency",
    "occurred_at",
    "refund_of_id",
)


def income_lines_matched_many(*, agency_id: int, line_ids: Iterable[int]) -> list[tuple[Any, ...]]:
    """The agency's matched lines among `line_ids`, as tuples of PENDING_LINE_COLUMNS."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(PENDING_LINE_COLUMNS)} FROM income_incomeline"  # noqa: S608 (constant names)
            " WHERE id = ANY(%s::bigint[]) AND agency_id = %s AND status = 'matched'",
            [int_array(line_ids), agency_id],
        )
        return cursor.fetchall()


def income_line_ids_matched_in_order(*, agency_id: int, line_ids: Iterable[int]) -> list[int]:
    """The ids of the agency's matched lines among `line_ids`, by (occurred_at, id): the order
    lines are split in. Reads nothing but ids and times."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM income_incomeline WHERE id = ANY(%s::bigint[]) AND agency_id = %s"
            " AND status = 'matched' ORDER BY occurred_at, id",
            [int_array(line_ids), agency_id],
        )
        return [row[0] for row in cursor.fetchall()]


def income_line_facts_many(*, line_ids: Iterable[int]) -> dict[int, tuple[Any, str, str, str, Any]]:
    """{line id: (public_id, platform, external_id, source, occurred_at)}: what a split names of
    its line. A line that does not exist is absent (verification reports it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, public_id, platform, external_id, source, occurred_at FROM income_incomeline"
            " WHERE id = ANY(%s::bigint[])",
            [int_array(line_ids)],
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


def income_agencies_with_queued_lines() -> list[int]:
    """Ids of the agencies with lines in the recognition queue (RecognitionQueue): a read of that
    small table, never of every matched line."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT agency_id FROM income_recognitionqueue ORDER BY agency_id")
        return [row[0] for row in cursor.fetchall()]


def income_lines_queued_for_recognition(*, agency_id: int, limit: int) -> list[int]:
    """Up to `limit` queued lines of the agency, in recognition order (occurred_at, id). Lines of
    an import still queued or running are left to that import's own steps (they are recognised
    there, then leave the queue), so the sweep never races an import."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT l.id FROM income_recognitionqueue q
            JOIN income_incomeline l ON l.id = q.line_id
            LEFT JOIN income_statementimport i ON i.id = l.statement_import_id
            WHERE q.agency_id = %s AND (i.id IS NULL OR i.status NOT IN ('queued', 'running'))
            ORDER BY l.occurred_at, l.id
            LIMIT %s
            """,
            [agency_id, limit],
        )
        return [row[0] for row in cursor.fetchall()]
