"""The creator's home (issue 14): what I am owed now, what this month has earned so far, when the
next payment is due and whether it is late, my last twelve months by source and by platform, an
offer waiting for my signature and the disputes waiting for me. Every amount is the creator's own
(their share, their payable), in plain words: never a ledger account's name.

A read composed from the other apps' selectors, each asked once: the ledger's running balances
(never its postings), recognition's grouped shares (apps/recognition/shares.py), the statements'
due dates and lateness, payouts in flight, contracts and disputes. The number of queries is the
same for a creator with three lines as for one with a million (tests/accounts/
test_creator_home.py), and bench/creator_pages.py times it at 10 million postings.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from apps.agencies.models import Agency
from apps.agencies.time import agency_today
from apps.common.catalog import platform_name, source_name
from apps.common.money import to_decimal_string
from apps.common.rollups import rollup_cached, rollup_key
from apps.common.tenancy import scope_for
from apps.contracts.models import ContractSignature, ContractVersion
from apps.contracts.selectors import contract_version_list_for_actor
from apps.disputes.models import Dispute
from apps.disputes.selectors import dispute_is_overdue, dispute_list_for_actor, dispute_subject_text
from apps.ledger.models import Account
from apps.ledger.selectors import balance_list_for_actor, creator_ledger_version, creator_payable_paid
from apps.payouts.models import PayoutItem
from apps.payouts.selectors import payout_item_list_for_actor
from apps.recognition.period_close import period_bounds
from apps.recognition.shares import MonthShare, creator_month_shares_for_actor
from apps.statements.models import Statement
from apps.statements.selectors import (
    due_dates,
    statement_list_for_actor,
    statement_terms_many,
)

CHART_MONTHS = 12


@dataclass(frozen=True)
class Amount:
    currency: str
    amount_minor: int
    agency: str = ""


@dataclass(frozen=True)
class NextPayment:
    """The next payment the agency owes: a published statement not paid in full, or else the
    month after the last statement, due by the contract's payment days after its end."""

    agency: str
    period: str
    due: datetime.date
    days_late: int
    currency: str = ""
    amount_minor: int | None = None  # unpaid of a published statement; None: not stated yet
    statement: Statement | None = None

    @property
    def is_late(self) -> bool:
        return self.days_late > 0


@dataclass(frozen=True)
class MonthRow:
    period: str
    share_minor: int
    gross_minor: int


@dataclass
class CreatorHome:
    agencies: list[Agency]
    owed: list[Amount]
    in_flight: list[PayoutItem]
    period: str  # this month, on the agency's calendar
    month_share: list[Amount]
    next_payment: NextPayment | None
    chart_currency: str
    chart: dict[str, Any]  # for json_script and static/js/charts.js: months, by source, by platform
    months: list[MonthRow]  # the chart's figures as a table (its text alternative)
    other_currencies: list[str]
    offer: ContractVersion | None
    disputes_answered: list[Dispute] = field(default_factory=list)  # the agency answered: for me to read
    disputes_open: list[Dispute] = field(default_factory=list)  # waiting for the agency's answer


def _months(last_day: datetime.date, count: int) -> list[str]:
    year, month = last_day.year, last_day.month
    periods = []
    for _step in range(count):
        periods.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return periods[::-1]


