"""The ledger: double-entry, append-only, tamper-evident; every fen explainable.

Design
------
* Accounts belong to exactly one agency ledger (optionally one creator), have one purpose
  (creator payable, agency revenue, deduction per id, income clearing, bank…) and one currency.
* A JournalEntry is one balanced movement; its Postings are signed integer minor units
  (positive debit, negative credit). PostgreSQL enforces the invariants (see models.py): every
  entry sums to zero per currency with at least two non-zero postings (deferred constraint
  triggers, checked at commit), the posting currency is the account's, nothing is ever
  updated or deleted, corrections are reversing entries, and an entry is reversed once at most.
* Idempotency (TigerBeetle's idempotent ids): every entry has a unique key and stores the
  SHA-256 of what was asked (`request_sha256`). The same key with the same request returns
  the first entry; with a different request it is an `idempotency_conflict`.
* Tamper evidence (Formance's hash-chained log): entries of one agency form a chain. Entry n
  stores seq n (gapless), prev_hash = hash of entry n-1 (64 zeros for the first) and
  hash = SHA-256(bytes(prev_hash) || canonical JSON {content, posted_at, seq}), where content
  covers every stored field and the postings in line order. Appends to one chain are serialised
  by a row lock on the agency's LedgerHead; lock order is head first, then balance rows by
  account id, so two writers never wait on each other in opposite orders.
* Balances per account and per account-month (in the agency's time zone) are upserted in the
  same transaction by one set-based INSERT … ON CONFLICT DO UPDATE per entry (per batch on the
  bulk path), so reading a balance or a monthly total never scans postings.
* The ledger records money, not splits: it knows nothing of the split engine, income or
  contracts. An entry that aggregates many facts (recognition posts one per batch, creator,
  contract version, currency and month) names them by a Merkle root over their leaves and
  their count (`lines_root`, `line_count`), which the chain covers like every other field; the
  app that owns the facts recomputes the root (apps/recognition/verification.py).
* `ledger_post_many` is the bulk path for recognition: one lock, COPY into entries and
  postings, the chain computed in Python, one balance upsert for the whole batch.

`manage.py verify_ledger` (apps/ledger/verification.py) re-checks all of the above from the rows.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from apps.agencies.models import Agency
from apps.agencies.time import agency_local_date
from apps.common.exceptions import ApplicationError, NotFound
from apps.common.ids import uuid7
from apps.common.money import MAX_ABS_MINOR, is_known_currency, to_decimal_string
from apps.common.pgarrays import int_array, text_array
from apps.ledger.models import (
    GENESIS_HASH,
    Account,
    AccountBalance,
    JournalEntry,
    Posting,
)

Kind = JournalEntry.Kind
Purpose = Account.Purpose
_KINDS = frozenset(Kind.values)

MAX_ATTEMPTS = 5
# Serialization failure and deadlock: transient, safe to retry the whole transaction.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


# --- Inputs ------------------------------------------------------------------------------------


# The three inputs below are plain slotted dataclasses, not frozen ones: a recognition batch
# builds about 100,000 of them, and a frozen dataclass's __init__ (object.__setattr__ per
# field) cost 2.4 µs against 0.3 µs. Nothing mutates them after construction.


@dataclass(slots=True)
class PostingSpec:
    """One line of an entry. `currency`, when given, must be the account's (a guard for callers)."""

    account: Account | int
    amount_minor: int
    currency: str | None = None


@dataclass(slots=True)
class EntryDraft:
    """An entry not yet posted: the input of ledger_post_many (ledger_post builds one for you)."""

    idempotency_key: str
    kind: str
    effective_date: datetime.date
    postings: Sequence[PostingSpec]
    cause_reference: str = ""
    reason: str = ""
    author_id: int | None = None
    creator_id: int | None = None
    memo: str = ""
    reverses_id: int | None = None
    lines_root: str = ""  # hex SHA-256 Merkle root of the facts the entry covers, if any
    line_count: int = 0


@dataclass
class _Prepared:
    """A validated draft with its content serialised once (for the fingerprint and the chain)."""

    draft: EntryDraft
    postings: list[tuple[int, int, str]]  # (account id, amount, currency) in line order
    content_json: str
    request_sha256: str
    result_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# One encoder for every call: json.dumps() with arguments builds a new JSONEncoder each time.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8 kept as is."""
    return _CANONICAL(value)


AccountKey = tuple[str, str, int | None]  # (purpose, key, creator id)


