"""Writes of brand deals: creation, the work steps, expenses the creator approves under the cap
they signed, reconciliation of brand payments against deals, and the exceptions queue's actions.

The status machine. Work steps move forward by hand (contracted → delivered → invoiced); money
moves the deal to partially_paid / paid and a refund can move it back; the overdue sweep flags a
deal past its due date with nothing paid; cancelled is terminal and only reachable while nothing
has been paid. Every change of status goes through `_move`, which refuses what the table below
does not list.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.agencies.models import Agency, Membership, Representation
from apps.agencies.time import agency_local_date, agency_today, agency_zone
from apps.common.catalog import Platform, Source
from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.common.money import MAX_ABS_MINOR, exponent, format_money, is_known_currency
from apps.common.tenancy import require_agency_role, scope_for
from apps.creators.models import Creator
from apps.deals.expenses import deal_expenses_reissue
from apps.deals.models import BrandDeal, DealExpense, DealPayment, Deliverable
from apps.deals.selectors import deal_expense_cap
from apps.income.models import IncomeLine
from apps.income.services import income_line_mark, income_line_resolve, income_recognition_lock
from apps.splits.engine.money import half_up

Status = BrandDeal.Status
logger = logging.getLogger(__name__)
Role = Membership.Role
DEAL_EDITORS = (Role.OWNER, Role.MANAGER)
QUEUE_ACTORS = (Role.OWNER, Role.MANAGER, Role.FINANCE)

ALLOWED: dict[str, frozenset[str]] = {
    Status.CONTRACTED: frozenset(
        {
            Status.DELIVERED,
            Status.INVOICED,
            Status.OVERDUE,
            Status.PARTIALLY_PAID,
            Status.PAID,
            Status.CANCELLED,
        }
    ),
    Status.DELIVERED: frozenset(
        {Status.INVOICED, Status.OVERDUE, Status.PARTIALLY_PAID, Status.PAID, Status.CANCELLED}
    ),
    Status.INVOICED: frozenset({Status.OVERDUE, Status.PARTIALLY_PAID, Status.PAID, Status.CANCELLED}),
    # Overdue goes back to its work step when the due date moves, or forward when money arrives.
    Status.OVERDUE: frozenset(
        {
            Status.CONTRACTED,
            Status.DELIVERED,
            Status.INVOICED,
            Status.PARTIALLY_PAID,
            Status.PAID,
            Status.CANCELLED,
        }
    ),
    # Refunds can take money back: to partially paid, or to the work step (or overdue) at zero.
    Status.PARTIALLY_PAID: frozenset(
        {Status.PAID, Status.CONTRACTED, Status.DELIVERED, Status.INVOICED, Status.OVERDUE}
    ),
    Status.PAID: frozenset(
        {Status.PARTIALLY_PAID, Status.CONTRACTED, Status.DELIVERED, Status.INVOICED, Status.OVERDUE}
    ),
    Status.CANCELLED: frozenset(),
}

MAX_RECEIPT_BYTES = 10 * 1024 * 1024
# Magic numbers, not the browser's content type (which the client chooses freely).
_RECEIPT_TYPES = (
    (b"%PDF-", "application/pdf", ("pdf",)),
    (b"\xff\xd8\xff", "image/jpeg", ("jpg", "jpeg")),
    (b"\x89PNG\r\n\x1a\n", "image/png", ("png",)),
)


# --- helpers -----------------------------------------------------------------------------------------


def _move(deal: BrandDeal, to: str) -> None:
    """Set the status if the table allows it; staying put is always allowed."""
    if deal.status == to:
        return
    if to not in ALLOWED[deal.status]:
        raise ApplicationError(
            _("A deal that is %(current)s cannot become %(target)s.")
            % {"current": Status(deal.status).label, "target": Status(to).label},
            code="illegal_transition",
        )
    deal.status = to


def _work_status(deal: BrandDeal) -> str:
    if deal.invoiced_at is not None:
        return Status.INVOICED
    if deal.delivered_at is not None:
        return Status.DELIVERED
    return Status.CONTRACTED


def settled_status(deal: BrandDeal, *, today: datetime.date) -> str:
    """The status that the money received says: paid, partially paid, or back to the work step."""
    if deal.status == Status.CANCELLED:
        return Status.CANCELLED
    if deal.paid_minor >= deal.fee_minor:
        return Status.PAID
    if deal.paid_minor > 0:
        return Status.PARTIALLY_PAID
    return Status.OVERDUE if deal.due_on < today else _work_status(deal)


def _lock(deal: BrandDeal) -> BrandDeal:
    # of=("self",): the deal's row only. Joined in, the agency and the creator were locked too,
    # so every edit of any deal of an agency (and a statement import's staging) queued behind
    # every other.
    return (
        BrandDeal.objects.select_for_update(no_key=True, of=("self",))
        .select_related("agency", "creator")
        .get(pk=deal.pk)
    )


def _require_editor(actor: Any, agency: Agency, *, creator_id: int | None = None) -> None:
    require_agency_role(actor, agency, DEAL_EDITORS, creator_id=creator_id)


def _check_amount(minor: int, *, field: str) -> None:
    if not isinstance(minor, int) or isinstance(minor, bool) or minor <= 0 or minor > MAX_ABS_MINOR:
        raise ApplicationError(
            _("The amount must be more than zero."), code="invalid_amount", extra={"field": field}
        )


def _clean_order_ref(order_ref: str) -> str:
    return (order_ref or "").strip()


# --- deals -------------------------------------------------------------------------------------------


@transaction.atomic
def deal_create(
    *,
    actor: Any,
    agency: Agency,
    creator: Creator,
    brand: str,
    platform: str,
    fee_minor: int,
    currency: str,
    due_on: datetime.date,
    campaign: str = "",
    order_ref: str = "",
    deliverables: list[dict[str, Any]] | None = None,
) -> BrandDeal:
    """Record a deal the agency signed with a brand for one of the creators it represents now."""
    _require_editor(actor, agency)
    if not Representation.objects.filter(agency=agency, creator=creator, ended_on__isnull=True).exists():
        raise ApplicationError(
            _("%(agency)s does not represent %(creator)s now.") % {"agency": agency.name, "creator": creator},
            code="creator_not_represented",
            extra={"field": "creator"},
        )
    if platform not in Platform.values:
        raise ApplicationError(_("Unknown platform."), code="invalid_platform", extra={"field": "platform"})
    currency = (currency or "").upper()
    if not is_known_currency(currency):
        raise ApplicationError(_("Unknown currency."), code="invalid_currency", extra={"field": "currency"})
    _check_amount(fee_minor, field="fee")
    if not (brand or "").strip():
        raise ApplicationError(_("Name the brand."), code="brand_required", extra={"field": "brand"})
    order_ref = _clean_order_ref(order_ref)
    if order_ref and BrandDeal.objects.filter(agency=agency, order_ref=order_ref).exists():
        raise _duplicate_order_ref(order_ref)
    deal = BrandDeal(
        agency=agency,
        creator=creator,
        brand=brand.strip(),
        campaign=(campaign or "").strip(),
        platform=platform,
        fee_minor=fee_minor,
        currency=currency,
        due_on=due_on,
        order_ref=order_ref,
        created_by=actor,
    )
    if due_on < agency_today(agency):
        deal.status = Status.OVERDUE  # recorded late: it is already past due with nothing paid
    try:
        with transaction.atomic():
            deal.save()
    except IntegrityError:
        raise _duplicate_order_ref(order_ref) from None  # a concurrent create took the reference
    for item in deliverables or []:
        deliverable_add(deal=deal, actor=actor, description=item["description"], due_on=item["due_on"])
    return deal


def _duplicate_order_ref(order_ref: str) -> ApplicationError:
    return ApplicationError(
        _("Another deal of this agency already has the order reference %(ref)s.") % {"ref": order_ref},
        code="duplicate_order_ref",
        extra={"field": "order_ref"},
    )


@transaction.atomic
def deal_update(
    *,
    deal: BrandDeal,
    actor: Any,
    brand: str | None = None,
    campaign: str | None = None,
    fee_minor: int | None = None,
    due_on: datetime.date | None = None,
    order_ref: str | None = None,
) -> BrandDeal:
    """Change a deal's terms; its status follows (a larger fee can turn paid into partially paid)."""
    _require_editor(actor, deal.agency, creator_id=deal.creator_id)
    deal = _lock(deal)
    if deal.status == Status.CANCELLED:
        raise ApplicationError(_("A cancelled deal cannot be changed."), code="deal_cancelled")
    if brand is not None:
        if not brand.strip():
            raise ApplicationError(_("Name the brand."), code="brand_required", extra={"field": "brand"})
        deal.brand = brand.strip()
    if campaign is not None:
        deal.campaign = campaign.strip()
    # What is approved now, read only when a change could move the cap (fee or due date).
    moves_cap = fee_minor is not None or (due_on is not None and due_on != deal.due_on)
    approved = deal_expense_cap(deal=deal).approved_minor if moves_cap else 0
    if fee_minor is not None:
        _check_amount(fee_minor, field="fee")
        deal.fee_minor = fee_minor
        if approved > deal_expense_cap(deal=deal).cap_minor:
            raise ApplicationError(
                _("The approved expenses would exceed the contract's cap for this lower fee."),
                code="expense_cap_exceeded",
                extra={"field": "fee"},
            )
    if due_on is not None and due_on != deal.due_on:
        # The cap comes from the contract in force on the due date: another date may fall under
        # another version (or none), whose cap the expenses approved so far must still fit.
        deal.due_on = due_on
        if approved > deal_expense_cap(deal=deal).cap_minor:
            raise ApplicationError(
                _(
                    "The approved expenses would exceed the expense cap of the contract in force on that date."
                ),
                code="expense_cap_exceeded",
                extra={"field": "due_on"},
            )
    if order_ref is not None:
        order_ref = _clean_order_ref(order_ref)
        if (
            order_ref
            and BrandDeal.objects.filter(agency=deal.agency, order_ref=order_ref).exclude(pk=deal.pk).exists()
        ):
            raise _duplicate_order_ref(order_ref)
        deal.order_ref = order_ref
    _move(deal, settled_status(deal, today=agency_today(deal.agency)))
    deal.save()
    return deal


