"""Reads of recognition: a line's split explained (recomputed, never stored), its Merkle proof,
and what refunds of a line may still reverse.

Callers have already checked that the person may see the line (income selectors scope lines);
nothing here widens what they see: a creator reads their own line's allocation and the hashes
of its entry's other leaves, which reveal nothing of those lines.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from apps.agencies.time import agency_today, agency_zone
from apps.common.money import to_decimal_string
from apps.contracts.selectors import contract_version_names
from apps.creators.models import Creator
from apps.income.models import ClosedPeriod, IncomeLine, StatementImport
from apps.ledger.models import Account, AccountPeriodBalance, JournalEntry
from apps.recognition.breakdown import rule_label, split_breakdown
from apps.recognition.leaves import allocation_document, allocation_leaf
from apps.recognition.merkle import merkle_proof, merkle_root, merkle_verify
from apps.recognition.models import EngineState, EntryCover, LineAllocation
from apps.recognition.period_close import (
    guarantee_top_ups,
    imports_running,
    period_bounds,
    period_close_cause,
    period_close_refusals,
    period_is_over,
)
from apps.recognition.replay import Recomputed, StoredAllocation, replay, rule_set_of_snapshot
from apps.splits.engine import Line, RuleSet
from apps.splits.engine.rules import Rule


def allocation_of(line: IncomeLine) -> LineAllocation | None:
    return LineAllocation.objects.filter(line_id=line.pk).first()


def leaf_document(
    item: Recomputed | StoredAllocation,
    rule_set: RuleSet,
    sha: str,
    version_id: int,
    refund_of_public_id: Any,
) -> dict[str, Any]:
    stored = item.stored if isinstance(item, Recomputed) else item
    return allocation_document(
        rule_set=rule_set,
        rule_set_sha256=sha,
        line_public_id=stored.public_id,
        platform=stored.platform,
        external_id=stored.external_id,
        source=stored.source,
        occurred_at=stored.occurred_at,
        refund_of_public_id=refund_of_public_id,
        contract_version_id=version_id,
        engine_version=stored.engine_version,
        ordinal=stored.ordinal,
        rule_index=stored.rule_index,
        gross=stored.gross,
        expenses_claimed=stored.expenses,
        advance_before=stored.advance_before,
        amounts=stored.amounts,
        original_gross=stored.original_gross,
        original_currency=stored.original_currency,
        fx_rate=stored.fx_rate,
        fx_date=stored.fx_date,
        fx_source=stored.fx_source,
        effective_date=stored.effective_date,
    )


def entry_leaves(allocation: LineAllocation, rule_set: RuleSet, sha: str) -> list[tuple[int, bytes]]:
    """(line id, leaf) of every allocation the line's entry covers, in ordinal order. The other
    lines' leaves are recomputed from their stored rows (not re-evaluated): their hashes are what
    the proof needs."""
    cover = EntryCover.objects.filter(entry_id=allocation.entry_id).first()
    first, last = (
        (cover.first_ordinal, cover.last_ordinal) if cover else (allocation.ordinal, allocation.ordinal)
    )
    from apps.recognition.batch import originals_of
    from apps.recognition.replay import _rows

    rows = [
        row
        for row in _rows(allocation.agency_id, allocation.contract_version_id, first, last)
        if row.entry_id == allocation.entry_id
    ]
    originals = originals_of({row.refund_of_id for row in rows if row.refund_of_id is not None})
    leaves = []
    for row in rows:
        original = originals.get(row.refund_of_id) if row.refund_of_id is not None else None
        document = leaf_document(
            row, rule_set, sha, allocation.contract_version_id, original.public_id if original else None
        )
        leaves.append((row.line_id, allocation_leaf(document)))
    return leaves


def posting_note(allocation: LineAllocation, line: IncomeLine) -> str:
    """Why a line counts in another month than it occurred in (its month was closed), or ''."""
    from apps.agencies.time import agency_local_date

    occurred = agency_local_date(line.agency, line.occurred_at)
    posted = allocation.effective_date
    if (occurred.year, occurred.month) == (posted.year, posted.month):
        return ""
    return _("Occurred in %(month)s, which was closed; posted in %(posted)s.") % {
        "month": f"{occurred.year:04d}-{occurred.month:02d}",
        "posted": f"{posted.year:04d}-{posted.month:02d}",
    }


def allocation_summary(allocation: LineAllocation, line: IncomeLine) -> dict[str, Any]:
    """The allocation's plain facts for pages and the API (amounts as decimal strings)."""
    return {
        "contract_version": allocation.contract_version_id,
        "gross": to_decimal_string(allocation.gross_minor, allocation.currency),
        "gross_minor": allocation.gross_minor,
        "currency": allocation.currency,
        "original_gross": None
        if allocation.original_gross_minor is None
        else to_decimal_string(allocation.original_gross_minor, allocation.original_currency),
        "original_gross_minor": allocation.original_gross_minor,
        "original_currency": allocation.original_currency,
        "fx_rate": None if allocation.fx_rate is None else format(allocation.fx_rate.normalize(), "f"),
        "fx_source": allocation.fx_source,
        "fx_date": allocation.fx_date.isoformat() if allocation.fx_date else None,
        "effective_date": allocation.effective_date.isoformat(),
        "posted_period": f"{allocation.effective_date.year:04d}-{allocation.effective_date.month:02d}",
        "posting_note": posting_note(allocation, line),
        "engine_version": allocation.engine_version,
    }


