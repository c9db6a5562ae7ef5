"""Writes of import templates: create (version 1), change (a new version: an earlier import
keeps the version it used), archive, and import a file with a chosen template.

Who: an agency's owner, managers and finance (income's INCOME_ROLES, the people who import);
another agency's member gets 404, a viewer 403 (apps.common.tenancy.require_agency_role).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from apps.agencies.models import Agency
from apps.common.exceptions import ApplicationError, NotFound
from apps.common.tenancy import require_agency_role
from apps.importmaps.files import read_head, stored_opener, upload_opener
from apps.importmaps.mapping import (
    Mapping,
    header_signature,
    mapping_from_data,
    mapping_to_data,
)
from apps.importmaps.models import ImportTemplate, ImportTemplateUse, ImportTemplateVersion
from apps.importmaps.selectors import import_template_matches
from apps.income.importers.canonical import cell_text
from apps.income.models import StatementImport
from apps.income.pipeline import statement_import_create
from apps.income.services import INCOME_ROLES

MAX_HEADER_CELLS = 200
MAX_HEADER_CELL_LENGTH = 200


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ApplicationError(
            _("Give the template a name."), code="template_invalid", extra={"field": "name"}
        )
    if len(name) > 100:
        raise ApplicationError(
            _("A template's name has at most 100 characters."),
            code="template_invalid",
            extra={"field": "name"},
        )
    return name


def _clean_header(header: Sequence[Any]) -> list[str]:
    if not isinstance(header, list | tuple) or not header:
        raise ApplicationError(
            _("Give the file's header: its column names in order."),
            code="template_invalid",
            extra={"field": "header"},
        )
    cells = [cell_text(cell) for cell in header]
    while cells and not cells[-1]:
        cells.pop()
    if len(cells) > MAX_HEADER_CELLS or any(len(cell) > MAX_HEADER_CELL_LENGTH for cell in cells):
        raise ApplicationError(
            _("A header has at most %(cells)s columns of %(length)s characters.")
            % {"cells": MAX_HEADER_CELLS, "length": MAX_HEADER_CELL_LENGTH},
            code="template_invalid",
            extra={"field": "header"},
        )
    if any("\x00" in cell for cell in cells):
        raise ApplicationError(
            _("The header contains a NUL character (\\x00), which a template cannot store; remove it."),
            code="template_invalid",
            extra={"field": "header"},
        )
    if header_signature(cells) is None:
        raise ApplicationError(
            _("A header names at least two columns."), code="template_invalid", extra={"field": "header"}
        )
    return cells


def _name_taken(agency: Agency, name: str, *, except_pk: int | None = None) -> ApplicationError | None:
    others = ImportTemplate.objects.filter(agency=agency, name=name, is_archived=False)
    if except_pk is not None:
        others = others.exclude(pk=except_pk)
    if others.exists():
        return ApplicationError(
            _("%(agency)s already has a template named %(name)r.") % {"agency": agency.name, "name": name},
            code="template_name_taken",
            extra={"field": "name"},
        ).with_status(409)
    return None


def _add_version(
    template: ImportTemplate, *, actor: Any, header: list[str], header_row: int, mapping: Mapping, number: int
) -> ImportTemplateVersion:
    version = ImportTemplateVersion.objects.create(
        template=template,
        number=number,
        header=header,
        signature=header_signature(header) or "",
        header_row=max(1, min(int(header_row or 1), 32_000)),
        mapping=mapping_to_data(mapping, header),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    template.current_version = version
    template.save(update_fields=["current_version", "updated_at"])
    return version


def import_template_create(
    *, agency: Agency, actor: Any, name: str, header: Sequence[Any], mapping: Any, header_row: int = 1
) -> ImportTemplate:
    """A new template and its version 1; the mapping is checked against the header first."""
    require_agency_role(actor, agency, INCOME_ROLES)
    name = _clean_name(name)
    cells = _clean_header(header)
    checked = mapping_from_data(mapping, cells)
    if (taken := _name_taken(agency, name)) is not None:
        raise taken
    try:
        with transaction.atomic():
            template = ImportTemplate.objects.create(
                agency=agency, name=name, created_by=actor if getattr(actor, "pk", None) else None
            )
            _add_version(
                template, actor=actor, header=cells, header_row=header_row, mapping=checked, number=1
            )
    except IntegrityError:  # the same name saved at the same moment by someone else
        raise _name_taken(agency, name) or ApplicationError(_("The template could not be saved.")) from None
    return template


def import_template_update(
    *,
    template: ImportTemplate,
    actor: Any,
    name: str | None = None,
    header: Sequence[Any] | None = None,
    header_row: int | None = None,
    mapping: Any = None,
) -> ImportTemplate:
    """Rename, and/or save a new version (number = the last + 1) when the header or the mapping
    differ from the current version's; the versions before stay as they were."""
    require_agency_role(actor, template.agency, INCOME_ROLES)
    if template.is_archived:
        raise ApplicationError(_("This template is archived; it cannot change."), code="template_archived")
    with transaction.atomic():
        # The row lock numbers versions one after the other (two edits at once: 2, then 3).
        locked = ImportTemplate.objects.select_for_update(no_key=True).get(pk=template.pk)
        current = locked.current_version
        assert current is not None  # every template is created with its version 1
        if name is not None:
            new_name = _clean_name(name)
            if new_name != locked.name:
                if (taken := _name_taken(locked.agency, new_name, except_pk=locked.pk)) is not None:
                    raise taken
                locked.name = new_name
                locked.save(update_fields=["name", "updated_at"])
        cells = _clean_header(header) if header is not None else list(current.header)
        data = mapping if mapping is not None else current.mapping
        checked = mapping_from_data(data, cells)
        row = header_row if header_row is not None else current.header_row
        if (
            cells != current.header
            or mapping_to_data(checked, cells) != current.mapping
            or row != current.header_row
        ):
            last = locked.versions.order_by("-number").values_list("number", flat=True).first() or 0
            _add_version(locked, actor=actor, header=cells, header_row=row, mapping=checked, number=last + 1)
    locked.refresh_from_db()
    return locked


