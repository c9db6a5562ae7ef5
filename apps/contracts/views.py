"""Contract pages: list, drafting with a live preview, reading, signing, amendments, diffs, PDF check."""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

from allauth.account.decorators import reauthentication_required
from allauth.account.internal.flows.login import get_authentication_records
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from apps.agencies.models import Agency
from apps.agencies.selectors import agency_list_for_actor
from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.common.money import MoneyError, format_money, to_minor
from apps.common.ratelimit import allow, client_ip
from apps.common.tenancy import scope_for
from apps.common.views import page_errors
from apps.contracts.forms import (
    DeclineForm,
    NewContractForm,
    PdfCheckForm,
    RuleSetJsonForm,
    SampleLineForm,
    TermsForm,
    rule_set_as_json,
)
from apps.contracts.models import Contract, ContractSignature, ContractVersion
from apps.contracts.rendering.document import render_document
from apps.contracts.rules_form import RuleSetEditorForm, apply_action, state_from_document
from apps.contracts.selectors import (
    MAX_PDF_BYTES,
    PDF_CHECK_WINDOW_SECONDS,
    PDF_CHECKS_PER_WINDOW,
    contract_fairness_summary,
    contract_get_for_actor,
    contract_list_for_actor,
    contract_pdf_check,
    contract_template_list_for_actor,
    contract_version_diff,
    contract_version_get_for_actor,
    contract_version_list_for_actor,
    pdf_check_body_too_large,
    pdf_too_large_error,
)
from apps.contracts.services import (
    DRAFTERS,
    ContractConflict,
    audit_meta_from_request,
    contract_amendment_draft,
    contract_draft,
    contract_pdf_ensure,
    contract_sign,
    contract_version_decline,
    contract_version_overlap_warning,
    contract_version_preview,
    contract_version_send,
    contract_version_update,
    contract_version_withdraw,
)
from apps.creators.selectors import creator_list_for_actor
from apps.splits.engine import InvalidDocument
from apps.splits.engine.rules import DEFAULT_TIMEZONE, iana_zones
from apps.splits.explain import party_name
from apps.splits.services import split_simulate

Status = ContractVersion.Status


def _drafting_agencies(user: Any) -> list[Agency]:
    roles = scope_for(user).agency_roles
    return [agency for agency in agency_list_for_actor(actor=user) if roles[agency.pk] in DRAFTERS]


def _can_draft(user: Any, agency_id: int) -> bool:
    return scope_for(user).agency_roles.get(agency_id) in DRAFTERS


def _signing_party(user: Any, version: ContractVersion) -> str | None:
    """The party this user can sign for on this version, if it still needs their signature."""
    if version.status != Status.SENT:
        return None
    signed = {signature.party for signature in version.signatures.all()}
    if scope_for(user).creator_id == version.contract.creator_id:
        party = ContractSignature.Party.CREATOR
    elif _can_draft(user, version.contract.agency_id):
        party = ContractSignature.Party.AGENCY
    else:
        return None
    return None if party in signed else party


@login_required
@page_errors
def contract_list(request: HttpRequest) -> HttpResponse:
    agency_ids = scope_for(request.user).agency_ids
    # Each contract with the versions this user sees: drafts are the agency's work in progress; a
    # creator sees versions once sent.
    contracts: list[tuple[Contract, list[ContractVersion]]] = [
        (
            contract,
            [
                version
                for version in contract.versions.all()
                if version.status != Status.DRAFT or contract.agency_id in agency_ids
            ],
        )
        for contract in contract_list_for_actor(actor=request.user)
    ]
    return render(
        request,
        "contracts/list.html",
        {"contracts": contracts, "can_draft": bool(_drafting_agencies(request.user))},
    )


