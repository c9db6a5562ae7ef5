"""Reads of statements: who sees which (tenancy), a statement's income lines, its due dates,
days late and late interest, and its canonical content (what its SHA-256 covers).

Agency members see their agency's statements, drafts included; a creator sees only their own
published ones. Anyone else gets 404.

Lines are read at render time from recognition's allocations of the creator and month (by their
ledger day, `effective_date`), not stored: an allocation is written once and never changes, and a
line recognised after its month closed posts into the next open month, so a closed month's lines
never change either. The ledger and recognition tables are read here read-only (neither app has a
selector for a creator's month).
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from django.db.models import BigIntegerField, BooleanField, Case, Count, F, Q, QuerySet, Sum, When
from django.utils.translation import gettext as _

from apps.agencies.time import agency_local_date, agency_today
from apps.common.catalog import Source
from apps.common.exceptions import ApplicationError
from apps.common.money import to_decimal_string, to_minor
from apps.common.tenancy import get_scoped_or_404, require_agency_role, scope_for
from apps.contracts.models import ContractVersion
from apps.creators.models import Creator
from apps.income.models import ClosedPeriod
from apps.ledger.models import Account, JournalEntry, LedgerHead, Posting
from apps.ledger.services import canonical_json
from apps.payouts.selectors import payout_items_withheld_in_month, tax_profiles_of_creators
from apps.payouts.services import tax_method_for
from apps.recognition.models import LineAllocation
from apps.recognition.period_close import period_bounds
from apps.recognition.replay import rule_set_of_snapshot
from apps.statements.figures import month_figures
from apps.statements.models import Statement, StatementInterestPosting

# Who may draft, publish and correct statements: they fix what the agency owes.
STATEMENT_PUBLISHERS = ("owner", "finance")
DAYS_IN_YEAR = 365  # late interest: an annual percentage, accrued per calendar day


def statement_list_for_actor(
    *, actor: Any, agency_id: int | None = None, period: str | None = None
) -> QuerySet[Statement]:
    """Statements the actor may see: all of their agencies', and their own published ones."""
    scope = scope_for(actor)
    if scope.user_id is None:
        return Statement.objects.none()
    condition = Q(agency_id__in=scope.agency_ids)
    if scope.creator_id is not None:
        condition |= Q(creator_id=scope.creator_id, status=Statement.Status.PUBLISHED)
    statements = Statement.objects.filter(condition)
    if agency_id is not None:
        statements = statements.filter(agency_id=agency_id)
    if period is not None:
        statements = statements.filter(period=period)
    return statements.select_related(
        "agency", "creator", "corrects", "acknowledgement", "published_by"
    ).order_by("-period", "agency_id", "number", "creator__display_name", "id")


def statement_get_for_actor(*, actor: Any, public_id: UUID | str) -> Statement:
    return get_scoped_or_404(statement_list_for_actor(actor=actor), public_id=public_id)


def can_publish(*, actor: Any, agency_id: int) -> bool:
    return scope_for(actor).agency_roles.get(agency_id) in STATEMENT_PUBLISHERS


def is_own_statement(*, actor: Any, statement: Statement) -> bool:
    return scope_for(actor).creator_id == statement.creator_id


def superseded_by(*, statement: Statement) -> Statement | None:
    """The published correction that replaces this statement, if any (the statement stays as it was)."""
    return (
        Statement.objects.filter(corrects=statement, status=Statement.Status.PUBLISHED)
        .order_by("number")
        .last()
    )


# --- lines ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    line_public_id: UUID
    external_id: str
    occurred_at: datetime.datetime
    posted_on: datetime.date
    platform: str
    account_id: str
    source: str
    gross_minor: int  # in the line's own currency, as the platform reported it
    line_currency: str
    order_ref: str
    refund_of: str  # the external id of the line it refunds
    description: str
    share_gross_minor: int  # the gross the split worked on, in the statement's currency
    creator_share_minor: int  # the creator's payable from this line, in the statement's currency