def import_template_archive(*, template: ImportTemplate, actor: Any) -> ImportTemplate:
    """The template matches no file any more; its versions and the imports they read stay."""
    require_agency_role(actor, template.agency, INCOME_ROLES)
    ImportTemplate.objects.filter(pk=template.pk).update(is_archived=True)
    template.refresh_from_db()
    return template


def _check_header(template: ImportTemplate, opener: Any) -> None:
    head = read_head(opener)
    matches = import_template_matches(agency_id=template.agency_id, head=head.detection_cells())
    if not any(match.version.template_id == template.pk for match in matches):
        raise ApplicationError(
            _("This file does not have the header template %(name)s is for (%(columns)s).")
            % {
                "name": template.name,
                "columns": ", ".join(template.current_version.header if template.current_version else []),
            },
            code="template_header_mismatch",
        )


def import_template_import(
    *,
    template: ImportTemplate,
    actor: Any,
    file: UploadedFile | None = None,
    statement_import: StatementImport | None = None,
    is_all_or_nothing: bool = False,
) -> StatementImport:
    """Import `file`, or again the file of `statement_import` (one that waited for a template),
    with this template's current version: the person's choice, recorded on the new import, even
    when the file's header matches other templates too."""
    require_agency_role(actor, template.agency, INCOME_ROLES)
    if template.is_archived:
        raise ApplicationError(_("This template is archived; it cannot change."), code="template_archived")
    if (file is None) == (statement_import is None):
        raise ApplicationError(_("Give a file, or the import whose file to read."), code="invalid")
    if statement_import is not None:
        if statement_import.agency_id != template.agency_id:
            raise NotFound()
        stored = statement_import.file
        stored_name = stored.name or ""  # statement_import_create always stores the file
        with stored.storage.open(stored_name, "rb") as stream:
            upload = UploadedFile(
                file=stream,
                name=statement_import.original_name or os.path.basename(stored_name),
                size=stored.size,
            )
            return _import_with(template, actor, upload, stored_opener(stored), is_all_or_nothing)
    assert file is not None
    return _import_with(template, actor, file, upload_opener(file), is_all_or_nothing)


def _import_with(
    template: ImportTemplate, actor: Any, upload: UploadedFile, opener: Any, is_all_or_nothing: bool
) -> StatementImport:
    _check_header(template, opener)
    assert template.current_version is not None
    with transaction.atomic():
        # "auto": the pipeline reads a file no adapter knows with the template its use row names
        # (apps/importmaps/reader.py); both commit before the import's task is enqueued.
        created = statement_import_create(
            agency=template.agency, actor=actor, file=upload, is_all_or_nothing=is_all_or_nothing
        )
        ImportTemplateUse.objects.create(
            statement_import=created, version=template.current_version, is_chosen=True
        )
    return created
