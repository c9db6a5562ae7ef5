"""Deal pages: the agency console (deals, deliverables, expenses with receipts, the exceptions
queue with HTMX actions) and the creator's own deals (payment status, expense approvals).

Thin: every page reads through a scoped selector and writes through one service; a service's
ApplicationError becomes a message next to the form, never a 500.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.agencies.models import Agency
from apps.agencies.selectors import agency_list_for_actor
from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.common.tenancy import scope_for
from apps.common.views import page_errors
from apps.creators.selectors import creator_get_for_actor, creator_list_for_actor
from apps.deals.api.views import receipt_response
from apps.deals.forms import DealForm, DeliverableForm, ExpenseForm, ReasonForm
from apps.deals.models import BrandDeal, DealExpense
from apps.deals.selectors import (
    deal_expense_cap,
    deal_expense_get_for_actor,
    deal_get_for_actor,
    deal_list_for_actor,
    deliverable_get_for_actor,
    exception_line_get_for_actor,
    exception_line_list_for_actor,
)
from apps.deals.services import (
    DEAL_EDITORS,
    QUEUE_ACTORS,
    deal_cancel,
    deal_create,
    deal_expense_approve,
    deal_expense_reject,
    deal_expense_submit,
    deal_mark_delivered,
    deal_mark_invoiced,
    deal_payment_assign,
    deliverable_add,
    deliverable_mark_delivered,
)
from apps.income.models import IncomeLine
from apps.income.services import income_line_resolve


def _role(user: Any, agency_id: int) -> str | None:
    return scope_for(user).agency_roles.get(agency_id)


def _editing_agencies(user: Any) -> list[Agency]:
    roles = scope_for(user).agency_roles
    return [agency for agency in agency_list_for_actor(actor=user) if roles[agency.pk] in DEAL_EDITORS]


# --- deals ------------------------------------------------------------------------------------------------


@login_required
@page_errors
def deal_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    deals = list(deal_list_for_actor(actor=request.user))
    return render(
        request,
        "deals/list.html",
        {
            "agency_deals": [deal for deal in deals if deal.agency_id in scope.agency_ids],
            "my_deals": [deal for deal in deals if deal.creator_id == scope.creator_id],
            "can_create": bool(_editing_agencies(request.user)),
            "is_agency": bool(scope.agency_ids),
        },
    )


@login_required
@page_errors
@require_http_methods(["GET", "POST"])
def deal_new(request: HttpRequest) -> HttpResponse:
    agencies = _editing_agencies(request.user)
    if not agencies:
        raise NotFound()
    agency = agencies[0]
    creators = (
        creator_list_for_actor(actor=request.user)
        .filter(representations__agency=agency, representations__ended_on__isnull=True)
        .distinct()
    )
    form = DealForm(request.POST or None, creators=creators, initial={"currency": agency.default_currency})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        deliverables = (
            [{"description": data["deliverable"], "due_on": data["deliverable_due_on"]}]
            if data["deliverable"]
            else []
        )
        try:
            deal = deal_create(
                actor=request.user,
                agency=agency,
                creator=data["creator"],
                brand=data["brand"],
                campaign=data["campaign"],
                platform=data["platform"],
                fee_minor=data["fee_minor"],
                currency=data["currency"],
                order_ref=data["order_ref"],
                due_on=data["due_on"],
                deliverables=deliverables,
            )
        except ApplicationError as error:
            form.add_error(
                error.extra.get("field") if error.extra.get("field") in form.fields else None, error.message
            )
        else:
            messages.success(request, _("Deal recorded."))
            return redirect("deals:detail", public_id=deal.public_id)
    return render(request, "deals/new.html", {"form": form, "agency": agency})


@login_required
@page_errors
def deal_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    deal = deal_get_for_actor(actor=request.user, public_id=public_id)
    return render(request, "deals/detail.html", _detail_context(request, deal))


def _detail_context(request: HttpRequest, deal: BrandDeal, **forms: Any) -> dict[str, Any]:
    role = _role(request.user, deal.agency_id)
    is_editor = role in DEAL_EDITORS and deal.status != BrandDeal.Status.CANCELLED
    return {
        "deal": deal,
        "role": role,
        "is_editor": is_editor,
        "is_creator": scope_for(request.user).creator_id == deal.creator_id,
        "cap": deal_expense_cap(deal=deal),
        "deliverable_form": forms.get("deliverable_form") or DeliverableForm(),
        "expense_form": forms.get("expense_form") or ExpenseForm(currency=deal.currency),
        "cancel_form": forms.get("cancel_form") or ReasonForm(),
        "can_cancel": is_editor and deal.paid_minor == 0,
    }


def _act(request: HttpRequest, deal: BrandDeal, action: Callable[[], Any], success: str) -> HttpResponse:
    try:
        action()
    except ApplicationError as error:
        if error.status != 400:
            raise
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("deals:detail", public_id=deal.public_id)


@login_required
@page_errors
@require_POST
def deal_deliver(request: HttpRequest, public_id: str) -> HttpResponse:
    deal = deal_get_for_actor(actor=request.user, public_id=public_id)
    return _act(
        request, deal, lambda: deal_mark_delivered(deal=deal, actor=request.user), _("Marked delivered.")
    )


@login_required
@page_errors
@require_POST
def deal_invoice(request: HttpRequest, public_id: str) -> HttpResponse:
    deal = deal_get_for_actor(actor=request.user, public_id=public_id)
    return _act(
        request, deal, lambda: deal_mark_invoiced(deal=deal, actor=request.user), _("Marked invoiced.")
    )


@login_required
@page_errors
@require_POST
def deal_cancel_view(request: HttpRequest, public_id: str) -> HttpResponse:
    deal = deal_get_for_actor(actor=request.user, public_id=public_id)
    reason = request.POST.get("reason", "")
    return _act(
        request, deal, lambda: deal_cancel(deal=deal, actor=request.user, reason=reason), _("Deal cancelled.")
    )


@login_required
@page_errors
@require_POST
def deliverable_new(request: HttpRequest, public_id: str) -> HttpResponse:
    deal = deal_get_for_actor(actor=request.user, public_id=public_id)
    form = DeliverableForm(request.POST)
    if not form.is_valid():
        return render(
            request, "deals/detail.html", _detail_context(request, deal, deliverable_form=form), status=400
        )
    return _act(
        request,
        deal,
        lambda: deliverable_add(deal=deal, actor=request.user, **form.cleaned_data),
        _("Deliverable added."),
    )


@login_required
@page_errors
@require_POST
def deliverable_deliver(request: HttpRequest, public_id: str) -> HttpResponse:
    deliverable = deliverable_get_for_actor(actor=request.user, public_id=public_id)
    return _act(
        request,
        deliverable.deal,
        lambda: deliverable_mark_delivered(deliverable=deliverable, actor=request.user),
        _("Deliverable marked delivered."),
    )


@login_required
@page_errors
@require_POST
def expense_new(request: HttpRequest, public_id: str) -> HttpResponse:
    deal = deal_get_for_actor(actor=request.user, public_id=public_id)
    form = ExpenseForm(request.POST, request.FILES, currency=deal.currency)
    if form.is_valid():
        try:
            deal_expense_submit(
                deal=deal,
                actor=request.user,
                description=form.cleaned_data["description"],
                amount_minor=form.cleaned_data["amount"],
                receipt=form.cleaned_data["receipt"],
            )
        except ApplicationError as error:
            if error.status != 400:
                raise
            field = error.extra.get("field")
            form.add_error(field if field in form.fields else None, error.message)
        else:
            messages.success(request, _("Expense submitted; the creator will be asked to approve it."))
            return redirect("deals:detail", public_id=deal.public_id)
    return render(request, "deals/detail.html", _detail_context(request, deal, expense_form=form), status=400)


def _expense_decision(request: HttpRequest, public_id: str, approve: bool) -> HttpResponse:
    expense = deal_expense_get_for_actor(actor=request.user, public_id=public_id)
    if approve:
        action = lambda: deal_expense_approve(expense=expense, actor=request.user)  # noqa: E731
        success = _("Expense approved.")
    else:
        reason = request.POST.get("reason", "")
        action = lambda: deal_expense_reject(expense=expense, actor=request.user, reason=reason)  # noqa: E731
        success = _("Expense rejected.")
    return _act(request, expense.deal, action, success)


@login_required
@page_errors
@require_POST
def expense_approve(request: HttpRequest, public_id: str) -> HttpResponse:
    return _expense_decision(request, public_id, approve=True)


@login_required
@page_errors
@require_POST
def expense_reject(request: HttpRequest, public_id: str) -> HttpResponse:
    return _expense_decision(request, public_id, approve=False)


@login_required
@page_errors
def expense_receipt(request: HttpRequest, public_id: str) -> FileResponse:
    expense: DealExpense = deal_expense_get_for_actor(actor=request.user, public_id=public_id)
    return receipt_response(expense)


# --- the exceptions queue -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _QueueOptions:
    """What one queue row offers: the deals and creators its line may be assigned to, and whether
    this user may act on it at all."""

    deal_options: list[BrandDeal]
    creator_options: list[dict[str, Any]]
    can_act: bool


def _queue_options(user: Any, lines: list[IncomeLine]) -> list[_QueueOptions]:
    """Each line's options, in the order of the lines, in two queries for the whole page."""
    agency_ids = {line.agency_id for line in lines}
    deals = (
        deal_list_for_actor(actor=user)
        .filter(agency_id__in=agency_ids)
        .exclude(status=BrandDeal.Status.CANCELLED)
        .order_by("creator__display_name", "-due_on", "-pk")
    )
    deals_by_agency: dict[int, list[BrandDeal]] = defaultdict(list)
    for deal in deals:
        deals_by_agency[deal.agency_id].append(deal)
    creators_by_agency: dict[int, list[Any]] = defaultdict(list)
    creators = (
        creator_list_for_actor(actor=user)
        .filter(representations__agency_id__in=agency_ids, representations__ended_on__isnull=True)
        .values_list("representations__agency_id", "public_id", "display_name")
        .distinct()
    )
    for agency_id, creator_public_id, name in creators:
        creators_by_agency[agency_id].append({"public_id": creator_public_id, "display_name": name})
    return [
        _QueueOptions(
            deal_options=[
                deal
                for deal in deals_by_agency[line.agency_id]
                if deal.currency == line.currency and line.creator_id in (None, deal.creator_id)
            ],
            creator_options=creators_by_agency[line.agency_id],
            can_act=_role(user, line.agency_id) in QUEUE_ACTORS,
        )
        for line in lines
    ]


