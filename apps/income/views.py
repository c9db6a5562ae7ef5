"""Income pages: upload a statement, follow its progress (HTMX polling), read its row errors;
a creator's own income lines with their split, explanation and balances. Thin: services and
selectors do the work."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.agencies.selectors import agency_list_for_actor
from apps.common.exceptions import ApplicationError, PermissionDenied
from apps.common.tenancy import scope_for
from apps.common.views import page_errors
from apps.income.forms import StatementUploadForm
from apps.income.pipeline import statement_import_create
from apps.income.selectors import (
    income_line_get_for_actor,
    income_line_list_for_actor,
    income_line_split,
    statement_import_get_for_actor,
    statement_import_list_for_actor,
)
from apps.income.services import INCOME_ROLES
from apps.ledger.selectors import balance_list_for_actor


def _uploading_agencies(user: Any) -> list[Any]:
    roles = scope_for(user).agency_roles
    return [agency for agency in agency_list_for_actor(actor=user) if roles.get(agency.pk) in INCOME_ROLES]


@login_required
@page_errors
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    agencies = _uploading_agencies(request.user)
    form = StatementUploadForm(request.POST or None, request.FILES or None, agencies=agencies)
    if request.method == "POST":
        if not agencies:
            raise PermissionDenied()
        if form.is_valid():
            agency = next(a for a in agencies if str(a.public_id) == form.cleaned_data["agency"])
            try:
                statement_import = statement_import_create(
                    agency=agency,
                    actor=request.user,
                    file=form.cleaned_data["file"],
                    format=form.cleaned_data["format"],
                    is_all_or_nothing=form.cleaned_data["is_all_or_nothing"],
                )
            except ApplicationError as error:
                form.add_error("file", error.message)
            else:
                return redirect("income:import", public_id=statement_import.public_id)
    imports = statement_import_list_for_actor(actor=request.user)[:50]
    return render(
        request, "income/imports.html", {"form": form, "imports": imports, "can_upload": bool(agencies)}
    )


@login_required
@page_errors
def import_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    statement_import = statement_import_get_for_actor(actor=request.user, public_id=public_id)
    errors = Paginator(statement_import.row_errors.all(), 200).get_page(request.GET.get("page"))
    context = {"import": statement_import, "errors": errors}
    if request.htmx and request.GET.get("fragment") == "progress":  # type: ignore[attr-defined]  # django-htmx
        if statement_import.is_finished:
            # Reload the whole page once: the counts and the row errors are final now.
            response = HttpResponse()
            response["HX-Refresh"] = "true"
            return response
        return render(request, "income/partials/progress.html", context)
    return render(request, "income/import.html", context)


@login_required
@page_errors
def line_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    try:
        lines = income_line_list_for_actor(actor=request.user, status=status)
    except ApplicationError as error:
        messages.error(request, error.message)
        lines = income_line_list_for_actor(actor=request.user)
    page = Paginator(lines, 100).get_page(request.GET.get("page"))
    scope = scope_for(request.user)
    balances = []
    if scope.creator_id is not None:
        # Shown the way people read them: what the agency owes the creator is a positive figure.
        balances = [
            {
                "agency": balance.account.agency.name,
                "account": balance.account.get_purpose_display(),
                "amount_minor": balance.balance_minor * balance.account.normal_sign,
                "currency": balance.currency,
            }
            for balance in balance_list_for_actor(actor=request.user).filter(
                account__creator_id=scope.creator_id
            )
        ]
    return render(request, "income/lines.html", {"page": page, "status": status, "balances": balances})


@login_required
@page_errors
def line_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    line = income_line_get_for_actor(actor=request.user, public_id=public_id)
    return render(request, "income/line.html", {"line": line, "split": income_line_split(line=line)})
