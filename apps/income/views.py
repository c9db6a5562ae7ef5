"""Income pages: upload a statement, follow its progress (HTMX polling), read its row errors;
the income lines with the creator's share of each, filters and totals, and each line's split,
breakdown and proof; exchange rates. Thin: services and selectors do the work (the shares and the
deal filter come from recognition and deals through income's hooks)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import caches
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from apps.agencies.selectors import agency_list_for_actor
from apps.common.catalog import platform_name, source_name
from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.common.keyset import KeysetPage, cursor_decode, keyset_page, older_than
from apps.common.money import format_money
from apps.common.tenancy import scope_for
from apps.common.views import page_errors
from apps.income.forms import FxRateForm, LineFilterForm, StatementUploadForm
from apps.income.hooks import deal_readers, share_reader
from apps.income.models import IncomeLine
from apps.income.selectors import (
    LINE_COUNT_CAP,
    fx_rate_list_for_actor,
    income_creator_find_for_actor,
    income_line_agencies_for_actor,
    income_line_count_capped,
    income_line_get_for_actor,
    income_line_list_for_actor,
    income_line_split,
    statement_import_get_for_actor,
    statement_import_list_for_actor,
    statement_import_waiting_for_broker,
)
from apps.income.services import FX_ROLES, INCOME_ROLES, fx_rate_record
from apps.income.uploads import statement_import_upload
from apps.ledger.models import Account
from apps.ledger.selectors import balance_list_for_actor

# Which field of the upload form an upload refusal belongs to (apps/income/uploads.py).
_UPLOAD_ERROR_FIELDS = {
    "statement_account_required": "account",
    "statement_bad_account": "account",
    "statement_period_required": "period",
    "statement_bad_period": "period",
}


def _uploading_agencies(user: Any) -> list[Any]:
    return _agencies_where(user, INCOME_ROLES)


def _agencies_where(user: Any, roles: tuple[str, ...]) -> list[Any]:
    scope_roles = scope_for(user).agency_roles
    return [agency for agency in agency_list_for_actor(actor=user) if scope_roles.get(agency.pk) in roles]


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
                statement_import = statement_import_upload(
                    agency=agency,
                    actor=request.user,
                    file=form.cleaned_data["file"],
                    format=form.cleaned_data["format"],
                    is_all_or_nothing=form.cleaned_data["is_all_or_nothing"],
                    account=form.cleaned_data["account"],
                    period=form.cleaned_data["period"],
                )
            except ApplicationError as error:
                form.add_error(_UPLOAD_ERROR_FIELDS.get(error.code, "file"), error.message)
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
    context = {
        "import": statement_import,
        "errors": errors,
        "delayed": statement_import_waiting_for_broker(statement_import=statement_import),
    }
    if request.htmx and request.GET.get("fragment") == "progress":  # type: ignore[attr-defined]  # django-htmx
        if statement_import.is_finished:
            # Reload the whole page once: the counts and the row errors are final now.
            response = HttpResponse()
            response["HX-Refresh"] = "true"
            return response
        return render(request, "income/partials/progress.html", context)
    return render(request, "income/import.html", context)


LINES_PER_PAGE = 50
_URL_PLACEHOLDER = uuid.UUID(int=0)
_URL_PLACEHOLDER_TEXT = str(_URL_PLACEHOLDER)


class _Labels:
    """Each platform's, source's and status's name translated once per page, not once per row
    (50 rows' labels were a third of the page's rendering)."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, str], str] = {}

    def _name(self, kind: str, code: str, name: Any) -> str:
        key = (kind, code)
        if key not in self._names:
            self._names[key] = str(name(code))
        return self._names[key]

    def platform(self, code: str) -> str:
        return self._name("platform", code, platform_name)

    def source(self, code: str) -> str:
        return self._name("source", code, source_name)

    def state(self, line: IncomeLine) -> str:
        state = self._name("state", line.state, lambda code: IncomeLine.Status(code).label)
        if not line.exception_reason:
            return state
        reason = self._name(
            "reason", line.exception_reason, lambda code: IncomeLine.ExceptionReason(code).label
        )
        return f"{state} · {reason}"


def _owed_to_creator(user: Any, creator_id: int) -> list[dict[str, Any]]:
    """What each agency owes the creator now (their payable balance, a positive figure): one row
    per agency and currency, read from the running balances (never the postings)."""
    balances = balance_list_for_actor(actor=user).filter(
        account__creator_id=creator_id, account__purpose=Account.Purpose.CREATOR_PAYABLE
    )
    return [
        {
            "agency": balance.account.agency.name,
            "amount_minor": balance.balance_minor * balance.account.normal_sign,
            "currency": balance.currency,
        }
        for balance in balances
    ]


