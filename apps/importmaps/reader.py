"""Import templates in the import pipeline, through the importers' registries (detect.py):

* a *detector*, asked for a file no built-in adapter knows: when one of the agency's templates
  has a header among the file's first rows, the file is read as format "template";
* the *adapter* "template", whose detection (per import) picks the version: the one the person
  chose (ImportTemplateUse.is_chosen, written with the import), else the only template whose
  header the file has. Two or more and no choice: the import is refused with a message naming
  them, and its page asks which (never a silent pick). The choice is recorded on the import in
  the staging transaction, and the rows are read through the mapping (mapping.template_rows)
  into the canonical rows the pipeline validates and stages like any adapter's.
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.agencies.time import agency_zone
from apps.common.exceptions import ApplicationError
from apps.importmaps.mapping import RowMapper, find_header, mapping_from_data, template_rows
from apps.importmaps.models import ImportTemplateUse, ImportTemplateVersion
from apps.importmaps.selectors import TemplateMatch, import_template_matches
from apps.income.importers import detect
from apps.income.importers.canonical import RawRow
from apps.income.importers.exports import Adapter, NumberedRows, ReadContext
from apps.income.models import StatementImport

TEMPLATE_FORMAT = StatementImport.Format.TEMPLATE.value  # "template"


def _label(version: ImportTemplateVersion) -> str:
    return _("Import template %(name)s v%(number)s") % {
        "name": version.template.name,
        "number": version.number,
    }


def _detection(version: ImportTemplateVersion, header_row: int) -> detect.Detection:
    label = _label(version)
    columns = tuple(str(name) for name in version.header if name)
    return detect.Detection(
        format=TEMPLATE_FORMAT,
        label=label,
        reason=_("%(label)s: its header, on row %(row)s") % {"label": label, "row": header_row},
        header_row=header_row,
        columns=columns,
    )


def ambiguous(matches: list[TemplateMatch]) -> ApplicationError:
    names = ", ".join(match.version.template.name for match in matches)
    return ApplicationError(
        _(
            "This file's header matches %(count)s import templates (%(names)s): choose the one to"
            " import it with on the import's page."
        )
        % {"count": len(matches), "names": names},
        code="statement_template_ambiguous",
        extra={"templates": [str(match.version.template.public_id) for match in matches]},
    )


def detector(facts: detect.FileFacts, agency_id: int | None) -> detect.Detection | None:
    """The file is one of the agency's templates' when any has its header; which one (and
    whether the person must choose) is the import's detection below, which sees the import."""
    if agency_id is None:
        return None
    matches = import_template_matches(agency_id=agency_id, head=facts.head)
    if not matches:
        return None
    if len(matches) > 1:  # named, never picked: the import asks which
        label = _("Import template")
        return detect.Detection(
            format=TEMPLATE_FORMAT,
            label=label,
            reason=_("%(label)s: %(count)s templates have this header (%(names)s)")
            % {
                "label": label,
                "count": len(matches),
                "names": ", ".join(match.version.template.name for match in matches),
            },
            header_row=matches[0].header_row,
        )
    return _detection(matches[0].version, matches[0].header_row)


def detection(facts: detect.FileFacts, statement_import: Any) -> detect.Detection:
    """The version that reads this import, recorded on it (ImportTemplateUse), and where the
    file has its header."""
    if statement_import is None:
        raise ApplicationError(_("An import template reads a file for an import only."), code="invalid")
    use = (
        ImportTemplateUse.objects.filter(statement_import_id=statement_import.pk)
        .select_related("version__template")
        .first()
    )
    if use is not None:
        version = use.version
        header_row = find_header(facts.head, version.signature)
        if header_row is None:
            raise ApplicationError(
                _("This file does not have the header template %(name)s is for (%(columns)s).")
                % {"name": version.template.name, "columns": ", ".join(map(str, version.header))},
                code="template_header_mismatch",
            )
        return _detection(version, header_row)
    matches = import_template_matches(agency_id=statement_import.agency_id, head=facts.head)
    if not matches:
        raise ApplicationError(
            _("No import template of %(agency)s has this file's header.")
            % {"agency": statement_import.agency.name},
            code="statement_unknown_format",
        )
    if len(matches) > 1:
        raise ambiguous(matches)
    ImportTemplateUse.objects.create(statement_import=statement_import, version=matches[0].version)
    return _detection(matches[0].version, matches[0].header_row)


def read(
    rows: NumberedRows, header_row: int, context: ReadContext, only_rows: Container[int] | None
) -> Iterator[RawRow]:
    """The file's rows through the version `detection` recorded on the import."""
    statement_import = context.statement_import
    use = ImportTemplateUse.objects.select_related("version").get(statement_import_id=statement_import.pk)
    version = use.version
    mapper = RowMapper(
        # Checked when the version was saved; read again the same way (a version never changes).
        mapping_from_data(version.mapping, version.header),
        version.header,
        zone=agency_zone(statement_import.agency),
        is_workbook=context.is_workbook,
    )
    for mapped in template_rows(mapper, rows, header_row, report=context.report, only_rows=only_rows):
        if mapped.errors:
            mapped.raw.errors = mapped.errors
        yield mapped.raw


ADAPTER = Adapter(
    code=TEMPLATE_FORMAT,
    label=gettext_noop("Import template"),
    # Never detected by its header alone: `detection` knows the agency's templates.
    match=lambda keys: None,
    read=read,
)


def register() -> None:
    detect.register_detector(detector)
    detect.register_adapter(ADAPTER, detection=detection)