@login_required
@page_errors
@require_http_methods(["GET", "POST"])
def contract_new(request: HttpRequest) -> HttpResponse:
    agencies = _drafting_agencies(request.user)
    if not agencies:
        raise NotFound()
    agency = agencies[0]
    creators = creator_list_for_actor(actor=request.user).filter(
        representations__agency=agency, representations__ended_on__isnull=True
    )
    form = NewContractForm(
        request.POST or None,
        creators=creators.distinct(),
        templates=contract_template_list_for_actor(actor=request.user).filter(
            Q(agency__isnull=True) | Q(agency=agency)
        ),
        initial={"start_date": None},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            version = contract_draft(
                actor=request.user,
                agency=agency,
                creator=data["creator"],
                template=data["template"],
                title=data["title"],
                start_date=data["start_date"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            return redirect("contracts:edit", public_id=version.public_id)
    return render(request, "contracts/new.html", {"form": form, "agency": agency})


def _version_for(request: HttpRequest, public_id: str) -> ContractVersion:
    return contract_version_get_for_actor(actor=request.user, public_id=public_id)


@login_required
@page_errors
@require_http_methods(["GET", "POST"])
def version_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    version = _version_for(request, public_id)
    if not version.is_draft or not _can_draft(request.user, version.contract.agency_id):
        return redirect("contracts:version", public_id=version.public_id)
    form = TermsForm(request.POST or None, version=version)
    if request.method == "POST" and form.is_valid():
        try:
            saved = contract_version_update(version=version, actor=request.user, **form.terms())
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, _("Draft saved."))
            _warn_of_overlap(request, saved)
            return redirect("contracts:version", public_id=version.public_id)
    preview = _preview(request, version, form) if request.method == "GET" else None
    return render(request, "contracts/edit.html", {"version": version, "form": form, "preview": preview})


def _warn_of_overlap(request: HttpRequest, version: ContractVersion) -> None:
    warning = contract_version_overlap_warning(version=version)
    if warning:
        messages.warning(request, _("Sending will be refused: %(reason)s") % {"reason": warning})


def _preview(request: HttpRequest, version: ContractVersion, form: TermsForm) -> dict[str, Any]:
    """The document as it would read with the form's values; the draft is changed in memory only."""
    if form.is_bound and not form.is_valid():
        return {"form": form}
    terms = form.terms() if form.is_bound else {}
    try:
        document = contract_version_preview(version=version, actor=request.user, **terms)
    except ApplicationError as error:
        form.add_application_error(error)
        return {"form": form}
    # The version now carries the form's terms in memory: the overlap is that of the dates and
    # platforms being typed, before they are saved.
    return {"form": form, "document": document, "overlap": contract_version_overlap_warning(version=version)}


@login_required
@page_errors
@require_POST
def version_preview(request: HttpRequest, public_id: str) -> HttpResponse:
    """HTMX: the document as it would read with the form's current values."""
    version = _version_for(request, public_id)
    if not version.is_draft or not _can_draft(request.user, version.contract.agency_id):
        raise NotFound()
    form = TermsForm(request.POST, version=version)
    return render(request, "contracts/partials/preview.html", {"preview": _preview(request, version, form)})


# --- the split rules editor -------------------------------------------------------------------------

Editor = RuleSetEditorForm | RuleSetJsonForm
_CANNOT_SHOW_AS_FORM = gettext_lazy(
    "The form cannot show this rule set exactly (a value or a key it has no field for, or more "
    "rules than it shows), so it is edited as JSON here. Saving goes through the same checks."
)


def _rules_version(request: HttpRequest, public_id: str) -> ContractVersion:
    """The version whose rules this user may edit: another agency's is a 404 (scoped), a member
    who does not draft (finance, viewer) or the creator is told 403."""
    version = _version_for(request, public_id)
    if not _can_draft(request.user, version.contract.agency_id):
        raise PermissionDenied(_("Only the agency's owners and managers can edit split rules."))
    return version


def _editor_for_saved(version: ContractVersion, *, mode: str | None) -> tuple[Editor, str | None]:
    """The editor on the saved rule set: the form, or the JSON when asked for or when the form
    cannot show this rule set exactly (then saying why)."""
    read_only = not version.is_draft
    state = state_from_document(version.rule_set)
    if state is not None and mode != "json":
        return RuleSetEditorForm(state=state, read_only=read_only), None
    json_form = RuleSetJsonForm(initial={"rule_set": rule_set_as_json(version.rule_set)})
    if read_only:
        json_form.fields["rule_set"].disabled = True
    return json_form, None if state is not None else str(_CANNOT_SHOW_AS_FORM)


def _posted_editor(request: HttpRequest) -> tuple[Editor, dict[str, Any] | None]:
    """The editor as posted (form or JSON view) and its rule set document, None when invalid."""
    if request.POST.get("mode") == "json":
        json_form = RuleSetJsonForm(request.POST)
        return json_form, json_form.cleaned_data["rule_set"] if json_form.is_valid() else None
    form = RuleSetEditorForm(request.POST)
    return form, form.document() if form.is_valid() else None


def _rules_page(
    request: HttpRequest,
    version: ContractVersion,
    editor: Editor,
    *,
    sample: SampleLineForm | None = None,
    preview: dict[str, Any] | None = None,
    note: str | None = None,
    status: int = 200,
) -> HttpResponse:
    is_form = isinstance(editor, RuleSetEditorForm)
    context = {
        "version": version,
        "read_only": not version.is_draft,
        "mode": "form" if is_form else "json",
        "form": editor if is_form else None,
        "json_form": None if is_form else editor,
        "focus": editor.focus if isinstance(editor, RuleSetEditorForm) else None,
        "note": note,
        "sample": sample or _sample_form(version),
        "preview": preview,
        "overlap_warning": contract_version_overlap_warning(version=version),
    }
    return render(request, "contracts/rules.html", context, status=status)


def _sample_form(version: ContractVersion, data: Any = None, *, bound: bool = True) -> SampleLineForm:
    """The try-a-line fields, bound only to be tried: after another action they keep what was
    typed, without an error for a field nobody asked to use yet."""
    platforms = list(version.platforms or [])
    initial = {"platform": platforms[0] if platforms else None}
    if data is not None and not bound:
        prefix = SampleLineForm.prefix
        initial.update(
            {
                name: data[f"{prefix}-{name}"]
                for name in SampleLineForm.base_fields
                if f"{prefix}-{name}" in data
            }
        )
        data = None
    return SampleLineForm(data, initial=initial)


@login_required
@page_errors
@require_http_methods(["GET", "POST"])
def version_rules(request: HttpRequest, public_id: str) -> HttpResponse:
    """The split rules as a form (or as JSON, the advanced view); adding or removing a row,
    switching views and previewing save nothing; saving goes through contract_version_update,
    like the terms page, so the engine's validation decides and its error lands on its field."""
    version = _rules_version(request, public_id)
    if request.method == "GET":
        editor, note = _editor_for_saved(version, mode=request.GET.get("mode"))
        return _rules_page(request, version, editor, note=note)
    action = request.POST.get("action") or "save"
    sample = _sample_form(version, request.POST, bound=action == "preview")
    if not version.is_draft:
        if action == "preview":  # trying a line on a sent version's rules writes nothing either
            editor, note = _editor_for_saved(version, mode=request.POST.get("mode"))
            preview = _rules_preview(version, version.rule_set, sample)
            return _rules_page(request, version, editor, sample=sample, preview=preview, note=note)
        raise ContractConflict(
            _("Version %(number)s was sent and cannot change; draft an amendment instead.")
            % {"number": version.number},
            code="version_immutable",
        )
    editor, document = _posted_editor(request)
    if document is None:
        return _rules_page(request, version, editor, sample=sample, status=400)
    if action == "to-json":
        json_form = RuleSetJsonForm(initial={"rule_set": rule_set_as_json(document)})
        return _rules_page(request, version, json_form, sample=sample)
    if action == "to-form":
        state = state_from_document(document)
        if state is None:
            return _rules_page(request, version, editor, sample=sample, note=str(_CANNOT_SHOW_AS_FORM))
        return _rules_page(request, version, RuleSetEditorForm(state=state), sample=sample)
    if action == "preview":
        preview = _rules_preview(version, document, sample)
        return _rules_page(request, version, editor, sample=sample, preview=preview)
    if action != "save":
        if not isinstance(editor, RuleSetEditorForm):
            raise ApplicationError(_("Switch to the form to add or remove rows."), code="invalid_action")
        state = editor.state()
        focus = apply_action(state, action)
        return _rules_page(request, version, RuleSetEditorForm(state=state, focus=focus), sample=sample)
    try:
        saved = contract_version_update(version=version, actor=request.user, rule_set=document)
    except ApplicationError as error:
        editor.add_application_error(error)
        return _rules_page(request, version, editor, sample=sample, status=min(max(error.status, 400), 499))
    messages.success(request, _("Split rules saved."))
    _warn_of_overlap(request, saved)
    return redirect("contracts:rules", public_id=version.public_id)


@login_required
@page_errors
@require_POST
def version_rules_preview(request: HttpRequest, public_id: str) -> HttpResponse:
    """HTMX: the sample line split under the rules as they stand in the editor; saves nothing."""
    version = _rules_version(request, public_id)
    sample = _sample_form(version, request.POST)
    if version.is_draft:
        _editor, document = _posted_editor(request)
        if document is None:
            preview: dict[str, Any] = {"rules_error": _("Fix the marked fields of the rules first.")}
            return render(request, "contracts/partials/rules_preview.html", {"preview": preview})
    else:
        document = version.rule_set
    preview = _rules_preview(version, document, sample)
    return render(request, "contracts/partials/rules_preview.html", {"preview": preview})


def _rules_preview(version: ContractVersion, document: Any, sample: SampleLineForm) -> dict[str, Any]:
    """One line through the engine under `document`: its shares and the explanation's sentences.
    The line happens at noon on the version's first day, in the rule set's zone."""
    if not sample.is_valid():
        return {"sample_errors": True}
    data = sample.cleaned_data
    zone_name = document.get("timezone", DEFAULT_TIMEZONE) if isinstance(document, dict) else DEFAULT_TIMEZONE
    zone = ZoneInfo(
        zone_name if isinstance(zone_name, str) and zone_name in iana_zones() else DEFAULT_TIMEZONE
    )
    line: dict[str, Any] = {
        "id": "sample",
        "source": data["source"],
        "platform": data["platform"],
        "gross": data["gross"].strip(),
        "occurred_at": datetime.datetime.combine(
            version.effective_from, datetime.time(12), tzinfo=zone
        ).isoformat(),
    }
    if data["expenses"].strip():
        line["expenses"] = data["expenses"].strip()
    try:
        simulation = split_simulate(document={"rules": document, "lines": [line]})
    except InvalidDocument as error:
        return {"line_error": error.message}
    if simulation.invalid_rules is not None:
        invalid = simulation.invalid_rules
        return {"rules_error": f"{invalid.path or '/'}: {invalid.message}"}
    result = simulation.lines[0]
    rows = []
    if not result.result.get("error"):
        currency = document["currency"]
        for party, share in result.result["shares"].items():
            rows.append(
                {
                    "party": party_name(party),
                    "share": _money(share, currency),
                    "payable": _money(result.result["payable"][party], currency),
                }
            )
    return {"line": result, "rows": rows, "date": version.effective_from}


def _money(amount: str, currency: str) -> str:
    try:
        return format_money(to_minor(amount, currency), currency)
    except MoneyError:
        return amount


@login_required
@page_errors
def version_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    version = _version_for(request, public_id)
    contract = version.contract
    siblings = list(contract_version_list_for_actor(actor=request.user, contract=contract))
    if version.is_draft:
        try:
            document_html = render_document(version).html
        except ApplicationError as error:
            document_html = None
            messages.error(request, error.message)
    else:
        document_html = version.document_html
    is_drafter = _can_draft(request.user, contract.agency_id)
    fairness = contract_fairness_summary(version=version)
    overlap = contract_version_overlap_warning(version=version) if is_drafter else None
    return render(
        request,
        "contracts/version.html",
        {
            "version": version,
            "contract": contract,
            "versions": siblings,
            "document_html": document_html,
            "fairness": {"en": fairness["en"], "zh_hans": fairness["zh-hans"]},
            "has_pdf": version.status in ContractVersion.BINDING,
            "signing_party": _signing_party(request.user, version),
            "is_drafter": is_drafter,
            "is_creator": scope_for(request.user).creator_id == contract.creator_id,
            "can_amend": is_drafter
            and version.status in (Status.SIGNED, Status.ACTIVE)
            and not any(v.status in ContractVersion.OPEN for v in siblings),
            "decline_form": DeclineForm(),
            "overlap_warning": overlap,
        },
    )


def _act(request: HttpRequest, public_id: str, action: Any, success: str, **kwargs: Any) -> HttpResponse:
    version = _version_for(request, public_id)
    try:
        action(version=version, actor=request.user, **kwargs)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("contracts:version", public_id=version.public_id)


@login_required
@page_errors
@require_POST
def version_send(request: HttpRequest, public_id: str) -> HttpResponse:
    return _act(request, public_id, contract_version_send, _("Sent to the creator for signature."))


@login_required
@page_errors
@require_POST
def version_withdraw(request: HttpRequest, public_id: str) -> HttpResponse:
    return _act(request, public_id, contract_version_withdraw, _("The offer is withdrawn."))


@login_required
@page_errors
@require_POST
def version_decline(request: HttpRequest, public_id: str) -> HttpResponse:
    form = DeclineForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _act(request, public_id, contract_version_decline, _("You declined this offer."), reason=reason)


def _reauthentication_method(request: HttpRequest) -> str:
    records = [
        record
        for record in get_authentication_records(request, request.user)
        if record.get("reauthenticated")
    ]
    return records[-1].get("method", "password") if records else "password"


@login_required
@page_errors
@require_POST
@reauthentication_required
def version_sign(request: HttpRequest, public_id: str) -> HttpResponse:
    """Signing: allauth asks for the password (or the second factor) again first, then replays this POST."""
    version = _version_for(request, public_id)
    try:
        contract_sign(
            version=version,
            signer=request.user,  # type: ignore[arg-type]
            document_sha256=request.POST.get("document_sha256", ""),
            meta=audit_meta_from_request(request, reauthenticated_by=_reauthentication_method(request)),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Signed. Your signature is recorded with the document's fingerprint."))
    return redirect("contracts:version", public_id=version.public_id)


@login_required
@page_errors
@require_http_methods(["GET", "POST"])
def contract_amend(request: HttpRequest, public_id: str) -> HttpResponse:
    contract = contract_get_for_actor(actor=request.user, public_id=public_id)
    if request.method == "POST":
        from django import forms

        field = forms.DateField()
        try:
            effective_from = field.clean(request.POST.get("effective_from"))
            version = contract_amendment_draft(
                contract=contract, actor=request.user, effective_from=effective_from
            )
        except (ApplicationError, forms.ValidationError) as error:
            message = error.message if isinstance(error, ApplicationError) else " ".join(error.messages)
            messages.error(request, message)
        else:
            return redirect("contracts:edit", public_id=version.public_id)
    return render(request, "contracts/amend.html", {"contract": contract})


@login_required
@page_errors
def contract_diff(request: HttpRequest, public_id: str) -> HttpResponse:
    contract = contract_get_for_actor(actor=request.user, public_id=public_id)
    versions = {v.number: v for v in contract_version_list_for_actor(actor=request.user, contract=contract)}
    numbers = sorted(versions)
    try:
        older = versions[int(request.GET.get("a", numbers[-2] if len(numbers) > 1 else numbers[0]))]
        newer = versions[int(request.GET.get("b", numbers[-1]))]
    except (KeyError, ValueError, IndexError):
        raise NotFound() from None
    diff = contract_version_diff(older=older, newer=newer)
    return render(request, "contracts/diff.html", {"contract": contract, "diff": diff, "numbers": numbers})


@login_required
@page_errors
def version_pdf(request: HttpRequest, public_id: str) -> HttpResponseBase:
    version = _version_for(request, public_id)
    try:
        version = contract_pdf_ensure(version=version)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("contracts:version", public_id=version.public_id)
    return FileResponse(
        version.pdf.open("rb"),
        as_attachment=True,
        filename=f"contract-{version.contract.public_id}-v{version.number}.pdf",
        content_type="application/pdf",
    )


@require_http_methods(["GET", "POST"])
@page_errors
def pdf_check(request: HttpRequest) -> HttpResponse:
    """Public: anyone holding a PDF can check it against what Fenrun stored. What a check may
    cost is bounded in contract_pdf_check; here, a budget per client address and a body too
    large for a signed PDF refused before it is read."""

    def page(context: dict[str, Any], status: int = 200) -> HttpResponse:
        response = render(
            request, "contracts/check_pdf.html", {"form": PdfCheckForm(), "result": None, **context}
        )
        response.status_code = status
        return response

    if request.method != "POST":
        return page({})
    if not allow(
        f"pdf-check:{client_ip(request)}",
        limit=PDF_CHECKS_PER_WINDOW,
        window_seconds=PDF_CHECK_WINDOW_SECONDS,
    ):
        return page({"limited": True}, status=429)
    if pdf_check_body_too_large(content_length=request.META.get("CONTENT_LENGTH")):
        error = pdf_too_large_error()
        return page({"refusal": error.message}, status=error.status)
    form = PdfCheckForm(request.POST, request.FILES)
    if not form.is_valid():
        return page({"form": form})
    try:
        result = contract_pdf_check(pdf_bytes=form.cleaned_data["file"].read(MAX_PDF_BYTES + 1))
    except ApplicationError as error:
        return page({"form": form, "refusal": error.message}, status=error.status)
    return page({"form": form, "result": result})