def statement_lines(*, statement: Statement) -> list[StatementLine]:
    """The statement's income lines with the creator's share of each, in ledger order: one query
    (and one per rule set snapshot). Their shares add up to the statement's income share."""
    return statement_lines_many(statements=[statement]).get(statement.pk, [])


def statement_lines_many(*, statements: list[Statement]) -> dict[int, list[StatementLine]]:
    """statement_lines of many statements of one agency and month at once (publishing a month's
    10,000 drafts): one query for all their creators, grouped by statement."""
    if not statements:
        return {}
    agency_id, period = statements[0].agency_id, statements[0].period
    if any(item.agency_id != agency_id or item.period != period for item in statements):
        raise ValueError("statement_lines_many reads one agency's month")
    first, last = period_bounds(period)
    by_key = {(item.creator_id, item.currency): item.pk for item in statements}
    allocations = (
        LineAllocation.objects.filter(
            agency_id=agency_id,
            creator_id__in=sorted({item.creator_id for item in statements}),
            currency__in=sorted({item.currency for item in statements}),
            effective_date__gte=first,
            effective_date__lte=last,
        )
        .select_related("line", "line__refund_of")
        .order_by("effective_date", "line__occurred_at", "line_id")
    )
    cache: dict[int, Any] = {}
    lines: dict[int, list[StatementLine]] = {item.pk: [] for item in statements}
    for allocation in allocations.iterator(chunk_size=5000):
        statement_id = by_key.get((allocation.creator_id, allocation.currency))
        if statement_id is None:
            continue
        rule_set, _sha = rule_set_of_snapshot(allocation.rule_set_id, cache)
        deductions = len(rule_set.rules[allocation.rule_index].part_ids)
        line = allocation.line
        lines[statement_id].append(
            StatementLine(
                line_public_id=line.public_id,
                external_id=line.external_id,
                occurred_at=line.occurred_at,
                posted_on=allocation.effective_date,
                platform=line.platform,
                account_id=line.account_id,
                source=line.source,
                gross_minor=line.gross_minor,
                line_currency=line.currency,
                order_ref=line.order_ref,
                refund_of=line.refund_of.external_id if line.refund_of is not None else "",
                description=line.description,
                share_gross_minor=allocation.gross_minor,
                creator_share_minor=int(allocation.amounts_minor[deductions + rule_set.creator_index]),
            )
        )
    return lines


def line_counts(
    *, agency_id: int, first: datetime.date, last: datetime.date, creator_id: int | None = None
) -> dict[tuple[int, str], int]:
    """How many recognised lines each (creator, currency) has in the month: one grouped query."""
    allocations = LineAllocation.objects.filter(
        agency_id=agency_id, effective_date__gte=first, effective_date__lte=last
    )
    if creator_id is not None:
        allocations = allocations.filter(creator_id=creator_id)
    rows = (
        allocations.order_by()
        .values("creator_id", "currency")
        .annotate(count=Count("pk"))
        .values_list("creator_id", "currency", "count")
    )
    return {(creator, currency): count for creator, currency, count in rows}


# --- tax withheld: each payout's computation --------------------------------------------------------

# The figures of a payout item's recorded computation (docs/withholding.md's names), in reading
# order, and how each is written: money (a decimal string of yuan), a percent, a count or text.
# A method records only its own figures; the others are absent and not shown.
WITHHOLDING_FIGURES: tuple[tuple[str, str], ...] = (
    ("month", "text"),
    ("payout_gross", "money"),
    ("month_paid_before", "money"),
    ("gross", "money"),
    ("expense", "money"),
    ("taxable", "money"),
    ("months_counted", "count"),
    ("ytd_income", "money"),
    ("ytd_expense", "money"),
    ("ytd_allowance", "money"),
    ("ytd_taxable", "money"),
    ("rate", "percent"),
    ("quick_deduction", "money"),
    ("ytd_tax", "money"),
    ("tax", "money"),
    ("ytd_withheld", "money"),
    ("month_withheld_before", "money"),
    ("payout_tax", "money"),
)