# --- Accounts ----------------------------------------------------------------------------------


def ledger_account_get_or_create(
    *, agency: Agency, purpose: str, currency: str, creator: Any | None = None, key: str = ""
) -> Account:
    """The agency's account for (purpose, key, creator, currency), created on first use."""
    if purpose not in Purpose.values:
        raise ApplicationError(
            f"{purpose!r} is not a ledger account purpose.", code="invalid_account_purpose"
        )
    if not is_known_currency(currency):
        raise ApplicationError(f"{currency!r} is not a known ISO 4217 currency.", code="invalid_currency")
    if purpose in Account.CREATOR_REQUIRED and creator is None:
        raise ApplicationError(f"A {purpose} account belongs to a creator.", code="creator_required")
    # get_or_create retries the read after losing a race on the unique constraint.
    account, _ = Account.objects.get_or_create(
        agency=agency, creator=creator, purpose=purpose, key=key, currency=currency
    )
    return account


def ledger_accounts_ensure(
    *, agency: Agency, currency: str, purpose: str, creator_ids: Iterable[int]
) -> dict[int, int]:
    """Each creator's account of `purpose` (key '') in `currency`, created where missing, in two
    set-based statements: {creator id: account id}. The bulk form of ledger_account_get_or_create
    for the creator accounts a recognition batch touches (ten thousand of them for a large import)."""
    if purpose not in Account.CREATOR_REQUIRED:
        raise ApplicationError(f"A {purpose} account does not belong to a creator.", code="creator_required")
    if not is_known_currency(currency):
        raise ApplicationError(f"{currency!r} is not a known ISO 4217 currency.", code="invalid_currency")
    creators = sorted(set(creator_ids))
    if not creators:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO ledger_account (public_id, agency_id, creator_id, purpose, key, currency, created_at)
            SELECT gen_random_uuid(), %s, c.id, %s, '', %s, now()
            FROM unnest(%s::bigint[]) AS c(id) JOIN creators_creator AS known ON known.id = c.id
            ON CONFLICT DO NOTHING
            """,
            [agency.pk, purpose, currency, int_array(creators)],
        )
        cursor.execute(
            "SELECT a.creator_id, a.id FROM unnest(%s::bigint[]) AS creator(id)"
            " JOIN ledger_account a ON a.creator_id = creator.id"
            " WHERE a.agency_id = %s AND a.purpose = %s AND a.key = '' AND a.currency = %s",
            [int_array(creators), agency.pk, purpose, currency],
        )
        return dict(cursor.fetchall())


class AccountResolver:
    """Finds or creates an agency's accounts by (purpose, key, creator), remembering them:
    recognising thousands of lines touches a handful of accounts."""

    def __init__(self, *, agency: Agency, currency: str) -> None:
        self.agency = agency
        self.currency = currency
        self._cache: dict[AccountKey, Account] = {}

    def __call__(self, purpose: str, key: str = "", creator_id: int | None = None) -> Account:
        cache_key = (purpose, key, creator_id)
        account = self._cache.get(cache_key)
        if account is None:
            creator = None
            if creator_id is not None:
                from apps.creators.models import Creator

                creator = Creator.objects.get(pk=creator_id)
            account = ledger_account_get_or_create(
                agency=self.agency, purpose=purpose, currency=self.currency, creator=creator, key=key
            )
            self._cache[cache_key] = account
        return account


# --- Content, fingerprint and chain --------------------------------------------------------------


def entry_content(
    *,
    agency_id: int,
    creator_id: int | None,
    idempotency_key: str,
    kind: str,
    cause_reference: str,
    reason: str,
    author_id: int | None,
    memo: str,
    effective_date: datetime.date,
    reverses_id: int | None,
    lines_root: str,
    line_count: int,
    postings: Iterable[tuple[int, int, str]],
) -> str:
    """The canonical JSON of everything an entry says. Posting and verify_ledger both call this."""
    return canonical_json(
        {
            "agency": agency_id,
            "creator": creator_id,
            "key": idempotency_key,
            "kind": kind,
            "cause": cause_reference,
            "reason": reason,
            "author": author_id,
            "memo": memo,
            "effective_date": effective_date.isoformat(),
            "reverses": reverses_id,
            "lines_root": lines_root,
            "line_count": line_count,
            "postings": [list(posting) for posting in postings],
        }
    )


def posted_at_text(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_hash(*, prev_hash: str, content_json: str, posted_at: datetime.datetime, seq: int) -> str:
    """SHA-256(prev_hash bytes || canonical JSON {"content", "posted_at", "seq"})."""
    # Written out rather than canonical_json(dict): content_json is already canonical, and this
    # is byte-for-byte what canonical_json would produce (keys sorted, no spaces).
    document = f'{{"content":{content_json},"posted_at":"{posted_at_text(posted_at)}","seq":{seq}}}'
    return hashlib.sha256(bytes.fromhex(prev_hash) + document.encode()).hexdigest()


def period_of(effective_date: datetime.date) -> str:
    return f"{effective_date.year:04d}-{effective_date.month:02d}"


# --- Validation ----------------------------------------------------------------------------------


def _load_accounts(agency: Agency, drafts: Sequence[EntryDraft]) -> dict[int, str]:
    """Account id -> currency of the accounts the drafts name (rows, not model instances: a
    recognition batch names ten thousand creator accounts)."""
    ids = {
        posting.account.pk if isinstance(posting.account, Account) else posting.account
        for draft in drafts
        for posting in draft.postings
    }
    valid_ids = [
        account_id for account_id in ids if isinstance(account_id, int) and not isinstance(account_id, bool)
    ]
    # Only this agency's accounts: another ledger's account is as unknown as a missing one.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id, a.currency FROM unnest(%s::bigint[]) AS k(id)"
            " JOIN ledger_account a ON a.id = k.id WHERE a.agency_id = %s",
            [int_array(valid_ids), agency.pk],
        )
        return dict(cursor.fetchall())


def _json_text(value: Any) -> str:
    """canonical_json of one scalar (the common case of entry fields, without the encoder's set-up)."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is str:
        return encode_basestring(value)  # what json.dumps(value, ensure_ascii=False) writes
    if kind is int:
        return str(value)
    return canonical_json(value)


def _postings_json(postings: list[tuple[int, int, str]]) -> str:
    """canonical_json(postings) for (account id, amount, currency) rows, written out: ids and
    amounts are ints and a currency is three capital letters (checked before), so no escaping."""
    return (
        "[" + ",".join(f'[{account},{amount},"{currency}"]' for account, amount, currency in postings) + "]"
    )


def _prepare(agency: Agency, draft: EntryDraft, accounts: dict[int, str]) -> _Prepared:
    """Refuse bad input with a message a person understands; serialise what is asked once."""
    key = draft.idempotency_key
    if not isinstance(key, str) or not key.strip() or len(key) > 200:
        raise ApplicationError(
            "An idempotency key of 1 to 200 characters is required.", code="invalid_idempotency_key"
        )
    if draft.kind not in _KINDS:
        raise ApplicationError(f"{draft.kind!r} is not a kind of ledger entry.", code="invalid_kind")
    if (draft.kind == Kind.REVERSAL) != (draft.reverses_id is not None):
        raise ApplicationError(
            "Reversals are posted with ledger_reverse and only they name an entry.", code="invalid_kind"
        )
    if draft.kind == Kind.MANUAL_ADJUSTMENT and (not draft.reason.strip() or draft.author_id is None):
        raise ApplicationError(
            "A manual adjustment needs a reason and its author.", code="manual_needs_reason"
        )
    if not isinstance(draft.effective_date, datetime.date) or isinstance(
        draft.effective_date, datetime.datetime
    ):
        raise ApplicationError("The effective date must be a calendar date.", code="invalid_effective_date")
    if len(draft.postings) < 2:
        raise ApplicationError(
            f"An entry needs at least two postings; {key!r} has {len(draft.postings)}.",
            code="too_few_postings",
        )
    postings: list[tuple[int, int, str]] = []
    totals: dict[str, int] = defaultdict(int)
    for number, spec in enumerate(draft.postings, start=1):
        account_id = spec.account.pk if isinstance(spec.account, Account) else spec.account
        currency = accounts.get(account_id) if isinstance(account_id, int) else None
        if currency is None:
            raise ApplicationError(
                f"Posting {number} names account {account_id!r}, which is not an account of {agency.name}'s ledger.",
                code="unknown_account",
            )
        amount = spec.amount_minor
        if not isinstance(amount, int) or isinstance(amount, bool) or abs(amount) > MAX_ABS_MINOR:
            raise ApplicationError(
                f"Posting {number}: amounts are integers of minor units up to 10^15.", code="invalid_amount"
            )
        if amount == 0:
            raise ApplicationError(f"Posting {number} is zero; leave it out.", code="zero_posting")
        if spec.currency is not None and spec.currency != currency:
            account = Account.objects.get(pk=account_id)
            raise ApplicationError(
                f"Posting {number} is in {spec.currency} but its account {account} holds {currency}.",
                code="currency_mismatch",
            )
        postings.append((account_id, amount, currency))
        totals[currency] += amount
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced:
        amounts = ", ".join(f"{to_decimal_string(total, c)} {c}" for c, total in sorted(unbalanced.items()))
        if len(totals) > 1 and sum(totals.values()) == 0:
            raise ApplicationError(
                f"Entry {key!r} moves money across currencies ({amounts}): each currency must balance on "
                "its own; convert through FX accounts.",
                code="cross_currency",
            )
        raise ApplicationError(f"Entry {key!r} does not balance: it is off by {amounts}.", code="unbalanced")

    root = draft.lines_root
    if not isinstance(root, str) or (root and (len(root) != 64 or root.strip("0123456789abcdef"))):
        raise ApplicationError("A lines root is 64 lowercase hex digits.", code="invalid_lines_root")
    count = draft.line_count
    if not isinstance(count, int) or count < 0 or (count > 0) != bool(root):
        raise ApplicationError(
            "An entry names as many lines as its root covers: a root and a positive count, or neither.",
            code="invalid_lines_root",
        )
    # Keys in sorted order, written out (no dict, no sort per entry); verify_ledger recomputes
    # the same bytes with entry_content(), so any drift here fails verification.
    content_json = (
        f'{{"agency":{_json_text(agency.pk)},"author":{_json_text(draft.author_id)},'
        f'"cause":{_json_text(draft.cause_reference)},'
        f'"creator":{_json_text(draft.creator_id)},"effective_date":"{draft.effective_date.isoformat()}",'
        f'"key":{_json_text(key)},"kind":{_json_text(draft.kind)},'
        f'"line_count":{count},"lines_root":"{root}",'
        f'"memo":{_json_text(draft.memo)},"postings":{_postings_json(postings)},'
        f'"reason":{_json_text(draft.reason)},"reverses":{_json_text(draft.reverses_id)}}}'
    )
    return _Prepared(
        draft=draft,
        postings=postings,
        content_json=content_json,
        request_sha256=hashlib.sha256(content_json.encode()).hexdigest(),
    )


# --- The append ------------------------------------------------------------------------------------


def _in_money_transaction[T](work: Callable[[], T]) -> T:
    """Run `work` in a transaction: durable with bounded retries when we are the outermost money
    mover, or inside the caller's transaction (the caller then owns retries)."""
    if connection.in_atomic_block:
        with transaction.atomic():
            return work()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with transaction.atomic(durable=True):
                return work()
        except OperationalError as error:
            sqlstate = getattr(error.__cause__, "sqlstate", None)
            if sqlstate not in _RETRYABLE_SQLSTATES or attempt == MAX_ATTEMPTS:
                raise
            # Jittered backoff so that the retrying writers do not collide again in step.
            time.sleep(0.005 * 2**attempt * (1 + random.random()))
    raise AssertionError("unreachable")


def _lock_head(agency_id: int) -> tuple[int, str]:
    """Lock the agency's chain head (creating it on first use) and return (last seq, last hash)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_ledgerhead (agency_id, last_seq, last_hash, updated_at) "
            "VALUES (%s, 0, %s, now()) ON CONFLICT (agency_id) DO NOTHING",
            [agency_id, GENESIS_HASH],
        )
        cursor.execute(
            "SELECT last_seq, last_hash FROM ledger_ledgerhead WHERE agency_id = %s FOR NO KEY UPDATE",
            [agency_id],
        )
        last_seq, last_hash = cursor.fetchone()
    return last_seq, last_hash


def _apply_balances(moves: Iterable[tuple[int, str, str, int]]) -> None:
    """Upsert account and account-month balances for (account id, currency, period, amount) moves.

    One statement (two data-modifying CTE parts) whatever the number of postings; rows are
    inserted in account-id order so that concurrent writers lock them in the same order.
    """
    per_account: dict[int, list[Any]] = {}
    per_period: dict[tuple[int, str], list[Any]] = {}
    for account_id, currency, period, amount in moves:
        total = per_account.get(account_id)
        if total is None:
            per_account[account_id] = [currency, amount, 1]
        else:
            total[1] += amount
            total[2] += 1
        month = per_period.get((account_id, period))
        if month is None:
            month = per_period[(account_id, period)] = [currency, 0, 0]
        if amount > 0:
            month[1] += amount
        else:
            month[2] -= amount
    accounts = sorted(per_account)
    periods = sorted(per_period)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH account_totals AS (
                INSERT INTO ledger_accountbalance AS b (account_id, currency, balance_minor, posting_count)
                SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[], %s::bigint[]) ORDER BY 1
                ON CONFLICT (account_id) DO UPDATE
                    SET balance_minor = b.balance_minor + EXCLUDED.balance_minor,
                        posting_count = b.posting_count + EXCLUDED.posting_count
                RETURNING 1
            )
            INSERT INTO ledger_accountperiodbalance AS p
                (account_id, period, currency, debit_minor, credit_minor, net_minor)
            SELECT account_id, period, currency, debit, credit, debit - credit
            FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], %s::bigint[], %s::bigint[])
                AS m(account_id, period, currency, debit, credit)
            ORDER BY account_id, period
            ON CONFLICT (account_id, period) DO UPDATE
                SET debit_minor = p.debit_minor + EXCLUDED.debit_minor,
                    credit_minor = p.credit_minor + EXCLUDED.credit_minor,
                    net_minor = p.net_minor + EXCLUDED.net_minor
            """,
            [
                int_array(accounts),
                text_array(per_account[a][0] for a in accounts),
                int_array(per_account[a][1] for a in accounts),
                int_array(per_account[a][2] for a in accounts),
                int_array(a for a, _ in periods),
                text_array(p for _, p in periods),
                text_array(per_period[k][0] for k in periods),
                int_array(per_period[k][1] for k in periods),
                int_array(per_period[k][2] for k in periods),
            ],
        )


