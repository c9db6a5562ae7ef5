"""Recognition: matched income lines → the split engine → the ledger; and the period close.

* Lines of one agency are recognised one batch at a time (a transaction-scoped advisory lock),
  in (occurred_at, id) order: the engine's tiers, caps and refunds depend on that order.
* Each line is split under the contract version in force on its day (the query of
  apps.contracts.selectors.contract_version_in_force, run once per batch instead of once per
  line); a refund is split under its original's version, so it reverses the original exactly.
* A line in another currency is converted before the engine at the latest recorded FxRate on or
  before its day (a refund at its original's rate), rounded half up once; the line keeps the
  statement's amount, the rate, its source and date.
* The engine's state per version lives in SplitState (running nets, period shares, what each
  original refunded at least once has left to refund; an original never refunded is recomputed
  from its own ledger entry when a refund names it); the outstanding advance is read from the ledger (the
  creator's advances receivable balance), which recoupment postings keep up to date.
* Entries go through the ledger's bulk path (ledger_post_many, COPY) with the idempotency key
  `income:<line id>`: a batch re-run after a crash posts nothing twice.
* A line whose month is closed posts on the first day of the next open month and says so.
* Approved brand-deal expenses (apps.deals.expenses, which says how a deal's expenses attach
  to its lines): each positive line that pays a deal carries the deal's approved expenses not
  yet deducted as the engine line's `expenses`; the engine deducts what the line's cap and rest
  allow and the amount is recorded with the line (a refund's share, negative, with the refund).
  A line whose rule accepts no expenses, or that is converted, while its deal has expenses to
  deduct goes to the queue instead of being split without them. Refunds of a line re-issued for
  expenses (and the reversals of such re-issues) refund the line the deals app names.
"""

from __future__ import annotations

import datetime
import json
import logging
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
import psycopg.errors
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateRange
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.agencies.models import Agency
from apps.common.exceptions import ApplicationError
from apps.common.money import exponent
from apps.common.pgarrays import int_array, text_array
from apps.common.tenancy import require_agency_role
from apps.contracts.models import ContractCoverage
from apps.income.models import ClosedPeriod, FxRate, IncomeLine, SplitState
from apps.income.services import income_line_mark
from apps.ledger.models import Account, AccountBalance, JournalEntry
from apps.ledger.services import (
    AccountResolver,
    EntryDraft,
    PostingSpec,
    agency_local_date,
    ledger_post_many,
    split_entry_draft,
)
from apps.ledger.splitting import engine_line_load
from apps.splits.engine import Evaluator, InvalidRules, Line, LineResult, RuleSet, parse_rule_set
from apps.splits.engine.rules import DEFAULT_TIMEZONE, Rule

if TYPE_CHECKING:
    from apps.deals.expenses import DealExpenseBook

LineStatus = IncomeLine.Status
Reason = IncomeLine.ExceptionReason
Purpose = Account.Purpose
_LOCK_NAMESPACE = 0x1C0E  # pg_advisory_xact_lock(namespace, agency id): one recogniser per agency
logger = logging.getLogger(__name__)


def _lock_agency(agency_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, agency_id])


def income_recognition_lock(agency_id: int) -> None:
    """Hold the agency's recognition lock until the transaction ends (re-entrant). Services
    that change what recognition reads of other apps (a deal's approved expenses) take it first,
    so that they and a recognition batch never interleave."""
    _lock_agency(agency_id)


def engine_line_id(line: IncomeLine) -> str:
    return f"{line.platform}:{line.external_id}"


# --- engine state per contract version ------------------------------------------------------------


def _state_dump(evaluator: Evaluator) -> dict[str, Any]:
    """What the next batch needs (Evaluator.export_state): running nets, period shares and the
    originals refunded at least once. An original never refunded is not carried: a later refund
    recomputes it from the original's own ledger entry (see _remember_originals), so the state
    stays as small as the contract's periods instead of growing with every line."""
    state = evaluator.export_state()
    state["advance_outstanding"] = 0  # read from the ledger at each batch, see the module docstring
    return state


def _evaluator_for(version_id: int, rule_set: RuleSet, states: dict[int, dict[str, Any]]) -> Evaluator:
    state = states.get(version_id)
    return Evaluator.from_state(rule_set, state) if state else Evaluator(rule_set)


# --- contracts and rates --------------------------------------------------------------------------


