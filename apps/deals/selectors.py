"""Reads of brand deals, their expenses and payments, and the expense cap a contract allows.

Visibility: an agency's active members (every role) see the agency's deals; a creator sees their
own deals at any agency. A deal is an agency's row, not "the creator's row" of tenancy's
creator_filter: another agency that also represents the creator does not see it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet

from apps.common.catalog import Source
from apps.common.tenancy import get_scoped_or_404, scope_for
from apps.contracts.models import ContractVersion
from apps.contracts.selectors import contract_version_in_force
from apps.deals.models import (
    BrandDeal,
    DealExpense,
    DealPayment,
    Deliverable,
    ExpenseDeduction,
    ExpenseReissue,
)
from apps.income.models import IncomeLine
from apps.income.selectors import income_line_list_for_actor
from apps.splits.engine.money import format_percent, half_up
from apps.splits.engine.rules import InvalidRules, parse_rule_set


def _visibility(actor: Any, *, prefix: str = "") -> Q:
    scope = scope_for(actor)
    if scope.user_id is None:
        return Q(pk__in=[])
    condition = Q(**{f"{prefix}agency_id__in": scope.agency_ids})
    if scope.creator_id is not None:
        condition |= Q(**{f"{prefix}creator_id": scope.creator_id})
    return condition


def deal_list_for_actor(
    *,
    actor: Any,
    agency_id: int | None = None,
    creator_id: int | None = None,
    status: str | None = None,
) -> QuerySet[BrandDeal]:
    queryset = BrandDeal.objects.filter(_visibility(actor)).select_related("agency", "creator")
    if agency_id is not None:
        queryset = queryset.filter(agency_id=agency_id)
    if creator_id is not None:
        queryset = queryset.filter(creator_id=creator_id)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-due_on", "-pk")


def deal_get_for_actor(*, actor: Any, public_id: UUID | str) -> BrandDeal:
    """One visible deal with its deliverables, expenses and payments (another tenant's: 404)."""
    queryset = deal_list_for_actor(actor=actor).prefetch_related(
        Prefetch("deliverables", queryset=Deliverable.objects.order_by("due_on", "pk")),
        Prefetch("expenses", queryset=DealExpense.objects.order_by("created_at", "pk")),
        Prefetch(
            "payments",
            queryset=DealPayment.objects.select_related("income_line").order_by("created_at", "pk"),
        ),
    )
    return get_scoped_or_404(queryset, public_id=public_id)


def deal_expense_get_for_actor(*, actor: Any, public_id: UUID | str) -> DealExpense:
    queryset = DealExpense.objects.filter(_visibility(actor, prefix="deal__")).select_related(
        "deal__agency", "deal__creator"
    )
    return get_scoped_or_404(queryset, public_id=public_id)


def deliverable_get_for_actor(*, actor: Any, public_id: UUID | str) -> Deliverable:
    queryset = Deliverable.objects.filter(_visibility(actor, prefix="deal__")).select_related(
        "deal__agency", "deal__creator"
    )
    return get_scoped_or_404(queryset, public_id=public_id)


# --- the expenses cap the creator signed -----------------------------------------------------------


@dataclass(frozen=True)
class ExpenseCap:
    """How much of a deal's fee approved expenses may take, and why."""

    cap_minor: int
    approved_minor: int
    percent: str | None  # "15" — None when the contract allows no expenses on this deal
    version: ContractVersion | None
    reason: str  # a stable code: "contract_rule", "no_contract", "no_expenses_clause"
    # What of the approved expenses the split has deducted from the deal's income so far
    # (apps/deals/expenses.py): the rest waits for the deal's next payment.
    deducted_minor: int = 0

    @property
    def remaining_minor(self) -> int:
        return max(0, self.cap_minor - self.approved_minor)

    @property
    def undeducted_minor(self) -> int:
        return max(0, self.approved_minor - self.deducted_minor)


def deal_expense_cap(*, deal: BrandDeal, at: datetime.date | None = None) -> ExpenseCap:
    """The cap is `expenses.cap_percent` of the fee under the first brand-deal rule of the rule set
    in force on the deal's due date (the day its income is expected) on the deal's platform.

    No contract, or a rule without an `expenses` clause, allows no expenses at all: the creator
    never signed for any deduction then.

    This cap of the fee agrees with the spec's cap per line (`half_up(line gross, cap_percent)`):
    approved expenses are deducted from the deal's lines in turn, each up to its own cap, so a
    deal paid in full can deduct all of them (apps/deals/expenses.py, up to half a fen of
    rounding per instalment).
    """
    approved = sum(
        DealExpense.objects.filter(deal=deal, status=DealExpense.Status.APPROVED).values_list(
            "amount_minor", flat=True
        )
    )
    deducted = sum(ExpenseDeduction.objects.filter(deal=deal).values_list("amount_minor", flat=True))
    version = contract_version_in_force(
        creator=deal.creator, agency=deal.agency, platform=deal.platform, at=at or deal.due_on
    )
    if version is None:
        return ExpenseCap(0, approved, None, None, "no_contract", deducted)
    try:
        rule_set = parse_rule_set(version.rule_set)
    except InvalidRules:
        # A signed version always holds a valid rule set; if not, deduct nothing rather than guess.
        return ExpenseCap(0, approved, None, version, "no_expenses_clause", deducted)
    rule = next((rule for rule in rule_set.rules if rule.matches(Source.BRAND_DEAL, deal.platform)), None)
    if rule is None or rule.expenses_cap is None:
        return ExpenseCap(0, approved, None, version, "no_expenses_clause", deducted)
    return ExpenseCap(
        cap_minor=half_up(deal.fee_minor, rule.expenses_cap),
        approved_minor=approved,
        percent=format_percent(rule.expenses_cap),
        version=version,
        reason="contract_rule",
        deducted_minor=deducted,
    )


# --- the exceptions queue ------------------------------------------------------------------------------


def exception_line_list_for_actor(*, actor: Any, agency_id: int | None = None) -> QuerySet[IncomeLine]:
    """The agency console's queue: income lines in exception of the actor's agencies (every role
    reads it). A creator's own lines are income's portal, not this queue: they are left out."""
    agency_ids = scope_for(actor).agency_ids
    lines = income_line_list_for_actor(actor=actor, status=IncomeLine.Status.EXCEPTION).filter(
        agency_id__in=agency_ids
    )
    if agency_id is not None:
        lines = lines.filter(agency_id=agency_id)
    return lines.select_related("agency", "creator").order_by("-occurred_at", "-pk")


def exception_line_get_for_actor(*, actor: Any, public_id: UUID | str) -> IncomeLine:
    return get_scoped_or_404(exception_line_list_for_actor(actor=actor), public_id=public_id)


def deal_assignable_list(*, line: IncomeLine) -> QuerySet[BrandDeal]:
    """The deals a queue line may be assigned to: open deals of its agency in its currency, of its
    creator when the line has one."""
    deals = BrandDeal.objects.filter(agency_id=line.agency_id, currency=line.currency).exclude(
        status=BrandDeal.Status.CANCELLED
    )
    if line.creator_id is not None:
        deals = deals.filter(creator_id=line.creator_id)
    return deals.select_related("creator").order_by("creator__display_name", "-due_on", "-pk")


# --- the income list's deal filter (registered with income: apps/income/hooks.py) ---------------------

DEAL_CHOICES_SHOWN = 200  # a filter's drop-down, newest due first; a creator has far fewer


def deal_filter_choices(*, actor: Any) -> list[tuple[str, str]]:
    """(public id, name) of the deals the actor sees, for the income list's filter: a creator's own
    deals (at any agency), an agency member's agencies' deals. One query."""
    scope = scope_for(actor)
    deals = deal_list_for_actor(actor=actor)
    if scope.creator_id is not None and not scope.agency_ids:
        deals = deals.filter(creator_id=scope.creator_id)
    return [
        (str(public_id), f"{brand} · {campaign}" if campaign else brand)
        for public_id, brand, campaign in deals.values_list("public_id", "brand", "campaign")[
            :DEAL_CHOICES_SHOWN
        ]
    ]


def deal_line_condition(*, actor: Any, public_id: UUID | str) -> Q:
    """A Q over IncomeLine: the lines of one deal the actor sees (NotFound otherwise): its
    payments (refunds included) and the reversal and re-issue lines its expenses caused."""
    deal = get_scoped_or_404(deal_list_for_actor(actor=actor), public_id=public_id)
    reissues = ExpenseReissue.objects.filter(deal=deal)
    return (
        Q(pk__in=DealPayment.objects.filter(deal=deal).values("income_line_id"))
        | Q(pk__in=reissues.values("reversal_line_id"))
        | Q(pk__in=reissues.values("reissue_line_id"))
    )