def _resolve_idempotency(agency_id: int, prepared: Sequence[_Prepared]) -> list[_Prepared]:
    """Mark drafts already posted (same key, same request) and refuse reused keys; return the new ones."""
    by_key: dict[str, _Prepared] = {}
    fresh: list[_Prepared] = []
    for item in prepared:
        earlier = by_key.get(item.draft.idempotency_key)
        if earlier is not None:
            if earlier.request_sha256 != item.request_sha256:
                raise _conflict(item.draft.idempotency_key)
            item.extra["same_as"] = earlier
            continue
        by_key[item.draft.idempotency_key] = item
        fresh.append(item)
    # One array parameter joined with unnest, not IN (<20,000 parameters>): psycopg re-parses
    # the text of such a query, and PostgreSQL plans it worse.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.idempotency_key, e.request_sha256, e.id FROM unnest(%s::varchar[]) AS k(key)"
            " JOIN ledger_journalentry e ON e.agency_id = %s AND e.idempotency_key = k.key",
            # Sorted: the probes then walk the unique index in its order, each leaf page read once
            # (unsorted, a 20,000-key batch took 1-1.4 s at a million entries).
            [text_array(sorted(by_key)), agency_id],
        )
        rows = cursor.fetchall()
    if not rows:
        return fresh
    existing = {key: sha for key, sha, _id in rows}
    ids = {key: entry_id for key, _sha, entry_id in rows}
    new: list[_Prepared] = []
    for item in fresh:
        stored = existing.get(item.draft.idempotency_key)
        if stored is None:
            new.append(item)
        elif stored != item.request_sha256:
            raise _conflict(item.draft.idempotency_key)
        else:
            item.result_id = ids[item.draft.idempotency_key]
    return new


