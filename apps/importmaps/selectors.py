"""Reads of import templates, through the caller's scope (apps.common.tenancy): an agency's
active members see its templates; everyone else gets 404. Also what a file's head matches, and
the preview: the first rows of a file as a mapping would import them, checked by the pipeline's
own validation (canonical.validate_row), nothing saved."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db.models import F, QuerySet

from apps.agencies.models import Agency
from apps.agencies.time import agency_local_datetime, agency_zone
from apps.common.catalog import platform_name, source_name
from apps.common.money import format_money
from apps.common.tenancy import get_scoped_or_404, scoped
from apps.importmaps.mapping import FIELD_LABELS, Mapping, RowMapper, header_signature, template_rows
from apps.importmaps.models import ImportTemplate, ImportTemplateUse, ImportTemplateVersion
from apps.income.importers import exports
from apps.income.importers.canonical import COLUMNS, CanonicalRow, validate_row

PREVIEW_ROWS = 10


def import_template_list_for_actor(
    *, actor: Any, agency: Agency | None = None, include_archived: bool = False
) -> QuerySet[ImportTemplate]:
    templates = scoped(ImportTemplate.objects.all(), actor, agency_field="agency")
    if agency is not None:
        templates = templates.filter(agency=agency)
    if not include_archived:
        templates = templates.filter(is_archived=False)
    return templates.select_related("agency", "current_version").order_by("agency__name", "name", "pk")


def import_template_get_for_actor(*, actor: Any, public_id: UUID | str) -> ImportTemplate:
    return get_scoped_or_404(
        import_template_list_for_actor(actor=actor, include_archived=True), public_id=public_id
    )


def import_template_versions(*, template: ImportTemplate) -> QuerySet[ImportTemplateVersion]:
    return template.versions.select_related("created_by").order_by("-number")


def import_template_version_get(*, template: ImportTemplate, number: int) -> ImportTemplateVersion:
    from apps.common.exceptions import NotFound

    version = template.versions.filter(number=number).first()
    if version is None:
        raise NotFound()
    return version


@dataclass(frozen=True, slots=True)
class TemplateMatch:
    version: ImportTemplateVersion
    header_row: int  # where the file has the version's header


def import_template_matches(*, agency_id: int, head: Iterable[Sequence[Any]]) -> list[TemplateMatch]:
    """The agency's templates (their current versions) whose header is one of the head's rows,
    by name; one query. More than one is the person's choice, never Fenrun's."""
    rows: dict[str, int] = {}
    for number, cells in enumerate(head, start=1):
        signature = header_signature(cells)
        if signature is not None:
            rows.setdefault(signature, number)
    if not rows:
        return []
    versions = (
        ImportTemplateVersion.objects.filter(
            template__agency_id=agency_id,
            template__is_archived=False,
            template__current_version=F("pk"),
            signature__in=list(rows),
        )
        .select_related("template")
        .order_by("template__name", "template_id")
    )
    return [TemplateMatch(version, rows[version.signature]) for version in versions]


def import_template_same_header(*, template: ImportTemplate) -> list[ImportTemplate]:
    """The agency's other active templates for the same header: a file with it asks which."""
    version = template.current_version
    if version is None:
        return []
    return list(
        ImportTemplate.objects.filter(
            agency_id=template.agency_id,
            is_archived=False,
            current_version__signature=version.signature,
        )
        .exclude(pk=template.pk)
        .order_by("name")
    )


def import_template_use_for_import(*, statement_import: Any) -> ImportTemplateUse | None:
    """Which template version read this import, if one did (the import's own page and API)."""
    return (
        ImportTemplateUse.objects.filter(statement_import_id=statement_import.pk)
        .select_related("version__template")
        .first()
    )


# --- the preview -----------------------------------------------------------------------------------


@dataclass(slots=True)
class PreviewRow:
    number: int
    values: dict[str, str]  # canonical field -> what the line will say (or the mapped text)
    errors: list[tuple[str, str]]

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def labelled(self) -> list[tuple[str, str]]:
        """(the field's name for people, value) of the fields with a value, in canonical order."""
        return [(str(FIELD_LABELS[name]), value) for name, value in self.values.items() if value]