def _creator_filter(user: Any, form: LineFilterForm) -> Any | None:
    """The creator the filter names (by name or id) among those the person's agencies represent,
    or None; a name that matches no one, or several, is the field's error."""
    text = form.cleaned_data.get("creator") or ""
    if not text:
        return None
    found = income_creator_find_for_actor(actor=user, text=text)
    if len(found) == 1:
        return found[0]
    if not found:
        form.add_error("creator", _("No creator your agency represents is called %(name)s.") % {"name": text})
    else:
        form.add_error(
            "creator",
            _(
                "%(count)d creators are called %(name)s: enter the id of the one you mean (in the address of their roster page)."
            )
            % {"count": len(found), "name": text},
        )
    return None


def _filter_fields(form: LineFilterForm) -> str:
    """The filter form's fields as HTML (income/partials/line_filter_fields.html). Their widgets
    render a template per option (2 ms a page); a valid form's are the same for everyone with the
    same language, values and choices, so they are kept in the process's fragments cache under
    exactly those. A form with errors is rendered each time."""
    if form.errors:
        html = render_to_string("income/partials/line_filter_fields.html", {"form": form})
        return mark_safe(html.rstrip("\n"))  # noqa: S308 -- our own template's output
    key = hashlib.sha256(
        repr(
            (
                translation.get_language(),
                [
                    (
                        name,
                        form[name].value(),
                        [(str(value), str(label)) for value, label in getattr(field, "choices", ())],
                    )
                    for name, field in form.fields.items()
                ],
            )
        ).encode()
    ).hexdigest()
    fragments = caches["fragments"]
    html = fragments.get(f"income-filters:{key}")
    if html is None:
        html = render_to_string("income/partials/line_filter_fields.html", {"form": form})
        fragments.set(f"income-filters:{key}", html, 86400)
    return mark_safe(html.rstrip("\n"))  # noqa: S308 -- our own template's output


def _count_capped(lines: Any, page: KeysetPage, *, is_first: bool) -> int:
    """The filtered set's size up to LINE_COUNT_CAP + 1. On the first page the count goes on
    from where the page stopped instead of reading its lines again (a filter that matches only
    old lines walks far back to find them: once is enough); a short first page is the count."""
    if not is_first:
        return income_line_count_capped(lines=lines, cap=LINE_COUNT_CAP)
    if page.older is None:
        return len(page.items)
    last = page.items[-1]
    rest = older_than(lines, last.occurred_at, last.pk)
    return len(page.items) + income_line_count_capped(lines=rest, cap=LINE_COUNT_CAP - len(page.items))