@transaction.atomic
def deal_mark_delivered(*, deal: BrandDeal, actor: Any) -> BrandDeal:
    """Record delivery. The status says so only from contracted: a later step or money outranks it."""
    _require_editor(actor, deal.agency, creator_id=deal.creator_id)
    deal = _lock(deal)
    if deal.status == Status.CANCELLED or deal.delivered_at is not None:
        raise ApplicationError(_("This deal is already delivered or cancelled."), code="illegal_transition")
    deal.delivered_at = timezone.now()
    if deal.status == Status.CONTRACTED:
        _move(deal, Status.DELIVERED)
    deal.save()
    return deal


@transaction.atomic
def deal_mark_invoiced(*, deal: BrandDeal, actor: Any) -> BrandDeal:
    _require_editor(actor, deal.agency, creator_id=deal.creator_id)
    deal = _lock(deal)
    if deal.status == Status.CANCELLED or deal.invoiced_at is not None:
        raise ApplicationError(_("This deal is already invoiced or cancelled."), code="illegal_transition")
    deal.invoiced_at = timezone.now()
    if deal.status in (Status.CONTRACTED, Status.DELIVERED):
        _move(deal, Status.INVOICED)
    deal.save()
    return deal


@transaction.atomic
def deal_cancel(*, deal: BrandDeal, actor: Any, reason: str) -> BrandDeal:
    """Cancel a deal nothing has been paid on; money received must be refunded first."""
    _require_editor(actor, deal.agency, creator_id=deal.creator_id)
    deal = _lock(deal)
    if not (reason or "").strip():
        raise ApplicationError(
            _("Say why the deal is cancelled."), code="reason_required", extra={"field": "reason"}
        )
    if deal.paid_minor != 0:
        raise ApplicationError(
            _("Money has been received on this deal; record the refund before cancelling it."),
            code="deal_has_payments",
        )
    _move(deal, Status.CANCELLED)
    deal.cancelled_at = timezone.now()
    deal.cancel_reason = reason.strip()[:300]
    deal.save()
    return deal


