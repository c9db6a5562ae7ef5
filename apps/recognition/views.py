"""Period-close pages: the agency's months (closed ones with who and when, open ones with their
income), a month's preview of what closing it will do, and the close itself (owner or finance,
POST with a ticked confirmation).

Thin: the pages read through the selectors and close through `period_close`; a refusal is a 4xx
page with its sentence (page_errors), never a 500.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.agencies.selectors import agency_get_for_actor, agency_list_for_actor
from apps.common.exceptions import NotFound
from apps.common.money import format_money
from apps.common.tenancy import scope_for
from apps.common.views import page_errors
from apps.recognition.period_close import PERIOD_CLOSERS, period_close
from apps.recognition.selectors import period_close_preview, period_list, period_top_up_list


def _can_close(request: HttpRequest, agency_id: int) -> bool:
    return scope_for(request.user).agency_roles.get(agency_id) in PERIOD_CLOSERS


@login_required
@page_errors
def period_list_view(request: HttpRequest) -> HttpResponse:
    agencies = list(agency_list_for_actor(actor=request.user))
    if not agencies:
        raise NotFound()  # creators without an agency have no months to close
    chosen = request.GET.get("agency")
    agency = agency_get_for_actor(actor=request.user, public_id=chosen) if chosen else agencies[0]
    return render(
        request,
        "recognition/periods.html",
        {
            "agency": agency,
            "agencies": agencies,
            "rows": period_list(agency=agency),
            "can_close": _can_close(request, agency.pk),
        },
    )


@login_required
@page_errors
def period_detail(request: HttpRequest, agency: str, period: str) -> HttpResponse:
    found = agency_get_for_actor(actor=request.user, public_id=agency)
    preview = period_close_preview(agency=found, period=period)
    return render(
        request,
        "recognition/period.html",
        {"agency": found, "preview": preview, "can_close": _can_close(request, found.pk)},
    )


@login_required
@page_errors
@require_POST
def period_close_view(request: HttpRequest, agency: str, period: str) -> HttpResponse:
    found = agency_get_for_actor(actor=request.user, public_id=agency)
    if request.POST.get("confirm") != "yes":
        messages.error(
            request, _("Tick the box to confirm that you want to close %(period)s.") % {"period": period}
        )
        return redirect("recognition:period", agency=found.public_id, period=period)
    closed = period_close(agency=found, period=period, actor=request.user)
    posted = period_top_up_list(agency=found, period=closed.period)
    if posted:
        amounts = ", ".join(format_money(item.amount_minor, item.currency) for item in posted)
        messages.success(
            request,
            _("%(period)s is closed. Guarantee top-ups posted: %(count)d (%(amounts)s).")
            % {"period": closed.period, "count": len(posted), "amounts": amounts},
        )
    else:
        messages.success(
            request, _("%(period)s is closed. No guarantee top-up was due.") % {"period": closed.period}
        )
    return redirect("recognition:period", agency=found.public_id, period=closed.period)