def _conflict(key: str) -> ApplicationError:
    return ApplicationError(
        f"The idempotency key {key!r} was already used for a different entry; use a new key.",
        code="idempotency_conflict",
    )


def _check_reversals(new: Sequence[_Prepared]) -> None:
    """Under the head lock: a reversal's original must still be unreversed (the unique
    constraint would refuse it too, but with a message nobody should have to read)."""
    targets = [item.draft.reverses_id for item in new if item.draft.reverses_id is not None]
    if not targets:
        return
    if len(set(targets)) != len(targets):
        raise ApplicationError("One batch reverses the same entry twice.", code="already_reversed")
    reversed_already = list(
        JournalEntry.objects.filter(reverses_id__in=targets).values_list("reverses__seq", flat=True)
    )
    if reversed_already:
        raise ApplicationError(
            f"Entry #{reversed_already[0]} has already been reversed; an entry is reversed at most once.",
            code="already_reversed",
        )


def _append(agency: Agency, prepared: Sequence[_Prepared], *, bulk: bool) -> list[int]:
    """Lock the chain head, then append the new entries after it; return every draft's entry id."""
    last_seq, last_hash = _lock_head(agency.pk)
    new = _resolve_idempotency(agency.pk, prepared)
    _check_reversals(new)
    if new:
        posted_at = timezone.now()
        for item in new:
            last_seq += 1
            item.extra["seq"] = last_seq
            item.extra["prev_hash"] = last_hash
            last_hash = chain_hash(
                prev_hash=last_hash, content_json=item.content_json, posted_at=posted_at, seq=last_seq
            )
            item.extra["hash"] = last_hash
        try:
            if bulk:
                _insert_copy(agency, new, posted_at)
            else:
                _insert_orm(agency, new, posted_at)
        except IntegrityError as error:
            if "idempotency_key" in str(error):
                # Only a writer that bypassed the chain head's lock (raw SQL) can get here.
                raise _conflict(new[0].draft.idempotency_key) from None
            raise
        _apply_balances(
            (account_id, currency, period_of(item.draft.effective_date), amount)
            for item in new
            for account_id, amount, currency in item.postings
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE ledger_ledgerhead SET last_seq = %s, last_hash = %s, updated_at = now() WHERE agency_id = %s",
                [last_seq, last_hash, agency.pk],
            )
    results: list[int] = []
    for item in prepared:
        source = item.extra.get("same_as", item)
        assert source.result_id is not None
        results.append(source.result_id)
    return results


