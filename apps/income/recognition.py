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
  positive line has left to refund); the outstanding advance is read from the ledger (the
  creator's advances receivable balance), which recoupment postings keep up to date.
* Entries go through the ledger's bulk path (ledger_post_many, COPY) with the idempotency key
  `income:<line id>`: a batch re-run after a crash posts nothing twice.
* A line whose month is closed posts on the first day of the next open month and says so.
"""

from __future__ import annotations

import datetime
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.backends.postgresql.psycopg_any import DateRange
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.agencies.models import Agency
from apps.common.exceptions import ApplicationError
from apps.common.money import exponent
from apps.common.tenancy import require_agency_role
from apps.contracts.models import ContractCoverage, ContractVersion
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
from apps.ledger.splitting import engine_line_load, engine_state_load
from apps.splits.engine import Evaluator, Line, LineResult, RuleSet, parse_rule_set

LineStatus = IncomeLine.Status
Reason = IncomeLine.ExceptionReason
Purpose = Account.Purpose
_LOCK_NAMESPACE = 0x1C0E  # pg_advisory_xact_lock(namespace, agency id): one recogniser per agency


def _lock_agency(agency_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, agency_id])


def engine_line_id(line: IncomeLine) -> str:
    return f"{line.platform}:{line.external_id}"


# --- engine state per contract version ------------------------------------------------------------


def _state_dump(evaluator: Evaluator) -> dict[str, Any]:
    """Everything the next batch needs, in the shape apps.ledger.splitting.engine_state_load reads."""
    rules = evaluator.rule_set.rules
    originals: dict[str, Any] = {}
    for line_id in (*evaluator.originals, *evaluator.refundable):
        state = evaluator.refund_state(line_id)
        if state is not None and line_id not in originals:
            rule, unrefunded, remaining = state
            originals[line_id] = {"rule": rule.id, "unrefunded": unrefunded, "remaining": list(remaining)}
    return {
        "advance_outstanding": 0,  # read from the ledger at each batch, see the module docstring
        "rule_net": sorted(
            [rules[index].id, period, amount] for (index, period), amount in evaluator.rule_net.items()
        ),
        "agency_share": dict(sorted(evaluator.agency_share.items())),
        "creator_share": dict(sorted(evaluator.creator_share.items())),
        "originals": originals,
    }


def _evaluator_for(version_id: int, rule_set: RuleSet, states: dict[int, dict[str, Any]]) -> Evaluator:
    state = states.get(version_id)
    return engine_state_load(rule_set, state) if state else Evaluator(rule_set)


# --- contracts and rates --------------------------------------------------------------------------


class _Contracts:
    """The version in force per (creator, platform, day), from one coverage query per batch."""

    def __init__(self, agency: Agency, lines: list[IncomeLine]) -> None:
        self.by_key: dict[tuple[int, str], list[ContractCoverage]] = defaultdict(list)
        creators = {line.creator_id for line in lines}
        platforms = {line.platform for line in lines}
        if not lines:
            return
        first = min(line.occurred_at for line in lines).astimezone(datetime.UTC).date()
        last = max(line.occurred_at for line in lines).astimezone(datetime.UTC).date()
        coverage = ContractCoverage.objects.filter(
            agency=agency,
            creator_id__in=creators,
            platform__in=platforms,
            # One day either side holds every time zone's calendar day (as contract_version_in_force).
            during__overlap=DateRange(first - datetime.timedelta(days=1), last + datetime.timedelta(days=2)),
        ).select_related("version")
        for row in coverage:
            self.by_key[(row.creator_id, row.platform)].append(row)
        self.rule_sets: dict[int, RuleSet] = {}

    def version(self, line: IncomeLine) -> ContractVersion | None:
        for row in self.by_key.get((line.creator_id, line.platform), ()):  # type: ignore[arg-type]
            zone = ZoneInfo(row.version.rule_set.get("timezone", "Asia/Shanghai"))
            day = line.occurred_at.astimezone(zone).date()
            if row.during.lower <= day < row.during.upper:
                return row.version
        return None

    def rule_set(self, version: ContractVersion) -> RuleSet:
        parsed = self.rule_sets.get(version.pk)
        if parsed is None:
            parsed = self.rule_sets[version.pk] = parse_rule_set(version.rule_set)
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
    queries up front: a million-line import touches ten thousand of them."""

    def preload(self, creator_ids: set[int]) -> None:
        purpose = Purpose.CREATOR_PAYABLE
        Account.objects.bulk_create(
            [
                Account(
                    agency=self.agency, creator_id=creator_id, purpose=purpose, key="", currency=self.currency
                )
                for creator_id in sorted(creator_ids)
            ],
            ignore_conflicts=True,
        )
        for account in Account.objects.filter(
            agency=self.agency, creator_id__in=creator_ids, purpose=purpose, key="", currency=self.currency
        ):
            self._cache[(purpose, "", account.creator_id)] = account


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


def income_recognize_batch(*, agency: Agency, line_ids: list[int]) -> RecognitionOutcome:
    """Split matched lines under their contracts and post them to the ledger in one transaction.

    Invariant: a line is recognised exactly once (status guard under row locks, and the ledger's
    idempotency key `income:<line id>`); lines that cannot be split go to the queue with the reason.
    """
    outcome = RecognitionOutcome()
    with transaction.atomic():
        _lock_agency(agency.pk)
        # order_by("pk"): row locks in one order; evaluation order is re-sorted below.
        lines = list(
            IncomeLine.objects.select_for_update(no_key=True, of=("self",))
            .filter(pk__in=line_ids, agency=agency, status=LineStatus.MATCHED)
            .select_related("creator", "refund_of")
            .order_by("pk")
        )
        if not lines:
            return outcome
        lines.sort(key=lambda line: (line.occurred_at, line.pk))
        contracts = _Contracts(agency, lines)
        rates = _Rates()
        closed = _closed_months(agency)
        refund_versions = {
            line.refund_of_id: line.refund_of.contract_version_id
            for line in lines
            if line.refund_of_id is not None and line.refund_of is not None
        }
        versions_by_id: dict[int, ContractVersion] = {}
        chosen: list[tuple[IncomeLine, ContractVersion]] = []
        exceptions: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for line in lines:
            version: ContractVersion | None
            if line.refund_of_id is not None and refund_versions.get(line.refund_of_id):
                version_id = refund_versions[line.refund_of_id]
                version = versions_by_id.get(version_id) or ContractVersion.objects.get(pk=version_id)
            else:
                version = contracts.version(line)
            if version is None:
                exceptions[Reason.NO_CONTRACT].append(
                    (line.pk, _("No signed contract covers this creator on %(platform)s on that day.")
                     % {"platform": line.platform})
                )  # fmt: skip
                continue
            versions_by_id[version.pk] = version
            chosen.append((line, version))

        states = dict(
            SplitState.objects.select_for_update()
            .filter(contract_version_id__in=list(versions_by_id))
            .values_list("contract_version_id", "state")
        )
        evaluators: dict[int, Evaluator] = {}
        resolvers: dict[str, _Resolver] = {}
        creator_ids = {line.creator_id for line, _version in chosen}
        advances = _advances(agency, creator_ids)
        drafts: list[EntryDraft] = []
        posted: list[tuple[IncomeLine, ContractVersion, str, str]] = []
        counted: dict[int, int] = defaultdict(int)
        for line, version in chosen:
            rule_set = contracts.rule_set(version)
            evaluator = evaluators.get(version.pk)
            if evaluator is None:
                evaluator = evaluators[version.pk] = _evaluator_for(version.pk, rule_set, states)
            gross = line.gross_minor
            currency = line.currency
            if line.original_currency:
                # Converted in an earlier attempt that went to the queue: start from the statement.
                gross, currency = line.original_gross_minor or gross, line.original_currency
            if currency != rule_set.currency:
                converted = _convert(line, gross, currency, rule_set.currency, rates, agency)
                if converted is None:
                    exceptions[Reason.NO_FX_RATE].append(
                        (line.pk, _("No %(base)s→%(quote)s rate is recorded on or before that day.")
                         % {"base": currency, "quote": rule_set.currency})
                    )  # fmt: skip
                    continue
                gross = converted
            engine_line = Line(
                id=engine_line_id(line),
                source=line.source,
                platform=line.platform,
                gross=gross,
                occurred_at=line.occurred_at,
                currency=rule_set.currency,
                refund_of=engine_line_id(line.refund_of) if line.refund_of is not None else None,
            )
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
                    creator=line.creator,
                    evaluator=evaluator,
                    line=engine_line,
                    idempotency_key=f"income:{line.pk}",
                    accounts=resolver,
                    cause_reference=f"income_line:{line.public_id}",
                    contract_version_id=version.pk,
                    effective_date=effective,
                )
            except ApplicationError:
                # The engine refused the line and left its state as it was: ask it again for the
                # code and the sentence a person reads in the queue.
                result = evaluator.evaluate(engine_line)
                exceptions[Reason.ENGINE_ERROR].append((line.pk, _engine_error_text(result, rule_set)))
                continue
            advances[advance_key] = evaluator.advance_outstanding
            if gross != line.gross_minor or currency != line.currency:
                line.original_gross_minor, line.original_currency = line.gross_minor, line.currency
                line.gross_minor, line.currency = gross, rule_set.currency
            drafts.append(draft)
            posted.append((line, version, _month(effective), note))
            counted[version.pk] += 1

        entry_ids = ledger_post_many(agency=agency, drafts=drafts, bulk=True)
        _mark_recognised(posted, entry_ids)
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


