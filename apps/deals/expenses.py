"""Approved deal expenses in the split: which income line carries them, what the engine deducted,
and the re-issue of lines recognised before an approval.

The rule (README, "Brand deal expenses"; the algorithm is ../shared/spec/split-rules.md):

* Only expenses the creator approved count, and their total never exceeds the cap of the fee
  (`half_up(fee, cap_percent)` under the contract in force on the deal's due date, checked at
  approval by deal_expense_approve).
* They are deducted from the deal's income lines in recognition order. Each positive brand-deal
  line that pays the deal (its DealPayment) carries `expenses = approved − already deducted`;
  the engine deducts `min(expenses, half_up(line gross, cap_percent), max(rest, 0))`, the cap
  being the one of the line's own contract; what it deducted is recorded (ExpenseDeduction), so
  the rest carries to the deal's next instalment. Over a deal paid in full the per-line caps add
  up to the cap of the fee, so everything approved is deducted — except that each line's cap is
  rounded half up on its own: instalments can leave up to half a fen each undeducted, which
  stays with the agency like costs above the cap. What is approved but not (yet) deducted is
  shown on the deal (ExpenseCap.deducted_minor).
* A refund reverses its share of its original's expenses: the engine allocates it against the
  original's parts, `expenses` included, and that share is recorded negative, so it is free
  again for the deal's next positive line.
* A line whose contract has no `expenses` clause while its deal has expenses to deduct is not
  split without them: it goes to the exceptions queue (engine_error, EXPENSES_NOT_ALLOWED, with
  the deal and the amount). So does a line that is converted from another currency before the
  engine while its deal has expenses to deduct (they are in the deal's currency).
* An approval after some of the deal's lines were recognised re-issues them (deal_expenses_reissue):
  each recognised line of the deal that could carry more under its own cap, in recognition
  order until the approved expenses are used, gets a reversal — a refund of all that is left of
  it, which the engine allocates against it to the fen — and a re-issue of that gross, which
  carries the expenses. Both are income lines of the creator, dated like the original (so they
  count in its periods), recognised through the normal path in the approval's transaction, and
  linked to the original and to the approval (ExpenseReissue): the creator can re-run them with
  the public algorithm like any other line. They are not payments: the deal's paid amount is
  unchanged. A refund from the brand that names the original line refunds its latest re-issue.

Recognition (apps/recognition/batch.py) builds one DealExpenseBook per batch, under the
agency's recognition lock, which deal_expense_approve takes too: an approval and a batch never
interleave, so no expense is deducted twice or left behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from apps.common.catalog import Source
from apps.common.exceptions import ApplicationError
from apps.common.money import format_money
from apps.deals.models import BrandDeal, DealExpense, DealPayment, ExpenseDeduction, ExpenseReissue
from apps.income.models import IncomeLine
from apps.splits.engine import Evaluator, Line

EXPENSES = "expenses"  # the reserved deduction id of the spec


def _deal_label(deal: BrandDeal) -> str:
    label = str(deal)
    return f"{label} [{deal.order_ref}]" if deal.order_ref else label


def deal_expenses_deducted(*, deal_ids: Iterable[int]) -> dict[int, int]:
    """What of each deal's approved expenses the ledger has deducted so far (refunds netted)."""
    rows = (
        ExpenseDeduction.objects.filter(deal_id__in=list(deal_ids))
        .values("deal_id")
        .annotate(total=Sum("amount_minor"))
        .values_list("deal_id", "total")
    )
    return {deal_id: int(total or 0) for deal_id, total in rows}


def deal_expenses_approved(*, deal_ids: Iterable[int]) -> dict[int, int]:
    rows = (
        DealExpense.objects.filter(deal_id__in=list(deal_ids), status=DealExpense.Status.APPROVED)
        .values("deal_id")
        .annotate(total=Sum("amount_minor"))
        .values_list("deal_id", "total")
    )
    return {deal_id: int(total or 0) for deal_id, total in rows}