@dataclass(slots=True)
class Preview:
    header_row: int
    header: list[str]
    rows: list[PreviewRow] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(1 for row in self.rows if row.errors)


def _shown(row: CanonicalRow, agency: Agency) -> dict[str, str]:
    return {
        "external_id": row.external_id,
        "occurred_at": agency_local_datetime(agency, row.occurred_at).strftime("%Y-%m-%d %H:%M %z"),
        "platform": platform_name(row.platform),
        "account_id": row.account_id,
        "source": source_name(row.source),
        "gross": format_money(row.gross_minor, row.currency),
        "currency": row.currency,
        "order_ref": row.order_ref,
        "refund_of": row.refund_of,
        "description": row.description,
    }


def import_template_preview(
    *,
    agency: Agency,
    mapping: Mapping,
    header: Sequence[Any],
    header_row: int,
    rows: Iterable[tuple[int, Sequence[Any]]],
    is_workbook: bool = False,
    limit: int = PREVIEW_ROWS,
) -> Preview:
    """The first `limit` data rows as the import would record them, each with every error the
    import would report on it (the template's, then canonical.validate_row's); the rows skipped
    before the last of them and why. Reads nothing but `rows`, writes nothing."""
    zone = agency_zone(agency)
    report = exports.ReadReport()
    mapper = RowMapper(mapping, header, zone=zone, is_workbook=is_workbook)
    preview = Preview(header_row=header_row, header=[str(name) for name in header])
    for mapped in template_rows(mapper, rows, header_row, report=report):
        raw = mapped.raw
        raw.errors = mapped.errors or None
        result = validate_row(raw, zone)
        if isinstance(result, CanonicalRow):
            preview.rows.append(PreviewRow(raw.row_number, _shown(result, agency), []))
        else:
            values = {column: raw.values.get(column, "") for column in COLUMNS}
            preview.rows.append(PreviewRow(raw.row_number, values, result))
        if len(preview.rows) >= limit:
            break
    last = preview.rows[-1].number if len(preview.rows) >= limit else None
    preview.skipped = [(row, reason) for row, reason in report.skipped if last is None or row < last]
    preview.warnings = list(report.warnings)
    return preview


def import_template_last_import(*, template: ImportTemplate) -> Any:
    """The last import this template read (its file previews a new version), or None."""
    use = (
        ImportTemplateUse.objects.filter(version__template=template)
        .select_related("statement_import__agency")
        .order_by("-pk")
        .first()
    )
    return use.statement_import if use is not None else None


def import_template_version_summary(*, version: ImportTemplateVersion) -> list[dict[str, str]]:
    """Each mapped field in words, for the template's page: where it comes from, and how."""
    from django.utils.translation import gettext as _

    lines = []
    for name in COLUMNS:
        entry = (version.mapping.get("fields") or {}).get(name)
        if not entry:
            continue
        parts = []
        if entry.get("columns"):
            parts.append(_("column %(columns)s") % {"columns": " + ".join(entry["columns"])})
        if entry.get("column"):
            parts.append(_("column %(column)s") % {"column": entry["column"]})
        if entry.get("constant"):
            parts.append(_("always %(value)s") % {"value": entry["constant"]})
        if entry.get("values"):
            parts.append(
                _("translated: %(pairs)s")
                % {"pairs": ", ".join(f"{written} → {meant}" for written, meant in entry["values"].items())}
            )
        if entry.get("date_format"):
            parts.append(_("format %(format)s") % {"format": entry["date_format"]})
        if entry.get("minor_units"):
            parts.append(_("in minor units (fen, cents)"))
        if entry.get("direction"):
            direction = entry["direction"]
            parts.append(
                _("sign from %(column)s: %(positive)s +, %(negative)s −")
                % {
                    "column": direction["column"],
                    "positive": " / ".join(direction["positive"]),
                    "negative": " / ".join(direction["negative"]),
                }
            )
        lines.append({"field": str(FIELD_LABELS[name]), "how": "; ".join(parts)})
    return lines