@dataclass(frozen=True)
class WithholdingFigure:
    name: str
    kind: str  # money | percent | count | text
    value: str  # as recorded: "1234.56", "20", "3", "2026-10"
    minor: int | None  # money only, in the item's currency


@dataclass(frozen=True)
class StatementWithholding:
    """One payout of the statement's month and the computation recorded on it when it was prepared."""

    item_public_id: UUID
    paid_on: datetime.date  # the batch's payment day
    status: str
    status_label: str
    method: str
    method_label: str
    currency: str
    gross_minor: int
    tax_minor: int
    net_minor: int
    computation: dict[str, Any]  # the item's `withholding` document, as recorded
    figures: tuple[WithholdingFigure, ...]

    @property
    def is_failed(self) -> bool:
        return self.status == "failed"


def _withholding_figures(computation: dict[str, Any], currency: str) -> tuple[WithholdingFigure, ...]:
    figures = []
    for name, kind in WITHHOLDING_FIGURES:
        if name not in computation:
            continue
        value = str(computation[name])
        figures.append(
            WithholdingFigure(
                name=name,
                kind=kind,
                value=value,
                minor=to_minor(value, currency) if kind == "money" else None,
            )
        )
    return tuple(figures)


def statement_withholdings(*, statement: Statement) -> list[StatementWithholding]:
    """The payouts whose tax the statement's month withheld, each with its computation: one query."""
    return statement_withholdings_many(statements=[statement]).get(statement.pk, [])


def statement_withholdings_many(*, statements: list[Statement]) -> dict[int, list[StatementWithholding]]:
    """statement_withholdings of many statements of one agency and month at once: one query."""
    if not statements:
        return {}
    agency_id, period = statements[0].agency_id, statements[0].period
    if any(item.agency_id != agency_id or item.period != period for item in statements):
        raise ValueError("statement_withholdings_many reads one agency's month")
    by_key = {(item.creator_id, item.currency): item.pk for item in statements}
    found: dict[int, list[StatementWithholding]] = {item.pk: [] for item in statements}
    items = payout_items_withheld_in_month(
        agency_id=agency_id, period=period, creator_ids=sorted({item.creator_id for item in statements})
    )
    for item in items:
        statement_id = by_key.get((item.creator_id, item.currency))
        if statement_id is None:
            continue
        computation = item.withholding if isinstance(item.withholding, dict) else {}
        found[statement_id].append(
            StatementWithholding(
                item_public_id=item.public_id,
                paid_on=item.batch.as_of,
                status=item.status,
                status_label=str(item.get_status_display()),
                method=item.method,
                method_label=str(item.get_method_display()),
                currency=item.currency,
                gross_minor=item.gross_minor,
                tax_minor=item.tax_minor,
                net_minor=item.net_minor,
                computation=computation,
                figures=_withholding_figures(computation, item.currency),
            )
        )
    return found


# --- due dates from the contract ----------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    version_id: int | None
    statement_days: int
    payment_days: int
    late_interest_percent: Decimal


def _default_terms() -> Terms:
    def default(name: str) -> Any:
        return ContractVersion._meta.get_field(name).default  # type: ignore[union-attr]

    return Terms(
        version_id=None,
        statement_days=int(default("statement_days")),
        payment_days=int(default("payment_days")),
        late_interest_percent=Decimal(default("late_interest_percent")),
    )