def _engine_error_text(result: LineResult, rule_set: RuleSet) -> str:
    from apps.splits.explain import error_text

    code = result.error or "ERROR"
    try:
        return f"{code}: {error_text(result.trace[0], rule_set)}"
    except (IndexError, KeyError, TypeError):
        return code


def _convert(
    line: IncomeLine, gross: int, currency: str, quote: str, rates: _Rates, agency: Agency
) -> int | None:
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


def _mark_recognised(
    posted: list[tuple[IncomeLine, ContractVersion, str, str]], entry_ids: list[int]
) -> None:
    if not posted:
        return
    now = timezone.now()
    with connection.cursor() as cursor:
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
                [line.pk for line, *_rest in posted],
                entry_ids,
                [version.pk for _line, version, *_rest in posted],
                [period for *_head, period, _note in posted],
                [note for *_head, note in posted],
                [line.gross_minor for line, *_rest in posted],
                [line.currency for line, *_rest in posted],
                [line.original_gross_minor for line, *_rest in posted],
                [line.original_currency for line, *_rest in posted],
                [line.fx_rate for line, *_rest in posted],
                [line.fx_source for line, *_rest in posted],
                [line.fx_date for line, *_rest in posted],
            ],
        )


def _save_states(evaluators: dict[int, Evaluator], counted: dict[int, int]) -> None:
    if not evaluators:
        return
    rows = [
        SplitState(
            contract_version_id=version_id,
            state=_state_dump(evaluator),
            line_count=counted.get(version_id, 0),
        )
        for version_id, evaluator in evaluators.items()
    ]
    existing = {
        state.pk: state.line_count
        for state in SplitState.objects.filter(pk__in=list(evaluators)).only("line_count")
    }
    for row in rows:
        row.line_count += existing.get(row.contract_version_id, 0)
    SplitState.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["contract_version"],
        update_fields=["state", "line_count", "updated_at"],
    )


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
    evaluator = engine_state_load(rule_set, entry.engine_state)
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
