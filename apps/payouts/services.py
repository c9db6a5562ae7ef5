"""Writes of payouts: tax profiles, and payout batches from preparation to paid or failed.

The lifecycle (docs/payouts.md), every step one transaction, every refusal a sentence:

* `payout_batch_prepare` (owner or finance): every creator of the agency whose creator payable
  balance, less this month's tax, reaches their threshold (their contract's, 100.00 without
  one), and who has no open item, gets an item taking their whole payable balance. Set-based:
  one query for the balances with each creator's threshold joined in, one for the tax profiles,
  one for the earlier items of the year, one bulk insert. Nothing moves in the ledger.
* `payout_batch_approve` (owner or finance, not the preparer): re-checks every balance, then
  posts per item the tax entry (creator payable → tax withholding payable) and the approval
  entry (creator payable → payouts in flight) in one ledger_post_many.
* `payout_batch_mark_exported`: the batch went to the rail (the file itself comes later).
* `payout_item_mark_paid` (payouts in flight → bank) or `payout_item_mark_failed` (both
  entries of the approval reversed: the money is back in creator payable); a batch whose items
  are all paid or failed is closed.
* `payout_batch_cancel`: before approval only; nothing had moved.

Ledger idempotency keys are `payout:<item public id>:<step>` (tax, approved, paid, failed,
tax-returned): with the item's status guard, its row lock and the database's rules on items
(apps/payouts/models.py), a step never posts twice.
"""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.agencies.models import Agency, Membership, Representation
from apps.agencies.time import agency_today
from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.common.money import format_money
from apps.common.pgarrays import int_array
from apps.common.tenancy import require_agency_role
from apps.contracts.selectors import contract_payout_threshold_in_force
from apps.creators.models import Creator
from apps.ledger.models import Account, AccountBalance, JournalEntry
from apps.ledger.selectors import ledger_balances_of_creators
from apps.ledger.services import (
    EntryDraft,
    PostingSpec,
    ledger_account_get_or_create,
    ledger_accounts_ensure,
    ledger_post_many,
    ledger_reverse,
)
from apps.payouts.details import HOLD as PAYOUT_DETAILS_HOLD
from apps.payouts.models import PayoutBatch, PayoutItem, TaxProfile
from apps.payouts.withholding import (
    EarlierMonth,
    Method,
    WithholdingError,
    format_fen,
    month_document,
    withholding_for_month,
)

Purpose = Account.Purpose
Kind = JournalEntry.Kind
Role = Membership.Role
BatchStatus = PayoutBatch.Status
ItemStatus = PayoutItem.Status

# Who prepares and approves payouts, and marks them paid or failed: they move money.
PAYOUT_ROLES = (Role.OWNER, Role.FINANCE)
# The smallest net payout of a creator without a contract in force (in the batch's currency):
# the contract's own default (ContractVersion.payout_threshold_minor), 100.00.
DEFAULT_THRESHOLD_MINOR = 10_000
# The withholding tables (apps/payouts/withholding.py) are in yuan: a batch pays CNY. Another
# currency's balance needs converting first (exchange rates), which is not a payout's job.
PAYOUT_CURRENCY = "CNY"
_BULK = 2000  # rows per INSERT of bulk_create
# An item as approval reads it: (pk, creator id, public id, gross, tax, net).
_ItemRow = tuple[int, int, uuid.UUID, int, int, int]


# --- tax profiles -----------------------------------------------------------------------------


def tax_method_default(*, creator_type: str) -> str:
    """The method when no TaxProfile says otherwise: an individual is withheld per payment
    (劳务报酬), a studio or company invoices the agency and is withheld nothing."""
    if creator_type == Creator.Type.INDIVIDUAL:
        return Method.PER_PAYMENT.value
    return Method.NONE.value


def tax_method_for(*, creator_type: str, profile_method: str | None) -> str:
    """The one rule that decides a creator's method at an agency: the profile's, else the default."""
    if profile_method:
        return profile_method
    return tax_method_default(creator_type=creator_type)


def _check_represented(agency: Agency, creator: Creator) -> None:
    # An agency sets the tax of creators it represents or represented (it may still owe them).
    if not Representation.objects.filter(agency=agency, creator=creator).exists():
        raise NotFound()