class _Contracts:
    """The version in force per (creator, platform, day), from one coverage query per batch;
    each distinct rule set document is parsed once (ten thousand contracts share a handful)."""

    def __init__(self, agency: Agency, lines: list[_Line]) -> None:
        self.by_key: dict[tuple[int, str], list[tuple[Any, Any, int]]] = defaultdict(list)
        self.documents: dict[int, str] = {}  # version id -> rule set document (JSON text)
        self._parsed: dict[str, RuleSet] = {}
        self._zones: dict[str, datetime.tzinfo] = {}
        self._refusals: dict[int, str | None] = {}
        if not lines:
            return
        creators = sorted({line.creator_id for line in lines})
        platforms = sorted({line.platform for line in lines})
        first = min(line.occurred_at for line in lines).astimezone(datetime.UTC).date()
        last = max(line.occurred_at for line in lines).astimezone(datetime.UTC).date()
        with connection.cursor() as cursor:
            # One day either side holds every time zone's calendar day (as contract_version_in_force).
            cursor.execute(
                """
                SELECT c.creator_id, c.platform, lower(c.during), upper(c.during), c.version_id, v.rule_set::text
                FROM unnest(%s::bigint[]) AS creator(id)
                JOIN contracts_contractcoverage c ON c.creator_id = creator.id
                JOIN contracts_contractversion v ON v.id = c.version_id
                WHERE c.agency_id = %s AND c.platform = ANY(%s)
                  AND c.during && daterange(%s, %s)
                """,
                [
                    int_array(creators),
                    agency.pk,
                    platforms,
                    first - datetime.timedelta(days=1),
                    last + datetime.timedelta(days=2),
                ],
            )
            for creator_id, platform, lower, upper, version_id, document in cursor.fetchall():
                self.by_key[(creator_id, platform)].append((lower, upper, version_id))
                self.documents[version_id] = document

    def load_versions(self, version_ids: set[int]) -> None:
        """Rule sets of versions not found by coverage (a refund's original's version)."""
        missing = sorted(version_ids - set(self.documents))
        if missing:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id, rule_set::text FROM contracts_contractversion WHERE id = ANY(%s)", [missing]
                )
                self.documents.update(cursor.fetchall())

    def _zone(self, document: str) -> datetime.tzinfo:
        """The zone a line's day is read in to find its version. Never an error for the batch:
        a rule set whose zone does not load reads days in UTC here, and refusal() sends the
        lines it covers to the queue."""
        zone = self._zones.get(document)
        if zone is None:
            try:
                zone = ZoneInfo(json.loads(document).get("timezone", DEFAULT_TIMEZONE))
            except (ZoneInfoNotFoundError, ValueError, TypeError, AttributeError, OSError):
                zone = datetime.UTC
            self._zones[document] = zone
        return zone

    def refusal(self, version_id: int) -> str | None:
        """Why the version's rule set cannot split anything, for the queue; None if it can. The
        contract services refuse such rule sets when saved and signed, but one stored earlier
        (or whose zone this server's tz database lacks) must stop only its own lines."""
        if version_id not in self._refusals:
            try:
                self.rule_set(version_id)
                self._refusals[version_id] = None
            except InvalidRules as error:
                self._refusals[version_id] = _(
                    "The split rules of the contract in force cannot be evaluated (%(path)s: %(message)s). "
                    "The agency must correct the contract with an amendment; then assign the line again."
                ) % {"path": error.path or "/", "message": error.message}
        return self._refusals[version_id]

    def version(self, line: _Line) -> int | None:
        for lower, upper, version_id in self.by_key.get((line.creator_id, line.platform), ()):
            day = line.occurred_at.astimezone(self._zone(self.documents[version_id])).date()
            if (lower is None or lower <= day) and (upper is None or day < upper):
                return version_id
        return None

    def rule_set(self, version_id: int) -> RuleSet:
        document = self.documents[version_id]
        parsed = self._parsed.get(document)
        if parsed is None:
            parsed = self._parsed[document] = parse_rule_set(json.loads(document))
        return parsed


class _Rates:
    def __init__(self) -> None:
        self.cache: dict[tuple[str, str], tuple[list[datetime.date], list[FxRate]]] = {}

    def at(self, base: str, quote: str, day: datetime.date) -> FxRate | None:
        """The latest rate recorded on or before `day`."""
        pair = (base, quote)
        if pair not in self.cache:
            rates = list(FxRate.objects.filter(base=base, quote=quote).order_by("date", "pk"))
            self.cache[pair] = ([rate.date for rate in rates], rates)
        days, rates = self.cache[pair]
        position = bisect_right(days, day)
        return rates[position - 1] if position else None


def convert_minor(amount: int, base: str, quote: str, rate: Decimal) -> int:
    """amount (base minor units) × rate, in quote minor units, rounded half away from zero once."""
    with localcontext() as context:
        context.prec = 60
        value = Decimal(amount) * rate * Decimal(10) ** (exponent(quote) - exponent(base))
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- the batch --------------------------------------------------------------------------------------