def statement_terms_many(*, agency_id: int, creator_ids: list[int], last: datetime.date) -> dict[int, Terms]:
    """Per creator, the terms of their binding contract version with the agency in force at the
    month's end (the latest effective on or before it): one query. A creator without one gets the
    contract defaults (15 and 30 days, no interest)."""
    versions = (
        ContractVersion.objects.filter(
            contract__agency_id=agency_id,
            contract__creator_id__in=creator_ids,
            status__in=ContractVersion.BINDING,
            effective_from__lte=last,
        )
        .order_by("contract__creator_id", "-effective_from", "-number", "-pk")
        .values_list("contract__creator_id", "pk", "statement_days", "payment_days", "late_interest_percent")
    )
    found: dict[int, Terms] = {}
    for creator_id, pk, statement_days, payment_days, percent in versions:
        found.setdefault(creator_id, Terms(pk, statement_days, payment_days, percent))
    default = _default_terms()
    return {creator_id: found.get(creator_id, default) for creator_id in creator_ids}


def due_dates(*, period: str, terms: Terms) -> tuple[datetime.date, datetime.date]:
    """(statement due, payment due): statement_days and payment_days after the month's last day.
    Counted from the month's end, not from the day someone clicked Close: a late close must not
    move the creator's due dates."""
    _first, last = period_bounds(period)
    return (
        last + datetime.timedelta(days=terms.statement_days),
        last + datetime.timedelta(days=terms.payment_days),
    )


# --- lateness ------------------------------------------------------------------------------------


def late_interest_minor(*, unpaid_by_day: list[int], percent: Decimal) -> int:
    """Interest on a list of daily unpaid amounts (one per day late): each day accrues
    unpaid × percent / 100 / 365, exactly (Decimal); the sum is rounded half up to the minor unit
    once, at the end. Never a float."""
    rate = Decimal(percent) / Decimal(100) / Decimal(DAYS_IN_YEAR)
    exact = sum((Decimal(unpaid) * rate for unpaid in unpaid_by_day if unpaid > 0), Decimal(0))
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Lateness:
    today: datetime.date
    statement_days_late: int
    payment_days_late: int
    paid_after_close_minor: int  # paid to the creator (and tax withheld) after the month's end
    unpaid_minor: int  # of the closing balance, still unpaid today
    interest_days: int  # days the interest ran (days late with something unpaid)
    late_interest_minor: int
    late_interest_percent: Decimal


def _payments_by_day(
    statement: Statement, after: datetime.date, until: datetime.date
) -> dict[datetime.date, int]:
    """What left the creator's payable in payout entries after the month, by ledger day (tax and
    net; a failed payout that came back counts negative)."""
    # A failed payout is reversed (kind reversal, naming the payout entry): it counts negative,
    # so money that came back is unpaid again.
    payout_or_its_reversal = Q(entry__kind=JournalEntry.Kind.PAYOUT) | Q(
        entry__kind=JournalEntry.Kind.REVERSAL, entry__reverses__kind=JournalEntry.Kind.PAYOUT
    )
    rows = (
        Posting.objects.filter(
            payout_or_its_reversal,
            account__agency_id=statement.agency_id,
            account__creator_id=statement.creator_id,
            account__purpose=Account.Purpose.CREATOR_PAYABLE,
            account__currency=statement.currency,
            entry__effective_date__gt=after,
            entry__effective_date__lte=until,
        )
        .order_by()
        .values("entry__effective_date")
        .annotate(total=Sum("amount_minor"))
        .values_list("entry__effective_date", "total")
    )
    return {day: int(total) for day, total in rows}