def line_split(*, line: IncomeLine, for_creator: bool = True) -> dict[str, Any] | None:
    """A recognised line's split and the engine's explanation, recomputed from the stored inputs,
    with its breakdown figure by figure (gross down to payable), the contract clause and version
    it was split under, and the Merkle proof that its allocation is in its ledger entry. None if
    not recognised. `for_creator`: the breakdown reads "my share" (else "the creator's share")."""
    allocation = allocation_of(line)
    if allocation is None:
        return None
    from apps.splits.explain import explain_steps, explain_summary

    rule_set, sha = rule_set_of_snapshot(allocation.rule_set_id, {})
    recomputed = next(
        replay(
            agency_id=allocation.agency_id,
            version_id=allocation.contract_version_id,
            rule_set=rule_set,
            last=allocation.ordinal,
        ),
        None,
    )
    if recomputed is None:
        return None
    result = recomputed.result
    document = leaf_document(
        recomputed, rule_set, sha, allocation.contract_version_id, recomputed.refund_of_public_id
    )
    leaf = allocation_leaf(document)
    leaves = entry_leaves(allocation, rule_set, sha)
    hashes = [item for _line_id, item in leaves]
    index = next((position for position, (line_id, _leaf) in enumerate(leaves) if line_id == line.pk), None)
    entry = (
        JournalEntry.objects.filter(pk=allocation.entry_id)
        .only("public_id", "seq", "hash", "lines_root", "line_count")
        .first()
    )
    proof_path = merkle_proof(hashes, index) if index is not None else []
    root = bytes.fromhex(entry.lines_root) if entry is not None and entry.lines_root else b""
    version = contract_version_names(version_ids=[allocation.contract_version_id]).get(
        allocation.contract_version_id
    )
    rule = rule_set.rules[allocation.rule_index]
    return {
        "result": result.as_json(rule_set) if result.error is None else {"error": result.error},
        "breakdown": [
            row.as_json(rule_set.currency) for row in split_breakdown(result, rule_set, mine=for_creator)
        ],
        "clause": {
            "rule": rule.id,
            "label": rule_label(rule_set, rule.id),
            "contract": str(version.contract.public_id) if version else None,
            "contract_title": version.contract.title if version else "",
            "contract_version": str(version.public_id) if version else None,
            "version_number": version.number if version else None,
        },
        "summary": explain_summary(
            result, rule_set, source=line.source, platform=line.platform, viewer="creator"
        ),
        "steps": explain_steps(
            result, rule_set, source=line.source, platform=line.platform, viewer="creator"
        ),
        "currency": rule_set.currency,
        "matches_stored": recomputed.matches,
        "allocation": allocation_summary(allocation, line),
        "proof": {
            "entry": str(entry.public_id) if entry else None,
            "entry_seq": entry.seq if entry else None,
            "entry_hash": entry.hash if entry else None,
            "root": entry.lines_root if entry else None,
            "line_count": entry.line_count if entry else 0,
            "index": index,
            "leaf": leaf.hex(),
            "leaf_document": document,
            "path": [{"side": side, "hash": sibling.hex()} for side, sibling in proof_path],
            "verified": bool(root)
            and index is not None
            and merkle_verify(leaf, proof_path, root)
            and merkle_root(hashes) == root,
        },
    }


