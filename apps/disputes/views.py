"""Dispute pages: the creator's "My disputes" and opening a dispute from an income line or a
statement; the agency's list (filters: state, overdue); one dispute's page with its thread and the
forms the viewer may use (reply; answer, resolve, reject); file downloads.

Thin: every page reads through a scoped selector and writes through one service. A refusal next to
a form is shown there with a 400; others become page_errors' 403/404/409 pages, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.forms import Form
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.common.tenancy import scope_for
from apps.common.views import page_errors
from apps.disputes.api.views import attachment_response
from apps.disputes.forms import FilterForm, MessageForm, OpenDisputeForm, RejectForm, ResolveForm
from apps.disputes.models import Dispute
from apps.disputes.selectors import (
    dispute_actions,
    dispute_active_for_line,
    dispute_attachment_get_for_actor,
    dispute_get_for_actor,
    dispute_is_overdue,
    dispute_list_for_actor,
    dispute_rows,
    dispute_subject_text,
    dispute_thread,
)
from apps.disputes.services import (
    DISPUTE_ANSWER_DAYS,
    dispute_answer,
    dispute_open,
    dispute_reject,
    dispute_reply,
    dispute_resolve,
)
from apps.income.selectors import income_line_get_for_actor
from apps.statements.selectors import statement_get_for_actor

PAGE_SIZE = 25


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def _form_refusal(form: Form, error: ApplicationError) -> None:
    """A service's refusal next to the field it names (or the form). Roles and tenancy propagate."""
    if isinstance(error, PermissionDenied | NotFound):
        raise error
    field = error.extra.get("field")
    form.add_error(field if field in form.fields else None, error.message)


# --- lists ----------------------------------------------------------------------------------------


@login_required
@page_errors
def dispute_index(request: HttpRequest) -> HttpResponse:
    """Agency members land on their agency's list, creators on their own."""
    if scope_for(request.user).agency_ids:
        return redirect("disputes:agency")
    return redirect("disputes:mine")


@login_required
@page_errors
def dispute_mine(request: HttpRequest) -> HttpResponse:
    if scope_for(request.user).creator_id is None:
        raise NotFound()
    page = Paginator(dispute_list_for_actor(actor=request.user, own_only=True), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "disputes/mine.html", {"page": page, "disputes": dispute_rows(page.object_list)})


@login_required
@page_errors
def dispute_agency_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    if not scope.agency_ids:
        raise NotFound()
    form = FilterForm(request.GET or None)
    state, overdue = None, None
    if form.is_bound and form.is_valid():
        state = form.cleaned_data["state"] or None
        overdue = True if form.cleaned_data["overdue"] else None
    disputes = dispute_list_for_actor(actor=request.user, state=state, overdue=overdue).filter(
        agency_id__in=scope.agency_ids
    )
    page = Paginator(disputes, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "disputes/agency_list.html",
        {
            "form": form,
            "page": page,
            "disputes": dispute_rows(page.object_list),
        },
        status=200 if not form.is_bound or form.is_valid() else 400,
    )


# --- opening ----------------------------------------------------------------------------------------


def _open(request: HttpRequest, *, income_line: Any = None, statement: Any = None) -> HttpResponse:
    form = OpenDisputeForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                dispute = dispute_open(
                    actor=request.user,
                    message=form.cleaned_data["message"],
                    files=form.cleaned_data["attachments"],
                    income_line=income_line,
                    statement=statement,
                    base_url=_base_url(request),
                )
            except ApplicationError as error:
                if error.code == "dispute_already_open" and error.extra.get("dispute"):
                    messages.info(request, error.message)
                    return redirect("disputes:detail", error.extra["dispute"])
                _form_refusal(form, error)
            else:
                messages.success(
                    request,
                    _("Your dispute is open. %(agency)s must answer by %(due)s; you will get an email.")
                    % {"agency": dispute.agency.name, "due": dispute.answer_due.isoformat()},
                )
                return redirect("disputes:detail", dispute.public_id)
        status = 400
    subject = income_line if income_line is not None else statement
    return render(
        request,
        "disputes/open.html",
        {
            "form": form,
            "income_line": income_line,
            "statement": statement,
            "agency": subject.agency,
            "answer_days": DISPUTE_ANSWER_DAYS,
        },
        status=status,
    )


def _require_own(request: HttpRequest, subject: Any) -> None:
    """Only the creator the subject belongs to opens a dispute; the agency that sees it is told so."""
    if scope_for(request.user).creator_id != subject.creator_id:
        raise PermissionDenied(_("Only the creator it belongs to can open a dispute about it."))