class _Resolver(AccountResolver):
    """The ledger's resolver with the batch's creator payable accounts created and read in two
    set-based queries up front (a million-line import touches ten thousand of them); it
    answers account ids, which is all a posting needs."""

    def preload(self, creator_ids: set[int]) -> None:
        purpose = Purpose.CREATOR_PAYABLE
        creators = sorted(creator_ids)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO ledger_account (public_id, agency_id, creator_id, purpose, key, currency, created_at)
                SELECT gen_random_uuid(), %s, creator_id, %s, '', %s, now() FROM unnest(%s::bigint[]) AS c(creator_id)
                ON CONFLICT DO NOTHING
                """,
                [self.agency.pk, purpose, self.currency, int_array(creators)],
            )
            cursor.execute(
                "SELECT a.creator_id, a.id FROM unnest(%s::bigint[]) AS creator(id)"
                " JOIN ledger_account a ON a.creator_id = creator.id"
                " WHERE a.agency_id = %s AND a.purpose = %s AND a.key = '' AND a.currency = %s",
                [int_array(creators), self.agency.pk, purpose, self.currency],
            )
            for creator_id, account_id in cursor.fetchall():
                self._ids[(purpose, "", creator_id)] = account_id

    def __init__(self, *, agency: Agency, currency: str) -> None:
        super().__init__(agency=agency, currency=currency)
        self._ids: dict[tuple[str, str, int | None], int] = {}

    def __call__(self, purpose: str, key: str = "", creator_id: int | None = None) -> int:  # type: ignore[override]
        cache_key = (purpose, key, creator_id)
        account_id = self._ids.get(cache_key)
        if account_id is None:
            account_id = self._ids[cache_key] = super().__call__(purpose, key, creator_id).pk
        return account_id


class _Original:
    """What a refund line needs of the line it refunds."""

    __slots__ = (
        "contract_version_id",
        "external_id",
        "fx_date",
        "fx_rate",
        "fx_source",
        "ledger_entry_id",
        "original_currency",
        "platform",
    )

    contract_version_id: int | None
    external_id: str
    fx_date: datetime.date | None
    fx_rate: Decimal | None
    fx_source: str
    ledger_entry_id: int | None
    original_currency: str
    platform: str

    def __init__(self, *values: Any) -> None:
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)


class _Line:
    """An income line as recognition reads and writes it (a plain row, not a model instance:
    a batch holds tens of thousands)."""

    __slots__ = (
        "creator_id",
        "currency",
        "external_id",
        "fx_date",
        "fx_rate",
        "fx_source",
        "gross_minor",
        "is_converted",
        "occurred_at",
        "original_currency",
        "original_gross_minor",
        "pk",
        "platform",
        "public_id",
        "refund_of",
        "refund_of_id",
        "source",
    )

    # Declared for the type checker; the values arrive by keyword from one SELECT row.
    creator_id: int  # a matched line always has its creator
    currency: str
    external_id: str
    fx_date: datetime.date | None
    fx_rate: Decimal | None
    fx_source: str
    gross_minor: int
    is_converted: bool
    occurred_at: datetime.datetime
    original_currency: str
    original_gross_minor: int | None
    pk: int
    platform: str
    public_id: Any
    refund_of: _Original | None
    refund_of_id: int | None
    source: str

    def __init__(self, **values: Any) -> None:
        self.is_converted = False  # amount, currency or rate fields changed by this batch
        for name, value in values.items():
            setattr(self, name, value)


_LINES_SQL = """
    SELECT id, public_id, creator_id, platform, external_id, source, gross_minor, currency, occurred_at,
           original_gross_minor, original_currency, fx_rate, fx_source, fx_date, refund_of_id
    FROM income_incomeline
    WHERE id IN (SELECT unnest(%s::bigint[])) AND agency_id = %s AND status = %s
    ORDER BY id
    FOR NO KEY UPDATE
"""
# Read apart from the lines (a refund is ~1 % of them): joined into the locking query, the
# planner's guess on a freshly filled table turned a 0.5 s read into 5 s.
_ORIGINALS_SQL = """
    SELECT id, contract_version_id, external_id, fx_date, fx_rate, fx_source, ledger_entry_id,
           original_currency, platform
    FROM income_incomeline WHERE id IN (SELECT unnest(%s::bigint[]))
"""


def _locked_lines(agency: Agency, line_ids: list[int]) -> list[_Line]:
    # ORDER BY id: row locks in one order; evaluation order is re-sorted by the caller.
    with connection.cursor() as cursor:
        cursor.execute(_LINES_SQL, [int_array(line_ids), agency.pk, LineStatus.MATCHED])
        rows = cursor.fetchall()
        refunded = sorted({row[14] for row in rows if row[14] is not None})
        originals: dict[int, _Original] = {}
        if refunded:
            cursor.execute(_ORIGINALS_SQL, [int_array(refunded)])
            originals = {row[0]: _Original(*row[1:]) for row in cursor.fetchall()}
    lines = []
    for row in rows:
        lines.append(
            _Line(
                pk=row[0],
                public_id=row[1],
                creator_id=row[2],
                platform=row[3],
                external_id=row[4],
                source=row[5],
                gross_minor=row[6],
                currency=row[7],
                occurred_at=row[8],
                original_gross_minor=row[9],
                original_currency=row[10],
                fx_rate=row[11],
                fx_source=row[12],
                fx_date=row[13],
                refund_of_id=row[14],
                refund_of=originals.get(row[14]) if row[14] is not None else None,
            )
        )
    return lines


@dataclass
class RecognitionOutcome:
    recognised: int = 0
    exceptions: int = 0


def _closed_months(agency: Agency) -> set[str]:
    return set(ClosedPeriod.objects.filter(agency=agency).values_list("period", flat=True))


def _month(day: datetime.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _posting_day(agency: Agency, moment: datetime.datetime, closed: set[str]) -> tuple[datetime.date, str]:
    """(effective date, note): the line's day, or the first day of the next open month."""
    day = agency_local_date(agency, moment)
    month = _month(day)
    if month not in closed:
        return day, ""
    target = day.replace(day=1)
    while _month(target) in closed:
        target = (target + datetime.timedelta(days=32)).replace(day=1)
    return target, _("Occurred in %(month)s, which was closed; posted in %(posted)s.") % {
        "month": month,
        "posted": _month(target),
    }


# --- poison: a line that cannot be recognised stops no other ----------------------------------------

# Errors a retry may cure (a lost connection, a deadlock, a serialization failure, a lock or
# statement timeout, the task's time limit): they stop the batch and reach the caller.
# psycopg's own classes too: the ledger's COPY raises them unwrapped.
_TRANSIENT: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    SoftTimeLimitExceeded,
)


