"""Reads of the ledger, always through the caller's scope (apps.common.tenancy).

An active member of an agency sees that agency's whole ledger. A creator sees the entries that
touch their own accounts, and of those entries only the postings on their own accounts (the
entry's trace still explains their split). Everyone else sees nothing: 404, never 403.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet, Sum

from apps.common.exceptions import ApplicationError
from apps.common.tenancy import agency_filter, get_scoped_or_404, scope_for
from apps.ledger.models import Account, AccountBalance, AccountPeriodBalance, JournalEntry, Posting

_PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


def _account_condition(actor: Any, *, prefix: str = "") -> Q:
    """Accounts the actor may see: their agencies' accounts and their own creator accounts."""
    condition = agency_filter(actor, agency_field=f"{prefix}agency")
    creator_id = scope_for(actor).creator_id
    if creator_id is not None:
        condition |= Q(**{f"{prefix}creator_id": creator_id})
    return condition


def _posting_condition(actor: Any) -> Q:
    condition = agency_filter(actor, agency_field="entry__agency")
    creator_id = scope_for(actor).creator_id
    if creator_id is not None:
        condition |= Q(account__creator_id=creator_id)
    return condition


def _check_period(period: str | None) -> None:
    if period is not None and not _PERIOD.match(period):
        raise ApplicationError(f"{period!r} is not a month such as 2026-03.", code="invalid_period")


def entry_list_for_actor(
    *,
    actor: Any,
    account: UUID | str | None = None,
    creator: UUID | str | None = None,
    period: str | None = None,
) -> QuerySet[JournalEntry]:
    """Entries the actor may see, newest first, with only the postings they may see."""
    _check_period(period)
    scope = scope_for(actor)
    if scope.user_id is None:
        return JournalEntry.objects.none()
    condition = agency_filter(actor, agency_field="agency")
    if scope.creator_id is not None:
        condition |= Q(pk__in=Posting.objects.filter(account__creator_id=scope.creator_id).values("entry_id"))
    entries = JournalEntry.objects.filter(condition)
    if account is not None:
        entries = entries.filter(pk__in=Posting.objects.filter(account__public_id=account).values("entry_id"))
    if creator is not None:
        entries = entries.filter(
            pk__in=Posting.objects.filter(account__creator__public_id=creator).values("entry_id")
        )
    if period is not None:
        year, month = (int(part) for part in period.split("-"))
        entries = entries.filter(effective_date__year=year, effective_date__month=month)
    postings = (
        Posting.objects.filter(_posting_condition(actor))
        .select_related("account__agency", "account__creator")
        .order_by("line_no")
    )
    return (
        entries.select_related("agency", "creator", "author", "reverses")
        .prefetch_related(Prefetch("postings", queryset=postings))
        .order_by("-id")
    )


def entry_get_for_actor(*, actor: Any, public_id: UUID | str) -> JournalEntry:
    return get_scoped_or_404(entry_list_for_actor(actor=actor), public_id=public_id)


def account_list_for_actor(*, actor: Any) -> QuerySet[Account]:
    if scope_for(actor).user_id is None:
        return Account.objects.none()
    return Account.objects.filter(_account_condition(actor)).select_related("agency", "creator")


def balance_list_for_actor(
    *, actor: Any, creator: UUID | str | None = None, agency: UUID | str | None = None
) -> QuerySet[AccountBalance]:
    """Running balances of the accounts the actor may see (one row per account, no posting scan)."""
    if scope_for(actor).user_id is None:
        return AccountBalance.objects.none()
    balances = AccountBalance.objects.filter(_account_condition(actor, prefix="account__"))
    if creator is not None:
        balances = balances.filter(account__creator__public_id=creator)
    if agency is not None:
        balances = balances.filter(account__agency__public_id=agency)
    return balances.select_related("account__agency", "account__creator").order_by("account_id")


