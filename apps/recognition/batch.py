"""A recognition batch: matched income lines → the split engine → allocations and ledger entries.

* Lines of one agency are recognised one batch at a time (income_recognition_lock, an advisory
  lock), in (occurred_at, id) order: the engine's tiers, caps and refunds depend on that order.
* Each line is split under the contract version in force on its day (one coverage query per
  batch, apps.contracts.selectors.contract_coverage_many); a refund under its original's
  version, so that it reverses the original exactly.
* A line in another currency is converted before the engine at the latest recorded FxRate on or
  before its day, the agency's own before a reference rate (a refund at its original's rate),
  rounded half up once; the allocation keeps the statement's amount, the rate, its source and
  date. The line itself is never updated.
* The engine's state per version lives in EngineState (running nets, period shares, what each
  original refunded at least once has left to refund). An original never refunded is carried
  from its own allocation when a refund names it. The outstanding advance is read from the
  ledger (the creator's advances receivable balance) and recorded on each allocation.
* Each recognised line gets one LineAllocation row (COPY), its amounts in integer minor units.
  The ledger gets one entry per (batch, creator, contract version, posting month, income or
  refund): postings summed per account, and the Merkle root of its lines' allocation leaves.
* One transaction per batch; a re-run finds the lines allocated and posts nothing twice (the
  allocation's primary key is the line, the entries' idempotency keys name the batch).
* A line whose month is closed posts on the first day of the next open month.
* Approved brand-deal expenses come from the registered expense book (apps.deals registers it;
  recognition imports nothing of deals): each positive line that pays a deal carries the deal's
  approved expenses not yet deducted; a line whose rule accepts no expenses, or that is
  converted, while its deal has expenses to deduct goes to the queue instead.
* Lines that cannot be split go to the queue with the reason; a line that fails in a way nobody
  foresaw is isolated by bisection (see _isolating) and goes to the queue; the rest proceed.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
import psycopg.errors
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from apps.agencies.models import Agency
from apps.agencies.time import agency_local_date
from apps.common.exceptions import ApplicationError
from apps.common.money import MAX_ABS_MINOR, exponent
from apps.common.pgarrays import int_array
from apps.contracts.selectors import contract_coverage_many, contract_rule_set_documents
from apps.income.models import ClosedPeriod, FxRate, IncomeLine
from apps.income.selectors import (
    income_line_facts_many,
    income_line_ids_matched_in_order,
    income_lines_matched_many,
)
from apps.income.services import income_line_mark, income_recognition_lock
from apps.ledger.models import Account, JournalEntry
from apps.ledger.selectors import ledger_balances_of_creators
from apps.ledger.services import (
    AccountResolver,
    EntryDraft,
    PostingSpec,
    canonical_json,
    ledger_accounts_ensure,
    ledger_post_many,
)
from apps.recognition.leaves import LeafWriter
from apps.recognition.merkle import merkle_root
from apps.recognition.models import CHECKPOINT_EVERY, ENGINE_VERSION, RecognitionBatch, RuleSetSnapshot
from apps.recognition.postings import AccountKey, allocation_moves
from apps.splits.engine import Evaluator, InvalidRules, Line, LineResult, RuleSet, parse_rule_set
from apps.splits.engine.rules import DEFAULT_TIMEZONE

LineStatus = IncomeLine.Status
Reason = IncomeLine.ExceptionReason
Purpose = Account.Purpose
logger = logging.getLogger(__name__)


# --- the expense book (registered by apps.deals) ---------------------------------------------------


class ExpenseBook(Protocol):
    refund_targets: dict[int, int]

    def tracks(self, line_id: int) -> bool: ...
    def claim(self, line_id: int) -> int: ...
    def detail(self, line_id: int) -> str: ...
    def record(self, line_id: int, amount_minor: int) -> None: ...
    def save(self) -> None: ...


# (agency id, [(line id, gross, source, refund_of id)]) -> the batch's expense book
ExpenseBookFactory = Callable[..., ExpenseBook]
_expense_books: dict[str, ExpenseBookFactory] = {}


def register_expense_book(factory: ExpenseBookFactory) -> None:
    """Apps above recognition (deals) register the book of approved expenses a batch deducts."""
    _expense_books["book"] = factory


# --- engine state per contract version ------------------------------------------------------------


def state_dump(evaluator: Evaluator) -> dict[str, Any]:
    """What the next batch needs (Evaluator.export_state): running nets, period shares and the
    originals refunded at least once. An original never refunded is not carried: a later refund
    takes it from its own allocation, so the state stays as small as the contract's periods."""
    state = evaluator.export_state()
    state["advance_outstanding"] = 0  # read from the ledger at each line, see the module docstring
    return state