def income_recognize_batch(*, agency: Agency, line_ids: list[int]) -> RecognitionOutcome:
    """Split matched lines under their contracts and post them to the ledger in one transaction.

    Invariant: a line is recognised exactly once (status guard under row locks, and the ledger's
    idempotency key `income:<line id>`); lines that cannot be split go to the queue with the reason,
    and so does a line that fails in a way nobody foresaw (a balance that would overflow, a value
    the ledger cannot hold): the rest proceed (see _recognise_isolating).
    """
    with transaction.atomic():
        _lock_agency(agency.pk)
        return _recognise_isolating(agency, line_ids)


def _recognise_isolating(agency: Agency, line_ids: list[int]) -> RecognitionOutcome:
    """The batch in a savepoint; if it fails unexpectedly, each half in its own, down to the
    single lines at fault, which go to the queue with a sentence (the error itself to the log).

    The fast path costs one savepoint per batch. The halves keep the batch's order (occurred_at,
    id) and each re-reads its lines and the engine state the half before it saved, so the lines
    that recognise are split exactly as without the poison among them. k bad lines among n cost
    about 2k·log2(n) sub-batches.
    """
    try:
        return _recognise_batch(agency=agency, line_ids=line_ids)
    except _TRANSIENT:
        raise
    except Exception as error:
        ordered = _matched_in_order(agency, line_ids)
        if not ordered:
            raise
        if len(ordered) == 1:
            return _quarantine(ordered[0], error)
        logger.warning(
            "Recognising %d lines of agency %s failed (%s); isolating the lines at fault",
            len(ordered),
            agency.pk,
            type(error).__name__,
        )
        half = len(ordered) // 2
        first = _recognise_isolating(agency, ordered[:half])
        second = _recognise_isolating(agency, ordered[half:])
        return RecognitionOutcome(
            recognised=first.recognised + second.recognised, exceptions=first.exceptions + second.exceptions
        )


def _matched_in_order(agency: Agency, line_ids: list[int]) -> list[int]:
    """The ids still matched, in recognition order; reads no value that could be the poison."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM income_incomeline WHERE id IN (SELECT unnest(%s::bigint[]))"
            " AND agency_id = %s AND status = %s ORDER BY occurred_at, id",
            [int_array(line_ids), agency.pk, LineStatus.MATCHED],
        )
        return [row[0] for row in cursor.fetchall()]


def _quarantine(line_id: int, error: Exception) -> RecognitionOutcome:
    logger.error("Income line %s could not be recognised", line_id, exc_info=error)
    marked = income_line_mark(
        lines_qs_or_ids=[line_id],
        status=LineStatus.EXCEPTION,
        exception_reason=Reason.ENGINE_ERROR,
        detail=_failure_text(error),
    )
    return RecognitionOutcome(exceptions=marked)


def _failure_text(error: Exception) -> str:
    """A sentence for the queue. Never the error's own text: it can hold SQL or Python."""
    cause = error.__cause__ if error.__cause__ is not None else error
    if isinstance(error, ApplicationError):
        reason = error.message  # written for people
    elif isinstance(cause, psycopg.errors.NumericValueOutOfRange) or isinstance(error, OverflowError):
        reason = _(
            "Posting it would take a ledger balance past the largest amount the ledger can hold. "
            "Check the amounts of its statement."
        )
    elif isinstance(cause, psycopg.errors.StringDataRightTruncation):
        reason = _(
            "Its split would record a value longer than the ledger can store, such as an id of "
            "more than 64 characters in the contract's split rules."
        )
    else:
        reason = _(
            "An unexpected error stopped it; it was logged for the operators. Once the cause is "
            "fixed, assign the line again to retry."
        )
    return _("This line could not be recognised. %(reason)s") % {"reason": reason}