@transaction.atomic
def deliverable_add(*, deal: BrandDeal, actor: Any, description: str, due_on: datetime.date) -> Deliverable:
    _require_editor(actor, deal.agency, creator_id=deal.creator_id)
    # Lock the deal: marking its last open deliverable delivered at the same moment must see this one.
    deal = _lock(deal)
    if deal.status == Status.CANCELLED:
        raise ApplicationError(_("A cancelled deal cannot be changed."), code="deal_cancelled")
    if not (description or "").strip():
        raise ApplicationError(
            _("Describe the deliverable."), code="description_required", extra={"field": "description"}
        )
    return Deliverable.objects.create(deal=deal, description=description.strip()[:300], due_on=due_on)


@transaction.atomic
def deliverable_mark_delivered(*, deliverable: Deliverable, actor: Any) -> Deliverable:
    """Mark one deliverable done; the last one done marks the deal delivered."""
    deal = deliverable.deal
    _require_editor(actor, deal.agency, creator_id=deal.creator_id)
    deal = _lock(deal)
    deliverable = Deliverable.objects.select_for_update(no_key=True).get(pk=deliverable.pk)
    if deliverable.delivered_at is not None:
        raise ApplicationError(_("This deliverable is already delivered."), code="already_delivered")
    if deal.status == Status.CANCELLED:
        raise ApplicationError(_("A cancelled deal cannot be changed."), code="deal_cancelled")
    deliverable.delivered_at = timezone.now()
    deliverable.save(update_fields=["delivered_at"])
    if deal.delivered_at is None and not deal.deliverables.filter(delivered_at__isnull=True).exists():
        deal.delivered_at = deliverable.delivered_at
        if deal.status == Status.CONTRACTED:
            _move(deal, Status.DELIVERED)
        deal.save()
    return deliverable