def period_balance_list_for_actor(
    *, actor: Any, period: str, creator: UUID | str | None = None, agency: UUID | str | None = None
) -> QuerySet[AccountPeriodBalance]:
    """Monthly debits, credits and net of the accounts the actor may see."""
    _check_period(period)
    if scope_for(actor).user_id is None:
        return AccountPeriodBalance.objects.none()
    months = AccountPeriodBalance.objects.filter(_account_condition(actor, prefix="account__"), period=period)
    if creator is not None:
        months = months.filter(account__creator__public_id=creator)
    if agency is not None:
        months = months.filter(account__agency__public_id=agency)
    return months.select_related("account__agency", "account__creator").order_by("account_id")


def creator_balances(*, creator_id: int, period: str | None = None) -> dict[str, Any]:
    """A creator's balances (and one month's totals) straight from the balance tables: two
    index lookups whatever the number of postings. For services and benchmarks (no scope)."""
    balances = list(
        AccountBalance.objects.filter(account__creator_id=creator_id).values_list(
            "account__purpose", "account__currency", "balance_minor"
        )
    )
    months = []
    if period is not None:
        months = list(
            AccountPeriodBalance.objects.filter(account__creator_id=creator_id, period=period).values_list(
                "account__purpose", "currency", "debit_minor", "credit_minor", "net_minor"
            )
        )
    return {"balances": balances, "period": months}


def ledger_balances_of_creators(
    *, agency_id: int, purpose: str, creator_ids: Iterable[int]
) -> dict[tuple[int, str], int]:
    """The balance of each creator's `purpose` account (key ''), per (creator id, currency), in
    the ledger's signs (a debit positive): e.g. the advances still to recoup. Services call it."""
    rows = AccountBalance.objects.filter(
        account__agency_id=agency_id,
        account__purpose=purpose,
        account__key="",
        account__creator_id__in=list(creator_ids),
    ).values_list("account__creator_id", "account__currency", "balance_minor")
    return {(creator_id, currency): balance for creator_id, currency, balance in rows}


def creator_payable_paid(
    *, agency_id: int, creator_id: int, currency: str, after: datetime.date, until: datetime.date
) -> int:
    """What left the creator's payable at the agency in payouts (tax and net; a failed payout's
    reversal counts back) with a ledger day in (after, until], as a positive figure. Reads the
    creator's entries of those days through the (creator, effective_date) index, then their
    postings by entry: a handful of rows however long the account's history (reading the
    account's postings instead costs ~20 ms for a creator at 10 million postings). For services
    and pages that have scoped the creator already."""
    payouts = JournalEntry.objects.filter(
        Q(kind=JournalEntry.Kind.PAYOUT)
        | Q(kind=JournalEntry.Kind.REVERSAL, reverses__kind=JournalEntry.Kind.PAYOUT),
        agency_id=agency_id,
        creator_id=creator_id,
        effective_date__gt=after,
        effective_date__lte=until,
    )
    total = Posting.objects.filter(
        entry_id__in=payouts.values("pk"),
        account__agency_id=agency_id,
        account__creator_id=creator_id,
        account__purpose=Account.Purpose.CREATOR_PAYABLE,
        account__currency=currency,
    ).aggregate(total=Sum("amount_minor"))["total"]
    return int(total or 0)


def ledger_version(*, agency_id: int) -> int:
    """The agency's ledger head (its last entry's seq; 0 before the first): it advances in the
    transaction of every entry, posting and allocation of the agency, and the ledger is
    append-only, so it versions anything computed from them (apps/common/rollups.py). For
    callers that have scoped the agency already; one primary-key read."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_seq FROM ledger_ledgerhead WHERE agency_id = %s", [agency_id])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def creator_ledger_version(*, creator_id: int) -> int:
    """How many entries name the creator, at every agency: a new one commits with each of their
    recognised lines (recognition posts one entry per creator and contract version, naming the
    creator, in the transaction of the allocations), and entries are never deleted, so the count
    versions anything computed from the creator's allocations (apps/common/rollups.py). A count,
    not the last id: two agencies' entries for one creator may commit out of id order. Read
    through the (creator, effective_date) index, index only. For callers that have scoped the
    creator already."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_journalentry WHERE creator_id = %s", [creator_id])
        row = cursor.fetchone()
    return int(row[0])