def _recognise_batch(*, agency: Agency, line_ids: list[int]) -> RecognitionOutcome:
    """One attempt at the batch, in a savepoint of income_recognize_batch's transaction."""
    outcome = RecognitionOutcome()
    with transaction.atomic():
        _lock_agency(agency.pk)
        lines = _locked_lines(agency, line_ids)
        if not lines:
            return outcome
        expenses_book = _deal_expenses(agency, lines)  # before anything reads line.refund_of
        lines.sort(key=lambda line: (line.occurred_at, line.pk))
        contracts = _Contracts(agency, lines)
        contracts.load_versions(
            {
                line.refund_of.contract_version_id
                for line in lines
                if line.refund_of and line.refund_of.contract_version_id
            }
        )
        rates = _Rates()
        closed = _closed_months(agency)
        chosen: list[tuple[_Line, int]] = []
        exceptions: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for line in lines:
            version_id: int | None
            if line.refund_of is not None and line.refund_of.contract_version_id:
                version_id = line.refund_of.contract_version_id
            else:
                version_id = contracts.version(line)
            if version_id is None:
                exceptions[Reason.NO_CONTRACT].append(
                    (line.pk, _("No signed contract covers this creator on %(platform)s on that day.")
                     % {"platform": line.platform})
                )  # fmt: skip
                continue
            refusal = contracts.refusal(version_id)
            if refusal is not None:
                exceptions[Reason.ENGINE_ERROR].append((line.pk, refusal))
                continue
            chosen.append((line, version_id))

        version_ids = sorted({version_id for _line, version_id in chosen})
        states: dict[int, dict[str, Any]] = {}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT contract_version_id, state::text FROM income_splitstate"
                " WHERE contract_version_id IN (SELECT unnest(%s::bigint[])) ORDER BY 1 FOR UPDATE",
                [version_ids],
            )
            for version_id, text in cursor.fetchall():
                states[version_id] = json.loads(text)
        evaluators: dict[int, Evaluator] = {}
        resolvers: dict[str, _Resolver] = {}
        creator_ids = {line.creator_id for line, _version in chosen}
        advances = _advances(agency, creator_ids)
        originals = _original_entries(chosen)
        drafts: list[EntryDraft] = []
        posted: list[tuple[_Line, int, str, str]] = []
        counted: dict[int, int] = defaultdict(int)
        for line, version_id in chosen:
            rule_set = contracts.rule_set(version_id)
            evaluator = evaluators.get(version_id)
            if evaluator is None:
                evaluator = evaluators[version_id] = _evaluator_for(version_id, rule_set, states)
            gross = line.gross_minor
            currency = line.currency
            if line.original_currency:
                # Converted in an earlier attempt that went to the queue: start from the statement.
                gross, currency = line.original_gross_minor or gross, line.original_currency
                line.is_converted = True
            expenses = 0
            if expenses_book is not None and line.refund_of is None and line.gross_minor > 0:
                expenses = expenses_book.claim(line.pk)
                refusal = _expenses_refusal(line, expenses, gross, currency, rule_set, expenses_book)
                if refusal:
                    # Never split without the approved expenses: a person sees why in the queue.
                    exceptions[Reason.ENGINE_ERROR].append((line.pk, refusal))
                    continue
            if currency != rule_set.currency:
                line.is_converted = True
                converted = _convert(line, gross, currency, rule_set.currency, rates, agency)
                if converted is None:
                    exceptions[Reason.NO_FX_RATE].append(
                        (line.pk, _("No %(base)s→%(quote)s rate is recorded on or before that day.")
                         % {"base": currency, "quote": rule_set.currency})
                    )  # fmt: skip
                    continue
                gross = converted
            original = line.refund_of
            engine_line = Line(
                id=f"{line.platform}:{line.external_id}",
                source=line.source,
                platform=line.platform,
                gross=gross,
                occurred_at=line.occurred_at,
                currency=rule_set.currency,
                refund_of=f"{original.platform}:{original.external_id}" if original is not None else None,
                expenses=expenses,
            )
            if (
                original is not None
                and original.ledger_entry_id is not None
                and not evaluator.knows_original(f"{original.platform}:{original.external_id}")
            ):
                _remember_original(evaluator, originals.get(original.ledger_entry_id))
            resolver = resolvers.get(rule_set.currency)
            if resolver is None:
                resolver = resolvers[rule_set.currency] = _Resolver(agency=agency, currency=rule_set.currency)
                resolver.preload(creator_ids)
            advance_key = (line.creator_id, rule_set.currency)
            evaluator.advance_outstanding = advances.get(advance_key, 0)
            effective, note = _posting_day(agency, line.occurred_at, closed)
            try:
                draft = split_entry_draft(
                    agency=agency,
                    creator=line.creator_id,
                    evaluator=evaluator,
                    line=engine_line,
                    idempotency_key=f"income:{line.pk}",
                    accounts=resolver,
                    cause_reference=f"income_line:{line.public_id}",
                    contract_version_id=version_id,
                    effective_date=effective,
                )
            except ApplicationError:
                # The engine refused the line and left its state as it was: ask it again for the
                # code and the sentence a person reads in the queue.
                result = evaluator.evaluate(engine_line)
                exceptions[Reason.ENGINE_ERROR].append((line.pk, _engine_error_text(result, rule_set)))
                continue
            advances[advance_key] = evaluator.advance_outstanding
            if expenses_book is not None and expenses_book.tracks(line.pk):
                expenses_book.record(line.pk, _expenses_deducted(draft, rule_set))
            if gross != line.gross_minor or currency != line.currency:
                line.original_gross_minor, line.original_currency = line.gross_minor, line.currency
                line.gross_minor, line.currency = gross, rule_set.currency
            drafts.append(draft)
            posted.append((line, version_id, _month(effective), note))
            counted[version_id] += 1

        entry_ids = ledger_post_many(agency=agency, drafts=drafts, bulk=True)
        _mark_recognised(posted, entry_ids)
        if expenses_book is not None:
            expenses_book.save()
        for reason, items in exceptions.items():
            for line_id, detail in items:
                income_line_mark(
                    lines_qs_or_ids=[line_id],
                    status=LineStatus.EXCEPTION,
                    exception_reason=reason,
                    detail=detail,
                )
        _save_states(evaluators, counted)
        outcome.recognised = len(posted)
        outcome.exceptions = sum(len(items) for items in exceptions.values())
    return outcome


def _original_entries(chosen: list[tuple[_Line, int]]) -> dict[int, tuple[dict[str, Any], dict[str, Any]]]:
    """(engine line, engine state) of the ledger entries of the originals the batch's refunds
    name: enough to recompute an original that no carried state holds (about 1 % of lines)."""
    entry_ids = sorted(
        {
            line.refund_of.ledger_entry_id
            for line, _version in chosen
            if line.refund_of and line.refund_of.ledger_entry_id
        }
    )
    if not entry_ids:
        return {}
    rows = JournalEntry.objects.filter(pk__in=entry_ids).values_list("pk", "engine_line", "engine_state")
    return {
        entry_id: (engine_line, engine_state)
        for entry_id, engine_line, engine_state in rows
        if engine_line is not None and engine_state is not None
    }