@transaction.atomic
def tax_profile_set(
    *, agency: Agency, actor: Any, creator: Creator, method: str, invoice_note: str = ""
) -> TaxProfile:
    """Set how `agency` withholds tax on what it pays `creator` (owner or finance)."""
    require_agency_role(actor, agency, PAYOUT_ROLES)
    _check_represented(agency, creator)
    if method not in Method._value2member_map_:
        raise ApplicationError(
            _("%(method)s is not a withholding method: use none, per_payment or cumulative.")
            % {"method": repr(method)[:40]},
            code="invalid_method",
            extra={"field": "method"},
        )
    profile, _created = TaxProfile.objects.update_or_create(
        agency=agency,
        creator=creator,
        defaults={"method": method, "invoice_note": (invoice_note or "").strip()[:300], "updated_by": actor},
    )
    return profile


# --- preparation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _History:
    """A creator's earlier approved or paid items of the year at this agency."""

    month_gross_minor: int  # paid (or in flight) earlier in the payment month
    month_tax_minor: int  # withheld on those
    earlier: tuple[EarlierMonth, ...]  # the months of the year before the payment month


def _period_of(day: datetime.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _check_payment_day(agency: Agency, as_of: datetime.date | None) -> datetime.date:
    today = agency_today(agency)
    if as_of is None:
        return today
    if not isinstance(as_of, datetime.date) or isinstance(as_of, datetime.datetime):
        raise ApplicationError(_("The payment day must be a calendar date."), code="invalid_as_of")
    if _period_of(as_of) != _period_of(today):
        # Tax is withheld on what one payer paid in one calendar month, filed for that month:
        # a batch pays in the agency's current month, whose figures are still open.
        raise ApplicationError(
            _("A batch pays in the current month (%(month)s); %(day)s is outside it.")
            % {"month": _period_of(today), "day": as_of.isoformat()},
            code="invalid_as_of",
        )
    return as_of


@dataclass(frozen=True, slots=True)
class _Payable:
    creator_id: int
    payable_minor: int  # > 0: what the agency owes the creator
    creator_type: str
    threshold_minor: int  # the smallest net this creator is paid: their contract's, or the default


def _payable_balances(agency: Agency, currency: str, day: datetime.date) -> list[_Payable]:
    """Every creator the agency owes money, who has no open item and whose payout details are
    given and not on hold, with the threshold of their contract in force on `day`: one query
    over the balance rows (no posting scan), the thresholds a subquery of the same statement."""
    open_items = PayoutItem.objects.filter(agency=agency, currency=currency, status__in=PayoutItem.OPEN)
    threshold = Coalesce(
        contract_payout_threshold_in_force(
            agency_id=agency.pk, creator=OuterRef("account__creator_id"), day=day, currency=currency
        ),
        Value(DEFAULT_THRESHOLD_MINOR),
    )
    rows = (
        AccountBalance.objects.filter(
            account__agency=agency,
            account__purpose=Purpose.CREATOR_PAYABLE,
            account__key="",
            account__currency=currency,
            # Credit-normal: a negative balance is money the agency owes the creator.
            balance_minor__lt=0,
            # Nowhere to pay a creator without details; a change holds them for 24 hours
            # (apps/payouts/details.py): they wait for a later batch, their balance untouched.
            account__creator__payout_details__changed_at__lte=timezone.now() - PAYOUT_DETAILS_HOLD,
        )
        .exclude(account__creator_id__in=open_items.values("creator_id"))
        .annotate(threshold=threshold)
        .order_by("account__creator_id")
        .values_list("account__creator_id", "balance_minor", "account__creator__creator_type", "threshold")
    )
    return [
        _Payable(creator_id, -balance, creator_type, threshold)
        for creator_id, balance, creator_type, threshold in rows
    ]


def _histories(agency: Agency, currency: str, period: str) -> dict[int, _History]:
    """Every creator's approved or paid items of the payment month's year: one query."""
    months: dict[int, list[EarlierMonth]] = defaultdict(list)
    this_month: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    rows = PayoutItem.objects.filter(
        agency=agency,
        currency=currency,
        status__in=[ItemStatus.APPROVED, ItemStatus.PAID],
        period__startswith=period[:4],
        period__lte=period,
    ).values_list("creator_id", "period", "gross_minor", "tax_minor")
    for creator_id, item_period, gross, tax in rows:
        if item_period == period:
            this_month[creator_id][0] += gross
            this_month[creator_id][1] += tax
        else:
            # withholding_for_month adds up two records of one month itself.
            months[creator_id].append(EarlierMonth(month=item_period, gross_fen=gross, withheld_fen=tax))
    return {
        creator_id: _History(
            month_gross_minor=this_month[creator_id][0] if creator_id in this_month else 0,
            month_tax_minor=this_month[creator_id][1] if creator_id in this_month else 0,
            earlier=tuple(months.get(creator_id, ())),
        )
        for creator_id in set(months) | set(this_month)
    }


_NO_HISTORY = _History(month_gross_minor=0, month_tax_minor=0, earlier=())


def payout_tax_compute(
    *, method: str, period: str, gross_minor: int, history: _History = _NO_HISTORY
) -> tuple[int, dict[str, Any]]:
    """The tax withheld on a payout of `gross_minor` in `period` and the computation's document.

    One 次 per month: the month's total so far (earlier payouts of the month plus this one) is
    computed once, and this payout withholds the month's tax less what the month's earlier
    payouts withheld (never below 0)."""
    month_total = history.month_gross_minor + gross_minor
    try:
        result = withholding_for_month(
            method=method, month=period, gross_fen=month_total, earlier=history.earlier
        )
    except WithholdingError as error:
        raise ApplicationError(str(error), code="withholding_refused") from None
    tax_minor = max(result.tax_fen - history.month_tax_minor, 0)
    document = {
        "method": method,
        **month_document(result),
        "month_paid_before": format_fen(history.month_gross_minor),
        "month_withheld_before": format_fen(history.month_tax_minor),
        "payout_gross": format_fen(gross_minor),
        "payout_tax": format_fen(tax_minor),
    }
    return tax_minor, document


def payout_batch_prepare(
    *, agency: Agency, actor: Any, as_of: datetime.date | None = None, currency: str = PAYOUT_CURRENCY
) -> PayoutBatch:
    """Prepare a batch: one item per creator whose payable balance less this month's tax reaches
    their threshold (their contract's in force on the payment day, else DEFAULT_THRESHOLD_MINOR)
    and who has no open item. Moves no money.

    Invariant: a creator has at most one open item (the database's partial unique index); a
    racing preparation that took a creator first makes this one refuse whole (409).
    """
    require_agency_role(actor, agency, PAYOUT_ROLES)
    if currency != PAYOUT_CURRENCY:
        raise ApplicationError(
            _("Payout batches pay CNY: the withholding tables are in yuan."), code="invalid_currency"
        )
    as_of = _check_payment_day(agency, as_of)
    period = _period_of(as_of)
    with transaction.atomic():
        balances = _payable_balances(agency, currency, as_of)
        profiles = dict(TaxProfile.objects.filter(agency=agency).values_list("creator_id", "method"))
        histories = _histories(agency, currency, period)
        batch = PayoutBatch(
            agency=agency,
            currency=currency,
            as_of=as_of,
            period=period,
            # The default: each creator's own threshold was joined in with their balance.
            threshold_minor=DEFAULT_THRESHOLD_MINOR,
            prepared_by=actor,
        )
        items: list[PayoutItem] = []
        for row in balances:
            creator_id, payable = row.creator_id, row.payable_minor
            method = tax_method_for(creator_type=row.creator_type, profile_method=profiles.get(creator_id))
            tax, document = payout_tax_compute(
                method=method,
                period=period,
                gross_minor=payable,
                history=histories.get(creator_id, _NO_HISTORY),
            )
            if payable - tax < row.threshold_minor:
                continue
            items.append(
                PayoutItem(
                    batch=batch,
                    agency=agency,
                    creator_id=creator_id,
                    currency=currency,
                    gross_minor=payable,
                    tax_minor=tax,
                    net_minor=payable - tax,
                    method=method,
                    period=period,
                    withholding=document,
                )
            )
        if not items:
            raise ApplicationError(
                _(
                    "No creator is owed their payout threshold (their contract's, %(threshold)s without "
                    "one) or more after tax, outside an open batch: nothing to pay."
                )
                % {"threshold": format_money(DEFAULT_THRESHOLD_MINOR, currency)},
                code="nothing_to_pay",
            )
        batch.item_count = len(items)
        batch.gross_minor = sum(item.gross_minor for item in items)
        batch.tax_minor = sum(item.tax_minor for item in items)
        batch.net_minor = batch.gross_minor - batch.tax_minor
        batch.save()
        try:
            with transaction.atomic():
                PayoutItem.objects.bulk_create(items, batch_size=_BULK)
        except IntegrityError as error:
            if "payout_item_one_open_per_creator" not in str(error):
                raise
            raise ApplicationError(
                _(
                    "Another batch took one of these creators while this one was being prepared; "
                    "nothing was prepared. Prepare again: it leaves them out."
                ),
                code="creator_in_open_batch",
            ).with_status(409) from None
        return batch


# --- approval -----------------------------------------------------------------------------------


def _lock_batch(batch: PayoutBatch) -> PayoutBatch:
    # of=("self",): the batch's row only, not the agency's.
    return (
        PayoutBatch.objects.select_for_update(no_key=True, of=("self",))
        .select_related("agency")
        .get(pk=batch.pk)
    )


def _refuse_status(batch: PayoutBatch, wanted: str) -> None:
    if batch.status == wanted:
        return
    messages = {
        BatchStatus.APPROVED: _("This batch is already approved."),
        BatchStatus.EXPORTED: _("This batch is already approved and exported."),
        BatchStatus.CLOSED: _("This batch is closed: every item is paid or failed."),
        BatchStatus.CANCELLED: _("This batch was cancelled."),
        BatchStatus.PREPARED: _("This batch is not approved yet."),
    }
    raise ApplicationError(messages[BatchStatus(batch.status)], code=f"batch_{batch.status}").with_status(409)


def _balance_shortfall(agency: Agency, currency: str, items: list[_ItemRow]) -> None:
    """Refuse (409, the creator named) when a creator's payable balance no longer covers the
    item's gross: a refund clawed money back since the batch was prepared."""
    balances = ledger_balances_of_creators(
        agency_id=agency.pk, purpose=Purpose.CREATOR_PAYABLE, creator_ids=[item[1] for item in items]
    )
    for _pk, creator_id, _public_id, gross, _tax, _net in items:
        payable = -balances.get((creator_id, currency), 0)
        if payable < gross:
            raise _above_balance(creator_id, payable, gross, currency)


def _above_balance(creator_id: int, payable: int, gross: int, currency: str) -> ApplicationError:
    creator = Creator.objects.get(pk=creator_id)
    return ApplicationError(
        _(
            "%(creator)s is owed %(balance)s now, less than the %(gross)s this batch would pay them: "
            "nothing was approved. Cancel the batch and prepare a new one."
        )
        % {
            "creator": creator.display_name,
            "balance": format_money(payable, currency),
            "gross": format_money(gross, currency),
        },
        code="payout_above_balance",
        extra={"creator": str(creator.public_id)},
    ).with_status(409)


def _approval_drafts(
    *,
    batch: PayoutBatch,
    actor: Any,
    day: datetime.date,
    items: list[_ItemRow],
) -> tuple[list[EntryDraft], list[tuple[int | None, int]]]:
    """Per item its tax entry (if any tax) and its approval entry; and, per item, the positions of
    its two drafts in the list (tax or None, approval)."""
    agency, currency = batch.agency, batch.currency
    payable = ledger_accounts_ensure(
        agency=agency,
        currency=currency,
        purpose=Purpose.CREATOR_PAYABLE,
        creator_ids=[item[1] for item in items],
    )
    tax_account = ledger_account_get_or_create(
        agency=agency, purpose=Purpose.TAX_WITHHOLDING_PAYABLE, currency=currency
    ).pk
    in_flight = ledger_account_get_or_create(
        agency=agency, purpose=Purpose.PAYOUTS_IN_FLIGHT, currency=currency
    ).pk
    drafts: list[EntryDraft] = []
    positions: list[tuple[int | None, int]] = []
    for _pk, creator_id, public_id, _gross, tax, net in items:
        tax_position = None
        if tax > 0:
            tax_position = len(drafts)
            drafts.append(
                EntryDraft(
                    idempotency_key=f"payout:{public_id}:tax",
                    kind=Kind.PAYOUT,
                    effective_date=day,
                    # A debit lowers the (credit-normal) payable; the tax payable is credited.
                    postings=[PostingSpec(payable[creator_id], tax), PostingSpec(tax_account, -tax)],
                    cause_reference=f"payout:{public_id}",
                    author_id=actor.pk,
                    creator_id=creator_id,
                    memo=f"tax withheld, payout batch {batch.public_id}",
                )
            )
        positions.append((tax_position, len(drafts)))
        drafts.append(
            EntryDraft(
                idempotency_key=f"payout:{public_id}:approved",
                kind=Kind.PAYOUT,
                effective_date=day,
                postings=[PostingSpec(payable[creator_id], net), PostingSpec(in_flight, -net)],
                cause_reference=f"payout:{public_id}",
                author_id=actor.pk,
                creator_id=creator_id,
                memo=f"approved, payout batch {batch.public_id}",
            )
        )
    return drafts, positions


def payout_batch_approve(*, batch: PayoutBatch, actor: Any) -> PayoutBatch:
    """Approve a prepared batch (owner or finance, never its preparer): each item's gross leaves
    the creator's payable balance, its tax to tax withholding payable, its net to payouts in flight.

    Invariant: all or nothing. The entries, the items' status and the batch's commit together; a
    creator whose balance no longer covers their item refuses the whole batch (checked before
    posting, and again after it under the ledger's chain lock, so no writer slips in between).
    """
    require_agency_role(actor, batch.agency, PAYOUT_ROLES)
    with transaction.atomic():
        batch = _lock_batch(batch)
        if batch.prepared_by_id == actor.pk:
            raise PermissionDenied(
                _("The person who prepared a batch cannot approve it: another owner or finance member must.")
            )
        _refuse_status(batch, BatchStatus.PREPARED)
        today = agency_today(batch.agency)
        if _period_of(today) != batch.period:
            raise ApplicationError(
                _(
                    "This batch was prepared for payments in %(period)s and it is %(now)s now: its tax "
                    "belongs to that month. Cancel it and prepare a new one."
                )
                % {"period": batch.period, "now": _period_of(today)},
                code="batch_month_over",
            ).with_status(409)
        # order_by("pk"): rows are locked in one order, whoever else locks them.
        items = list(
            PayoutItem.objects.select_for_update(no_key=True)
            .filter(batch=batch)
            .order_by("pk")
            .values_list("pk", "creator_id", "public_id", "gross_minor", "tax_minor", "net_minor")
        )
        _balance_shortfall(batch.agency, batch.currency, items)
        drafts, positions = _approval_drafts(batch=batch, actor=actor, day=today, items=items)
        entry_ids = ledger_post_many(agency=batch.agency, drafts=drafts, bulk=True)
        # Again, now that the chain head is ours until commit: a refund posted between the first
        # check and the head lock would otherwise overdraw the creator.
        _balances_not_overdrawn(batch, items)
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE payouts_payoutitem AS i SET status = 'approved', approved_at = %s, updated_at = %s,"
                " tax_entry_id = u.tax, approval_entry_id = u.approval"
                " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS u(id, tax, approval)"
                " WHERE i.id = u.id AND i.status = 'prepared'",
                [
                    now,
                    now,
                    int_array(item[0] for item in items),
                    int_array(None if tax is None else entry_ids[tax] for tax, _approval in positions),
                    int_array(entry_ids[approval] for _tax, approval in positions),
                ],
            )
            assert cursor.rowcount == len(items), "items changed under their row locks"
        batch.status = BatchStatus.APPROVED
        batch.approved_by = actor
        batch.approved_at = now
        batch.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
        return batch