def statement_lateness(*, statement: Statement, today: datetime.date | None = None) -> Lateness:
    """Days late of the statement (published after its due date, or still a draft past it) and of
    the payment (the closing balance not paid in full by its due date), and the late interest per
    day on what was unpaid at the end of each day past the payment due date. Shown, not posted."""
    today = today or agency_today(statement.agency)
    if statement.published_at is not None:
        issued = agency_local_date(statement.agency, statement.published_at)
        statement_late = max(0, (issued - statement.statement_due).days)
    else:
        statement_late = max(0, (today - statement.statement_due).days)
    _first, last = period_bounds(statement.period)
    payments = _payments_by_day(statement, last, today)
    owed = max(0, statement.closing_minor)
    paid = 0
    unpaid_by_day: list[int] = []
    settled_on: datetime.date | None = None
    day = last + datetime.timedelta(days=1)
    while day <= today:
        paid += payments.get(day, 0)
        unpaid = max(0, owed - paid)
        if unpaid == 0 and settled_on is None and owed:
            settled_on = day
        if day > statement.payment_due:
            unpaid_by_day.append(unpaid)
        day += datetime.timedelta(days=1)
    unpaid_now = max(0, owed - paid)
    if unpaid_now > 0:
        payment_late = max(0, (today - statement.payment_due).days)
    elif settled_on is not None:
        payment_late = max(0, (settled_on - statement.payment_due).days)
    else:
        payment_late = 0
    return Lateness(
        today=today,
        statement_days_late=statement_late,
        payment_days_late=payment_late,
        paid_after_close_minor=paid,
        unpaid_minor=unpaid_now,
        interest_days=sum(1 for unpaid in unpaid_by_day if unpaid > 0),
        late_interest_minor=late_interest_minor(
            unpaid_by_day=unpaid_by_day, percent=statement.late_interest_percent
        ),
        late_interest_percent=statement.late_interest_percent,
    )


def interest_postings_of_month(*, statement: Statement) -> QuerySet[StatementInterestPosting]:
    """The late interest posted for the statement's creator, month and currency: on it, on the
    statement it corrects or on another correction of the same month (oldest first). What is
    posted for a month is counted once, whichever statement of the month it was posted on."""
    return (
        StatementInterestPosting.objects.filter(
            statement__agency_id=statement.agency_id,
            statement__creator_id=statement.creator_id,
            statement__period=statement.period,
            statement__currency=statement.currency,
        )
        .select_related("statement", "posted_by", "entry")
        .order_by("as_of", "pk")
    )


# --- the quarter's income per creator (platform tax-information report) -------------------------


@dataclass(frozen=True)
class Quarter:
    year: int
    quarter: int

    @property
    def months(self) -> tuple[str, str, str]:
        first = 3 * (self.quarter - 1) + 1
        return (
            f"{self.year:04d}-{first:02d}",
            f"{self.year:04d}-{first + 1:02d}",
            f"{self.year:04d}-{first + 2:02d}",
        )

    @property
    def bounds(self) -> tuple[datetime.date, datetime.date]:
        return period_bounds(self.months[0])[0], period_bounds(self.months[2])[1]

    def __str__(self) -> str:
        return f"{self.year:04d}-Q{self.quarter}"


def quarter_parse(*, year: Any, quarter: Any) -> Quarter:
    """A (year, quarter) from a form or a query string; a 400 with a sentence for anything else."""
    try:
        year_number, quarter_number = (
            int(str(year).strip()),
            int(str(quarter).strip().upper().removeprefix("Q")),
        )
    except (TypeError, ValueError):
        year_number, quarter_number = 0, 0
    if not 1900 <= year_number <= 2199 or not 1 <= quarter_number <= 4:
        raise ApplicationError(
            _("Choose a year (such as 2026) and a quarter from 1 to 4."), code="invalid_quarter"
        )
    return Quarter(year_number, quarter_number)


@dataclass
class QuarterIncome:
    """One creator's quarter for the agency's tax-information filing. Income is the creator's
    share of the lines (what the agency owes them, the income it reports for them), in `currency`."""

    creator_id: int
    creator_public_id: UUID
    display_name: str
    legal_name: str
    creator_type: str
    withholding_method: str
    invoice_note: str
    currency: str
    by_source_minor: dict[str, int]  # the gross of each source (refunds are not taken off here)
    gross_minor: int = 0  # the creator's share of the quarter's lines with a positive amount
    refunds_minor: int = 0  # the share taken back by refunds and other negative lines, as a positive amount
    tax_withheld_minor: int = 0  # withheld on payouts in the quarter (returned tax of failed ones off)
    line_count: int = 0

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.refunds_minor


