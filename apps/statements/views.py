"""Statement pages: the agency's statements of a closed month (draft, publish), a statement with
every figure, line, due date and days late, its PDF and CSV, and the creator's own published
statements with an Acknowledge button. Thin: selectors to read, services to write; a refusal is
a 4xx page with its sentence (page_errors)."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.agencies.selectors import agency_get_for_actor, agency_list_for_actor
from apps.agencies.time import agency_today
from apps.common.exceptions import ApplicationError
from apps.common.money import format_money
from apps.common.tenancy import scope_for
from apps.common.views import page_errors
from apps.income.models import ClosedPeriod
from apps.statements.csv_export import quarter_income_csv, statement_csv
from apps.statements.pdf import FIGURE_ORDER
from apps.statements.selectors import (
    can_publish,
    interest_postings_of_month,
    is_own_statement,
    quarter_income,
    quarter_parse,
    statement_difference,
    statement_get_for_actor,
    statement_lateness,
    statement_lines,
    statement_list_for_actor,
    statement_withholdings,
    superseded_by,
)
from apps.statements.services import (
    statement_acknowledge,
    statement_correct,
    statement_late_interest_post,
    statement_publish,
    statements_draft,
    statements_publish_month,
)

# The figures in the page's order (apps/statements/figures.py says which postings each sums).
FIGURE_LABELS = {
    "opening_minor": gettext_lazy("Opening balance"),
    "gross_minor": gettext_lazy("Income (gross)"),
    "deductions_minor": gettext_lazy("Deductions"),
    "expenses_minor": gettext_lazy("Approved expenses"),
    "others_share_minor": gettext_lazy("Agency's and other parties' share"),
    "recouped_minor": gettext_lazy("Advance recoupment"),
    "income_share_minor": gettext_lazy("Creator's share of income"),
    "guarantee_top_up_minor": gettext_lazy("Minimum guarantee top-up"),
    "late_interest_minor": gettext_lazy("Late payment interest posted"),
    "tax_minor": gettext_lazy("Tax withheld"),
    "payouts_minor": gettext_lazy("Payouts"),
    "adjustments_minor": gettext_lazy("Other adjustments"),
    "closing_minor": gettext_lazy("Closing balance"),
}

# The withholding computation's figures (apps.statements.selectors.WITHHOLDING_FIGURES).
WITHHOLDING_LABELS = {
    "month": gettext_lazy("Tax month"),
    "payout_gross": gettext_lazy("This payout, before tax"),
    "month_paid_before": gettext_lazy("Paid earlier in the month"),
    "gross": gettext_lazy("Income of the month"),
    "expense": gettext_lazy("Expense deduction"),
    "taxable": gettext_lazy("Taxable income"),
    "months_counted": gettext_lazy("Months paid this year"),
    "ytd_income": gettext_lazy("Income, year to date"),
    "ytd_expense": gettext_lazy("Expense deduction, year to date (20 %)"),
    "ytd_allowance": gettext_lazy("Basic deduction, year to date (5,000.00 a month)"),
    "ytd_taxable": gettext_lazy("Taxable income, year to date"),
    "rate": gettext_lazy("Tax rate"),
    "quick_deduction": gettext_lazy("Quick deduction"),
    "ytd_tax": gettext_lazy("Tax, year to date"),
    "tax": gettext_lazy("Tax of the month"),
    "ytd_withheld": gettext_lazy("Withheld in the year, this month included"),
    "month_withheld_before": gettext_lazy("Withheld earlier in the month"),
    "payout_tax": gettext_lazy("Tax withheld on this payout"),
}


def _withholding_rows(statement: Any) -> list[dict[str, Any]]:
    return [
        {
            "item": item,
            "figures": [
                {"name": figure.name, "label": WITHHOLDING_LABELS[figure.name], "figure": figure}
                for figure in item.figures
            ],
        }
        for item in statement_withholdings(statement=statement)
    ]


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


@login_required
@page_errors
def statement_list_view(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    agencies = list(agency_list_for_actor(actor=request.user))
    context: dict[str, object] = {"agencies": agencies}
    if agencies:
        chosen = request.GET.get("agency")
        agency = agency_get_for_actor(actor=request.user, public_id=chosen) if chosen else agencies[0]
        months = list(
            ClosedPeriod.objects.filter(agency=agency).order_by("-period").values_list("period", flat=True)
        )
        period = request.GET.get("period") or (months[0] if months else None)
        statements = (
            list(statement_list_for_actor(actor=request.user, agency_id=agency.pk, period=period))
            if period
            else []
        )
        today = agency_today(agency)
        context.update(
            agency=agency,
            report_year=today.year - (1 if today.month <= 3 else 0),
            report_quarter=(today.month - 1) // 3 or 4,
            months=months,
            period=period,
            statements=statements,
            drafts=sum(1 for statement in statements if not statement.is_published),
            can_publish=can_publish(actor=request.user, agency_id=agency.pk),
        )
    if scope.creator_id is not None:
        context["own"] = list(
            statement_list_for_actor(actor=request.user).filter(
                creator_id=scope.creator_id, status="published"
            )
        )
    if not agencies and scope.creator_id is None:
        raise Http404()
    return render(request, "statements/list.html", context)


@login_required
@page_errors
def statement_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    statement = statement_get_for_actor(actor=request.user, public_id=public_id)
    difference = statement_difference(statement=statement)
    figures = [
        {
            "name": name.removesuffix("_minor"),
            "label": FIGURE_LABELS[name],
            "is_total": name in ("income_share_minor", "closing_minor"),
            "amount": getattr(statement, name),
            "difference": difference[name] if difference else None,
        }
        for name in FIGURE_ORDER
    ]
    lateness = statement_lateness(statement=statement)
    postings = list(interest_postings_of_month(statement=statement))
    return render(
        request,
        "statements/detail.html",
        {
            "statement": statement,
            "figures": figures,
            "lines": statement_lines(statement=statement),
            "withholdings": _withholding_rows(statement),
            "lateness": lateness,
            "interest_postings": postings,
            "interest_posted_minor": sum(posting.amount_minor for posting in postings),
            "superseded_by": superseded_by(statement=statement) if statement.is_published else None,
            "can_publish": can_publish(actor=request.user, agency_id=statement.agency_id),
            "is_own": is_own_statement(actor=request.user, statement=statement),
            "acknowledgement": getattr(statement, "acknowledgement", None),
        },
    )


@login_required
@page_errors
def statement_pdf(request: HttpRequest, public_id: str) -> HttpResponse:
    statement = statement_get_for_actor(actor=request.user, public_id=public_id)
    if not statement.pdf_sha256:
        raise Http404()  # a draft has none; a published one's is being rendered
    with statement.pdf.open("rb") as handle:
        response = HttpResponse(handle.read(), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="statement-{statement.number:06d}.pdf"'
    return response


@login_required
@page_errors
def statement_csv_view(request: HttpRequest, public_id: str) -> HttpResponse:
    statement = statement_get_for_actor(actor=request.user, public_id=public_id)
    data = statement_csv(statement=statement, lines=statement_lines(statement=statement))
    name = f"statement-{statement.number:06d}" if statement.number else f"statement-draft-{statement.period}"
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@login_required
@page_errors
@require_POST
def statements_draft_view(request: HttpRequest) -> HttpResponse:
    agency = agency_get_for_actor(actor=request.user, public_id=request.POST.get("agency", ""))
    period = request.POST.get("period", "")
    created = statements_draft(agency=agency, period=period, actor=request.user)
    messages.success(request, _("Statements drafted: %(count)d.") % {"count": created})
    return redirect(f"{reverse('statements:list')}?agency={agency.public_id}&period={period}")


@login_required
@page_errors
@require_POST
def statements_publish_month_view(request: HttpRequest) -> HttpResponse:
    agency = agency_get_for_actor(actor=request.user, public_id=request.POST.get("agency", ""))
    period = request.POST.get("period", "")
    count = statements_publish_month(
        agency=agency, period=period, actor=request.user, base_url=_base_url(request)
    )
    messages.success(
        request, _("Statements published: %(count)d. Each creator is notified by email.") % {"count": count}
    )
    return redirect(f"{reverse('statements:list')}?agency={agency.public_id}&period={period}")


@login_required
@page_errors
@require_POST
def statement_publish_view(request: HttpRequest, public_id: str) -> HttpResponse:
    statement = statement_get_for_actor(actor=request.user, public_id=public_id)
    published = statement_publish(statement=statement, actor=request.user, base_url=_base_url(request))
    messages.success(
        request,
        _("Statement No. %(number)s is published; the creator is notified.") % {"number": published.number},
    )
    return redirect("statements:detail", public_id=published.public_id)


@login_required
@page_errors
@require_POST
def statement_correct_view(request: HttpRequest, public_id: str) -> HttpResponse:
    statement = statement_get_for_actor(actor=request.user, public_id=public_id)
    correction = statement_correct(statement=statement, actor=request.user)
    messages.success(request, _("A correction is drafted: review the difference, then publish it."))
    return redirect("statements:detail", public_id=correction.public_id)


@login_required
@page_errors
@require_POST
def statement_acknowledge_view(request: HttpRequest, public_id: str) -> HttpResponse:
    statement = statement_get_for_actor(actor=request.user, public_id=public_id)
    statement_acknowledge(statement=statement, actor=request.user)
    messages.success(request, _("Thank you: the agency sees that you received this statement."))
    return redirect("statements:detail", public_id=statement.public_id)


def _interest_day(text: str) -> datetime.date | None:
    if not text.strip():
        return None  # the agency's today
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise ApplicationError(
            _("%(value)s is not a day: write it as YYYY-MM-DD, e.g. 2026-12-03.") % {"value": text[:20]},
            code="invalid_as_of",
        ) from None


@login_required
@page_errors
@require_POST
def statement_late_interest_post_view(request: HttpRequest, public_id: str) -> HttpResponse:
    statement = statement_get_for_actor(actor=request.user, public_id=public_id)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the box to confirm that you want to post the late interest."))
        return redirect("statements:detail", public_id=statement.public_id)
    result = statement_late_interest_post(
        statement=statement, actor=request.user, as_of=_interest_day(request.POST.get("as_of", ""))
    )
    posting = result.posting
    if result.created:
        messages.success(
            request,
            _("Late interest of %(amount)s up to %(day)s is posted: the creator is owed it.")
            % {
                "amount": format_money(posting.amount_minor, posting.currency),
                "day": posting.as_of.isoformat(),
            },
        )
    else:
        messages.info(
            request,
            _("The interest up to %(day)s was posted already: nothing was posted again.")
            % {"day": posting.as_of.isoformat()},
        )
    return redirect("statements:detail", public_id=statement.public_id)


@login_required
@page_errors
def quarter_report_view(request: HttpRequest) -> HttpResponse:
    """The quarter's income per creator as CSV, for the agency's platform tax-information report."""
    agency = agency_get_for_actor(actor=request.user, public_id=request.GET.get("agency", ""))
    quarter = quarter_parse(year=request.GET.get("year", ""), quarter=request.GET.get("quarter", ""))
    rows = quarter_income(actor=request.user, agency=agency, quarter=quarter)
    response = HttpResponse(
        quarter_income_csv(quarter=quarter, rows=rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="income-{quarter}.csv"'
    return response