def _balances_not_overdrawn(batch: PayoutBatch, items: list[_ItemRow]) -> None:
    balances = ledger_balances_of_creators(
        agency_id=batch.agency_id, purpose=Purpose.CREATOR_PAYABLE, creator_ids=[item[1] for item in items]
    )
    for _pk, creator_id, _public_id, gross, _tax, _net in items:
        after = -balances.get((creator_id, batch.currency), 0)
        if after < 0:
            raise _above_balance(creator_id, after + gross, gross, batch.currency)


# --- export, cancel ---------------------------------------------------------------------------------


@transaction.atomic
def payout_batch_mark_exported(*, batch: PayoutBatch, actor: Any) -> PayoutBatch:
    """Record that an approved batch went to the rail (exporting again changes nothing)."""
    require_agency_role(actor, batch.agency, PAYOUT_ROLES)
    batch = _lock_batch(batch)
    if batch.status == BatchStatus.EXPORTED:
        return batch
    _refuse_status(batch, BatchStatus.APPROVED)
    batch.status = BatchStatus.EXPORTED
    batch.exported_by = actor
    batch.exported_at = timezone.now()
    batch.save(update_fields=["status", "exported_by", "exported_at", "updated_at"])
    return batch


@transaction.atomic
def payout_batch_cancel(*, batch: PayoutBatch, actor: Any, reason: str = "") -> PayoutBatch:
    """Cancel a batch before approval: nothing had moved, and its creators are free for the next."""
    require_agency_role(actor, batch.agency, PAYOUT_ROLES)
    batch = _lock_batch(batch)
    if batch.status != BatchStatus.PREPARED:
        if batch.status == BatchStatus.CANCELLED:
            _refuse_status(batch, BatchStatus.PREPARED)
        raise ApplicationError(
            _("An approved batch cannot be cancelled: its money has moved. Mark its items paid or failed."),
            code="batch_approved",
        ).with_status(409)
    PayoutItem.objects.filter(batch=batch, status=ItemStatus.PREPARED).update(
        status=ItemStatus.CANCELLED, updated_at=timezone.now()
    )
    batch.status = BatchStatus.CANCELLED
    batch.cancelled_by = actor
    batch.cancelled_at = timezone.now()
    batch.cancel_reason = (reason or "").strip()[:300]
    batch.save(update_fields=["status", "cancelled_by", "cancelled_at", "cancel_reason", "updated_at"])
    return batch


