"""{% import_template_panel import %}: on an import's page (apps/income/templates/income/
import.html), which template read it, or, for a file nothing could read, the way on: map its
columns, or choose among the agency's templates that have its header."""

from __future__ import annotations

from typing import Any

from django import template

from apps.common.exceptions import ApplicationError
from apps.common.tenancy import scope_for
from apps.importmaps.files import read_head, stored_opener
from apps.importmaps.reader import TEMPLATE_FORMAT
from apps.importmaps.selectors import import_template_matches, import_template_use_for_import
from apps.income.models import StatementImport
from apps.income.services import INCOME_ROLES

register = template.Library()


def _offer(statement_import: StatementImport) -> dict[str, Any] | None:
    """For a file refused whole (nothing staged, no row error): the templates with its header."""
    if (
        statement_import.status != StatementImport.Status.FAILED
        or statement_import.rows_total
        or statement_import.error_count
    ):
        return None
    try:
        head = read_head(stored_opener(statement_import.file))
    except ApplicationError:  # not readable as a table at all: a template would not help
        return None
    matches = import_template_matches(agency_id=statement_import.agency_id, head=head.detection_cells())
    return {"matches": [match.version.template for match in matches]}


@register.inclusion_tag("importmaps/partials/import_panel.html", takes_context=True)
def import_template_panel(context: dict[str, Any], statement_import: StatementImport) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    use = None
    if statement_import.format == TEMPLATE_FORMAT:
        use = import_template_use_for_import(statement_import=statement_import)
    can_import = scope_for(user).agency_roles.get(statement_import.agency_id) in INCOME_ROLES
    return {
        "import": statement_import,
        "use": use,
        "offer": _offer(statement_import) if can_import else None,
        "csrf_token": context.get("csrf_token"),
    }