def _deal_expenses(agency: Agency, lines: list[_Line]) -> DealExpenseBook | None:
    """The batch's approved deal expenses (apps.deals, when installed), and the refunds it
    re-points: a reversal refunds the line it reverses, a refund naming a line re-issued for
    expenses refunds the latest re-issue (see apps/deals/expenses.py)."""
    from django.apps import apps as registry

    if not registry.is_installed("apps.deals"):
        return None
    from apps.deals.expenses import DealExpenseBook

    book = DealExpenseBook.for_lines(
        agency_id=agency.pk,
        lines=[(line.pk, line.gross_minor, line.source, line.refund_of_id) for line in lines],
    )
    if book.refund_targets:
        with connection.cursor() as cursor:
            cursor.execute(_ORIGINALS_SQL, [int_array(sorted(set(book.refund_targets.values())))])
            targets = {row[0]: _Original(*row[1:]) for row in cursor.fetchall()}
        for line in lines:
            if line.pk in book.refund_targets:
                line.refund_of = targets.get(book.refund_targets[line.pk])
    return book


def _expenses_refusal(
    line: _Line, expenses: int, gross: int, currency: str, rule_set: RuleSet, book: DealExpenseBook
) -> str | None:
    """Why a line whose deal has `expenses` to deduct cannot carry them, or None if it can."""
    if not expenses:
        return None
    if currency != rule_set.currency:
        refusal = _(
            "This payment is converted from %(currency)s to %(quote)s before the split, so its deal's "
            "expenses cannot be deducted from it."
        ) % {"currency": currency, "quote": rule_set.currency}
        return f"{refusal} {book.detail(line.pk)}"
    # The engine decides (EXPENSES_NOT_ALLOWED when the matched rule has no expenses clause); a
    # fresh evaluator, since a line it accepts would move the batch's state.
    probe = Evaluator(rule_set).evaluate(
        Line(
            id=f"{line.platform}:{line.external_id}",
            source=line.source,
            platform=line.platform,
            gross=gross,
            occurred_at=line.occurred_at,
            currency=currency,
            expenses=expenses,
        )
    )
    if probe.error == "EXPENSES_NOT_ALLOWED":
        return f"{_engine_error_text(probe, rule_set)} {book.detail(line.pk)}"
    return None


def _expenses_deducted(draft: EntryDraft, rule_set: RuleSet) -> int:
    """What the entry's split deducted as `expenses` (a refund: the negative share it reversed)."""
    split = draft.split
    if split is None:
        return 0
    rule: Rule = rule_set.rule(split.rule_id)
    if "expenses" not in rule.part_ids:
        return 0
    for step in split.trace:
        if step[0] == "expenses":
            return int(step[5])
        if step[0] == "refund":
            return int(step[3][rule.part_ids.index("expenses")])
    return 0


def _remember_original(evaluator: Evaluator, entry: tuple[dict[str, Any], dict[str, Any]] | None) -> None:
    """Re-evaluate an original from its own split entry (exactly what verify_ledger checks it
    against) and let the evaluator carry it, as if it had evaluated it itself."""
    if entry is None:
        return  # the engine then says UNKNOWN_ORIGINAL, as it always did
    engine_line, engine_state = entry
    result = Evaluator.from_state(evaluator.rule_set, engine_state).evaluate(engine_line_load(engine_line))
    if result.error is None and result.gross > 0:
        evaluator.remember_original(result)


def _engine_error_text(result: LineResult, rule_set: RuleSet) -> str:
    from apps.splits.explain import error_text

    code = result.error or "ERROR"
    try:
        return f"{code}: {error_text(result.trace[0], rule_set)}"
    except (IndexError, KeyError, TypeError):
        return code


def _convert(line: _Line, gross: int, currency: str, quote: str, rates: _Rates, agency: Agency) -> int | None:
    original = line.refund_of
    if original is not None and original.fx_rate is not None and original.original_currency == currency:
        # A refund goes back at its original's rate, so that it reverses the original exactly.
        line.fx_rate, line.fx_source, line.fx_date = original.fx_rate, original.fx_source, original.fx_date
        return convert_minor(gross, currency, quote, original.fx_rate)
    rate = rates.at(currency, quote, agency_local_date(agency, line.occurred_at))
    if rate is None:
        return None
    line.fx_rate, line.fx_source, line.fx_date = rate.rate, rate.source, rate.date
    return convert_minor(gross, currency, quote, rate.rate)


def _advances(agency: Agency, creator_ids: set[int]) -> dict[tuple[int, str], int]:
    """Outstanding advance per (creator, currency): the advances receivable balance (a debit)."""
    rows = AccountBalance.objects.filter(
        account__agency=agency,
        account__purpose=Purpose.ADVANCES_RECEIVABLE,
        account__creator_id__in=creator_ids,
    ).values_list("account__creator_id", "account__currency", "balance_minor")
    return {(creator_id, currency): max(balance, 0) for creator_id, currency, balance in rows}


