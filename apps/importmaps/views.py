"""Import template pages: the agency's templates, one template and its versions, the mapping form
(built from a file that waited on its import page: "map this file's columns"; preview; save and
import it), a new version, archive, and import a file with a chosen template. Thin: services and
selectors do the work."""

from __future__ import annotations

import os
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from apps.common.exceptions import ApplicationError, NotFound
from apps.common.tenancy import require_agency_role, scope_for
from apps.common.views import page_errors
from apps.importmaps.files import FileHead, read_head, stored_opener
from apps.importmaps.forms import MappingForm, suggested_initial
from apps.importmaps.mapping import MappingInvalid, find_header, header_signature, mapping_from_data
from apps.importmaps.models import ImportTemplate
from apps.importmaps.selectors import (
    Preview,
    import_template_get_for_actor,
    import_template_last_import,
    import_template_list_for_actor,
    import_template_preview,
    import_template_same_header,
    import_template_version_summary,
    import_template_versions,
)
from apps.importmaps.services import (
    import_template_archive,
    import_template_create,
    import_template_import,
    import_template_update,
)
from apps.income.importers.canonical import cell_text
from apps.income.models import StatementImport
from apps.income.selectors import statement_import_get_for_actor
from apps.income.services import INCOME_ROLES


def _can_edit(user: Any, agency_id: int) -> bool:
    return scope_for(user).agency_roles.get(agency_id) in INCOME_ROLES


@login_required
@page_errors
def template_list(request: HttpRequest) -> HttpResponse:
    templates = list(import_template_list_for_actor(actor=request.user))
    return render(request, "importmaps/list.html", {"templates": templates})


@login_required
@page_errors
def template_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    template = import_template_get_for_actor(actor=request.user, public_id=public_id)
    context = {
        "template": template,
        "version": template.current_version,
        "versions": list(import_template_versions(template=template)),
        "summary": import_template_version_summary(version=template.current_version)
        if template.current_version is not None
        else [],
        "same_header": import_template_same_header(template=template),
        "can_edit": _can_edit(request.user, template.agency_id) and not template.is_archived,
        "upload_form": _ImportUploadForm(),
    }
    return render(request, "importmaps/detail.html", context)


def _samples(head: FileHead, header_row: int) -> list[dict[str, Any]]:
    """Each column of the header with a few of its values below: what the person maps."""
    header = [cell_text(cell) for cell in head.row(header_row)]
    samples: list[list[str]] = [[] for _name in header]
    for number, cells in head.rows:
        if number <= header_row:
            continue
        for position, cell in enumerate(cells[: len(header)]):
            text = cell_text(cell)
            if text and text not in samples[position] and len(samples[position]) < 3:
                samples[position].append(text[:60])
    return [{"name": name, "values": values} for name, values in zip(header, samples, strict=True) if name]


def _header_row(request: HttpRequest, default: int) -> int:
    raw = request.POST.get("header_row") or request.GET.get("header_row") or ""
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 60 else default


def _source_import(request: HttpRequest, template: ImportTemplate | None) -> StatementImport | None:
    """The import whose file the form shows: ?import=, else the last one the template read."""
    public_id = request.POST.get("import") or request.GET.get("import")
    if public_id:
        return statement_import_get_for_actor(actor=request.user, public_id=public_id)
    return import_template_last_import(template=template) if template is not None else None


@login_required
@page_errors
@require_http_methods(["GET", "POST"])
def template_new(request: HttpRequest) -> HttpResponse:
    """Map the columns of a file that waited on its import page, preview, save and import it."""
    waiting = _source_import(request, None)
    if waiting is None:
        raise NotFound()
    require_agency_role(request.user, waiting.agency, INCOME_ROLES)
    head = read_head(stored_opener(waiting.file))
    return _mapping_page(request, agency=waiting.agency, head=head, source=waiting, template=None)


@login_required
@page_errors
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    """A new version of a template, previewed on the last file it read (or ?import=)."""
    template = import_template_get_for_actor(actor=request.user, public_id=public_id)
    require_agency_role(request.user, template.agency, INCOME_ROLES)
    source = _source_import(request, template)
    if source is not None and source.agency_id != template.agency_id:
        raise NotFound()
    head = read_head(stored_opener(source.file)) if source is not None else None
    return _mapping_page(request, agency=template.agency, head=head, source=source, template=template)


