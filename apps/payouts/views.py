"""Payout pages: an agency's batches (prepare, approve with re-authentication and the second
factor, export to a rail, mark paid or failed, import a result file) and the creator's own
payout details and payouts. Thin: selectors read, services write; a refusal is a 4xx page with
its sentence (page_errors), a refusal next to a form a message on the batch page."""

from __future__ import annotations

import time
from typing import Any

from allauth.account.decorators import reauthentication_required
from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.internal.flows.reauthentication import suspend_request
from allauth.core.exceptions import ReauthenticationRequired
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.services import user_has_mfa
from apps.agencies.selectors import agency_get_for_actor, agency_list_for_actor
from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.common.tenancy import require_agency_role, scope_for
from apps.common.views import page_errors
from apps.payouts.details import (
    masked,
    payout_details_get_own,
    payout_details_of_creators,
    payout_details_set,
)
from apps.payouts.exports import payout_batch_export, payout_results_import
from apps.payouts.forms import DetailsForm, PrepareForm, ResultForm, rail_choices
from apps.payouts.models import PayoutBatch
from apps.payouts.selectors import (
    payout_batch_get_for_actor,
    payout_batch_list_for_actor,
    payout_item_get_for_actor,
    payout_items_of_batch,
    payout_items_of_creator,
)
from apps.payouts.services import (
    PAYOUT_ROLES,
    payout_batch_approve,
    payout_batch_cancel,
    payout_batch_prepare,
    payout_item_mark_failed,
    payout_item_mark_paid,
)

BatchStatus = PayoutBatch.Status
# The figures of a withholding computation worth showing, in reading order (docs/withholding.md).
TAX_FIGURES = (
    "month",
    "gross",
    "month_paid_before",
    "expense",
    "taxable",
    "rate",
    "quick_deduction",
    "ytd_income",
    "ytd_expense",
    "ytd_allowance",
    "ytd_taxable",
    "ytd_withheld",
    "tax",
    "month_withheld_before",
    "payout_tax",
)


def _can_pay(user: Any, agency_id: int) -> bool:
    return scope_for(user).agency_roles.get(agency_id) in PAYOUT_ROLES


@login_required
@page_errors
def batch_list(request: HttpRequest) -> HttpResponse:
    agencies = list(agency_list_for_actor(actor=request.user))
    if not agencies:
        if scope_for(request.user).creator_id is not None:
            return redirect("payouts:details")
        raise NotFound()
    chosen = request.GET.get("agency")
    agency = agency_get_for_actor(actor=request.user, public_id=chosen) if chosen else agencies[0]
    batches = payout_batch_list_for_actor(actor=request.user, agency=agency)[:100]
    return render(
        request,
        "payouts/list.html",
        {
            "agencies": agencies,
            "agency": agency,
            "batches": batches,
            "can_pay": _can_pay(request.user, agency.pk),
            "form": PrepareForm(),
        },
    )


@login_required
@page_errors
@require_POST
def batch_prepare(request: HttpRequest) -> HttpResponse:
    agency = agency_get_for_actor(actor=request.user, public_id=request.POST.get("agency", ""))
    form = PrepareForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the payment day as a date (YYYY-MM-DD)."))
        return redirect(f"{reverse('payouts:list')}?agency={agency.public_id}")
    try:
        batch = payout_batch_prepare(agency=agency, actor=request.user, as_of=form.cleaned_data["as_of"])
    except PermissionDenied:
        raise
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(f"{reverse('payouts:list')}?agency={agency.public_id}")
    messages.success(
        request,
        _("Batch prepared: %(count)s payouts. Another owner or finance member approves it.")
        % {"count": batch.item_count},
    )
    return redirect("payouts:batch", public_id=batch.public_id)


def _batch_context(request: HttpRequest, batch: PayoutBatch) -> dict[str, Any]:
    items = list(payout_items_of_batch(actor=request.user, batch=batch))
    details = payout_details_of_creators(creator_ids=[item.creator_id for item in items])
    rows = []
    for item in items:
        figures = [(name, item.withholding[name]) for name in TAX_FIGURES if name in item.withholding]
        found = details.get(item.creator_id)
        rows.append({"item": item, "figures": figures, "details": masked(found) if found else None})
    can_pay = _can_pay(request.user, batch.agency_id)
    return {
        "batch": batch,
        "rows": rows,
        "can_pay": can_pay,
        "can_approve": can_pay
        and batch.status == BatchStatus.PREPARED
        and batch.prepared_by_id != request.user.pk,
        "is_preparer": batch.prepared_by_id == request.user.pk,
        "in_flight": batch.status in (BatchStatus.APPROVED, BatchStatus.EXPORTED),
        "rails": rail_choices(),
        "result_form": ResultForm(),
    }


@login_required
@page_errors
def batch_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    batch = payout_batch_get_for_actor(actor=request.user, public_id=public_id)
    return render(request, "payouts/batch.html", _batch_context(request, batch))


# --- approval: re-authentication, and the second factor when the user has one ---------------------


def _recently(request: HttpRequest, methods: set[str]) -> bool:
    """A re-authentication (not the login) by one of `methods` within allauth's timeout."""
    timeout = getattr(settings, "ACCOUNT_REAUTHENTICATION_TIMEOUT", 300)
    now = time.time()
    return any(
        record.get("reauthenticated")
        and record.get("method") in methods
        and now - record.get("at", 0) < timeout
        for record in get_authentication_records(request, request.user)
    )


