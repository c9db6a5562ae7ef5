"""The agency's reports page (/reports/): revenue by month, creator, platform or source for a range
of months, with each currency's totals, the charts and a CSV download of the same report.

Thin: the page reads through apps.reports.selectors. A malformed month, a reversed or too long
range or an unknown report is shown above the form with a 400; another agency answers 404 and
someone who is a member of no agency 403 (page_errors), never a 500.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from apps.agencies.selectors import agency_list_for_actor
from apps.agencies.time import agency_today
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import scope_for
from apps.common.views import page_errors
from apps.reports.csv_export import report_csv_chunks, report_filename
from apps.reports.selectors import (
    GROUPS,
    MAX_MONTHS,
    CreatorRows,
    report_agency_for_actor,
    report_default_period,
    report_group_parse,
    report_period_parse,
    revenue_report,
)

PAGE_SIZE = 50
GROUP_LABELS = {
    "month": _("By month"),
    "creator": _("By creator"),
    "platform": _("By platform"),
    "source": _("By source"),
}


def _query(**values: Any) -> str:
    return urlencode({key: value for key, value in values.items() if value})


def _agencies(request: HttpRequest, agency: Any) -> list[Any]:
    """The agencies to choose from: a query only for someone in several."""
    if len(scope_for(request.user).agency_ids) > 1:
        return list(agency_list_for_actor(actor=request.user))
    return [agency]


@login_required
@page_errors
@require_GET
def revenue_page(request: HttpRequest) -> HttpResponse:
    agency = report_agency_for_actor(actor=request.user, public_id=request.GET.get("agency"))
    typed = {"from": request.GET.get("from", "").strip(), "to": request.GET.get("to", "").strip()}
    context: dict[str, Any] = {
        "agency": agency,
        "agencies": _agencies(request, agency),
        "typed": typed,
        "max_months": MAX_MONTHS,
    }
    try:
        group = report_group_parse(request.GET.get("group"))
        period = report_period_parse(first=typed["from"], last=typed["to"], today=agency_today(agency))
    except ApplicationError as error:
        # Shown above the form the person can correct, with the figures left out.
        context.update(error=error.message, group="month", period=report_default_period(agency=agency))
        context["tabs"] = _tabs(agency, context["period"], "month")
        return render(request, "reports/revenue.html", context, status=400)
    report = revenue_report(actor=request.user, agency=agency, group=group, period=period)
    rows: Any = report.rows
    page = None
    if isinstance(report.rows, CreatorRows):
        page = Paginator(report.rows, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = page.object_list
    query = _query(agency=agency.public_id, group=group, **{"from": period.first, "to": period.last})
    context.update(
        report=report,
        group=group,
        period=period,
        rows=rows,
        page=page,
        query=query,
        tabs=_tabs(agency, period, group),
        csv_url=f"{reverse('reports:revenue_csv')}?{query}",
        show_chart={"month": ("source", "platform"), "source": ("source",), "platform": ("platform",)}.get(
            group, ()
        ),
    )
    return render(request, "reports/revenue.html", context)


def _tabs(agency: Any, period: Any, current: str) -> list[dict[str, Any]]:
    return [
        {
            "group": group,
            "label": GROUP_LABELS[group],
            "is_current": group == current,
            "url": "?"
            + _query(agency=agency.public_id, group=group, **{"from": period.first, "to": period.last}),
        }
        for group in GROUPS
    ]


@login_required
@page_errors
@require_GET
def revenue_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The report of the page's choices as CSV (every row, not only the page's)."""
    agency = report_agency_for_actor(actor=request.user, public_id=request.GET.get("agency"))
    group = report_group_parse(request.GET.get("group"))
    period = report_period_parse(
        first=request.GET.get("from"), last=request.GET.get("to"), today=agency_today(agency)
    )
    report = revenue_report(actor=request.user, agency=agency, group=group, period=period)
    response = StreamingHttpResponse(report_csv_chunks(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{report_filename(report)}"'
    return response