@dataclass(frozen=True)
class Refundable:
    """What refunds of a recognised positive line may still reverse, as the engine holds it."""

    rule_set: RuleSet
    rule: Rule
    unrefunded: int  # of the gross, in the rule set's minor units
    remaining: tuple[int, ...]  # deductions (rule.part_ids order), payables (party order), recouped
    engine_line: Line  # the line as the engine read it


def line_refundable(*, line: IncomeLine) -> Refundable | None:
    """A recognised positive line's refundable state: from its contract version's carried state
    if it was refunded before, else its own allocation. None for a line that is not a recognised
    positive split. Call it under the agency's recognition lock for an answer that stays true."""
    allocation = allocation_of(line)
    if allocation is None or allocation.gross_minor <= 0 or allocation.refund_of_line_id is not None:
        return None
    rule_set, _sha = rule_set_of_snapshot(allocation.rule_set_id, {})
    engine_line = Line(
        id=f"{line.platform}:{line.external_id}",
        source=line.source,
        platform=line.platform,
        gross=allocation.gross_minor,
        occurred_at=line.occurred_at,
        currency=rule_set.currency,
        expenses=allocation.expenses_claimed_minor,
    )
    state = (
        EngineState.objects.filter(pk=allocation.contract_version_id).values_list("state", flat=True).first()
    )
    carried = (state or {}).get("originals", {}).get(engine_line.id)
    if carried is not None:
        return Refundable(
            rule_set=rule_set,
            rule=rule_set.rule(carried["rule"]),
            unrefunded=int(carried["unrefunded"]),
            remaining=tuple(int(value) for value in carried["remaining"]),
            engine_line=engine_line,
        )
    return Refundable(
        rule_set=rule_set,
        rule=rule_set.rules[allocation.rule_index],
        unrefunded=allocation.gross_minor,
        remaining=tuple(int(value) for value in allocation.amounts_minor),
        engine_line=engine_line,
    )


# --- period close: what closing a month will do, and the agency's months ---------------------------

SAMPLE_SIZE = 5  # lines and imports named by id in a preview; the counts cover them all


@dataclass(frozen=True)
class LineSample:
    public_id: Any
    external_id: str
    exception_reason: str


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    label: str
    count: int


@dataclass(frozen=True)
class TopUpPreview:
    """A top-up the close would post (amounts in the rule set's currency, minor units)."""

    version_public_id: Any
    version_label: str
    creator_public_id: Any
    creator_name: str
    currency: str
    guarantee_key: str
    guarantee_minor: int
    creator_total_minor: int
    amount_minor: int


@dataclass(frozen=True)
class PostedTopUp:
    """A top-up a close posted: its ledger entry."""

    entry_public_id: Any
    creator_public_id: Any
    creator_name: str
    currency: str
    amount_minor: int
    memo: str


@dataclass(frozen=True)
class PeriodPreview:
    """What closing `period` will do and what stands in its way, read without writing anything."""

    agency: Any
    period: str
    first_day: datetime.date
    last_day: datetime.date
    closed: ClosedPeriod | None
    is_over: bool
    refusals: list[str]
    line_count: int
    recognised_count: int
    imported_count: int
    matched_count: int  # matched, not yet recognised
    exception_count: int
    dismissed_count: int
    exceptions_by_reason: list[ReasonCount]
    imported_sample: list[LineSample]
    matched_sample: list[LineSample]
    exception_sample: list[LineSample]
    running_import_count: int
    running_imports: list[StatementImport]
    top_ups: list[TopUpPreview]
    posted_top_ups: list[PostedTopUp]
    next_open_day: datetime.date

    @property
    def is_closed(self) -> bool:
        return self.closed is not None

    @property
    def can_close(self) -> bool:
        return not self.refusals

    @property
    def unsettled_count(self) -> int:
        """Lines of the month that are not (yet) in the ledger and not dismissed."""
        return self.imported_count + self.matched_count + self.exception_count

    @property
    def late_lines_note(self) -> str:
        """What becomes of the month's unsettled lines once it is closed (recognition's rule)."""
        return _(
            "Closing does not wait for these lines. Once %(period)s is closed nothing posts into it: "
            "a line of %(period)s recognised later (settled in the exceptions queue, matched to a deal, "
            "or converted once its exchange rate is recorded) posts on the first day of the next open "
            "month (%(day)s), and its page says so. The guarantee top-ups are computed now, from the "
            "lines recognised so far: a line recognised later does not change them."
        ) % {"period": self.period, "day": self.next_open_day.isoformat()}