@login_required
@page_errors
@require_POST
def batch_approve(request: HttpRequest, public_id: str) -> HttpResponseBase:
    """Approving moves the batch's money: the password again, then the authenticator code when the
    user has one (allauth replays this POST after each), each within the last 5 minutes."""
    batch = payout_batch_get_for_actor(actor=request.user, public_id=public_id)
    # Refusals first: asking the preparer for their password only to refuse them would be cruel.
    require_agency_role(request.user, batch.agency, PAYOUT_ROLES)
    if batch.prepared_by_id == request.user.pk:
        raise PermissionDenied(
            _("The person who prepared a batch cannot approve it: another owner or finance member must.")
        )
    if not _recently(request, {"password", "code"}):
        raise ReauthenticationRequired()  # allauth's middleware: the password page, then this POST again
    if user_has_mfa(user=request.user) and not _recently(request, {"mfa"}):  # type: ignore[arg-type]
        return suspend_request(request, reverse("mfa_reauthenticate"))
    payout_batch_approve(batch=batch, actor=request.user)
    messages.success(
        request, _("Approved: the payouts are in flight. Export the batch to the bank or Alipay.")
    )
    return redirect("payouts:batch", public_id=batch.public_id)


@login_required
@page_errors
@require_POST
def batch_cancel(request: HttpRequest, public_id: str) -> HttpResponse:
    batch = payout_batch_get_for_actor(actor=request.user, public_id=public_id)
    payout_batch_cancel(batch=batch, actor=request.user, reason=request.POST.get("reason", ""))
    messages.success(request, _("The batch is cancelled; its creators can be paid in the next one."))
    return redirect("payouts:batch", public_id=batch.public_id)


@login_required
@page_errors
@require_POST
def batch_export(request: HttpRequest, public_id: str) -> HttpResponseBase:
    batch = payout_batch_get_for_actor(actor=request.user, public_id=public_id)
    export = payout_batch_export(batch=batch, actor=request.user, rail_name=request.POST.get("rail", ""))
    for left in export.left_out:
        messages.warning(
            request,
            _("Not in the file: %(creator)s. %(why)s") % {"creator": left.creator_name, "why": left.why},
        )
    response = HttpResponse(export.file.content, content_type=export.file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.file.filename}"'
    return response


@login_required
@page_errors
@require_POST
def batch_results(request: HttpRequest, public_id: str) -> HttpResponse:
    batch = payout_batch_get_for_actor(actor=request.user, public_id=public_id)
    form = ResultForm(request.POST, request.FILES)
    context = _batch_context(request, batch)
    if not form.is_valid():
        context["result_form"] = form
        return render(request, "payouts/batch.html", context, status=400)
    outcomes = payout_results_import(
        batch=batch, actor=request.user, rail_name=form.cleaned_data["rail"], file=form.cleaned_data["file"]
    )
    batch = payout_batch_get_for_actor(actor=request.user, public_id=public_id)
    context = _batch_context(request, batch)
    context["outcomes"] = outcomes
    context["outcome_errors"] = sum(1 for outcome in outcomes if outcome.outcome == "error")
    return render(request, "payouts/batch.html", context)


def _settle(request: HttpRequest, public_id: str, *, paid: bool) -> HttpResponse:
    item = payout_item_get_for_actor(actor=request.user, public_id=public_id)
    if item.agency_id not in scope_for(request.user).agency_ids:
        raise NotFound()  # a creator sees their own item, and settles none
    try:
        if paid:
            payout_item_mark_paid(item=item, actor=request.user, reference=request.POST.get("reference", ""))
            messages.success(request, _("Marked paid."))
        else:
            payout_item_mark_failed(item=item, actor=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, _("Marked failed: the money is back in the creator's balance."))
    except PermissionDenied:
        raise
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("payouts:batch", public_id=item.batch.public_id)


@login_required
@page_errors
@require_POST
def item_paid(request: HttpRequest, public_id: str) -> HttpResponse:
    return _settle(request, public_id, paid=True)


@login_required
@page_errors
@require_POST
def item_failed(request: HttpRequest, public_id: str) -> HttpResponse:
    return _settle(request, public_id, paid=False)


# --- the creator's own ---------------------------------------------------------------------------


def _details_page(request: HttpRequest, form: DetailsForm, status: int = 200) -> HttpResponse:
    creator, details = payout_details_get_own(actor=request.user)
    items = payout_items_of_creator(actor=request.user, creator=creator)[:50]
    return render(
        request,
        "payouts/details.html",
        {"form": form, "details": masked(details) if details else None, "items": items},
        status=status,
    )


@login_required
@page_errors
@require_http_methods(["GET"])
def payout_details_view(request: HttpRequest) -> HttpResponse:
    _creator, details = payout_details_get_own(actor=request.user)
    initial = {}
    if details is not None:
        initial = {
            "method": details.method,
            "real_name": details.real_name,
            "bank_name": details.bank_name,
            "bank_branch": details.bank_branch,
            "wechat_appid": details.wechat_appid,
        }
    return _details_page(request, DetailsForm(initial=initial))


@login_required
@page_errors
@require_POST
@reauthentication_required
def payout_details_change(request: HttpRequest) -> HttpResponse:
    """Changing where the money goes: the password (or code) again first, as for signing; allauth
    replays this POST after it."""
    creator, _details = payout_details_get_own(actor=request.user)
    form = DetailsForm(request.POST)
    if not form.is_valid():
        return _details_page(request, form, status=400)
    try:
        payout_details_set(creator=creator, actor=request.user, **form.cleaned_data)
    except PermissionDenied:
        raise
    except ApplicationError as error:
        field = error.extra.get("field")
        form.add_error(field if field in form.fields else None, error.message)
        return _details_page(request, form, status=400)
    messages.success(
        request,
        _(
            "Your payout details are saved. We emailed you; payouts to you are held for 24 hours after a change."
        ),
    )
    return redirect("payouts:details")