def _series(rows: list[MonthShare], periods: list[str], key: str, name: Any) -> list[dict[str, Any]]:
    """One dataset per source (or platform): the creator's share per month, as decimal strings
    (money leaves as text; the chart turns it into pixels, nothing else)."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(periods, 0))
    currency = rows[0].currency if rows else "CNY"
    for row in rows:
        totals[getattr(row, key)][row.period] += row.share_minor
    return [
        {
            "key": item,
            "label": name(item),
            "data": [to_decimal_string(by_month[period], currency) for period in periods],
        }
        for item, by_month in sorted(totals.items(), key=lambda pair: -sum(pair[1].values()))
    ]


def _next_payment(
    actor: Any,
    creator_id: int,
    agency: Agency | None,
    today: datetime.date,
    months: list[MonthShare],
    is_owed: bool,
    ledger_version: int,
) -> NextPayment | None:
    """Three queries at most: the latest published statement, what was paid of it (the payouts
    after its month), the contract's payment terms for the month after it. Without a statement,
    a month whose payment day has passed is late only while the agency still owes the creator
    something (it may have paid without a statement).

    The statement's due days are its own (statements fixed them from the contract). What is
    unpaid is the statements' rule (its closing balance less what left the payable in payouts
    after the month, a failed payout's reversal counting back), read by the ledger's
    creator_payable_paid, which finds the creator's payout entries by day instead of reading
    every posting of the account as statement_lateness does: 19 ms of a 37 ms page at 10 million
    postings (bench/creator_pages.py). Unpaid after the due day is late by the days since it,
    as statement_lateness counts them."""
    latest = (
        statement_list_for_actor(actor=actor)
        .select_related(None)
        .select_related("agency")  # the page names the agency only; five joins cost more than the query
        .filter(creator_id=creator_id, status=Statement.Status.PUBLISHED)
        .order_by("-period", "-published_at", "-pk")
        .first()
    )
    if latest is not None:
        _first, last = period_bounds(latest.period)
        # The payout entries it adds up all name the creator: kept under their entry count.
        paid = rollup_cached(
            rollup_key(
                "creator-paid", latest.agency_id, creator_id, latest.currency, last, today, ledger_version
            ),
            lambda: creator_payable_paid(
                agency_id=latest.agency_id,
                creator_id=creator_id,
                currency=latest.currency,
                after=last,
                until=today,
            ),
        )
        unpaid = max(0, latest.closing_minor - paid)
        if unpaid > 0:
            return NextPayment(
                agency=latest.agency.name,
                period=latest.period,
                due=latest.payment_due,
                days_late=max(0, (today - latest.payment_due).days),
                currency=latest.currency,
                amount_minor=unpaid,
                statement=latest,
            )
        agency = latest.agency
        period = (last + datetime.timedelta(days=1)).strftime("%Y-%m")
    else:
        # No statement yet: the first month with income in the window (its payment comes first).
        period = next((row.period for row in months if row.share_minor), today.strftime("%Y-%m"))
    if agency is None:
        return None
    current = today.strftime("%Y-%m")
    period = min(period, current)
    _first, last = period_bounds(period)
    terms = statement_terms_many(agency_id=agency.pk, creator_ids=[creator_id], last=last)[creator_id]
    _statement_due, payment_due = due_dates(period=period, terms=terms)
    return NextPayment(
        agency=agency.name,
        period=period,
        due=payment_due,
        days_late=max(0, (today - payment_due).days) if period < current and is_owed else 0,
    )


def _offer(actor: Any, creator_id: int) -> ContractVersion | None:
    """The oldest version sent to the creator and not yet signed by them (one query)."""
    signed = ContractSignature.objects.filter(version=OuterRef("pk"), party=ContractSignature.Party.CREATOR)
    return (
        contract_version_list_for_actor(actor=actor)
        .prefetch_related(None)
        .select_related(None)
        .select_related("contract__agency")
        .filter(contract__creator_id=creator_id, status=ContractVersion.Status.SENT)
        .exclude(Exists(signed))
        .order_by("sent_at", "pk")
        .first()
    )


def creator_home_for_actor(
    *, actor: Any, agencies: list[Agency], today: datetime.date | None = None
) -> CreatorHome | None:
    """The actor's home as a creator (None if they are not one). `agencies`: those representing
    them now (the home has read them already); the first one's calendar says what "this month"
    is, unless `today` says it."""
    creator_id = scope_for(actor).creator_id
    if creator_id is None:
        return None
    agencies = sorted(agencies, key=lambda item: (item.name, item.pk))
    agency = agencies[0] if agencies else None
    if today is None:
        today = agency_today(agency) if agency is not None else agency_today(settings.TIME_ZONE)
    periods = _months(today, CHART_MONTHS)
    first, _last = period_bounds(periods[0])
    _first, last = period_bounds(periods[-1])
    # What the creator's ledger entries say is versioned by their number (apps/common/rollups.py):
    # read once, for the months and for what was paid of the last statement.
    version = creator_ledger_version(creator_id=creator_id)
    rows = creator_month_shares_for_actor(actor=actor, first=first, last=last, ledger_version=version)

    # The chart draws one currency (the one most of the share is in); the others are listed.
    by_currency: dict[str, int] = defaultdict(int)
    for row in rows:
        by_currency[row.currency] += row.share_minor
    chart_currency = max(by_currency, key=lambda currency: by_currency[currency]) if by_currency else "CNY"
    charted = [row for row in rows if row.currency == chart_currency]
    months = [
        MonthRow(
            period=period,
            share_minor=sum(row.share_minor for row in charted if row.period == period),
            gross_minor=sum(row.gross_minor for row in charted if row.period == period),
        )
        for period in periods
    ]
    month_share: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.period == periods[-1]:
            month_share[row.currency] += row.share_minor

    # What the agency owes is a credit balance: shown the way people read it, positive.
    payable_sign = -1 if Account.Purpose.CREATOR_PAYABLE in Account.CREDIT_NORMAL else 1
    owed = [
        Amount(currency=currency, amount_minor=balance * payable_sign, agency=agency_name)
        for agency_name, currency, balance in balance_list_for_actor(actor=actor)
        .filter(account__creator_id=creator_id, account__purpose=Account.Purpose.CREATOR_PAYABLE)
        .values_list("account__agency__name", "currency", "balance_minor")
    ]
    disputes = list(
        dispute_list_for_actor(actor=actor, own_only=True)
        .filter(state__in=Dispute.ACTIVE_STATES)
        # What the list names: the agency and the subject (a line or a statement), nothing wider.
        .select_related(None)
        .select_related("agency", "income_line", "statement")
        .defer("income_line__metadata", "income_line__description", "income_line__exception_detail")[:20]
    )
    for dispute in disputes:
        dispute.about = dispute_subject_text(dispute)  # type: ignore[attr-defined]
        dispute.is_overdue = dispute_is_overdue(dispute)  # type: ignore[attr-defined]
    return CreatorHome(
        agencies=agencies,
        owed=owed,
        in_flight=list(
            payout_item_list_for_actor(actor=actor, creator=creator_id)
            .select_related(None)
            .filter(status__in=PayoutItem.OPEN)
        ),
        period=periods[-1],
        month_share=[Amount(currency, amount) for currency, amount in sorted(month_share.items())],
        next_payment=_next_payment(
            actor,
            creator_id,
            agency,
            today,
            rows,
            is_owed=any(item.amount_minor > 0 for item in owed),
            ledger_version=version,
        ),
        chart_currency=chart_currency,
        chart={
            "currency": chart_currency,
            "months": periods,
            "bySource": _series(charted, periods, "source", source_name),
            "byPlatform": _series(charted, periods, "platform", platform_name),
            "titles": {"source": _("My share by source"), "platform": _("My share by platform")},
        },
        months=months[::-1],
        other_currencies=sorted(currency for currency in by_currency if currency != chart_currency),
        offer=_offer(actor, creator_id),
        disputes_answered=[item for item in disputes if item.state == Dispute.State.ANSWERED],
        disputes_open=[item for item in disputes if item.state == Dispute.State.OPEN],
    )
