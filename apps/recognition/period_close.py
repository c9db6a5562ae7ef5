"""Period close: a month of an agency closes; minimum guarantees whose period ends then are topped up.

The close reads as its steps, and the preview (apps.recognition.selectors.period_close_preview)
calls the same ones, so what the page shows beforehand is what the close does:

* `period_bounds` checks the month's form and gives its first and last day;
* `period_is_over` asks the agency's calendar whether the month has ended (its time zone);
* `imports_running` lists the agency's imports still queued or running: any of them may yet
  add lines to the month (a queued file has not been read, so its months are unknown);
* `guarantee_top_ups` computes the top-ups from the engine's state, without writing anything;
* `period_close` checks, then posts those top-ups and records the ClosedPeriod, under the
  agency's recognition lock so no recognition batch runs between the computation and the post.

Lines of the month that are not recognised do not block the close: recognised afterwards, they
post on the first day of the next open month (apps/recognition/batch.py, _PostingDays).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.backends.postgresql.psycopg_any import DateRange
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from apps.agencies.models import Agency
from apps.agencies.time import agency_today
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import require_agency_role
from apps.contracts.models import ContractCoverage, ContractVersion
from apps.income.models import ClosedPeriod, StatementImport
from apps.income.services import income_recognition_lock
from apps.ledger.models import Account, JournalEntry
from apps.ledger.services import AccountResolver, EntryDraft, PostingSpec, ledger_post_many
from apps.recognition.models import EngineState
from apps.splits.engine import Evaluator, parse_rule_set

Purpose = Account.Purpose

# Who may close a month: closing moves money (top-ups) and fixes the month for statements.
PERIOD_CLOSERS = ("owner", "finance")
_PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_UNFINISHED = (StatementImport.Status.QUEUED, StatementImport.Status.RUNNING)


@dataclass(frozen=True)
class GuaranteeTopUp:
    """One top-up the close of a month posts: the agency pays the creator what the creator's share
    of the guarantee period fell short of the contract version's minimum guarantee."""

    version: ContractVersion
    creator_id: int
    currency: str
    guarantee_key: str  # the guarantee period that ends with the month: 2026-11, 2026-Q4, 2026
    guarantee_minor: int
    creator_total_minor: int  # the creator's share of the guarantee period so far
    amount_minor: int  # guarantee - share, > 0

    @property
    def idempotency_key(self) -> str:
        return f"guarantee:{self.version.pk}:{self.guarantee_key}"


def period_bounds(period: str) -> tuple[datetime.date, datetime.date]:
    """The first and last day of month `period` ("2026-11"); a 400 for anything else."""
    # fullmatch: `$` of match() lets "2026-01\n" through. The years income lines may have
    # (1900-2199, the lines' own bounds) keep date() and the month after from overflowing.
    if not isinstance(period, str) or not _PERIOD.fullmatch(period) or not 1900 <= int(period[:4]) <= 2199:
        raise ApplicationError(
            _("%(period)s is not a month such as 2026-11.") % {"period": repr(period)}, code="invalid_period"
        )
    first = datetime.date(int(period[:4]), int(period[5:]), 1)
    last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    return first, last


def period_is_over(*, agency: Agency, period: str) -> bool:
    """Whether the month has ended on the agency's calendar (its time zone, not the server's)."""
    _first, last = period_bounds(period)
    return agency_today(agency) > last


def imports_running(*, agency: Agency) -> QuerySet[StatementImport]:
    """The agency's imports still queued or running, oldest first: each may add lines to any month."""
    return StatementImport.objects.filter(agency=agency, status__in=_UNFINISHED).order_by("created_at", "pk")


def _guarantee_key(period: str, kind: str) -> str | None:
    """The guarantee period that ends with month `period`, or None if it does not end there."""
    year, month = (int(part) for part in period.split("-"))
    if kind == "month":
        return period
    if kind == "quarter" and month % 3 == 0:
        return f"{year:04d}-Q{month // 3}"
    if kind == "year" and month == 12:
        return f"{year:04d}"
    return None