def _entry_fields(item: _Prepared) -> dict[str, Any]:
    draft = item.draft
    return {
        "creator_id": draft.creator_id,
        "idempotency_key": draft.idempotency_key,
        "request_sha256": item.request_sha256,
        "kind": draft.kind,
        "cause_reference": draft.cause_reference,
        "reason": draft.reason,
        "author_id": draft.author_id,
        "memo": draft.memo,
        "effective_date": draft.effective_date,
        "reverses_id": draft.reverses_id,
        "lines_root": draft.lines_root,
        "line_count": draft.line_count,
    }


def _insert_orm(agency: Agency, new: Sequence[_Prepared], posted_at: datetime.datetime) -> None:
    for item in new:
        entry = JournalEntry.objects.create(
            agency=agency,
            seq=item.extra["seq"],
            prev_hash=item.extra["prev_hash"],
            hash=item.extra["hash"],
            posted_at=posted_at,
            **_entry_fields(item),
        )
        Posting.objects.bulk_create(
            [
                Posting(
                    entry=entry, account_id=account_id, line_no=number, amount_minor=amount, currency=currency
                )
                for number, (account_id, amount, currency) in enumerate(item.postings)
            ]
        )
        item.result_id = entry.pk


_ENTRY_COLUMNS = (
    "id, public_id, agency_id, creator_id, seq, prev_hash, hash, idempotency_key, request_sha256, kind, "
    "cause_reference, reason, author_id, memo, effective_date, posted_at, reverses_id, lines_root, "
    "line_count"
)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    """A text field of COPY's text format."""
    return (
        value.translate(_COPY_ESCAPES)
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value
        else value
    )