def _creator_share_positions(agency_id: int, first: datetime.date, last: datetime.date) -> dict[int, Q]:
    """{index in amounts_minor of the creator's share: which allocations have it there}. The
    index depends on the rule (its deductions come first) and the rule set (the creator's place
    among its parties): one query for the pairs the quarter used, one per rule set snapshot."""
    pairs = (
        LineAllocation.objects.filter(
            agency_id=agency_id, effective_date__gte=first, effective_date__lte=last
        )
        .order_by()
        .values_list("rule_set_id", "rule_index")
        .distinct()
    )
    cache: dict[int, Any] = {}
    positions: dict[int, Q] = {}
    for rule_set_id, rule_index in pairs:
        rule_set, _sha = rule_set_of_snapshot(rule_set_id, cache)
        index = len(rule_set.rules[rule_index].part_ids) + rule_set.creator_index
        condition = Q(rule_set_id=rule_set_id, rule_index=rule_index)
        positions[index] = positions[index] | condition if index in positions else condition
    return positions


def quarter_income(*, actor: Any, agency: Any, quarter: Quarter) -> list[QuarterIncome]:
    """Every creator's income of the quarter by source, gross, refunds, net and tax withheld, for
    the agency's platform tax-information report: set-based (one grouped query over the
    quarter's allocations, the two grouped ledger queries of the month figures for the tax, one
    for the creators, one for their tax profiles), ordered by legal name.

    Owner or finance only (the creators' legal names and tax methods, for the agency's own
    filing; another agency's members get 404). `actor` None: the operator (a command).
    Refused (400) unless the quarter's three months are closed: a filing reports final figures.
    Invariant: each creator's net equals the creator payable credits of the quarter's income and
    refund entries (the statements' income share, summed over the three months)."""
    if actor is not None:
        require_agency_role(actor, agency, STATEMENT_PUBLISHERS)
    open_months = sorted(
        set(quarter.months)
        - set(
            ClosedPeriod.objects.filter(agency=agency, period__in=quarter.months).values_list(
                "period", flat=True
            )
        )
    )
    if open_months:
        raise ApplicationError(
            _(
                "%(quarter)s is not closed: close %(months)s first (Months), so the report gives "
                "final figures."
            )
            % {"quarter": str(quarter), "months": ", ".join(open_months)},
            code="period_open",
        )
    first, last = quarter.bounds
    positions = _creator_share_positions(agency.pk, first, last)
    rows: list[tuple[int, str, str, bool, int, int]] = []
    if positions:
        share = Case(
            *[
                When(condition, then=F(f"amounts_minor__{index}"))
                for index, condition in sorted(positions.items())
            ],
            output_field=BigIntegerField(),
        )
        rows = list(
            LineAllocation.objects.filter(
                agency_id=agency.pk, effective_date__gte=first, effective_date__lte=last
            )
            .annotate(
                is_refund=Case(When(gross_minor__lt=0, then=True), default=False, output_field=BooleanField())
            )
            .order_by()
            .values("creator_id", "currency", "line__source", "is_refund")
            .annotate(share=Sum(share), count=Count("pk"))
            .values_list("creator_id", "currency", "line__source", "is_refund", "share", "count")
        )
    figures = month_figures(agency_id=agency.pk, first=first, last=last, period=quarter.months[0])
    keys = {(row[0], row[1]) for row in rows} | {key for key, found in figures.items() if found.tax_minor}
    creators = {
        creator.pk: creator
        for creator in Creator.objects.filter(pk__in={creator_id for creator_id, _currency in keys})
    }
    profiles = tax_profiles_of_creators(agency_id=agency.pk, creator_ids=sorted(creators))
    report: dict[tuple[int, str], QuarterIncome] = {}
    for creator_id, currency in keys:
        creator, profile = creators[creator_id], profiles.get(creator_id)
        report[(creator_id, currency)] = QuarterIncome(
            creator_id=creator_id,
            creator_public_id=creator.public_id,
            display_name=creator.display_name,
            legal_name=creator.legal_name,
            creator_type=creator.creator_type,
            withholding_method=tax_method_for(
                creator_type=creator.creator_type, profile_method=profile.method if profile else None
            ),
            invoice_note=profile.invoice_note if profile else "",
            currency=currency,
            by_source_minor={source: 0 for source in Source.values},
            tax_withheld_minor=figures[(creator_id, currency)].tax_minor
            if (creator_id, currency) in figures
            else 0,
        )
    for creator_id, currency, source, is_refund, amount, count in rows:
        income = report[(creator_id, currency)]
        income.line_count += count
        if is_refund:
            income.refunds_minor -= int(amount or 0)
        else:
            income.gross_minor += int(amount or 0)
            income.by_source_minor[source] = income.by_source_minor.get(source, 0) + int(amount or 0)
    return sorted(
        report.values(), key=lambda row: (row.legal_name, row.display_name, row.creator_id, row.currency)
    )