def guarantee_top_ups(*, agency: Agency, period: str) -> list[GuaranteeTopUp]:
    """The top-ups closing `period` would post now, by contract version: read-only (the engine's
    carried state is read, not advanced). Both the preview and the close call it; the close
    under the recognition lock, so the state cannot move between this and the post."""
    first, last = period_bounds(period)
    coverage = (
        ContractCoverage.objects.filter(
            agency=agency, during__overlap=DateRange(first, last + datetime.timedelta(days=1))
        )
        .select_related("version__contract")
        .order_by("version_id")
    )
    versions = {row.version_id: row for row in coverage}  # one row per version (several platforms)
    states = dict(
        EngineState.objects.filter(pk__in=list(versions)).values_list("contract_version_id", "state")
    )
    top_ups: list[GuaranteeTopUp] = []
    for version_id, row in versions.items():
        rule_set = parse_rule_set(row.version.rule_set)
        if rule_set.guarantee is None or rule_set.guarantee_period is None:
            continue
        key = _guarantee_key(period, rule_set.guarantee_period)
        if key is None:
            continue
        state = states.get(version_id)
        evaluator = Evaluator.from_state(rule_set, state) if state else Evaluator(rule_set)
        creator_total, top_up = evaluator.close_period(key)
        if top_up <= 0:
            continue
        top_ups.append(
            GuaranteeTopUp(
                version=row.version,
                creator_id=row.creator_id,
                currency=rule_set.currency,
                guarantee_key=key,
                guarantee_minor=rule_set.guarantee,
                creator_total_minor=creator_total,
                amount_minor=top_up,
            )
        )
    return top_ups


def _top_up_drafts(
    *, agency: Agency, period: str, top_ups: list[GuaranteeTopUp], author_id: int | None
) -> list[EntryDraft]:
    """The ledger entries of the top-ups: guarantee expense (debit) to the creator's payable."""
    _first, last = period_bounds(period)
    resolvers: dict[str, AccountResolver] = {}
    drafts: list[EntryDraft] = []
    for top_up in top_ups:
        resolver = resolvers.setdefault(
            top_up.currency, AccountResolver(agency=agency, currency=top_up.currency)
        )
        drafts.append(
            EntryDraft(
                idempotency_key=top_up.idempotency_key,
                kind=JournalEntry.Kind.GUARANTEE_TOP_UP,
                effective_date=last,
                postings=[
                    PostingSpec(account=resolver(Purpose.GUARANTEE_TOP_UP), amount_minor=top_up.amount_minor),
                    PostingSpec(
                        account=resolver(Purpose.CREATOR_PAYABLE, "", top_up.creator_id),
                        amount_minor=-top_up.amount_minor,
                    ),
                ],
                cause_reference=period_close_cause(period),
                author_id=author_id,
                creator_id=top_up.creator_id,
                memo=f"Minimum guarantee top-up for {top_up.guarantee_key}",
            )
        )
    return drafts


def period_close_cause(period: str) -> str:
    """The cause_reference of the entries a close posts: how the closed month finds them again."""
    return f"period_close:{period}"


def period_close_refusals(*, agency: Agency, period: str) -> list[ApplicationError]:
    """Why the month cannot be closed now (none: it can). Call under the recognition lock for an
    answer that stays true until the close commits."""
    refusals: list[ApplicationError] = []
    if not period_is_over(agency=agency, period=period):
        refusals.append(
            ApplicationError(
                _("%(period)s is not over yet in %(zone)s: a month closes once it has ended.")
                % {"period": period, "zone": agency.time_zone},
                code="period_not_over",
            )
        )
    if ClosedPeriod.objects.filter(agency=agency, period=period).exists():
        refusals.append(
            ApplicationError(
                _("%(period)s is already closed: a month closes once, and nothing is posted twice.")
                % {"period": period},
                code="period_closed",
            ).with_status(409)
        )
    running = imports_running(agency=agency).count()
    if running:
        refusals.append(
            ApplicationError(
                _(
                    "An import of this agency is still queued or running (%(count)d): it may add lines "
                    "to %(period)s. Close the month once it has finished."
                )
                % {"count": running, "period": period},
                code="import_running",
            ).with_status(409)
        )
    return refusals


def period_close(*, agency: Agency, period: str, actor: Any) -> ClosedPeriod:
    """Close one month of an agency: nothing posts into it afterwards, and every contract with a
    minimum guarantee whose guarantee period ends with this month gets its top-up posted.

    Refused (nothing written): a malformed month (400), a month not over in the agency's time
    zone (400), a month already closed (409), an import of the agency queued or running (409).
    `actor` None is the operator of `manage.py period_close` (no role check; closed_by empty).

    Invariant: a month closes once (unique row, checked under the lock); top-ups use keys
    `guarantee:<version>:<period>`, so even a repeated post could not move money twice.
    """
    if actor is not None:
        require_agency_role(actor, agency, PERIOD_CLOSERS)
    period_bounds(period)
    author_id = actor.pk if getattr(actor, "pk", None) else None
    with transaction.atomic():
        income_recognition_lock(agency.pk)
        refusals = period_close_refusals(agency=agency, period=period)
        if refusals:
            raise refusals[0]
        top_ups = guarantee_top_ups(agency=agency, period=period)
        drafts = _top_up_drafts(agency=agency, period=period, top_ups=top_ups, author_id=author_id)
        ledger_post_many(agency=agency, drafts=drafts, bulk=False)
        return ClosedPeriod.objects.create(
            agency=agency,
            period=period,
            closed_by_id=author_id,
            top_up_count=len(drafts),
        )
