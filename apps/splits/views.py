"""The simulator page (paste a rule set, type a few income lines, see each split explained) and the
published documents: the split algorithm and the canonical statement, from the repository's docs/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from apps.common.views import page_errors
from apps.splits.engine import InvalidDocument
from apps.splits.forms import IncomeLineFormSet, RuleSetForm
from apps.splits.services import split_simulate

# The documents the app serves, by the slug of their URL: a fixed list, so no path reaches the disk.
DOCUMENTS = {
    "split-rules": "split-rules.md",
    "statement-csv": "statement-csv.md",
    "merkle": "merkle.md",
    "withholding": "withholding.md",
    "exchange-rates": "exchange-rates.md",
    "payouts": "payouts.md",
    "statements": "statements.md",
    "disputes": "disputes.md",
    "onboarding": "onboarding.md",
    "reports": "reports.md",
    "contracts": "contracts.md",
}
# Line fields of the engine's document -> the field of the form row that shows their errors.
_ROW_FIELDS = {"gross": "gross", "expenses": "expenses", "occurred_at": "occurred_at", "currency": "gross"}


@login_required
@require_http_methods(["GET", "POST"])
@page_errors
def simulator(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        blank = {"form": RuleSetForm(), "formset": IncomeLineFormSet(initial=_example_lines())}
        return render(request, "splits/simulator.html", blank)

    form = RuleSetForm(request.POST)
    formset = IncomeLineFormSet(request.POST)
    context: dict[str, Any] = {"form": form, "formset": formset}
    if not (form.is_valid() and formset.is_valid()):
        return render(request, "splits/simulator.html", context, status=400)

    rules = form.cleaned_data["rules"]
    timezone = rules.get("timezone") if isinstance(rules, dict) else None
    rows = [(index, row) for index, row in enumerate(formset.forms) if not row.is_blank()]
    document: dict[str, Any] = {
        "rules": rules,
        "lines": [row.as_line(line_id=f"L{index + 1}", timezone=timezone) for index, row in rows],
    }
    if form.cleaned_data["advance_outstanding"].strip():
        document["initial"] = {"advance_outstanding": form.cleaned_data["advance_outstanding"].strip()}

    try:
        simulation = split_simulate(document=document, viewer=None)
    except InvalidDocument as error:
        _show_document_error(error, form, rows)
        return render(request, "splits/simulator.html", context, status=400)
    if simulation.invalid_rules is not None:
        invalid = simulation.invalid_rules
        context["rules_error_path"] = invalid.path
        form.add_error("rules", f"{invalid.path}: {invalid.message}")
        return render(request, "splits/simulator.html", context, status=400)

    for (_index, row), line in zip(rows, simulation.lines, strict=True):
        error_step = line.result.get("error") and _error_step(line.trace)
        if error_step and error_step["field"] in _ROW_FIELDS:
            row.add_error(_ROW_FIELDS[error_step["field"]], line.explanation[0])
    context["simulation"] = simulation
    context["parties"] = rules["parties"]
    return render(request, "splits/simulator.html", context)


def _error_step(trace: list[dict[str, Any]]) -> dict[str, Any] | None:
    return trace[0] if trace and trace[0]["step"] == "error" else None


def _show_document_error(error: InvalidDocument, form: RuleSetForm, rows: list) -> None:
    """Put a document problem next to the field it names: a line's field, or the rule set."""
    parts = error.path.split("/")
    if len(parts) >= 4 and parts[1] == "lines" and parts[2].isdigit() and int(parts[2]) < len(rows):
        _index, row = rows[int(parts[2])]
        field = _ROW_FIELDS.get(parts[3])
        if field:
            row.add_error(field, error.message)
            return
    if parts[1:2] == ["initial"]:
        form.add_error("advance_outstanding", error.message)
        return
    form.add_error(None, f"{error.path}: {error.message}")


def _example_lines() -> list[dict[str, str]]:
    return [
        {"gross": "10000.00", "source": "brand_deal", "platform": "douyin", "occurred_at": "2026-11-03"},
        {"gross": "120000.00", "source": "brand_deal", "platform": "bilibili", "occurred_at": "2026-11-10"},
        {"gross": "800.00", "source": "live_gifts", "platform": "kuaishou", "occurred_at": "2026-11-12"},
    ]


def _document_text(name: str) -> str:
    filename = DOCUMENTS.get(name)
    if filename is None:
        raise Http404("No such document.")
    return (Path(settings.BASE_DIR) / "docs" / filename).read_text(encoding="utf-8")


@require_GET
def document(request: HttpRequest, name: str) -> HttpResponse:
    """A published document, readable by anyone (the algorithm is public), as preformatted text."""
    text = _document_text(name)
    title = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")), name)
    return render(request, "splits/document.html", {"title": title, "text": text, "name": name})


@require_GET
def document_source(request: HttpRequest, name: str) -> HttpResponse:
    """The document's Markdown source, as plain text (to save, diff or re-implement from)."""
    return HttpResponse(_document_text(name), content_type="text/plain; charset=utf-8")