def _copy_number(value: int | None) -> str:
    return "\\N" if value is None else str(value)


def _insert_copy(agency: Agency, new: Sequence[_Prepared], posted_at: datetime.datetime) -> None:
    """COPY the batch into entries and postings (ids reserved first, so postings can name them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id')) FROM generate_series(1, %s)",
            [len(new)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        posted = posted_at.isoformat()
        agency_id = agency.pk
        entries: list[str] = []
        postings: list[str] = []
        text = _copy_text
        number_or_null = _copy_number
        for entry_id, item in zip(ids, new, strict=True):
            item.result_id = entry_id
            draft = item.draft
            extra = item.extra
            entries.append(
                f"{entry_id}\t{uuid7()}\t{agency_id}\t{number_or_null(draft.creator_id)}\t{extra['seq']}\t"
                f"{extra['prev_hash']}\t{extra['hash']}\t{text(draft.idempotency_key)}\t{item.request_sha256}\t"
                f"{text(draft.kind)}\t{text(draft.cause_reference)}\t{text(draft.reason)}\t"
                f"{number_or_null(draft.author_id)}\t{text(draft.memo)}\t{draft.effective_date.isoformat()}\t"
                f"{posted}\t{number_or_null(draft.reverses_id)}\t{draft.lines_root}\t{draft.line_count}\n"
            )
            for number, (account_id, amount, currency) in enumerate(item.postings):
                postings.append(f"{entry_id}\t{account_id}\t{number}\t{amount}\t{currency}\n")
        raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
        with raw.copy(f"COPY ledger_journalentry ({_ENTRY_COLUMNS}) FROM STDIN") as copy:
            copy.write("".join(entries))
        with raw.copy(
            "COPY ledger_posting (entry_id, account_id, line_no, amount_minor, currency) FROM STDIN"
        ) as copy:
            copy.write("".join(postings))


# --- Public services ---------------------------------------------------------------------------


def ledger_post(
    *,
    agency: Agency,
    idempotency_key: str,
    kind: str,
    effective_date: datetime.date,
    postings: Sequence[PostingSpec],
    cause_reference: str = "",
    reason: str = "",
    author: Any | None = None,
    creator: Any | None = None,
    memo: str = "",
    lines_root: str = "",
    line_count: int = 0,
) -> JournalEntry:
    """Post one balanced entry to the agency's chain; the same key and request return the first entry.

    Invariant: the entry, its postings, its balances and the chain head commit together or not at all.
    """
    draft = EntryDraft(
        idempotency_key=idempotency_key,
        kind=kind,
        effective_date=effective_date,
        postings=postings,
        cause_reference=str(cause_reference),
        reason=reason,
        author_id=author.pk if author is not None else None,
        creator_id=creator.pk if creator is not None else None,
        memo=memo,
        lines_root=lines_root,
        line_count=line_count,
    )
    [entry_id] = ledger_post_many(agency=agency, drafts=[draft], bulk=False)
    return JournalEntry.objects.get(pk=entry_id)


def ledger_post_many(*, agency: Agency, drafts: Sequence[EntryDraft], bulk: bool = True) -> list[int]:
    """Post a batch of entries in one transaction (COPY when `bulk`); returns each draft's entry id.

    All or nothing: one bad draft refuses the whole batch and nothing is written.
    """
    if not drafts:
        return []
    accounts = _load_accounts(agency, drafts)
    prepared = [_prepare(agency, draft, accounts) for draft in drafts]
    return _in_money_transaction(lambda: _append(agency, prepared, bulk=bulk))


def ledger_reverse(
    *,
    entry: JournalEntry,
    idempotency_key: str,
    reason: str,
    author: Any | None = None,
    effective_date: datetime.date | None = None,
) -> JournalEntry:
    """Post the mirror image of `entry`, naming it. A reversal is never reversed, an entry only once."""
    if entry.kind == Kind.REVERSAL:
        raise ApplicationError(
            f"Entry #{entry.seq} is itself a reversal and cannot be reversed; post a new entry instead.",
            code="reversal_of_reversal",
        )
    if not reason.strip():
        raise ApplicationError("A reversal needs a reason.", code="reversal_needs_reason")
    agency = entry.agency
    postings = [
        PostingSpec(account=account_id, amount_minor=-amount)
        for account_id, amount in entry.postings.order_by("line_no").values_list("account_id", "amount_minor")
    ]
    draft = EntryDraft(
        idempotency_key=idempotency_key,
        kind=Kind.REVERSAL,
        effective_date=effective_date or agency_local_date(agency, timezone.now()),
        postings=postings,
        cause_reference=f"entry:{entry.public_id}",
        reason=reason,
        author_id=author.pk if author is not None else None,
        creator_id=entry.creator_id,
        reverses_id=entry.pk,
    )
    [entry_id] = ledger_post_many(agency=agency, drafts=[draft], bulk=False)
    return JournalEntry.objects.get(pk=entry_id)


def ledger_entry_get(*, public_id: uuid.UUID | str) -> JournalEntry:
    """An entry by public id, for services (no tenancy: callers that serve people use selectors)."""
    try:
        return JournalEntry.objects.select_related("agency").get(public_id=public_id)
    except (JournalEntry.DoesNotExist, ValueError):
        raise NotFound() from None


__all__ = [
    "AccountBalance",
    "AccountResolver",
    "EntryDraft",
    "PostingSpec",
    "ledger_account_get_or_create",
    "ledger_accounts_ensure",
    "ledger_post",
    "ledger_post_many",
    "ledger_reverse",
]