_LATEST_REISSUE_SQL = """
    WITH RECURSIVE chain(start, line_id) AS (
        SELECT r.original_line_id, r.reissue_line_id FROM deals_expensereissue r
        WHERE r.original_line_id IN (SELECT unnest(%s::bigint[]))
        UNION ALL
        SELECT chain.start, r.reissue_line_id FROM chain
        JOIN deals_expensereissue r ON r.original_line_id = chain.line_id
    )
    SELECT start, line_id FROM chain
    WHERE NOT EXISTS (SELECT 1 FROM deals_expensereissue r WHERE r.original_line_id = chain.line_id)
"""


class DealExpenseBook:
    """The deal expenses of one recognition batch.

    * `refund_targets`: the line each refund of the batch refunds in the engine, where it is not
      the line's own `refund_of` — a reversal refunds the line it reverses; a refund naming a
      re-issued line refunds the latest re-issue.
    * `claim(line)`: the expenses a positive line carries into the engine (0 for most lines).
    * `record(line, amount)`: what the engine deducted (or a refund reversed) as `expenses`; the
      deal's pending amount follows at once, so the next line of the same deal sees the rest.
    * `save()`: the recorded amounts as ExpenseDeduction rows, in the batch's transaction.
    """

    def __init__(self) -> None:
        self.refund_targets: dict[int, int] = {}
        self._deal_of: dict[int, int] = {}  # positive line -> the deal it pays (or re-issues)
        self._refund_deal: dict[int, int] = {}  # refund line -> the deal of its original's expenses
        self._pending: dict[int, int] = {}
        self._deals: dict[int, BrandDeal] = {}
        self._rows: list[ExpenseDeduction] = []

    @classmethod
    def for_lines(
        cls, *, agency_id: int, lines: Iterable[tuple[int, int, str, int | None]]
    ) -> DealExpenseBook:
        """`lines`: (id, gross in minor units, source, refund_of id) of the batch's lines."""
        book = cls()
        positive: list[int] = []
        refunds: dict[int, int | None] = {}
        for line_id, gross, source, refund_of_id in lines:
            if gross > 0 and source == Source.BRAND_DEAL:
                positive.append(line_id)
            elif gross < 0:
                refunds[line_id] = refund_of_id
        if positive:
            book._deal_of.update(
                DealPayment.objects.filter(
                    income_line_id__in=positive, amount_minor__gt=0, deal__agency_id=agency_id
                ).values_list("income_line_id", "deal_id")
            )
            book._deal_of.update(
                ExpenseReissue.objects.filter(
                    reissue_line_id__in=positive, deal__agency_id=agency_id
                ).values_list("reissue_line_id", "deal_id")
            )
        # After the payments: a refund may name a payment of this same batch, whose deduction is
        # not saved yet (see _load_refunds).
        if refunds:
            book._load_refunds(refunds)
        deal_ids = set(book._deal_of.values()) | set(book._refund_deal.values())
        if deal_ids:
            approved = deal_expenses_approved(deal_ids=deal_ids)
            deducted = deal_expenses_deducted(deal_ids=deal_ids)
            book._pending = {
                deal_id: approved.get(deal_id, 0) - deducted.get(deal_id, 0) for deal_id in deal_ids
            }
            book._deals = {deal.pk: deal for deal in BrandDeal.objects.filter(pk__in=deal_ids)}
        return book

    def _load_refunds(self, refunds: dict[int, int | None]) -> None:
        reversals = dict(
            ExpenseReissue.objects.filter(reversal_line_id__in=list(refunds)).values_list(
                "reversal_line_id", "original_line_id"
            )
        )
        named = sorted(
            {original for line_id, original in refunds.items() if original and line_id not in reversals}
        )
        latest: dict[int, int] = {}
        if named:
            with connection.cursor() as cursor:
                cursor.execute(_LATEST_REISSUE_SQL, [named])
                latest = dict(cursor.fetchall())
        targets: dict[int, int] = {}
        for line_id, original in refunds.items():
            if line_id in reversals:
                targets[line_id] = self.refund_targets[line_id] = reversals[line_id]
            elif original is not None:
                target = latest.get(original, original)
                targets[line_id] = target
                if target != original:
                    self.refund_targets[line_id] = target
        if targets:
            deal_of_original = dict(
                ExpenseDeduction.objects.filter(
                    income_line_id__in=sorted(set(targets.values())), amount_minor__gt=0
                ).values_list("income_line_id", "deal_id")
            )
            for line_id, target in targets.items():
                # A saved deduction, or a payment of this batch (it deducts before its refund,
                # which is evaluated after it; if it deducts nothing, the refund frees nothing).
                deal_id = deal_of_original.get(target) or self._deal_of.get(target)
                if deal_id is not None:
                    self._refund_deal[line_id] = deal_id

    def tracks(self, line_id: int) -> bool:
        """Whether the line's deducted (or reversed) expenses are recorded here."""
        return line_id in self._deal_of or line_id in self._refund_deal

    def claim(self, line_id: int) -> int:
        deal_id = self._deal_of.get(line_id)
        if deal_id is None:
            return 0
        return max(self._pending.get(deal_id, 0), 0)

    def detail(self, line_id: int) -> str:
        """A sentence for the exceptions queue: the deal and what it has to deduct."""
        deal = self._deals[self._deal_of[line_id]]
        return _("Deal %(deal)s has %(amount)s of approved expenses to deduct from this payment.") % {
            "deal": _deal_label(deal),
            "amount": format_money(self.claim(line_id), deal.currency),
        }

    def record(self, line_id: int, amount_minor: int) -> None:
        if amount_minor == 0:
            return
        deal_id = self._deal_of.get(line_id) if amount_minor > 0 else self._refund_deal.get(line_id)
        if deal_id is None:
            # A positive amount needs a claim, a negative one an original that deducted: both
            # come from this book, so this is a bug, not data to skip.
            raise ValueError(f"line {line_id} deducted {amount_minor} expenses of no deal")
        self._pending[deal_id] = self._pending.get(deal_id, 0) - amount_minor
        self._rows.append(
            ExpenseDeduction(deal_id=deal_id, income_line_id=line_id, amount_minor=amount_minor)
        )

    def save(self) -> None:
        if self._rows:
            ExpenseDeduction.objects.bulk_create(self._rows)
            self._rows = []


