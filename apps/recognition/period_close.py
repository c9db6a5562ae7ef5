"""Period close: a month of an agency closes; minimum guarantees whose period ends then are topped up."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.db.backends.postgresql.psycopg_any import DateRange
from django.utils.translation import gettext as _

from apps.agencies.models import Agency
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import require_agency_role
from apps.contracts.models import ContractCoverage
from apps.income.models import ClosedPeriod
from apps.income.services import income_recognition_lock
from apps.ledger.models import Account, JournalEntry
from apps.ledger.services import AccountResolver, EntryDraft, PostingSpec, ledger_post_many
from apps.recognition.models import EngineState
from apps.splits.engine import Evaluator, parse_rule_set

Purpose = Account.Purpose


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
        income_recognition_lock(agency.pk)
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
            EngineState.objects.filter(pk__in=list(versions)).values_list("contract_version_id", "state")
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
            state = states.get(version_id)
            evaluator = Evaluator.from_state(rule_set, state) if state else Evaluator(rule_set)
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