def _mark_recognised(posted: list[tuple[_Line, int, str, str]], entry_ids: list[int]) -> None:
    if not posted:
        return
    now = timezone.now()
    plain = [
        (item, entry_id) for item, entry_id in zip(posted, entry_ids, strict=True) if not item[0].is_converted
    ]
    converted = [
        (item, entry_id) for item, entry_id in zip(posted, entry_ids, strict=True) if item[0].is_converted
    ]
    with connection.cursor() as cursor:
        if plain:
            # Amount, currency and rate as they were read: five arrays instead of twelve.
            cursor.execute(
                """
                UPDATE income_incomeline AS line
                SET status = 'recognised', ledger_entry_id = data.entry_id, contract_version_id = data.version_id,
                    posted_period = data.period, posting_note = data.note, recognised_at = %s, updated_at = %s
                FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[])
                    AS data(id, entry_id, version_id, period, note)
                WHERE line.id = data.id
                """,
                [
                    now,
                    now,
                    int_array(line.pk for (line, *_rest), _entry in plain),
                    int_array(entry_id for _item, entry_id in plain),
                    int_array(version_id for (_line, version_id, *_rest), _entry in plain),
                    text_array(period for (*_head, period, _note), _entry in plain),
                    text_array(note for (*_head, note), _entry in plain),
                ],
            )
        if converted:
            cursor.execute(
                """
                UPDATE income_incomeline AS line
                SET status = 'recognised', ledger_entry_id = data.entry_id, contract_version_id = data.version_id,
                    posted_period = data.period, posting_note = data.note, recognised_at = %s, updated_at = %s,
                    gross_minor = data.gross, currency = data.currency,
                    original_gross_minor = data.original_gross, original_currency = data.original_currency,
                    fx_rate = data.rate, fx_source = data.rate_source, fx_date = data.rate_date
                FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[], %s::bigint[],
                            %s::varchar[], %s::bigint[], %s::varchar[], %s::numeric[], %s::varchar[], %s::date[])
                    AS data(id, entry_id, version_id, period, note, gross, currency, original_gross,
                            original_currency, rate, rate_source, rate_date)
                WHERE line.id = data.id
                """,
                [
                    now,
                    now,
                    int_array(line.pk for (line, *_rest), _entry in converted),
                    int_array(entry_id for _item, entry_id in converted),
                    int_array(version_id for (_line, version_id, *_rest), _entry in converted),
                    text_array(period for (*_head, period, _note), _entry in converted),
                    text_array(note for (*_head, note), _entry in converted),
                    int_array(line.gross_minor for (line, *_rest), _entry in converted),
                    text_array(line.currency for (line, *_rest), _entry in converted),
                    int_array(line.original_gross_minor for (line, *_rest), _entry in converted),
                    text_array(line.original_currency for (line, *_rest), _entry in converted),
                    text_array(line.fx_rate for (line, *_rest), _entry in converted),
                    text_array(line.fx_source for (line, *_rest), _entry in converted),
                    text_array(line.fx_date for (line, *_rest), _entry in converted),
                ],
            )


def _save_states(evaluators: dict[int, Evaluator], counted: dict[int, int]) -> None:
    if not evaluators:
        return
    version_ids = sorted(evaluators)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO income_splitstate AS s (contract_version_id, state, line_count, updated_at)
            SELECT version_id, state::jsonb, line_count, now()
            FROM unnest(%s::bigint[], %s::text[], %s::integer[]) AS data(version_id, state, line_count)
            ON CONFLICT (contract_version_id) DO UPDATE
                SET state = EXCLUDED.state, line_count = s.line_count + EXCLUDED.line_count,
                    updated_at = EXCLUDED.updated_at
            """,
            [
                version_ids,
                [
                    json.dumps(_state_dump(evaluators[version_id]), separators=(",", ":"))
                    for version_id in version_ids
                ],
                [counted.get(version_id, 0) for version_id in version_ids],
            ],
        )


def income_agencies_pending() -> list[int]:
    """Ids of the agencies with matched lines waiting for recognition, one index probe each."""
    waiting = IncomeLine.objects.filter(agency=OuterRef("pk"), status=LineStatus.MATCHED)
    return list(Agency.objects.filter(Exists(waiting)).order_by("pk").values_list("pk", flat=True))


def income_recognize_pending(*, agency: Agency, batch_size: int = 20_000) -> RecognitionOutcome:
    """Recognise every matched line of the agency (lines resolved by hand, late deal matches)."""
    total = RecognitionOutcome()
    while True:
        ids = list(
            IncomeLine.objects.filter(agency=agency, status=LineStatus.MATCHED)
            .order_by("occurred_at", "pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return total
        outcome = income_recognize_batch(agency=agency, line_ids=ids)
        total.recognised += outcome.recognised
        total.exceptions += outcome.exceptions
        if outcome.recognised + outcome.exceptions == 0:
            return total


# --- what a creator sees ------------------------------------------------------------------------------


def income_line_split(*, line: IncomeLine) -> dict[str, Any] | None:
    """A recognised line's split and the engine's explanation, re-run from what the ledger kept
    (rule set snapshot, engine line, engine state): the creator reads exactly what was posted."""
    entry: JournalEntry | None = line.ledger_entry
    if entry is None or entry.rule_set is None or entry.engine_line is None or entry.engine_state is None:
        return None
    from apps.splits.explain import explain_steps, explain_summary

    rule_set = parse_rule_set(entry.rule_set.document)
    evaluator = Evaluator.from_state(rule_set, entry.engine_state)
    engine_line = engine_line_load(entry.engine_line)
    result = evaluator.evaluate(engine_line)
    split = result.as_json(rule_set)
    return {
        "result": split,
        "summary": explain_summary(
            result, rule_set, source=line.source, platform=line.platform, viewer="creator"
        ),
        "steps": explain_steps(
            result, rule_set, source=line.source, platform=line.platform, viewer="creator"
        ),
        "currency": rule_set.currency,
    }


@dataclass(frozen=True)
class Refundable:
    """What refunds of a recognised positive line may still reverse, as the engine holds it."""

    rule_set: RuleSet
    rule: Rule
    unrefunded: int  # of the gross, in the rule set's minor units
    remaining: tuple[int, ...]  # deductions (rule.part_ids order), payables (party order), recouped
    engine_line: Line  # the line as its ledger entry recorded it


def income_line_refundable(*, line: IncomeLine) -> Refundable | None:
    """A recognised positive line's refundable state: from its contract version's carried state
    if it was refunded before, else re-evaluated from its own ledger entry (as a refund of it
    would be). None for a line that is not a recognised positive split. Call it under the
    agency's recognition lock (income_recognition_lock) for an answer that stays true."""
    entry: JournalEntry | None = line.ledger_entry
    if entry is None or entry.rule_set is None or entry.engine_line is None or entry.engine_state is None:
        return None
    rule_set = parse_rule_set(entry.rule_set.document)
    engine_line = engine_line_load(entry.engine_line)
    if engine_line.gross <= 0 or engine_line.refund_of is not None:
        return None
    state = SplitState.objects.filter(pk=line.contract_version_id).values_list("state", flat=True).first()
    carried = (state or {}).get("originals", {}).get(engine_line.id)
    if carried is not None:
        return Refundable(
            rule_set=rule_set,
            rule=rule_set.rule(carried["rule"]),
            unrefunded=int(carried["unrefunded"]),
            remaining=tuple(int(value) for value in carried["remaining"]),
            engine_line=engine_line,
        )
    result = Evaluator.from_state(rule_set, entry.engine_state).evaluate(engine_line)
    if result.error is not None or result.rule is None:
        return None
    return Refundable(
        rule_set=rule_set,
        rule=result.rule,
        unrefunded=result.gross,
        remaining=(*result.deductions, *result.payable, result.recouped),
        engine_line=engine_line,
    )