# --- items: paid, failed, invoice -------------------------------------------------------------------


def _lock_item(item: PayoutItem) -> tuple[PayoutBatch, PayoutItem]:
    """The batch's row, then the item's: every writer of a batch's items locks in this order, so
    the last one to settle an item sees that the batch is settled and closes it."""
    batch = _lock_batch(item.batch)
    locked = (
        PayoutItem.objects.select_for_update(no_key=True, of=("self",))
        .select_related("creator")
        .get(pk=item.pk)
    )
    return batch, locked


def _require_in_flight(batch: PayoutBatch, item: PayoutItem) -> None:
    if item.status == ItemStatus.PAID:
        raise ApplicationError(
            _("This payout is already paid (reference %(reference)s); nothing was posted.")
            % {"reference": item.reference},
            code="already_paid",
        ).with_status(409)
    if item.status == ItemStatus.FAILED:
        raise ApplicationError(
            _("This payout already failed and its money went back to the creator's balance."),
            code="already_failed",
        ).with_status(409)
    if item.status == ItemStatus.CANCELLED:
        raise ApplicationError(_("This payout was cancelled."), code="item_cancelled").with_status(409)
    if batch.status != BatchStatus.EXPORTED:
        raise ApplicationError(
            _("Export the batch before marking its payouts paid or failed."), code="batch_not_exported"
        ).with_status(409)