def _mapping_page(
    request: HttpRequest,
    *,
    agency: Any,
    head: FileHead | None,
    source: StatementImport | None,
    template: ImportTemplate | None,
) -> HttpResponse:
    version = template.current_version if template is not None else None
    default_row = head.likely_header_row() if head is not None else 1
    if version is not None:
        found = find_header(head.detection_cells(), version.signature) if head is not None else None
        default_row = found or version.header_row
    header_row = _header_row(request, default_row)
    header = list(head.row(header_row)) if head is not None else list(version.header if version else [])
    if version is not None and (head is None or header_signature(header) == version.signature):
        initial = MappingForm.initial_for(version.mapping, name=template.name, header_row=header_row)  # type: ignore[union-attr]
    else:
        name = os.path.splitext(source.original_name)[0] if source is not None else ""
        initial = {
            **suggested_initial(header),
            "name": template.name if template is not None else name[:100],
            "header_row": header_row,
        }
    action = request.POST.get("action", "")
    # A new header row changes the columns: the form starts again from that row's header.
    is_bound = request.method == "POST" and action in ("preview", "save")
    form = MappingForm(request.POST if is_bound else None, header=header, initial=initial)
    preview: Preview | None = None
    if is_bound and form.is_valid():
        try:
            mapping = mapping_from_data(form.mapping_data(), header)
        except MappingInvalid as invalid:
            form.add_mapping_errors(invalid)
        else:
            if action == "save":
                saved = _save(request, form, template=template, agency=agency, header=header, source=source)
                if saved is not None:
                    return saved
            elif head is not None:
                preview = import_template_preview(
                    agency=agency,
                    mapping=mapping,
                    header=header,
                    header_row=header_row,
                    rows=head.rows,
                    is_workbook=head.is_workbook,
                )
    context = {
        "form": form,
        "groups": form.field_groups(),
        "template": template,
        "source": source,
        "agency": agency,
        "samples": _samples(head, header_row) if head is not None else [],
        "header_rows": _header_choices(head) if head is not None else [],
        "header_row": header_row,
        "preview": preview,
    }
    status = 400 if is_bound and form.errors else 200
    return render(request, "importmaps/mapping.html", context, status=status)


def _header_choices(head: FileHead) -> list[dict[str, Any]]:
    """The first rows, each with its start, to choose the header from (notes may sit above it)."""
    return [
        {"number": number, "text": ", ".join(cell_text(cell) for cell in cells if cell_text(cell))[:80]}
        for number, cells in head.rows[:20]
        if any(cell_text(cell) for cell in cells)
    ]


def _save(
    request: HttpRequest,
    form: MappingForm,
    *,
    template: ImportTemplate | None,
    agency: Any,
    header: list[Any],
    source: StatementImport | None,
) -> HttpResponse | None:
    data = form.cleaned_data
    try:
        if template is None:
            template = import_template_create(
                agency=agency,
                actor=request.user,
                name=data["name"],
                header=header,
                header_row=data["header_row"],
                mapping=form.mapping_data(),
            )
            if source is not None and source.status == StatementImport.Status.FAILED:
                created = import_template_import(
                    template=template, actor=request.user, statement_import=source
                )
                messages.success(
                    request,
                    _("Template %(name)s saved; the file is being imported with it.")
                    % {"name": template.name},
                )
                return redirect("income:import", public_id=created.public_id)
        else:
            template = import_template_update(
                template=template,
                actor=request.user,
                name=data["name"],
                header=header,
                header_row=data["header_row"],
                mapping=form.mapping_data(),
            )
    except MappingInvalid as invalid:
        form.add_mapping_errors(invalid)
        return None
    except ApplicationError as error:
        if isinstance(error, NotFound):
            raise
        field = error.extra.get("field")
        form.add_error(field if field in form.fields else None, error.message)
        return None
    assert template.current_version is not None
    messages.success(
        request,
        _("Template %(name)s v%(number)s saved.")
        % {"name": template.name, "number": template.current_version.number},
    )
    return redirect("importmaps:detail", public_id=template.public_id)


class _ImportUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Statement file"))


@login_required
@page_errors
@require_POST
def template_import(request: HttpRequest, public_id: str) -> HttpResponse:
    """Import a file, or a waiting import's file again, with this template (the person's choice)."""
    template = import_template_get_for_actor(actor=request.user, public_id=public_id)
    waiting = None
    if request.POST.get("import"):
        waiting = statement_import_get_for_actor(actor=request.user, public_id=request.POST["import"])
        created = import_template_import(template=template, actor=request.user, statement_import=waiting)
        return redirect("income:import", public_id=created.public_id)
    form = _ImportUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose the file to import."))
        return redirect("importmaps:detail", public_id=template.public_id)
    created = import_template_import(template=template, actor=request.user, file=form.cleaned_data["file"])
    return redirect("income:import", public_id=created.public_id)


@login_required
@page_errors
@require_POST
def template_archive(request: HttpRequest, public_id: str) -> HttpResponse:
    template = import_template_get_for_actor(actor=request.user, public_id=public_id)
    import_template_archive(template=template, actor=request.user)
    messages.success(
        request,
        _("Template %(name)s archived: it reads no new file; its imports keep it.") % {"name": template.name},
    )
    return redirect("importmaps:list")