# --- canonical content and the ledger head -------------------------------------------------------


def ledger_head(*, agency_id: int) -> tuple[int, str]:
    """(last seq, last hash) of the agency's chain: the ledger state a statement was published at."""
    from apps.ledger.models import GENESIS_HASH

    head = LedgerHead.objects.filter(agency_id=agency_id).values_list("last_seq", "last_hash").first()
    return head if head is not None else (0, GENESIS_HASH)


def statement_content(
    *, statement: Statement, lines: list[StatementLine], withholdings: list[StatementWithholding]
) -> dict[str, Any]:
    """What a statement says, as one JSON document: its SHA-256 (`content_sha256`) is printed on
    the PDF and put in its metadata. Amounts as decimal strings, days as ISO dates.

    Format 2 adds each payout's withholding computation as it was recorded on the item (an
    item's money and computation never change; its status does, so it is left out)."""
    currency = statement.currency
    corrected = statement.corrects

    def money(minor: int, code: str = currency) -> str:
        return to_decimal_string(minor, code)

    return {
        "format": "fenrun-statement-2",
        "agency": str(statement.agency.public_id),
        "creator": str(statement.creator.public_id),
        "period": statement.period,
        "currency": currency,
        "number": statement.number,
        "corrects": str(corrected.public_id) if corrected is not None else None,
        "corrects_number": corrected.number if corrected is not None else None,
        "figures": {
            name.removesuffix("_minor"): money(getattr(statement, name)) for name in Statement.FIGURES
        },
        "statement_due": statement.statement_due.isoformat(),
        "payment_due": statement.payment_due.isoformat(),
        "late_interest_percent": format(statement.late_interest_percent, "f"),
        "ledger_head": {"seq": statement.ledger_head_seq, "hash": statement.ledger_head_hash},
        "lines": [
            {
                "line": str(line.line_public_id),
                "external_id": line.external_id,
                "platform": line.platform,
                "posted_on": line.posted_on.isoformat(),
                "gross": money(line.gross_minor, line.line_currency),
                "currency": line.line_currency,
                "creator_share": money(line.creator_share_minor),
            }
            for line in lines
        ],
        "withholding": [
            {"payout": str(item.item_public_id), "computation": item.computation} for item in withholdings
        ],
    }


def content_sha256(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


# --- a correction's difference -------------------------------------------------------------------


def statement_difference(*, statement: Statement) -> dict[str, int] | None:
    """A correction's figures minus those of the statement it corrects (None if not a correction)."""
    if statement.corrects_id is None:
        return None
    original = statement.corrects
    assert original is not None
    return {name: getattr(statement, name) - getattr(original, name) for name in Statement.FIGURES}