# --- period close -------------------------------------------------------------------------------------


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


def period_close(*, agency: Agency, period: str, actor: Any) -> ClosedPeriod:
    """Close one month of an agency: nothing posts into it afterwards, and every contract with a
    minimum guarantee whose guarantee period ends with this month gets its top-up posted.

    Invariant: a month closes once (unique row); top-ups use keys `guarantee:<version>:<period>`.
    """
    if actor is not None:
        require_agency_role(actor, agency, ("owner", "finance"))
    with transaction.atomic():
        _lock_agency(agency.pk)
        try:
            year, month = (int(part) for part in period.split("-"))
            first = datetime.date(year, month, 1)
        except ValueError:
            raise ApplicationError(
                _("%(period)r is not a month such as 2026-11.") % {"period": period}, code="invalid_period"
            ) from None
        if ClosedPeriod.objects.filter(agency=agency, period=period).exists():
            raise ApplicationError(
                _("%(period)s is already closed.") % {"period": period}, code="period_closed"
            )
        last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
        coverage = (
            ContractCoverage.objects.filter(
                agency=agency, during__overlap=DateRange(first, last + datetime.timedelta(days=1))
            )
            .select_related("version")
            .order_by("version_id")
        )
        versions = {row.version_id: row for row in coverage}
        states = dict(
            SplitState.objects.filter(pk__in=list(versions)).values_list("contract_version_id", "state")
        )
        drafts: list[EntryDraft] = []
        resolvers: dict[str, AccountResolver] = {}
        for version_id, row in versions.items():
            rule_set = parse_rule_set(row.version.rule_set)
            if rule_set.guarantee is None or rule_set.guarantee_period is None:
                continue
            key = _guarantee_key(period, rule_set.guarantee_period)
            if key is None:
                continue
            evaluator = _evaluator_for(version_id, rule_set, states)
            _creator_total, top_up = evaluator.close_period(key)
            if top_up <= 0:
                continue
            resolver = resolvers.setdefault(
                rule_set.currency, AccountResolver(agency=agency, currency=rule_set.currency)
            )
            drafts.append(
                EntryDraft(
                    idempotency_key=f"guarantee:{version_id}:{key}",
                    kind=JournalEntry.Kind.GUARANTEE_TOP_UP,
                    effective_date=last,
                    postings=[
                        PostingSpec(account=resolver(Purpose.GUARANTEE_TOP_UP), amount_minor=top_up),
                        PostingSpec(
                            account=resolver(Purpose.CREATOR_PAYABLE, "", row.creator_id),
                            amount_minor=-top_up,
                        ),
                    ],
                    cause_reference=f"period_close:{period}",
                    creator_id=row.creator_id,
                    memo=f"Minimum guarantee top-up for {key}",
                )
            )
        ledger_post_many(agency=agency, drafts=drafts, bulk=False)
        return ClosedPeriod.objects.create(
            agency=agency,
            period=period,
            closed_by=actor if getattr(actor, "pk", None) else None,
            top_up_count=len(drafts),
        )