@login_required
@page_errors
@require_http_methods(["GET", "POST"])
def dispute_open_line(request: HttpRequest, public_id: str) -> HttpResponse:
    line = income_line_get_for_actor(actor=request.user, public_id=public_id)
    _require_own(request, line)
    active = dispute_active_for_line(line_id=line.pk)
    if active is not None:
        return redirect("disputes:detail", active.public_id)
    return _open(request, income_line=line)


@login_required
@page_errors
@require_http_methods(["GET", "POST"])
def dispute_open_statement(request: HttpRequest, public_id: str) -> HttpResponse:
    statement = statement_get_for_actor(actor=request.user, public_id=public_id)
    _require_own(request, statement)
    return _open(request, statement=statement)


# --- one dispute ------------------------------------------------------------------------------------


def _detail(request: HttpRequest, dispute: Dispute, status: int = 200, **forms: Form) -> HttpResponse:
    actions = dispute_actions(actor=request.user, dispute=dispute)
    context: dict[str, Any] = {
        "dispute": dispute,
        "about": dispute_subject_text(dispute),
        "thread": dispute_thread(dispute=dispute),
        "is_overdue": dispute_is_overdue(dispute),
        "actions": actions,
        "message_form": forms.get("message_form") or MessageForm(),
        "resolve_form": forms.get("resolve_form") or ResolveForm(dispute=dispute),
        "reject_form": forms.get("reject_form") or RejectForm(),
    }
    return render(request, "disputes/detail.html", context, status=status)


@login_required
@page_errors
def dispute_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    return _detail(request, dispute_get_for_actor(actor=request.user, public_id=public_id))


def _post_message(request: HttpRequest, public_id: str, *, service: Any) -> HttpResponse:
    dispute = dispute_get_for_actor(actor=request.user, public_id=public_id)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            service(
                dispute=dispute,
                actor=request.user,
                message=form.cleaned_data["message"],
                files=form.cleaned_data["attachments"],
                base_url=_base_url(request),
            )
        except ApplicationError as error:
            if error.status == 409:
                raise
            _form_refusal(form, error)
        else:
            messages.success(request, _("Your message was added; the other side gets an email."))
            return redirect("disputes:detail", dispute.public_id)
    return _detail(request, dispute, status=400, message_form=form)


@login_required
@page_errors
@require_POST
def dispute_reply_view(request: HttpRequest, public_id: str) -> HttpResponse:
    return _post_message(request, public_id, service=dispute_reply)


@login_required
@page_errors
@require_POST
def dispute_answer_view(request: HttpRequest, public_id: str) -> HttpResponse:
    return _post_message(request, public_id, service=dispute_answer)


@login_required
@page_errors
@require_POST
def dispute_resolve_view(request: HttpRequest, public_id: str) -> HttpResponse:
    dispute = dispute_get_for_actor(actor=request.user, public_id=public_id)
    form = ResolveForm(request.POST, dispute=dispute)
    if form.is_valid():
        try:
            resolved = dispute_resolve(
                dispute=dispute,
                actor=request.user,
                note=form.cleaned_data["note"],
                correction_minor=form.cleaned_data["amount"],
                base_url=_base_url(request),
            )
        except ApplicationError as error:
            if error.status == 409:
                raise
            _form_refusal(form, error)
        else:
            messages.success(request, _("The dispute is resolved; the creator gets an email."))
            return redirect("disputes:detail", resolved.public_id)
    return _detail(request, dispute, status=400, resolve_form=form)


@login_required
@page_errors
@require_POST
def dispute_reject_view(request: HttpRequest, public_id: str) -> HttpResponse:
    dispute = dispute_get_for_actor(actor=request.user, public_id=public_id)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            rejected = dispute_reject(
                dispute=dispute,
                actor=request.user,
                note=form.cleaned_data["note"],
                base_url=_base_url(request),
            )
        except ApplicationError as error:
            if error.status == 409:
                raise
            _form_refusal(form, error)
        else:
            messages.success(request, _("The dispute is rejected; the creator gets an email."))
            return redirect("disputes:detail", rejected.public_id)
    return _detail(request, dispute, status=400, reject_form=form)


@login_required
@page_errors
def dispute_attachment(request: HttpRequest, public_id: str) -> FileResponse:
    return attachment_response(dispute_attachment_get_for_actor(actor=request.user, public_id=public_id))