@login_required
@page_errors
def exception_queue(request: HttpRequest) -> HttpResponse:
    if not scope_for(request.user).agency_ids:
        raise NotFound()  # creators have no queue: it is the agency console's
    lines = list(exception_line_list_for_actor(actor=request.user)[:500])
    rows = list(zip(lines, _queue_options(request.user, lines), strict=True))
    return render(request, "deals/queue.html", {"rows": rows})


def _queue_row(request: HttpRequest, line: IncomeLine, *, error: str = "", done: str = "") -> HttpResponse:
    options = None if done else _queue_options(request.user, [line])[0]
    # On a 400/404 the queue page's before-swap handler still swaps the row in: it carries the message.
    return render(
        request,
        "deals/partials/queue_row.html",
        {"line": line, "options": options, "error": error, "done": done},
    )


def _queue_action(request: HttpRequest, public_id: str, action: Callable[[IncomeLine], str]) -> HttpResponse:
    line = exception_line_get_for_actor(actor=request.user, public_id=public_id)
    try:
        done = action(line)
    except ApplicationError as error:
        if isinstance(error, PermissionDenied):
            raise
        status = 404 if isinstance(error, NotFound) else 400
        if not request.headers.get("HX-Request"):
            messages.error(request, error.message)
            return redirect("deals:queue")
        response = _queue_row(request, line, error=error.message)
        response.status_code = status
        return response
    if not request.headers.get("HX-Request"):
        messages.success(request, done)
        return redirect("deals:queue")
    return _queue_row(request, line, done=done)


