"""Staff read exchange rates in Django admin and record reference rates (no agency: they serve
every agency) through fx_rate_record, like finance on the page and the API. A rate is never
changed or deleted there: lines may have been converted at it. An agency's own rates are its
owner's and finance's to record (page and API), not staff's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.common.admin import ReadOnlyAdmin, ReadOnlyInline
from apps.common.exceptions import ApplicationError
from apps.income.models import FxRate, ImportRowError, StatementImport
from apps.income.services import fx_rate_record


class ReferenceRateForm(forms.ModelForm):
    # A string, not the model's DecimalField: the service's sentences for 0, negative and too
    # precise rates are the ones people read everywhere.
    rate = forms.CharField(
        label=_("Rate"), max_length=40, help_text=_("How many quote units one base unit buys, e.g. 7.1234")
    )
    actor: Any = None  # the staff user, set by FxRateAdmin.get_form
    recorded: FxRate | None = None

    class Meta:
        model = FxRate
        fields = ("base", "quote", "date", "source")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        # The service records here, inside the admin's transaction (changeform_view is atomic),
        # so that its refusal is shown by its field like any form error; the admin then only
        # logs the addition (FxRateAdmin.save_form, save_model).
        try:
            self.recorded = fx_rate_record(
                agency=None,
                actor=self.actor,
                base=data.get("base"),
                quote=data.get("quote"),
                date=data.get("date"),
                rate=data.get("rate"),
                source=data.get("source"),
            ).rate
        except ApplicationError as error:
            field = error.extra.get("field")
            self.add_error(field if field in self.fields else None, error.message)
        return data

    # The service checks the constraints (a duplicate, base = quote) with its own sentences; the
    # model form's checks would run after it recorded the rate, and find the rate itself.
    def validate_unique(self) -> None:
        return None

    def validate_constraints(self) -> None:
        return None


@admin.register(FxRate)
class FxRateAdmin(admin.ModelAdmin):
    list_display = ("date", "base", "quote", "rate_text", "source", "agency", "recorded_by", "created_at")
    list_filter = ("agency", "base", "quote")
    list_select_related = ("agency", "recorded_by")
    search_fields = ("source",)
    date_hierarchy = "date"
    actions = None
    form = ReferenceRateForm

    @admin.display(description=_("rate"))
    def rate_text(self, rate: FxRate) -> str:
        return rate.rate_text

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return type("ReferenceRateAddForm", (form,), {"actor": request.user})
        return form

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        return form.recorded  # recorded by the service in form.clean()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        return None  # already saved by fx_rate_record

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None  # a rate has no many-to-many fields or inlines

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ImportRowErrorInline(ReadOnlyInline):
    model = ImportRowError
    fields = ("row_number", "column", "reason")
    readonly_fields = fields
    max_num = 0

    # A file may carry thousands of bad rows; the first 100 here, all of them on the row error list.
    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super().get_queryset(request)
        ids = list(queryset.order_by("row_number").values_list("pk", flat=True)[:100])
        return queryset.filter(pk__in=ids)


@admin.register(StatementImport)
class StatementImportAdmin(ReadOnlyAdmin):
    """Staff read imports here; an import runs only through its pipeline (page, API, worker)."""

    list_display = (
        "public_id",
        "agency",
        "original_name",
        "status",
        "rows_total",
        "imported_count",
        "error_count",
        "created_at",
    )
    list_filter = ("status", "format", "agency")
    search_fields = ("=public_id", "original_name", "=content_sha256")
    list_select_related = ("agency",)
    fields = (
        "public_id",
        "agency",
        "original_name",
        "format",
        "encoding",
        "content_sha256",
        "status",
        "is_all_or_nothing",
        "rows_total",
        "rows_done",
        "imported_count",
        "duplicate_count",
        "error_count",
        "adjustment_count",
        "exception_count",
        "message",
        "attempts",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "lines",
    )
    readonly_fields = fields
    inlines = [ImportRowErrorInline]

    @admin.display(description=_("income lines"))
    def lines(self, statement_import: StatementImport) -> str:
        url = (
            reverse("admin:income_incomeline_changelist")
            + f"?statement_import__id__exact={statement_import.pk}"
        )
        return format_html('<a href="{}">{}</a>', url, _("the lines this import recorded"))


@admin.register(ImportRowError)
class ImportRowErrorAdmin(ReadOnlyAdmin):
    list_display = ("statement_import", "row_number", "column", "reason")
    search_fields = ("=statement_import__public_id",)
    list_select_related = ("statement_import",)
    readonly_fields = ("statement_import", "row_number", "column", "reason")