# --- expenses -------------------------------------------------------------------------------------------


def receipt_validate(receipt: UploadedFile | None) -> str:
    """The receipt's content type from its first bytes: a PDF, JPEG or PNG of at most 10 MB."""
    if receipt is None:
        raise ApplicationError(_("Attach the receipt."), code="receipt_required", extra={"field": "receipt"})
    if receipt.size is None or receipt.size > MAX_RECEIPT_BYTES:
        raise ApplicationError(
            _("The receipt is larger than 10 MB."), code="receipt_too_large", extra={"field": "receipt"}
        )
    if receipt.size == 0:
        raise ApplicationError(_("The receipt is empty."), code="receipt_invalid", extra={"field": "receipt"})
    receipt.seek(0)
    head = receipt.read(16)
    receipt.seek(0)
    extension = (receipt.name or "").rsplit(".", 1)[-1].lower()
    for magic, content_type, extensions in _RECEIPT_TYPES:
        if head.startswith(magic) and extension in extensions:
            return content_type
    raise ApplicationError(
        _("A receipt must be a PDF, JPG or PNG file."),
        code="receipt_invalid_type",
        extra={"field": "receipt"},
    )


@transaction.atomic
def deal_expense_submit(
    *, deal: BrandDeal, actor: Any, description: str, amount_minor: int, receipt: UploadedFile | None
) -> DealExpense:
    """The agency records a cost it advanced, with its receipt; it counts once the creator approves."""
    _require_editor(actor, deal.agency, creator_id=deal.creator_id)
    if deal.status == Status.CANCELLED:
        raise ApplicationError(_("A cancelled deal cannot be changed."), code="deal_cancelled")
    if not (description or "").strip():
        raise ApplicationError(
            _("Describe the expense."), code="description_required", extra={"field": "description"}
        )
    _check_amount(amount_minor, field="amount")
    content_type = receipt_validate(receipt)
    assert receipt is not None  # receipt_validate refused None
    expense = DealExpense(
        deal=deal,
        description=description.strip()[:300],
        amount_minor=amount_minor,
        receipt_name=(receipt.name or "receipt")[-255:],
        receipt_content_type=content_type,
        submitted_by=actor,
    )
    expense.receipt.save(receipt.name or "receipt", receipt, save=False)
    expense.save()
    return expense


def _require_deal_creator(actor: Any, deal: BrandDeal) -> None:
    scope = scope_for(actor)
    if scope.creator_id == deal.creator_id:
        return
    if deal.agency_id in scope.agency_ids:
        raise PermissionDenied(_("Only the creator can approve or reject expenses on their deal."))
    raise NotFound()