@login_required
@page_errors
def line_list(request: HttpRequest) -> HttpResponse:
    """The income lines the person sees, newest first, filtered, 50 a page (a keyset cursor: the
    thousandth page costs what the first does), with the creator's share of each recognised line.
    A creator (who is not also an agency member) sees the totals of all their filtered lines:
    gross and their share. An agency member sees the count up to LINE_COUNT_CAP ("more than
    1,000") and the totals of a filtered set that small; past it the reports add up. The same
    number of queries at any size, each bounded for an agency of a million lines."""
    user = request.user
    scope = scope_for(user)
    # ?import=<id>: the lines of one import (its page links here when it finishes); another
    # tenant's or a malformed id is a 404, as the import's own page would be.
    statement_import = None
    if request.GET.get("import"):
        statement_import = statement_import_get_for_actor(actor=user, public_id=request.GET["import"])
    agencies = list(income_line_agencies_for_actor(actor=user))
    deals = deal_readers()
    is_creator_view = scope.creator_id is not None and not scope.agency_ids
    form = LineFilterForm(
        request.GET,
        agencies=agencies,
        deals=deals[0](actor=user) if deals else None,
        creators=not is_creator_view,
    )
    context: dict[str, Any] = {
        "form": form,
        "statement_import": statement_import,
        "is_creator_view": is_creator_view,
        "show_agency": len(agencies) > 1,
        "show_creator": not is_creator_view,
        "owed": _owed_to_creator(user, scope.creator_id) if scope.creator_id is not None else [],
    }
    creator = _creator_filter(user, form) if form.is_valid() else None
    if not form.is_valid():
        # A filter no one can apply (a made-up month, agency, creator or deal): say so, list nothing.
        return render(
            request,
            "income/lines.html",
            {**context, "page": None, "filter_fields": _filter_fields(form)},
            status=400,
        )
    data = form.cleaned_data
    agency = next((item for item in agencies if str(item.public_id) == data["agency"]), None)
    lines = income_line_list_for_actor(
        actor=user,
        status=data["status"] or None,
        agency=agency,
        creator=creator,
        statement_import=statement_import,
        month=data["month"] or None,
        platform=data["platform"] or None,
        source=data["source"] or None,
        condition=deals[1](actor=user, public_id=data["deal"]) if deals and data.get("deal") else None,
    )
    # The list shows neither the line's JSON metadata nor its long texts: not decoded per row.
    lines = (
        lines.select_related(None)
        .select_related("agency", "allocation", "creator")
        .defer("metadata", "description", "exception_detail", "dismiss_reason")
    )
    cursor = cursor_decode(request.GET["cursor"]) if request.GET.get("cursor") else None
    page = keyset_page(lines, cursor=cursor, size=LINES_PER_PAGE)
    reader = share_reader()
    if is_creator_view:
        # A creator's own lines: totals of all of them (linear in their own lines, through the
        # (creator, occurred_at) index), and the count is the totals' own.
        shares = reader(page=page.items, lines=lines) if reader is not None else None
        count = (
            sum(total.line_count for total in shares.gross_totals)
            if shares is not None and shares.gross_totals is not None
            else income_line_count_capped(lines=lines)
        )
    else:
        count = _count_capped(lines, page, is_first=cursor is None)
        with_totals = count <= LINE_COUNT_CAP
        shares = reader(page=page.items, lines=lines if with_totals else None) if reader is not None else None
    labels = _Labels()
    # A creator's name links to this list filtered to their lines, the other filters kept.
    query = request.GET.copy()
    for name in ("creator", "cursor", "page"):
        query.pop(name, None)
    by_creator = f"?{query.urlencode()}&creator=" if query else "?creator="
    # Each row's text made here, once: 50 rows of template lookups and filters were most of the
    # page's time (bench/creator_pages.py). The lines' address is reversed once and each row's
    # id put in it: what reverse() gives for a UUID, without 50 resolver walks.
    line_url = reverse("income:line", args=[_URL_PLACEHOLDER])
    rows = [
        {
            "url": line_url.replace(_URL_PLACEHOLDER_TEXT, str(line.public_id)),
            "day": timezone.localtime(line.occurred_at).strftime("%Y-%m-%d"),
            "agency": line.agency.name,
            "creator": line.creator.display_name if line.creator is not None else "",
            "creator_url": f"{by_creator}{line.creator.public_id}" if line.creator is not None else "",
            "platform": labels.platform(line.platform),
            "source": labels.source(line.source),
            "gross": format_money(line.gross_minor, line.currency),
            "share": format_money(*share)
            if (share := (shares.shares if shares else {}).get(line.pk))
            else None,
            "state": labels.state(line),
        }
        for line in page.items
    ]
    return render(
        request,
        "income/lines.html",
        {
            **context,
            "page": page,
            "filter_fields": _filter_fields(form),
            "rows": rows,
            "line_count": count,
            "is_more": count > LINE_COUNT_CAP,
            "count_cap": LINE_COUNT_CAP,
            "has_shares": shares is not None,
            "gross_totals": shares.gross_totals if shares is not None else None,
            "share_totals": shares.share_totals if shares is not None else None,
        },
    )


@login_required
@page_errors
def line_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    line = income_line_get_for_actor(actor=request.user, public_id=public_id)
    is_own = line.creator_id is not None and line.creator_id == scope_for(request.user).creator_id
    split = income_line_split(line=line, for_creator=is_own)
    return render(request, "income/line.html", {"line": line, "split": split, "is_own": is_own})


@login_required
@page_errors
@require_http_methods(["GET", "POST"])
def rate_list(request: HttpRequest) -> HttpResponse:
    """The agency's rates and the reference rates, newest first; owner and finance record one."""
    agencies = _agencies_where(request.user, FX_ROLES)
    form = FxRateForm(request.POST or None, agencies=agencies)
    if request.method == "POST":
        if not agencies:
            raise PermissionDenied(_("Only an agency's owner or finance members record exchange rates."))
        if form.is_valid():
            data = dict(form.cleaned_data)
            agency = next(a for a in agencies if str(a.public_id) == data.pop("agency"))
            try:
                recorded = fx_rate_record(agency=agency, actor=request.user, **data)
            except (PermissionDenied, NotFound):
                raise
            except ApplicationError as error:
                field = error.extra.get("field")
                form.add_error(field if field in form.fields else None, error.message)
            else:
                rate = recorded.rate
                messages.success(
                    request,
                    _("Recorded 1 %(base)s = %(rate)s %(quote)s on %(date)s.")
                    % {
                        "base": rate.base,
                        "rate": rate.rate_text,
                        "quote": rate.quote,
                        "date": rate.date.isoformat(),
                    }
                    + " "
                    + ngettext(
                        "%(count)d line that waited for a rate was sent back to recognition.",
                        "%(count)d lines that waited for a rate were sent back to recognition.",
                        recorded.requeued,
                    )
                    % {"count": recorded.requeued},
                )
                return redirect("income:rates")
    rates = Paginator(fx_rate_list_for_actor(actor=request.user), 50).get_page(request.GET.get("page"))
    return render(request, "income/rates.html", {"form": form, "rates": rates, "can_record": bool(agencies)})