def rule_set_sha256(document: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()


# --- contracts and rates --------------------------------------------------------------------------


class _Contracts:
    """The version in force per (creator, platform, day), from one coverage query per batch;
    each distinct rule set document is parsed once (ten thousand contracts share a handful)."""

    def __init__(self, agency: Agency, lines: list[_Line]) -> None:
        self.by_key: dict[tuple[int, str], list[tuple[Any, Any, int]]] = defaultdict(list)
        self.documents: dict[int, str] = {}  # version id -> rule set document (JSON text)
        self._parsed: dict[str, RuleSet] = {}
        self._dicts: dict[str, dict[str, Any]] = {}
        self._shas: dict[str, str] = {}
        self._zones: dict[str, datetime.tzinfo] = {}
        self._refusals: dict[int, str | None] = {}
        if not lines:
            return
        first = min(line.occurred_at for line in lines).astimezone(datetime.UTC).date()
        last = max(line.occurred_at for line in lines).astimezone(datetime.UTC).date()
        # One day either side holds every time zone's calendar day (as contract_version_in_force).
        rows = contract_coverage_many(
            agency_id=agency.pk,
            creator_ids={line.creator_id for line in lines},
            platforms={line.platform for line in lines},
            first=first - datetime.timedelta(days=1),
            last=last + datetime.timedelta(days=2),
        )
        for creator_id, platform, lower, upper, version_id in rows:
            self.by_key[(creator_id, platform)].append((lower, upper, version_id))
        self.documents = contract_rule_set_documents(version_ids={row[4] for row in rows})

    def load_versions(self, version_ids: set[int]) -> None:
        """Rule sets of versions not found by coverage (a refund's original's version)."""
        missing = version_ids - set(self.documents)
        if missing:
            self.documents.update(contract_rule_set_documents(version_ids=missing))

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
            self._dicts[document] = json.loads(document)
            parsed = self._parsed[document] = parse_rule_set(self._dicts[document])
        return parsed

    def sha256(self, version_id: int) -> str:
        document = self.documents[version_id]
        sha = self._shas.get(document)
        if sha is None:
            self.rule_set(version_id)
            sha = self._shas[document] = rule_set_sha256(self._dicts[document])
        return sha

    def snapshot_ids(self, version_ids: set[int]) -> dict[int, int]:
        """Each version's RuleSetSnapshot id, storing each distinct document once."""
        by_sha = {
            self.sha256(version_id): self._dicts[self.documents[version_id]] for version_id in version_ids
        }
        if not by_sha:
            return {}
        RuleSetSnapshot.objects.bulk_create(
            [RuleSetSnapshot(sha256=sha, document=document) for sha, document in sorted(by_sha.items())],
            ignore_conflicts=True,
        )
        ids = dict(RuleSetSnapshot.objects.filter(sha256__in=list(by_sha)).values_list("sha256", "id"))
        return {version_id: ids[self.sha256(version_id)] for version_id in version_ids}


class _Dated:
    """One list of rates of a pair, by date: the latest on or before a day."""

    def __init__(self, rates: list[FxRate]) -> None:
        self.days = [rate.date for rate in rates]
        self.rates = rates

    def at(self, day: datetime.date) -> FxRate | None:
        position = bisect_right(self.days, day)
        return self.rates[position - 1] if position else None


class _Rates:
    """The agency's own rates for a pair first; reference rates (agency NULL) only for a day on or
    before which the agency recorded none of its own (FxRate's docstring). Never another agency's."""

    def __init__(self, agency_id: int) -> None:
        self.agency_id = agency_id
        self.cache: dict[tuple[str, str], tuple[_Dated, _Dated]] = {}

    def at(self, base: str, quote: str, day: datetime.date) -> FxRate | None:
        """The latest rate recorded on or before `day`."""
        pair = (base, quote)
        if pair not in self.cache:
            rates = list(
                FxRate.objects.filter(base=base, quote=quote)
                .filter(Q(agency_id=self.agency_id) | Q(agency__isnull=True))
                .order_by("date", "pk")
            )
            own = [rate for rate in rates if rate.agency_id is not None]
            reference = [rate for rate in rates if rate.agency_id is None]
            self.cache[pair] = (_Dated(own), _Dated(reference))
        own_rates, reference_rates = self.cache[pair]
        return own_rates.at(day) or reference_rates.at(day)


def convert_minor(amount: int, base: str, quote: str, rate: Decimal) -> int:
    """amount (base minor units) × rate, in quote minor units, rounded half away from zero once."""
    with localcontext() as context:
        context.prec = 60
        value = Decimal(amount) * rate * Decimal(10) ** (exponent(quote) - exponent(base))
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- the lines --------------------------------------------------------------------------------------


class _Original:
    """What a refund line needs of the line it refunds (and of its allocation, if it has one)."""

    __slots__ = (
        "allocated",
        "amounts",
        "contract_version_id",
        "external_id",
        "fx_date",
        "fx_rate",
        "fx_source",
        "gross_minor",
        "line_id",
        "original_currency",
        "platform",
        "public_id",
        "rule_index",
    )

    allocated: bool
    amounts: list[int] | None
    contract_version_id: int | None
    external_id: str
    fx_date: datetime.date | None
    fx_rate: Decimal | None
    fx_source: str
    gross_minor: int | None
    line_id: int
    original_currency: str
    platform: str
    public_id: Any
    rule_index: int | None

    def __init__(self, *values: Any) -> None:
        for name, value in zip(self.__slots__[1:], values, strict=True):
            setattr(self, name, value)
        self.allocated = self.contract_version_id is not None


class _Line:
    """An income line as recognition reads it (a plain row, not a model instance: a batch holds
    tens of thousands), with what this batch decides about it."""

    __slots__ = (
        "creator_id",
        "currency",
        "external_id",
        "fx_date",
        "fx_rate",
        "fx_source",
        "gross_minor",
        "occurred_at",
        "pk",
        "platform",
        "public_id",
        "refund_of",
        "refund_of_id",
        "source",
    )

    creator_id: int  # a matched line always has its creator
    currency: str
    external_id: str
    fx_date: datetime.date | None
    fx_rate: Decimal | None
    fx_source: str
    gross_minor: int
    occurred_at: datetime.datetime
    pk: int
    platform: str
    public_id: Any
    refund_of: _Original | None
    refund_of_id: int | None
    source: str

    def __init__(self, row: tuple[Any, ...]) -> None:
        (
            self.pk,
            self.public_id,
            self.creator_id,
            self.platform,
            self.external_id,
            self.source,
            self.gross_minor,
            self.currency,
            self.occurred_at,
            self.refund_of_id,
        ) = row
        self.refund_of = None
        self.fx_rate = None
        self.fx_source = ""
        self.fx_date = None


def allocated_among(line_ids: Iterable[int]) -> set[int]:
    """The lines among `line_ids` that have an allocation (this app's table)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT line_id FROM recognition_lineallocation WHERE line_id = ANY(%s::bigint[])",
            [int_array(line_ids)],
        )
        return {row[0] for row in cursor.fetchall()}


# The allocation columns an _Original takes, in its __slots__ order, with the line's own facts
# (income_line_facts_many) put in their places.
_ORIGINAL_ALLOCATIONS_SQL = """
    SELECT line_id, amounts_minor, contract_version_id, fx_date, fx_rate, fx_source, gross_minor,
           original_currency, rule_index
    FROM recognition_lineallocation WHERE line_id = ANY(%s::bigint[])
"""


def originals_of(line_ids: set[int]) -> dict[int, _Original]:
    """What refunds need of the lines they refund, by line id (read apart from the lines: a refund
    is ~1 % of them). A line without an allocation comes back with `allocated` False."""
    if not line_ids:
        return {}
    ids = sorted(line_ids)
    facts = income_line_facts_many(line_ids=ids)
    with connection.cursor() as cursor:
        cursor.execute(_ORIGINAL_ALLOCATIONS_SQL, [int_array(ids)])
        allocations = {row[0]: row[1:] for row in cursor.fetchall()}
    originals = {}
    for line_id, (public_id, platform, external_id, _source, _moment) in facts.items():
        amounts, version, fx_date, fx_rate, fx_source, gross, original_currency, rule_index = allocations.get(
            line_id, (None, None, None, None, "", None, "", None)
        )
        originals[line_id] = _Original(
            amounts,
            version,
            external_id,
            fx_date,
            fx_rate,
            fx_source,
            gross,
            line_id,
            original_currency,
            platform,
            public_id,
            rule_index,
        )
    return originals


def _pending_lines(agency: Agency, line_ids: list[int]) -> list[_Line]:
    """The lines still to recognise: matched (income's selector) and not yet allocated. No row
    locks: the agency's recognition lock keeps every writer of matched lines out
    (income_recognition_lock)."""
    rows = income_lines_matched_many(agency_id=agency.pk, line_ids=line_ids)
    allocated = allocated_among(row[0] for row in rows)
    lines = [_Line(row) for row in rows if row[0] not in allocated]
    originals = originals_of({line.refund_of_id for line in lines if line.refund_of_id is not None})
    # A refund whose original is matched but not recognised yet (another import's line whose own
    # steps come later: two imports of one agency at once, issue 16) takes its original along,
    # split before it (the batch goes in time order), instead of being refused as the refund
    # of an unknown original. The original's import later finds it allocated and skips it.
    unrecognised = {line_id for line_id, original in originals.items() if not original.allocated}
    unrecognised -= {line.pk for line in lines}
    if unrecognised:
        lines += [_Line(row) for row in income_lines_matched_many(agency_id=agency.pk, line_ids=unrecognised)]
        originals.update(
            originals_of(
                {line.refund_of_id for line in lines if line.refund_of_id is not None}.difference(originals)
            )
        )
    for line in lines:
        if line.refund_of_id is not None:
            line.refund_of = originals.get(line.refund_of_id)
    return lines


# --- outcome and isolation ------------------------------------------------------------------------


@dataclass
class RecognitionOutcome:
    recognised: int = 0
    exceptions: int = 0


# Errors a retry may cure (a lost connection, a deadlock, a serialization failure, a lock or
# statement timeout, the task's time limit): they stop the batch and reach the caller.
# psycopg's own classes too: the ledger's COPY raises them unwrapped.
TRANSIENT: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    SoftTimeLimitExceeded,
)


def recognize_batch(*, agency: Agency, line_ids: list[int], cause: str = "") -> RecognitionOutcome:
    """Split matched lines under their contracts, allocate and post them in one transaction.

    Invariant: a line is recognised exactly once (its allocation's primary key is the line);
    lines that cannot be split go to the queue with the reason, and so does a line that fails
    in a way nobody foresaw (a balance that would overflow, a value the ledger cannot hold): the
    rest proceed (see _isolating).
    """
    with transaction.atomic():
        income_recognition_lock(agency.pk)
        return _isolating(agency, line_ids, cause)


def _isolating(agency: Agency, line_ids: list[int], cause: str) -> RecognitionOutcome:
    """The batch in a savepoint; if it fails unexpectedly, each half in its own, down to the
    single lines at fault, which go to the queue with a sentence (the error itself to the log).

    The halves keep the batch's order (occurred_at, id) and each reads the engine state the half
    before it saved, so the lines that recognise are split exactly as without the poison among
    them. k bad lines among n cost about 2k·log2(n) sub-batches.
    """
    try:
        return _attempt(agency, line_ids, cause)
    except TRANSIENT:
        raise
    except Exception as error:
        ordered = _pending_in_order(agency, line_ids)
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
        first = _isolating(agency, ordered[:half], cause)
        second = _isolating(agency, ordered[half:], cause)
        return RecognitionOutcome(
            recognised=first.recognised + second.recognised, exceptions=first.exceptions + second.exceptions
        )


def _pending_in_order(agency: Agency, line_ids: list[int]) -> list[int]:
    """The ids still to recognise, in recognition order; reads no value that could be the poison."""
    ordered = income_line_ids_matched_in_order(agency_id=agency.pk, line_ids=line_ids)
    allocated = allocated_among(ordered)
    return [line_id for line_id in ordered if line_id not in allocated]


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


def engine_error_text(result: LineResult, rule_set: RuleSet) -> str:
    from apps.splits.explain import error_text

    code = result.error or "ERROR"
    try:
        return f"{code}: {error_text(result.trace[0], rule_set)}"
    except (IndexError, KeyError, TypeError):
        return code


# --- posting days ---------------------------------------------------------------------------------


def _month(day: datetime.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class _PostingDays:
    """(effective date, note) of a moment: its agency-local day, or the first day of the next open
    month when its month is closed."""

    def __init__(self, agency: Agency) -> None:
        self.agency = agency
        self.closed = set(ClosedPeriod.objects.filter(agency=agency).values_list("period", flat=True))

    def __call__(self, moment: datetime.datetime) -> datetime.date:
        day = agency_local_date(self.agency, moment)
        if not self.closed or _month(day) not in self.closed:
            return day
        target = day.replace(day=1)
        while _month(target) in self.closed:
            target = (target + datetime.timedelta(days=32)).replace(day=1)
        return target


# --- the batch ------------------------------------------------------------------------------------


class _Group:
    """The lines of one entry: one creator, contract version and posting month, income or refunds."""

    __slots__ = ("creator_id", "effective", "first", "kind", "last", "leaves", "sums", "version_id")

    def __init__(self, creator_id: int, version_id: int, kind: str) -> None:
        self.creator_id = creator_id
        self.version_id = version_id
        self.kind = kind
        self.leaves: list[bytes] = []
        self.sums: dict[int, list[int]] = {}  # rule index -> [gross, *amounts] summed
        self.effective: datetime.date | None = None
        self.first = self.last = -1


@dataclass
class _Allocated:
    line: _Line
    version_id: int
    ordinal: int
    rule_index: int
    gross: int
    expenses: int
    advance_before: int
    amounts: tuple[int, ...]
    original_gross: int | None
    original_currency: str
    effective: datetime.date
    group: _Group


def _attempt(agency: Agency, line_ids: list[int], cause: str) -> RecognitionOutcome:
    """One attempt at the batch, in a savepoint of recognize_batch's transaction."""
    outcome = RecognitionOutcome()
    with transaction.atomic():
        income_recognition_lock(agency.pk)
        lines = _pending_lines(agency, line_ids)
        if not lines:
            return outcome
        book = _expense_book(agency, lines)  # before anything reads line.refund_of
        lines.sort(key=lambda line: (line.occurred_at, line.pk))
        contracts = _Contracts(agency, lines)
        contracts.load_versions(
            {
                line.refund_of.contract_version_id
                for line in lines
                if line.refund_of
                and line.refund_of.allocated
                and line.refund_of.contract_version_id is not None
            }
        )
        exceptions: dict[str, list[tuple[int, str]]] = defaultdict(list)
        chosen = _choose_versions(lines, contracts, exceptions)
        batch = RecognitionBatch.objects.create(agency=agency, cause=cause[:100])
        run = _Run(agency, contracts, book, exceptions)
        run.load_states(sorted({version_id for _line, version_id in chosen}))
        run.advances.update(
            {
                key: max(balance, 0)
                for key, balance in ledger_balances_of_creators(
                    agency_id=agency.pk,
                    purpose=Purpose.ADVANCES_RECEIVABLE,
                    creator_ids={line.creator_id for line, _version in chosen},
                ).items()
            }
        )
        for line, version_id in chosen:
            run.evaluate(line, version_id)
        entry_ids = _post(agency, batch, run)
        _write(agency, batch, run, entry_ids, contracts)
        if book is not None:
            book.save()
        for reason, items in exceptions.items():
            for line_id, detail in items:
                income_line_mark(
                    lines_qs_or_ids=[line_id],
                    status=LineStatus.EXCEPTION,
                    exception_reason=reason,
                    detail=detail,
                )
        outcome.recognised = len(run.allocated)
        outcome.exceptions = sum(len(items) for items in exceptions.values())
        RecognitionBatch.objects.filter(pk=batch.pk).update(line_count=outcome.recognised)
    return outcome


def _expense_book(agency: Agency, lines: list[_Line]) -> ExpenseBook | None:
    """The batch's approved deal expenses (when an app registered a book), and the refunds it
    re-points: a reversal refunds the line it reverses, a refund naming a line re-issued for
    expenses refunds the latest re-issue (see apps/deals/expenses.py)."""
    factory = _expense_books.get("book")
    if factory is None:
        return None
    book = factory(
        agency_id=agency.pk,
        lines=[(line.pk, line.gross_minor, line.source, line.refund_of_id) for line in lines],
    )
    if book.refund_targets:
        targets = originals_of(set(book.refund_targets.values()))
        for line in lines:
            if line.pk in book.refund_targets:
                line.refund_of = targets.get(book.refund_targets[line.pk])
    return book


def _choose_versions(
    lines: list[_Line], contracts: _Contracts, exceptions: dict[str, list[tuple[int, str]]]
) -> list[tuple[_Line, int]]:
    chosen: list[tuple[_Line, int]] = []
    for line in lines:
        original = line.refund_of
        if original is not None and original.allocated:
            version_id: int | None = original.contract_version_id
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
    return chosen


class _Run:
    """The engine's pass over a batch: evaluators per version, the lines' allocations and groups."""

    def __init__(
        self,
        agency: Agency,
        contracts: _Contracts,
        book: ExpenseBook | None,
        exceptions: dict[str, list[tuple[int, str]]],
    ) -> None:
        self.agency = agency
        self.contracts = contracts
        self.book = book
        self.exceptions = exceptions
        self.rates = _Rates(agency.pk)
        self.posting_day = _PostingDays(agency)
        self.states: dict[int, dict[str, Any]] = {}
        self.counts: dict[int, int] = {}  # version -> lines allocated before this batch
        self.evaluators: dict[int, Evaluator] = {}
        self.next_ordinal: dict[int, int] = {}
        self.advances: dict[tuple[int, str], int] = {}
        self.allocated: list[_Allocated] = []
        self.groups: dict[tuple[int, int, str, str], _Group] = {}
        self.checkpoints: list[tuple[int, int, str]] = []  # (version, ordinal, state JSON)
        self.writers: dict[int, LeafWriter] = {}
        self.checkpointed: set[tuple[int, int]] = set()

    def load_states(self, version_ids: list[int]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT contract_version_id, state::text, line_count FROM recognition_enginestate"
                " WHERE contract_version_id IN (SELECT unnest(%s::bigint[])) ORDER BY 1 FOR UPDATE",
                [int_array(version_ids)],
            )
            for version_id, text, count in cursor.fetchall():
                self.states[version_id] = json.loads(text)
                self.counts[version_id] = count

    def _evaluator(self, version_id: int, rule_set: RuleSet) -> Evaluator:
        evaluator = self.evaluators.get(version_id)
        if evaluator is None:
            state = self.states.get(version_id)
            evaluator = Evaluator.from_state(rule_set, state) if state else Evaluator(rule_set)
            self.evaluators[version_id] = evaluator
            self.next_ordinal[version_id] = self.counts.get(version_id, 0)
        return evaluator

    def evaluate(self, line: _Line, version_id: int) -> None:
        rule_set = self.contracts.rule_set(version_id)
        evaluator = self._evaluator(version_id, rule_set)
        gross, currency = line.gross_minor, line.currency
        book = self.book
        expenses = 0
        if book is not None and line.refund_of is None and gross > 0:
            expenses = book.claim(line.pk)
            refusal = _expenses_refusal(line, expenses, gross, currency, rule_set, book)
            if refusal:
                # Never split without the approved expenses: a person sees why in the queue.
                self.exceptions[Reason.ENGINE_ERROR].append((line.pk, refusal))
                return
        if currency != rule_set.currency:
            converted = self._convert(line, gross, currency, rule_set.currency)
            if converted is None:
                self.exceptions[Reason.NO_FX_RATE].append(
                    (line.pk, _("No %(base)s→%(quote)s rate is recorded on or before that day.")
                     % {"base": currency, "quote": rule_set.currency})
                )  # fmt: skip
                return
            if abs(converted) > MAX_ABS_MINOR:
                # A rate typed wrong (12 digits before the point are allowed) must not make a
                # line the ledger cannot hold: the line waits with a sentence, the batch goes on.
                self.exceptions[Reason.ENGINE_ERROR].append(
                    (line.pk, _("Converted at %(rate)s this line comes to more than any income line can be; check the %(base)s→%(quote)s rate.")
                     % {"rate": format(line.fx_rate, "f"), "base": currency, "quote": rule_set.currency})
                )  # fmt: skip
                return
            gross = converted
        original = line.refund_of
        refund_of = f"{original.platform}:{original.external_id}" if original is not None else None
        if (
            original is not None
            and original.allocated
            and refund_of is not None
            and not evaluator.knows_original(refund_of)
        ):
            remember_original(evaluator, refund_of, original)
        engine_line = Line(
            id=f"{line.platform}:{line.external_id}",
            source=line.source,
            platform=line.platform,
            gross=gross,
            occurred_at=line.occurred_at,
            currency=rule_set.currency,
            refund_of=refund_of,
            expenses=expenses,
        )
        ordinal = self.next_ordinal[version_id]
        # The state before every CHECKPOINT_EVERY-th line, once: a line the engine then refuses
        # leaves the state and the ordinal as they were, and the version's next line asks again.
        if ordinal and ordinal % CHECKPOINT_EVERY == 0 and (version_id, ordinal) not in self.checkpointed:
            self.checkpointed.add((version_id, ordinal))
            self.checkpoints.append((version_id, ordinal, canonical_json(state_dump(evaluator))))
        advance_key = (line.creator_id, rule_set.currency)
        advance_before = evaluator.advance_outstanding = self.advances.get(advance_key, 0)
        result = evaluator.evaluate(engine_line)
        if result.error is not None:
            # The engine refused the line and left its state as it was.
            self.exceptions[Reason.ENGINE_ERROR].append((line.pk, engine_error_text(result, rule_set)))
            return
        assert result.rule is not None
        self.advances[advance_key] = evaluator.advance_outstanding
        self.next_ordinal[version_id] = ordinal + 1
        amounts = (*result.deductions, *result.payable, result.recouped)
        if book is not None and book.tracks(line.pk):
            book.record(line.pk, expenses_deducted(result))
        effective = self.posting_day(line.occurred_at)
        kind = (
            JournalEntry.Kind.REFUND if refund_of is not None or gross < 0 else JournalEntry.Kind.INCOME_LINE
        )
        key = (line.creator_id, version_id, _month(effective), kind)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group(line.creator_id, version_id, kind)
            group.first = ordinal
        group.last = ordinal
        if group.effective is None or effective > group.effective:
            group.effective = effective
        rule_index = result.rule.index
        sums = group.sums.get(rule_index)
        if sums is None:
            group.sums[rule_index] = [gross, *amounts]
        else:
            sums[0] += gross
            for position, amount in enumerate(amounts, start=1):
                sums[position] += amount
        converted_from = currency != rule_set.currency
        allocated = _Allocated(
            line=line,
            version_id=version_id,
            ordinal=ordinal,
            rule_index=rule_index,
            gross=gross,
            expenses=expenses,
            advance_before=advance_before,
            amounts=amounts,
            original_gross=line.gross_minor if converted_from else None,
            original_currency=currency if converted_from else "",
            effective=effective,
            group=group,
        )
        self.allocated.append(allocated)
        writer = self.writers.get(version_id)
        if writer is None:
            writer = self.writers[version_id] = LeafWriter(
                rule_set=rule_set,
                rule_set_sha256=self.contracts.sha256(version_id),
                contract_version_id=version_id,
                engine_version=ENGINE_VERSION,
            )
        group.leaves.append(
            writer.leaf(
                line_public_id=line.public_id,
                platform=line.platform,
                external_id=line.external_id,
                source=line.source,
                occurred_at=line.occurred_at,
                refund_of_public_id=original.public_id if original is not None else None,
                ordinal=ordinal,
                rule_index=rule_index,
                gross=gross,
                expenses_claimed=expenses,
                advance_before=advance_before,
                amounts=amounts,
                original_gross=allocated.original_gross,
                original_currency=allocated.original_currency,
                fx_rate=line.fx_rate,
                fx_date=line.fx_date,
                fx_source=line.fx_source,
                effective_date=effective,
            )
        )

    def _convert(self, line: _Line, gross: int, currency: str, quote: str) -> int | None:
        original = line.refund_of
        if original is not None and original.fx_rate is not None and original.original_currency == currency:
            # A refund goes back at its original's rate, so that it reverses the original exactly.
            line.fx_rate, line.fx_source, line.fx_date = (
                original.fx_rate,
                original.fx_source,
                original.fx_date,
            )
            return convert_minor(gross, currency, quote, original.fx_rate)
        rate = self.rates.at(currency, quote, agency_local_date(self.agency, line.occurred_at))
        if rate is None:
            return None
        line.fx_rate, line.fx_source, line.fx_date = rate.rate, rate.source, rate.date
        return convert_minor(gross, currency, quote, rate.rate)


def remember_original(evaluator: Evaluator, engine_id: str, original: _Original) -> None:
    """Let the evaluator carry an original from its allocation, as if it had evaluated it."""
    if original.gross_minor is None or original.gross_minor <= 0 or original.amounts is None:
        return  # the engine then says UNKNOWN_ORIGINAL or refuses the refund, as it always did
    rule_set = evaluator.rule_set
    if original.rule_index is None or original.rule_index >= len(rule_set.rules):
        return
    deduction_count = len(rule_set.rules[original.rule_index].part_ids)
    amounts = [int(value) for value in original.amounts]
    evaluator.remember_parts(
        engine_id,
        original.rule_index,
        original.gross_minor,
        tuple(amounts[:deduction_count]),
        tuple(amounts[deduction_count:-1]),
        amounts[-1],
    )


def expenses_deducted(result: LineResult) -> int:
    """What the line's split deducted as `expenses` (a refund: the negative share it reversed)."""
    rule = result.rule
    if rule is None or "expenses" not in rule.part_ids:
        return 0
    return int(result.deductions[rule.part_ids.index("expenses")])


def _expenses_refusal(
    line: _Line, expenses: int, gross: int, currency: str, rule_set: RuleSet, book: ExpenseBook
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
        return f"{engine_error_text(probe, rule_set)} {book.detail(line.pk)}"
    return None


# --- writing ----------------------------------------------------------------------------------------


def _post(agency: Agency, batch: RecognitionBatch, run: _Run) -> dict[int, int]:
    """One entry per group, postings summed per account: {id(group): entry id}."""
    groups = list(run.groups.values())
    if not groups:
        return {}
    contracts = run.contracts
    resolvers: dict[str, AccountResolver] = {}
    payables: dict[str, dict[int, int]] = {}
    drafts: list[EntryDraft] = []
    for group in groups:
        rule_set = contracts.rule_set(group.version_id)
        currency = rule_set.currency
        if currency not in payables:
            payables[currency] = ledger_accounts_ensure(
                agency=agency,
                currency=currency,
                purpose=Purpose.CREATOR_PAYABLE,
                creator_ids={
                    g.creator_id for g in groups if contracts.rule_set(g.version_id).currency == currency
                },
            )
            resolvers[currency] = AccountResolver(agency=agency, currency=currency)
        resolver, creator_payable = resolvers[currency], payables[currency]
        totals: dict[AccountKey, int] = defaultdict(int)
        for rule_index, sums in group.sums.items():
            for key, amount in allocation_moves(
                rule_set=rule_set,
                rule_index=rule_index,
                gross=sums[0],
                amounts=sums[1:],
                creator_id=group.creator_id,
            ):
                totals[key] += amount
        postings = []
        for key, amount in sorted(totals.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or 0)):
            if amount == 0:
                continue
            purpose, account_key, creator_id = key
            if purpose == Purpose.CREATOR_PAYABLE and account_key == "" and creator_id in creator_payable:
                account: int | Account = creator_payable[creator_id]
            else:
                account = resolver(purpose, account_key, creator_id)
            postings.append(PostingSpec(account=account, amount_minor=amount))
        assert group.effective is not None
        month = _month(group.effective)
        drafts.append(
            EntryDraft(
                idempotency_key=f"recognition:{batch.pk}:{group.creator_id}:{group.version_id}:{month}:{group.kind}",
                kind=group.kind,
                effective_date=group.effective,
                postings=postings,
                cause_reference=f"recognition_batch:{batch.pk}",
                creator_id=group.creator_id,
                memo=f"{len(group.leaves)} line{'s' if len(group.leaves) != 1 else ''} of contract version "
                f"{group.version_id}, {month}",
                lines_root=merkle_root(group.leaves).hex(),
                line_count=len(group.leaves),
            )
        )
    entry_ids = ledger_post_many(agency=agency, drafts=drafts, bulk=True)
    return {id(group): entry_id for group, entry_id in zip(groups, entry_ids, strict=True)}


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


_ALLOCATION_COLUMNS = (
    "line_id, agency_id, creator_id, batch_id, contract_version_id, ordinal, entry_id, rule_set_id, "
    "engine_version, rule_index, currency, gross_minor, expenses_claimed_minor, advance_before_minor, "
    "amounts_minor, original_gross_minor, original_currency, fx_rate, fx_source, fx_date, effective_date, "
    "refund_of_line_id"
)


def _write(
    agency: Agency, batch: RecognitionBatch, run: _Run, entry_ids: dict[int, int], contracts: _Contracts
) -> None:
    """The allocations (COPY), what each entry covers, checkpoints and the engine states."""
    if not run.evaluators:
        return
    snapshots = contracts.snapshot_ids(set(run.evaluators))
    rows: list[str] = []
    value = _copy_value
    agency_id, batch_id = agency.pk, batch.pk
    for item in run.allocated:
        line = item.line
        rule_set = contracts.rule_set(item.version_id)
        rows.append(
            f"{line.pk}\t{agency_id}\t{line.creator_id}\t{batch_id}\t{item.version_id}\t{item.ordinal}\t"
            f"{entry_ids[id(item.group)]}\t{snapshots[item.version_id]}\t{ENGINE_VERSION}\t{item.rule_index}\t"
            f"{rule_set.currency}\t{item.gross}\t{item.expenses}\t{item.advance_before}\t"
            f"{{{','.join(map(str, item.amounts))}}}\t{value(item.original_gross)}\t{value(item.original_currency)}\t"
            f"{value(line.fx_rate)}\t{value(line.fx_source)}\t{value(line.fx_date)}\t{item.effective.isoformat()}\t"
            f"{value(line.refund_of.line_id if line.refund_of is not None else None)}\n"
        )
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if rows:
            with raw.copy(f"COPY recognition_lineallocation ({_ALLOCATION_COLUMNS}) FROM STDIN") as copy:
                copy.write("".join(rows))
        groups = list(run.groups.values())
        if groups:
            with raw.copy(
                "COPY recognition_entrycover (entry_id, agency_id, batch_id, contract_version_id, first_ordinal,"
                " last_ordinal, line_count) FROM STDIN"
            ) as copy:
                copy.write(
                    "".join(
                        f"{entry_ids[id(group)]}\t{agency_id}\t{batch_id}\t{group.version_id}\t{group.first}\t"
                        f"{group.last}\t{len(group.leaves)}\n"
                        for group in groups
                    )
                )
        # Only the checkpoints before a line that was allocated: one taken before a line the
        # engine refused at the batch's end names an ordinal the next batch's line will take.
        checkpoints = [item for item in run.checkpoints if item[1] < run.next_ordinal[item[0]]]
        if checkpoints:
            cursor.execute(
                "INSERT INTO recognition_statecheckpoint (agency_id, contract_version_id, ordinal, state)"
                " SELECT %s, v, o, s::jsonb FROM unnest(%s::bigint[], %s::integer[], %s::text[]) AS d(v, o, s)",
                [
                    agency_id,
                    [version for version, _o, _s in checkpoints],
                    [ordinal for _v, ordinal, _s in checkpoints],
                    [state for _v, _o, state in checkpoints],
                ],
            )
        version_ids = sorted(run.evaluators)
        cursor.execute(
            """
            INSERT INTO recognition_enginestate AS s (contract_version_id, agency_id, state, line_count, updated_at)
            SELECT version_id, %s, state::jsonb, line_count, now()
            FROM unnest(%s::bigint[], %s::text[], %s::integer[]) AS data(version_id, state, line_count)
            ON CONFLICT (contract_version_id) DO UPDATE
                SET state = EXCLUDED.state, line_count = EXCLUDED.line_count, updated_at = EXCLUDED.updated_at
            """,
            [
                agency_id,
                version_ids,
                [canonical_json(state_dump(run.evaluators[version_id])) for version_id in version_ids],
                [run.next_ordinal[version_id] for version_id in version_ids],
            ],
        )