@transaction.atomic
def deal_expense_approve(*, expense: DealExpense, actor: Any) -> DealExpense:
    """The creator approves an expense; the approved total never exceeds the contract's cap.

    The deal row is locked first, so two approvals of the same deal's expenses run one after
    the other and cannot both fit under the cap with what only one of them leaves. Before it,
    the agency's recognition lock: recognition reads the approved total to deduct it from the
    deal's lines, and an approval must not fall between its read and its record. Lines of the
    deal recognised before the approval are re-issued with the expenses at once (in this
    transaction: if that fails, nothing is approved); see apps/deals/expenses.py.
    """
    _require_deal_creator(actor, expense.deal)
    income_recognition_lock(expense.deal.agency_id)
    deal = _lock(expense.deal)
    expense = DealExpense.objects.select_for_update(no_key=True).get(pk=expense.pk)
    if expense.status != DealExpense.Status.SUBMITTED:
        raise ApplicationError(_("This expense was already decided."), code="expense_already_decided")
    if deal.status == Status.CANCELLED:
        raise ApplicationError(_("A cancelled deal cannot be changed."), code="deal_cancelled")
    cap = deal_expense_cap(deal=deal)
    if cap.approved_minor + expense.amount_minor > cap.cap_minor:
        money = lambda minor: format_money(minor, deal.currency)  # noqa: E731
        if cap.percent is None:
            message = (
                _("Your contract allows no expenses on this deal, so this expense cannot be approved.")
                if cap.reason == "no_expenses_clause"
                else _(
                    "No signed contract covers this deal's date and platform, so no expenses can be approved."
                )
            )
        else:
            message = _(
                "Approving %(amount)s would bring approved expenses to %(total)s, above the cap of %(cap)s "
                "(%(percent)s%% of the %(fee)s fee under your contract)."
            ) % {
                "amount": money(expense.amount_minor),
                "total": money(cap.approved_minor + expense.amount_minor),
                "cap": money(cap.cap_minor),
                "percent": cap.percent,
                "fee": money(deal.fee_minor),
            }
        raise ApplicationError(
            message,
            code="expense_cap_exceeded",
            extra={"cap": cap.cap_minor, "approved": cap.approved_minor},
        )
    expense.status = DealExpense.Status.APPROVED
    expense.decided_by = actor
    expense.decided_at = timezone.now()
    expense.save(update_fields=["status", "decided_by", "decided_at"])
    deal_expenses_reissue(deal=deal, expense=expense)
    return expense


@transaction.atomic
def deal_expense_reject(*, expense: DealExpense, actor: Any, reason: str = "") -> DealExpense:
    _require_deal_creator(actor, expense.deal)
    expense = DealExpense.objects.select_for_update(no_key=True).get(pk=expense.pk)
    if expense.status != DealExpense.Status.SUBMITTED:
        raise ApplicationError(_("This expense was already decided."), code="expense_already_decided")
    expense.status = DealExpense.Status.REJECTED
    expense.decided_by = actor
    expense.decided_at = timezone.now()
    expense.rejection_reason = (reason or "").strip()[:300]
    expense.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason"])
    return expense


# --- overdue -----------------------------------------------------------------------------------------