def _month_moments(agency: Any, first: datetime.date, last: datetime.date) -> tuple[Any, Any]:
    """[start, end) of the agency-local month as aware datetimes (lines are stamped instants)."""
    zone = agency_zone(agency)
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    return start, end


def _next_open_day(closed_periods: set[str], first: datetime.date) -> datetime.date:
    """The first day of the first month after `first`'s that is not closed (where late lines go)."""
    day = (first + datetime.timedelta(days=32)).replace(day=1)
    while f"{day.year:04d}-{day.month:02d}" in closed_periods:
        day = (day + datetime.timedelta(days=32)).replace(day=1)
    return day


def _line_samples(lines: QuerySet[IncomeLine]) -> list[LineSample]:
    return [
        LineSample(public_id=public_id, external_id=external_id, exception_reason=reason)
        for public_id, external_id, reason in lines.order_by("occurred_at", "pk").values_list(
            "public_id", "external_id", "exception_reason"
        )[:SAMPLE_SIZE]
    ]


def period_top_up_list(*, agency: Any, period: str) -> list[PostedTopUp]:
    """The guarantee top-ups a close of `period` posted, one aggregate query (the positive posting
    of each entry is its amount: guarantee expense debited, the creator's payable credited)."""
    _first, last = period_bounds(period)
    entries = (
        JournalEntry.objects.filter(
            agency=agency,
            effective_date=last,
            kind=JournalEntry.Kind.GUARANTEE_TOP_UP,
            cause_reference=period_close_cause(period),
        )
        .annotate(
            amount_minor=Sum("postings__amount_minor", filter=Q(postings__amount_minor__gt=0)),
            currency=Max("postings__currency"),
        )
        .select_related("creator")
        .order_by("seq")
    )
    return [
        PostedTopUp(
            entry_public_id=entry.public_id,
            creator_public_id=entry.creator.public_id if entry.creator else None,
            creator_name=entry.creator.display_name if entry.creator else "",
            currency=entry.currency,
            amount_minor=entry.amount_minor or 0,
            memo=entry.memo,
        )
        for entry in entries
    ]


def period_close_preview(*, agency: Any, period: str) -> PeriodPreview:
    """What closing `period` will do, computed by the close's own steps (apps.recognition.
    period_close), and why it would be refused. The month's lines are counted in one grouped
    query (by status, reason and whether allocated), never line by line."""
    first, last = period_bounds(period)
    start, end = _month_moments(agency, first, last)
    lines = IncomeLine.objects.filter(agency=agency, occurred_at__gte=start, occurred_at__lt=end)
    allocated = Exists(LineAllocation.objects.filter(pk=OuterRef("pk")))
    groups = (
        lines.annotate(allocated=allocated)
        .values("status", "exception_reason", "allocated")
        .annotate(count=Count("pk"))
        .order_by()
    )
    counts: dict[str, int] = defaultdict(int)
    by_reason: dict[str, int] = defaultdict(int)
    for group in groups:
        status = IncomeLine.Status.RECOGNISED if group["allocated"] else group["status"]
        counts[status] += group["count"]
        if status == IncomeLine.Status.EXCEPTION:
            by_reason[group["exception_reason"]] += group["count"]
    unallocated = lines.filter(~allocated)
    Status = IncomeLine.Status
    closed = ClosedPeriod.objects.filter(agency=agency, period=period).select_related("closed_by").first()
    closed_periods = set(ClosedPeriod.objects.filter(agency=agency).values_list("period", flat=True))
    top_ups = [] if closed is not None else guarantee_top_ups(agency=agency, period=period)
    creators = {
        creator.pk: creator
        for creator in Creator.objects.filter(pk__in={top_up.creator_id for top_up in top_ups}).only(
            "public_id", "display_name"
        )
    }
    running = imports_running(agency=agency)
    reason_labels = dict(IncomeLine.ExceptionReason.choices)
    return PeriodPreview(
        agency=agency,
        period=period,
        first_day=first,
        last_day=last,
        closed=closed,
        is_over=period_is_over(agency=agency, period=period),
        refusals=[refusal.message for refusal in period_close_refusals(agency=agency, period=period)],
        line_count=sum(counts.values()),
        recognised_count=counts[Status.RECOGNISED],
        imported_count=counts[Status.IMPORTED],
        matched_count=counts[Status.MATCHED],
        exception_count=counts[Status.EXCEPTION],
        dismissed_count=counts[Status.DISMISSED],
        exceptions_by_reason=[
            ReasonCount(reason=reason, label=str(reason_labels.get(reason, reason)), count=count)
            for reason, count in sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))
        ],
        imported_sample=_line_samples(unallocated.filter(status=Status.IMPORTED))
        if counts[Status.IMPORTED]
        else [],
        matched_sample=_line_samples(unallocated.filter(status=Status.MATCHED))
        if counts[Status.MATCHED]
        else [],
        exception_sample=_line_samples(unallocated.filter(status=Status.EXCEPTION))
        if counts[Status.EXCEPTION]
        else [],
        running_import_count=running.count(),
        running_imports=list(running[:SAMPLE_SIZE]),
        top_ups=[
            TopUpPreview(
                version_public_id=top_up.version.public_id,
                version_label=str(top_up.version),
                creator_public_id=creators[top_up.creator_id].public_id,
                creator_name=creators[top_up.creator_id].display_name,
                currency=top_up.currency,
                guarantee_key=top_up.guarantee_key,
                guarantee_minor=top_up.guarantee_minor,
                creator_total_minor=top_up.creator_total_minor,
                amount_minor=top_up.amount_minor,
            )
            for top_up in top_ups
        ],
        posted_top_ups=period_top_up_list(agency=agency, period=period) if closed is not None else [],
        next_open_day=_next_open_day(closed_periods | {period}, first),
    )