def _close_if_settled(batch: PayoutBatch) -> None:
    if not PayoutItem.objects.filter(batch=batch, status=ItemStatus.APPROVED).exists():
        batch.status = BatchStatus.CLOSED
        batch.closed_at = timezone.now()
        batch.save(update_fields=["status", "closed_at", "updated_at"])


def payout_item_mark_paid(*, item: PayoutItem, actor: Any, reference: str) -> PayoutItem:
    """The rail paid the item: payouts in flight → bank, with the bank's or Alipay's reference.

    Invariant: an item is paid once. Twice is a 409 and posts nothing (status guard under the row
    lock; the database refuses leaving paid; the entry's key is `payout:<item>:paid`)."""
    require_agency_role(actor, item.agency, PAYOUT_ROLES)
    reference = (reference or "").strip()
    if not reference or len(reference) > 200:
        raise ApplicationError(
            _("Give the payment's reference from the bank or Alipay (at most 200 characters)."),
            code="reference_required",
            extra={"field": "reference"},
        )
    with transaction.atomic():
        batch, item = _lock_item(item)
        _require_in_flight(batch, item)
        agency = batch.agency
        in_flight = ledger_account_get_or_create(
            agency=agency, purpose=Purpose.PAYOUTS_IN_FLIGHT, currency=item.currency
        )
        bank = ledger_account_get_or_create(agency=agency, purpose=Purpose.BANK, currency=item.currency)
        [entry_id] = ledger_post_many(
            agency=agency,
            drafts=[
                EntryDraft(
                    idempotency_key=f"payout:{item.public_id}:paid",
                    kind=Kind.PAYOUT,
                    effective_date=agency_today(agency),
                    postings=[PostingSpec(in_flight, item.net_minor), PostingSpec(bank, -item.net_minor)],
                    cause_reference=f"payout:{item.public_id}",
                    author_id=actor.pk,
                    creator_id=item.creator_id,
                    memo=f"paid, reference {reference}"[:500],
                )
            ],
            bulk=False,
        )
        item.status = ItemStatus.PAID
        item.reference = reference
        item.paid_at = timezone.now()
        item.paid_entry_id = entry_id
        item.save(update_fields=["status", "reference", "paid_at", "paid_entry", "updated_at"])
        _close_if_settled(batch)
        return item