@login_required
@page_errors
@require_POST
def queue_assign_deal(request: HttpRequest, public_id: str) -> HttpResponse:
    def action(line: IncomeLine) -> str:
        if not request.POST.get("deal"):
            raise ApplicationError(_("Choose a deal."), code="deal_required")
        try:
            deal = deal_get_for_actor(actor=request.user, public_id=request.POST["deal"])
        except NotFound:
            raise NotFound(_("No such deal in this line's agency.")) from None
        deal_payment_assign(line=line, deal=deal, actor=request.user)
        return _("Assigned to %(deal)s.") % {"deal": deal}

    return _queue_action(request, public_id, action)


@login_required
@page_errors
@require_POST
def queue_assign_creator(request: HttpRequest, public_id: str) -> HttpResponse:
    def action(line: IncomeLine) -> str:
        if not request.POST.get("creator"):
            raise ApplicationError(_("Choose a creator."), code="creator_required")
        try:
            creator = creator_get_for_actor(actor=request.user, public_id=request.POST["creator"])
        except NotFound:
            raise NotFound(_("No such creator in this agency.")) from None
        income_line_resolve(line=line, actor=request.user, creator=creator)
        return _("Assigned to %(creator)s.") % {"creator": creator.display_name}

    return _queue_action(request, public_id, action)


@login_required
@page_errors
@require_POST
def queue_dismiss(request: HttpRequest, public_id: str) -> HttpResponse:
    def action(line: IncomeLine) -> str:
        reason = request.POST.get("reason", "").strip()
        if not reason:
            raise ApplicationError(_("Say why the line is not ours."), code="dismiss_needs_reason")
        income_line_resolve(line=line, actor=request.user, dismiss_reason=reason)
        return _("Marked as not ours.")

    return _queue_action(request, public_id, action)