# --- approvals after recognition ----------------------------------------------------------------------


def _recognised_lines(deal: BrandDeal) -> list[IncomeLine]:
    """The deal's recognised positive lines that still stand (not re-issued), in recognition order."""
    paid = DealPayment.objects.filter(deal=deal, amount_minor__gt=0).values_list("income_line_id", flat=True)
    reissued = ExpenseReissue.objects.filter(deal=deal).values_list("reissue_line_id", flat=True)
    return list(
        IncomeLine.objects.filter(
            pk__in=[*paid, *reissued], allocation__isnull=False, expense_reissue__isnull=True
        )
        .select_related("allocation")
        .order_by("occurred_at", "pk")
    )


def _adjustment_line(original: IncomeLine, *, gross_minor: int, kind: str, description: str) -> IncomeLine:
    return IncomeLine.objects.create(
        agency_id=original.agency_id,
        creator_id=original.creator_id,
        platform_account_id=original.platform_account_id,
        platform=original.platform,
        account_id=original.account_id,
        # Random as well: an agency's statement could otherwise hold the id first.
        external_id=f"expenses:{original.public_id}:{kind}:{uuid.uuid4().hex[:12]}",
        source=original.source,
        gross_minor=gross_minor,
        currency=original.currency,
        occurred_at=original.occurred_at,
        order_ref=original.order_ref,
        description=description,
        status=IncomeLine.Status.MATCHED,
    )