def payout_item_mark_failed(*, item: PayoutItem, actor: Any, reason: str) -> PayoutItem:
    """The rail could not pay the item: its money goes back to the creator's payable balance.

    Both entries of the approval are reversed: payouts in flight → creator payable (the net) and
    tax withholding payable → creator payable (the tax). Tax is withheld on what is paid
    (劳务报酬 is taxed when paid); a payment that failed paid nothing, so nothing was withheld on
    it, and the next batch computes the month's tax again on what it then pays. Keeping the tax
    would tax the creator twice when the money is paid later in the month.
    """
    require_agency_role(actor, item.agency, PAYOUT_ROLES)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            _("Say why the payout failed (the bank's or Alipay's message)."),
            code="reason_required",
            extra={"field": "reason"},
        )
    with transaction.atomic():
        batch, item = _lock_item(item)
        _require_in_flight(batch, item)
        assert item.approval_entry is not None  # an approved item names its approval entry (CHECK)
        failure = ledger_reverse(
            entry=item.approval_entry,
            idempotency_key=f"payout:{item.public_id}:failed",
            reason=f"payout failed: {reason}"[:500],
            author=actor,
        )
        tax_reversal = None
        if item.tax_entry is not None:
            tax_reversal = ledger_reverse(
                entry=item.tax_entry,
                idempotency_key=f"payout:{item.public_id}:tax-returned",
                reason=f"payout failed, tax not withheld: {reason}"[:500],
                author=actor,
            )
        item.status = ItemStatus.FAILED
        item.failure_reason = reason[:500]
        item.failed_at = timezone.now()
        item.failure_entry = failure
        item.tax_reversal_entry = tax_reversal
        item.save(
            update_fields=[
                "status",
                "failure_reason",
                "failed_at",
                "failure_entry",
                "tax_reversal_entry",
                "updated_at",
            ]
        )
        _close_if_settled(batch)
        return item


@transaction.atomic
def payout_item_record_invoice(*, item: PayoutItem, actor: Any, invoice_reference: str) -> PayoutItem:
    """Record the invoice a creator who invoices (method none) issued for this payout."""
    require_agency_role(actor, item.agency, PAYOUT_ROLES)
    _batch, item = _lock_item(item)
    if item.method != Method.NONE:
        raise ApplicationError(
            _("Only a payout without withholding (the creator invoices) records an invoice."),
            code="invoice_not_expected",
        )
    invoice_reference = (invoice_reference or "").strip()
    if not invoice_reference or len(invoice_reference) > 200:
        raise ApplicationError(
            _("Give the invoice's number (at most 200 characters)."),
            code="invoice_required",
            extra={"field": "invoice_reference"},
        )
    item.invoice_reference = invoice_reference
    item.save(update_fields=["invoice_reference", "updated_at"])
    return item
