"""Reports API: GET /api/v1/reports/revenue/ (JSON, paginated with ?limit=/?offset=, each
currency's totals beside the page) and GET /api/v1/reports/revenue/csv/ (the same report as CSV,
every row), with ?group=month|creator|platform|source, ?from=YYYY-MM, ?to=YYYY-MM and, for
someone in several agencies, ?agency=<uuid> (default: their first by name).

Thin views over apps.reports.selectors. Refusals are problem documents: 400 a malformed month,
`from` after `to`, more than 36 months or an unknown group; 403 someone who is a member of no
agency (a creator); 404 an agency that is not theirs.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agencies.time import agency_today
from apps.common.money import to_decimal_string
from apps.common.pagination import Pagination
from apps.reports.csv_export import report_csv_chunks, report_filename
from apps.reports.selectors import (
    GROUPS,
    MAX_MONTHS,
    Figures,
    RevenueReport,
    RevenueRow,
    report_agency_for_actor,
    report_group_parse,
    report_period_parse,
    revenue_report,
)

PARAMETERS = [
    OpenApiParameter(
        "group",
        str,
        enum=list(GROUPS),
        description="What each row is: a month (default), a creator, a platform or an income source.",
    ),
    OpenApiParameter("from", str, description="First month, YYYY-MM (default: eleven months before `to`)."),
    OpenApiParameter(
        "to",
        str,
        description=f"Last month, YYYY-MM, included (default: the agency's current month); at most "
        f"{MAX_MONTHS} months in all.",
    ),
    OpenApiParameter("agency", UUID, description="Agency public id (default: your first agency by name)."),
]


FIGURE_FIELDS = ("gross", "deductions", "creators_share", "other_parties", "agency_revenue")


def _money(minor: int, currency: str) -> str:
    return to_decimal_string(minor, currency)


def _figures(figures: Figures) -> dict[str, Any]:
    currency = figures.currency
    return {
        "currency": currency,
        "lines": figures.line_count,
        "gross": _money(figures.gross_minor, currency),
        "deductions": _money(figures.deductions_minor, currency),
        "creators_share": _money(figures.creators_minor, currency),
        "other_parties": _money(figures.others_minor, currency),
        "agency_revenue": _money(figures.agency_minor, currency),
    }


class RevenueFiguresOutput(serializers.Serializer):
    """Decimal strings in `currency`, e.g. "1234.56"; gross = deductions + creators_share +
    other_parties + agency_revenue."""

    currency = serializers.CharField()
    lines = serializers.IntegerField(help_text="Recognised lines counted.")
    gross = serializers.CharField()
    deductions = serializers.CharField(help_text="Platform fees, tax reserves, deal expenses…")
    creators_share = serializers.CharField(
        help_text="The creators' payable plus the advance recouped from it."
    )
    other_parties = serializers.CharField()
    agency_revenue = serializers.CharField(help_text="The agency's own share.")


class RevenueLedgerOutput(serializers.Serializer):
    gross = serializers.CharField(help_text="Income clearing's movement in the month.")
    deductions = serializers.CharField()
    agency_revenue = serializers.CharField(help_text="The agency revenue account the splits post to.")
    corrections = serializers.CharField(
        help_text="The agency's other revenue accounts: disputes resolved with money, manual adjustments."
    )


class RevenueRowOutput(RevenueFiguresOutput):
    key = serializers.CharField(help_text="The month (2026-11), creator public id, platform or source code.")
    label = serializers.CharField()  # type: ignore[assignment]  # API field "label": the metaclass takes it off the class; stubs see Field.label
    ledger = serializers.SerializerMethodField(help_text="The ledger's figures (month report only).")

    @extend_schema_field(RevenueLedgerOutput(allow_null=True))
    def get_ledger(self, row: dict[str, Any]) -> dict[str, str] | None:
        return row["ledger"]


def _row(row: RevenueRow) -> dict[str, Any]:
    currency = row.figures.currency
    ledger = row.ledger
    return {
        "key": row.key,
        "label": row.label,
        **_figures(row.figures),
        "ledger": None
        if ledger is None
        else {
            "gross": _money(ledger.gross_minor, currency),
            "deductions": _money(ledger.deductions_minor, currency),
            "agency_revenue": _money(ledger.agency_minor, currency),
            "corrections": _money(ledger.corrections_minor, currency),
        },
    }


class ReportPagination(Pagination):
    """A page of rows with what the report is about and each currency's totals beside it."""

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paged = super().get_paginated_response_schema(schema)
        paged["required"] = [*paged.get("required", []), "agency", "group", "from", "to", "totals"]
        paged["properties"] = {
            "agency": {"type": "string", "format": "uuid"},
            "group": {"type": "string", "enum": list(GROUPS)},
            "from": {"type": "string", "example": "2026-01"},
            "to": {"type": "string", "example": "2026-12"},
            "totals": {
                "type": "array",
                "description": "One per currency (never added across currencies).",
                "items": {
                    "type": "object",
                    "properties": {
                        "currency": {"type": "string"},
                        "lines": {"type": "integer"},
                        **{name: {"type": "string"} for name in FIGURE_FIELDS},
                    },
                },
            },
            **paged["properties"],
        }
        return paged


def _report(request: Request) -> RevenueReport:
    params = request.query_params
    agency = report_agency_for_actor(actor=request.user, public_id=params.get("agency"))
    group = report_group_parse(params.get("group"))
    period = report_period_parse(first=params.get("from"), last=params.get("to"), today=agency_today(agency))
    return revenue_report(actor=request.user, agency=agency, group=group, period=period)


class RevenueReportApi(APIView):
    pagination_class = ReportPagination

    @extend_schema(parameters=PARAMETERS, responses=RevenueRowOutput(many=True))
    def get(self, request: Request) -> Response:
        report = _report(request)
        paginator = self.pagination_class()
        # A creator report is a lazy set of rows: count() and one slice are a query each.
        page = paginator.paginate_queryset(report.rows, request, view=self)  # type: ignore[arg-type]
        response = paginator.get_paginated_response(
            RevenueRowOutput([_row(row) for row in page or []], many=True).data
        )
        response.data = {
            "agency": str(report.agency.public_id),
            "group": report.group,
            "from": report.period.first,
            "to": report.period.last,
            "totals": [_figures(total) for total in report.totals],
            **response.data,
        }
        return response


class RevenueReportCsvApi(APIView):
    """The same report as CSV, every row (the reports page's download)."""

    @extend_schema(
        parameters=PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The report (UTF-8 CSV)")
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        report = _report(request)
        response = StreamingHttpResponse(report_csv_chunks(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{report_filename(report)}"'
        return response