@dataclass(frozen=True)
class PeriodRow:
    """One month of an agency on the months page: closed (who, when) or open (income, waiting lines)."""

    agency: Any
    period: str
    closed: ClosedPeriod | None
    is_over: bool
    income: list[tuple[str, int]]  # (currency, net income posted into the month, minor units)
    waiting_count: int  # lines of the month imported or in the exceptions queue

    @property
    def is_closed(self) -> bool:
        return self.closed is not None


def period_list(*, agency: Any) -> list[PeriodRow]:
    """The agency's months, newest first: every closed month, and every open month with income
    posted (the income clearing account's monthly movement, one aggregate) or lines waiting
    (imported or queued: the (agency, status) index, not the recognised millions). Three queries."""
    closed = {
        row.period: row
        for row in ClosedPeriod.objects.filter(agency=agency).select_related("closed_by").order_by("period")
    }
    income: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for month, currency, net in (
        AccountPeriodBalance.objects.filter(
            account__agency=agency, account__purpose=Account.Purpose.INCOME_CLEARING
        )
        .values_list("period", "currency")
        .annotate(net=Sum("net_minor"))
        .order_by("period", "currency")
    ):
        income[month].append((currency, net))
    waiting: dict[str, int] = {}
    for moment, count in (
        IncomeLine.objects.filter(
            agency=agency, status__in=[IncomeLine.Status.IMPORTED, IncomeLine.Status.EXCEPTION]
        )
        .annotate(month=TruncMonth("occurred_at", tzinfo=agency_zone(agency)))
        .values_list("month")
        .annotate(count=Count("pk"))
        .order_by()
    ):
        local = moment.astimezone(agency_zone(agency))
        waiting[f"{local.year:04d}-{local.month:02d}"] = count
    today = agency_today(agency)
    current = f"{today.year:04d}-{today.month:02d}"
    return [
        PeriodRow(
            agency=agency,
            period=month,
            closed=closed.get(month),
            is_over=month < current,
            income=income.get(month, []),
            waiting_count=waiting.get(month, 0),
        )
        for month in sorted(set(closed) | set(income) | set(waiting), reverse=True)
    ]


def entry_line_ids(*, entry_id: int, limit: int = 50) -> tuple[list[int], int]:
    """(the first `limit` income line ids a journal entry covers, in ordinal order; how many it
    covers), read through the entry's cover and the allocations' (agency, version, ordinal) key,
    so an audit from an entry back to its lines costs two indexed queries at any ledger size."""
    cover = EntryCover.objects.filter(entry_id=entry_id).first()
    if cover is None:
        return [], 0
    ids = list(
        LineAllocation.objects.filter(
            agency_id=cover.agency_id,
            contract_version_id=cover.contract_version_id,
            ordinal__gte=cover.first_ordinal,
            ordinal__lte=cover.last_ordinal,
            entry_id=entry_id,
        )
        .order_by("ordinal")
        .values_list("line_id", flat=True)[:limit]
    )
    return ids, cover.line_count