def deal_expenses_reissue(*, deal: BrandDeal, expense: DealExpense) -> list[ExpenseReissue]:
    """After `expense` was approved: re-issue the deal's recognised lines that can carry more of
    its approved expenses (see the module docstring), and recognise the new lines at once.

    The caller holds the agency's recognition lock and the deal's row lock. Raises (so the
    approval rolls back) if a new line cannot be recognised: a line is never left reversed
    without its re-issue.
    """
    from apps.recognition.selectors import line_refundable
    from apps.recognition.services import recognize_batch

    pending = deal_expenses_approved(deal_ids=[deal.pk]).get(deal.pk, 0) - deal_expenses_deducted(
        deal_ids=[deal.pk]
    ).get(deal.pk, 0)
    made: list[ExpenseReissue] = []
    for line in _recognised_lines(deal) if pending > 0 else []:
        if pending <= 0:
            break
        refundable = line_refundable(line=line)
        if refundable is None or refundable.unrefunded <= 0 or refundable.rule.expenses_cap is None:
            continue
        if line.allocation.original_currency:
            raise ApplicationError(
                _(
                    "A payment of this deal was converted from %(currency)s before it was split, so "
                    "expenses in %(currency)s cannot be deducted from it."
                )
                % {"currency": deal.currency},
                code="expenses_not_deductible",
            )
        index = refundable.rule.part_ids.index(EXPENSES)
        carried = refundable.remaining[index]
        recorded = refundable.engine_line
        probe = Evaluator(refundable.rule_set).evaluate(
            Line(
                id=recorded.id,
                source=recorded.source,
                platform=recorded.platform,
                gross=refundable.unrefunded,
                occurred_at=recorded.occurred_at,
                currency=recorded.currency,
                expenses=carried + pending,
            )
        )
        if probe.error is not None or probe.deductions[index] <= carried:
            continue  # the line already carries all its own cap allows
        label = _deal_label(deal)
        reversal = _adjustment_line(
            line,
            gross_minor=-refundable.unrefunded,
            kind="reversal",
            description=_("Reversed to deduct the expenses approved on deal %(deal)s (%(expense)s).")
            % {"deal": label, "expense": expense.description},
        )
        reissue = _adjustment_line(
            line,
            gross_minor=refundable.unrefunded,
            kind="reissue",
            description=_("Re-issued with the expenses approved on deal %(deal)s (%(expense)s).")
            % {"deal": label, "expense": expense.description},
        )
        made.append(
            ExpenseReissue.objects.create(
                deal=deal, expense=expense, original_line=line, reversal_line=reversal, reissue_line=reissue
            )
        )
        pending -= probe.deductions[index] - carried
    if not made:
        return made
    line_ids = [line_id for item in made for line_id in (item.reversal_line_id, item.reissue_line_id)]
    recognize_batch(agency=deal.agency, line_ids=line_ids, cause=f"expenses:{expense.pk}")
    failed = (
        IncomeLine.objects.filter(pk__in=line_ids, allocation__isnull=True)
        .values_list("exception_detail", flat=True)
        .first()
    )
    if failed is not None:
        raise ApplicationError(
            _("The expense cannot be deducted from the payments already split: %(reason)s")
            % {"reason": failed},
            code="expenses_not_deductible",
        )
    return made


@dataclass
class RepairOutcome:
    deals: int = 0  # deals with approved expenses looked at
    reissued: int = 0  # lines re-issued with their expenses
    refused: list[str] = field(default_factory=list)  # "deal: reason" for deals that could not be


def deal_expenses_repair(*, agency_id: int | None = None) -> RepairOutcome:
    """Re-issue the recognised lines of every deal whose approved expenses were not all deducted
    (what `manage.py deal_expenses_repair` runs once after upgrading: before expenses reached the
    split, approvals changed nothing in the ledger). One transaction per deal, under the same
    locks as an approval, so a deal that cannot be repaired stops no other; running it again
    re-issues nothing more.
    """
    from apps.income.services import income_recognition_lock

    outcome = RepairOutcome()
    deals = BrandDeal.objects.filter(expenses__status=DealExpense.Status.APPROVED).distinct().order_by("pk")
    if agency_id is not None:
        deals = deals.filter(agency_id=agency_id)
    for deal_id, deal_agency_id in deals.values_list("pk", "agency_id"):
        outcome.deals += 1
        try:
            with transaction.atomic():
                income_recognition_lock(deal_agency_id)
                deal = (
                    BrandDeal.objects.select_for_update(no_key=True, of=("self",))
                    .select_related("agency")
                    .get(pk=deal_id)
                )
                expense = (
                    DealExpense.objects.filter(deal=deal, status=DealExpense.Status.APPROVED)
                    .order_by("-decided_at", "-pk")
                    .first()
                )
                if expense is not None:
                    outcome.reissued += len(deal_expenses_reissue(deal=deal, expense=expense))
        except ApplicationError as error:
            outcome.refused.append(f"{deal_id}: {error.message}")
    return outcome


__all__ = [
    "DealExpenseBook",
    "RepairOutcome",
    "deal_expenses_approved",
    "deal_expenses_deducted",
    "deal_expenses_reissue",
    "deal_expenses_repair",
]