def deals_flag_overdue(*, today: datetime.date | None = None) -> int:
    """Flag deals past their due date with nothing paid as overdue; running it twice flags nothing new.

    One UPDATE per agency time zone (a due date is a day of the agency's calendar); the status
    guard in the WHERE clause is the idempotency and keeps it from racing a payment: a deal a
    payment just moved to partially paid no longer matches.
    """
    flagged = 0
    zones = Agency.objects.values_list("time_zone", flat=True).distinct()
    for zone in zones:
        try:
            day = today or agency_today(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # A zone stored before it was checked, or missing from this server's tz database:
            # those agencies wait (logged, every run); the other zones' deals are flagged.
            logger.error(
                "Overdue deals not flagged for agencies in time zone %r: it does not load here", zone
            )
            continue
        flagged += BrandDeal.objects.filter(
            agency__time_zone=zone,
            status__in=(Status.CONTRACTED, Status.DELIVERED, Status.INVOICED),
            paid_minor=0,
            due_on__lt=day,
        ).update(status=Status.OVERDUE, updated_at=timezone.now())
    return flagged


# --- reconciliation ------------------------------------------------------------------------------------

DATE_WINDOW = datetime.timedelta(days=45)
TOLERANCE_PERCENT_UNITS = 10_000  # 1 % in the engine's units of 0.0001 %


def payment_tolerance(outstanding_minor: int, currency: str) -> int:
    """How far a payment may be from what is outstanding and still find its deal without a reference:
    1 % of it or one major unit (¥1), whichever is larger (bank fees, withholding rounding)."""
    return max(half_up(abs(outstanding_minor), TOLERANCE_PERCENT_UNITS), 10 ** exponent(currency))


def _outcome(deal: BrandDeal, amount_minor: int) -> str:
    if amount_minor < 0:
        return DealPayment.Outcome.REFUND
    outstanding = deal.fee_minor - deal.paid_minor
    if amount_minor == outstanding:
        return DealPayment.Outcome.MATCHED
    return DealPayment.Outcome.PARTIAL if amount_minor < outstanding else DealPayment.Outcome.OVERPAID


def _deal_label(deal: BrandDeal) -> str:
    label = str(deal)
    return f"{label} [{deal.order_ref}]" if deal.order_ref else label


def _line_brand_text(line: IncomeLine) -> tuple[str | None, str]:
    """(the brand the statement names explicitly, the free text that may mention it), casefolded."""
    metadata = line.metadata if isinstance(line.metadata, dict) else {}
    explicit = next(
        (
            str(metadata[key]).strip().casefold()
            for key in ("brand", "品牌")
            if str(metadata.get(key) or "").strip()
        ),
        None,
    )
    text = " ".join([line.description or "", *(str(value) for value in metadata.values())]).casefold()
    return explicit, text


@dataclass
class _Decision:
    deal: BrandDeal | None = None
    method: str = ""
    reason: str = ""  # an IncomeLine.ExceptionReason when the line goes to the queue
    detail: str = ""


def _decide(
    line: IncomeLine,
    *,
    today: datetime.date,
    zone: ZoneInfo,
    by_ref: dict[str, BrandDeal],
    by_creator: dict[int, list[BrandDeal]],
    refunded_deal: BrandDeal | None,
) -> _Decision:
    """Which deal one line pays, or why a person must decide. Reads the deals' current (in-batch) sums."""
    money = lambda minor: format_money(minor, line.currency)  # noqa: E731
    Reason = IncomeLine.ExceptionReason

    if line.gross_minor < 0:
        deal, method = refunded_deal, DealPayment.Method.REFUND_OF
        if deal is None and line.order_ref in by_ref:
            deal, method = by_ref[line.order_ref], DealPayment.Method.ORDER_REF
        if deal is None:
            return _Decision(
                reason=Reason.UNMATCHED_DEAL,
                detail=_("A refund of %(amount)s whose original payment was not matched to a deal.")
                % {"amount": money(line.gross_minor)},
            )
        if deal.creator_id != line.creator_id or deal.currency != line.currency:
            return _Decision(
                reason=Reason.UNMATCHED_DEAL,
                detail=_("The refund names deal %(deal)s, of another creator or currency.")
                % {"deal": _deal_label(deal)},
            )
        if -line.gross_minor > deal.paid_minor:
            return _Decision(
                reason=Reason.UNMATCHED_DEAL,
                detail=_("The refund of %(amount)s is more than the %(paid)s paid on deal %(deal)s.")
                % {
                    "amount": money(line.gross_minor),
                    "paid": money(deal.paid_minor),
                    "deal": _deal_label(deal),
                },
            )
        return _Decision(deal=deal, method=method)

    if line.order_ref and line.order_ref in by_ref:
        deal = by_ref[line.order_ref]
        problem = None
        if deal.creator_id != line.creator_id:
            problem = _("Order reference %(ref)s belongs to a deal of another creator.")
        elif deal.status == Status.CANCELLED:
            problem = _("Order reference %(ref)s belongs to a cancelled deal.")
        elif deal.currency != line.currency:
            problem = _("Order reference %(ref)s belongs to a deal in another currency.")
        if problem:
            return _Decision(reason=Reason.UNMATCHED_DEAL, detail=problem % {"ref": line.order_ref})
        method = DealPayment.Method.ORDER_REF
    else:
        # No usable reference: the creator's open deals in the same currency, due within the window,
        # whose outstanding amount is within the tolerance of this payment.
        explicit_brand, text = _line_brand_text(line)
        day = agency_local_date(zone, line.occurred_at)
        ranked = []
        for deal in by_creator.get(line.creator_id, []) if line.creator_id is not None else []:
            outstanding = deal.fee_minor - deal.paid_minor
            if (
                deal.status == Status.CANCELLED
                or deal.currency != line.currency
                or outstanding <= 0
                or abs((deal.due_on - day).days) > DATE_WINDOW.days
                or abs(line.gross_minor - outstanding) > payment_tolerance(outstanding, deal.currency)
                # A line that carries another reference, or names another brand, is not for this deal.
                or (line.order_ref and deal.order_ref and line.order_ref != deal.order_ref)
                or (explicit_brand is not None and explicit_brand != deal.brand.casefold())
            ):
                continue
            brand_named = deal.brand.casefold() in text
            ranked.append(
                (
                    (
                        0 if brand_named else 1,
                        abs(line.gross_minor - outstanding),
                        abs((deal.due_on - day).days),
                    ),
                    deal,
                )
            )
        ranked.sort(key=lambda item: (item[0], item[1].pk))
        if not ranked:
            return _Decision(
                reason=Reason.UNMATCHED_DEAL,
                detail=_("No open deal of this creator fits %(amount)s around %(day)s.")
                % {"amount": money(line.gross_minor), "day": day.isoformat()},
            )
        if len(ranked) > 1 and ranked[0][0] == ranked[1][0]:
            # Two deals fit equally well: guessing would pay the wrong one; a person decides.
            tied = [deal for key, deal in ranked if key == ranked[0][0]]
            return _Decision(
                reason=Reason.UNMATCHED_DEAL,
                detail=_("%(count)s deals fit this payment equally: %(deals)s.")
                % {"count": len(tied), "deals": "; ".join(_deal_label(deal) for deal in tied)},
            )
        deal, method = ranked[0][1], DealPayment.Method.FUZZY

    outstanding = deal.fee_minor - deal.paid_minor
    if line.gross_minor > outstanding:
        return _Decision(
            deal=deal,
            method=method,
            reason=Reason.OVERPAID,
            detail=_(
                "Deal %(deal)s has %(outstanding)s outstanding; this payment of %(amount)s is %(excess)s more."
            )
            % {
                "deal": _deal_label(deal),
                "outstanding": money(max(outstanding, 0)),
                "amount": money(line.gross_minor),
                "excess": money(line.gross_minor - max(outstanding, 0)),
            },
        )
    return _Decision(deal=deal, method=method)


@transaction.atomic
def deal_reconcile_lines(*, agency: Agency, line_ids: list[int] | tuple[int, ...] | Any) -> None:
    """Match a batch of imported brand-deal payment lines to the agency's deals.

    Invariant: a line counts towards at most one deal, once (DealPayment's unique line, and only
    lines still `imported` without a payment are read, under a row lock), and each deal's
    `paid_minor` equals the sum of its payments. Set-based: one query locks the batch's lines,
    one the candidate deals (by pk, the order every writer of deals locks in), one writes the
    payments, one the deals, one marks the matched lines; exceptions are marked per reason.
    Lines of other sources, and lines without a creator (unknown account), are income's concern.
    """
    line_ids = list(line_ids)
    if not line_ids:
        return
    # Lines first, then deals, always by pk: the queue's manual assignment locks in the same order.
    lines = list(
        IncomeLine.objects.select_for_update(no_key=True)
        .filter(
            agency=agency,
            pk__in=line_ids,
            source=Source.BRAND_DEAL,
            status=IncomeLine.Status.IMPORTED,
            creator__isnull=False,
        )
        .exclude(Exists(DealPayment.objects.filter(income_line=OuterRef("pk"))))
        .order_by("pk")
    )
    if not lines:
        return
    zone = agency_zone(agency)
    today = agency_today(zone)
    refund_origins = {line.refund_of_id for line in lines if line.gross_minor < 0 and line.refund_of_id}
    origin_deal = dict(
        DealPayment.objects.filter(income_line_id__in=refund_origins).values_list("income_line_id", "deal_id")
    )
    refs = {line.order_ref for line in lines if line.order_ref}
    days = [agency_local_date(zone, line.occurred_at) for line in lines]
    candidates = (
        Q(order_ref__in=refs)
        | Q(pk__in=set(origin_deal.values()))
        | (
            Q(creator_id__in={line.creator_id for line in lines}, due_on__gte=min(days) - DATE_WINDOW)
            & Q(due_on__lte=max(days) + DATE_WINDOW)
            & ~Q(status=Status.CANCELLED)
        )
    )
    deals = {
        deal.pk: deal
        for deal in BrandDeal.objects.select_for_update(no_key=True)
        .filter(candidates, agency=agency)
        .order_by("pk")
    }
    by_ref = {deal.order_ref: deal for deal in deals.values() if deal.order_ref}
    by_creator: dict[int, list[BrandDeal]] = defaultdict(list)
    for candidate in deals.values():
        by_creator[candidate.creator_id].append(candidate)

    payments: list[DealPayment] = []
    matched_ids: list[int] = []
    exceptions: dict[tuple[str, str], list[int]] = defaultdict(list)
    changed: dict[int, BrandDeal] = {}
    # Money in the order it happened: an early instalment reduces what a later one must match.
    for line in sorted(lines, key=lambda line: (line.occurred_at, line.pk)):
        refunded = deals.get(origin_deal[line.refund_of_id]) if line.refund_of_id in origin_deal else None
        decision = _decide(
            line, today=today, zone=zone, by_ref=by_ref, by_creator=by_creator, refunded_deal=refunded
        )
        if decision.reason:
            exceptions[(decision.reason, decision.detail)].append(line.pk)
            continue
        deal = decision.deal
        assert deal is not None
        payments.append(
            DealPayment(
                deal=deal,
                income_line_id=line.pk,
                amount_minor=line.gross_minor,
                outcome=_outcome(deal, line.gross_minor),
                method=decision.method,
            )
        )
        deal.paid_minor += line.gross_minor
        _move(deal, settled_status(deal, today=today))
        changed[deal.pk] = deal
        matched_ids.append(line.pk)

    if payments:
        DealPayment.objects.bulk_create(payments)
        now = timezone.now()
        for deal in changed.values():
            deal.updated_at = now
        BrandDeal.objects.bulk_update(list(changed.values()), ["paid_minor", "status", "updated_at"])
        income_line_mark(lines_qs_or_ids=matched_ids, status=IncomeLine.Status.MATCHED)
    for (reason, detail), ids in exceptions.items():
        income_line_mark(
            lines_qs_or_ids=ids, status=IncomeLine.Status.EXCEPTION, exception_reason=reason, detail=detail
        )


# --- the exceptions queue ---------------------------------------------------------------------------------


@transaction.atomic
def deal_payment_assign(*, line: IncomeLine, deal: BrandDeal, actor: Any) -> DealPayment:
    """A person assigns a line from the exceptions queue to a deal: it counts towards the deal
    (even beyond its fee: the person accepted the overpayment) and the line becomes matched."""
    require_agency_role(actor, line.agency, QUEUE_ACTORS)
    if deal.agency_id != line.agency_id:
        raise NotFound(_("No such deal in this line's agency."))
    # Lines before deals, as reconciliation locks them.
    line = (
        IncomeLine.objects.select_for_update(no_key=True, of=("self",))
        .select_related("agency")
        .get(pk=line.pk)
    )
    deal = _lock(deal)
    if line.status != IncomeLine.Status.EXCEPTION:
        raise ApplicationError(
            _("Only a line in the exceptions queue can be assigned; this one is %(status)s.")
            % {"status": line.get_status_display().lower()},
            code="line_not_in_queue",
        )
    if line.exception_reason == IncomeLine.ExceptionReason.REFUND_WAITING:
        # Matched now, it would be split as a negative line of its own instead of reversing its
        # original's split; the chunk that records the original decides it (income.pipeline).
        raise ApplicationError(
            _("This refund waits for the line it refunds; it can be dismissed, not assigned."),
            code="refund_waiting",
        )
    if DealPayment.objects.filter(income_line=line).exists():
        raise ApplicationError(_("This line already counts towards a deal."), code="line_already_assigned")
    if line.creator_id is not None and line.creator_id != deal.creator_id:
        raise ApplicationError(
            _("This line is %(line_creator)s's income; the deal is %(deal_creator)s's.")
            % {"line_creator": line.creator, "deal_creator": deal.creator},
            code="deal_of_another_creator",
        )
    if deal.status == Status.CANCELLED:
        raise ApplicationError(_("A cancelled deal cannot receive payments."), code="deal_cancelled")
    if deal.currency != line.currency:
        raise ApplicationError(
            _("The line is in %(line)s and the deal in %(deal)s.")
            % {"line": line.currency, "deal": deal.currency},
            code="currency_mismatch",
        )
    if line.gross_minor < 0 and -line.gross_minor > deal.paid_minor:
        raise ApplicationError(
            _("This refund is more than what was paid on the deal."), code="refund_exceeds_paid"
        )
    payment = DealPayment.objects.create(
        deal=deal,
        income_line=line,
        amount_minor=line.gross_minor,
        outcome=_outcome(deal, line.gross_minor),
        method=DealPayment.Method.MANUAL,
        assigned_by=actor,
    )
    deal.paid_minor += line.gross_minor
    _move(deal, settled_status(deal, today=agency_today(deal.agency)))
    deal.save(update_fields=["paid_minor", "status", "updated_at"])
    if line.creator_id is None:
        # An unknown account: assigning it to a deal says whose income it is, too.
        income_line_resolve(line=line, actor=actor, creator=deal.creator)
    else:
        income_line_mark(lines_qs_or_ids=[line.pk], status=IncomeLine.Status.MATCHED)
    return payment
