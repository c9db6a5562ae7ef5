"""Statements API: the list (paginated, scoped: agency members their agencies' statements, a
creator their own published ones), a statement with its figures, lines, withholding computations,
lateness and posted late interest, drafting a closed month and publishing (owner or finance),
posting late interest (owner or finance), acknowledging (the creator), and the quarter's income
per creator as CSV (owner or finance). Refusals are
problem documents: 400 an open or malformed month, 403 a role that may not, 404 another
tenant's statement, 409 a statement already published or corrected."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agencies.selectors import agency_get_for_actor
from apps.common.api import validated
from apps.common.money import to_decimal_string
from apps.common.pagination import Pagination, paginated
from apps.idempotency.api import idempotent
from apps.statements.csv_export import quarter_income_csv
from apps.statements.models import Statement
from apps.statements.selectors import (
    interest_postings_of_month,
    quarter_income,
    quarter_parse,
    statement_difference,
    statement_get_for_actor,
    statement_lateness,
    statement_lines,
    statement_list_for_actor,
    statement_withholdings,
)
from apps.statements.services import (
    statement_acknowledge,
    statement_late_interest_post,
    statement_publish,
    statement_url,
    statements_draft,
)


def _money(minor: int, currency: str) -> str:
    return to_decimal_string(minor, currency)


class FiguresOutput(serializers.Serializer):
    opening = serializers.CharField()
    gross = serializers.CharField()
    deductions = serializers.CharField()
    expenses = serializers.CharField()
    others_share = serializers.CharField()
    recouped = serializers.CharField()
    income_share = serializers.CharField()
    guarantee_top_up = serializers.CharField()
    late_interest = serializers.CharField()
    tax = serializers.CharField()
    payouts = serializers.CharField()
    adjustments = serializers.CharField()
    closing = serializers.CharField()


def _figures(values: dict[str, int], currency: str) -> dict[str, str]:
    return {name.removesuffix("_minor"): _money(amount, currency) for name, amount in values.items()}


class StatementOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    agency = serializers.UUIDField(source="agency.public_id")
    creator = serializers.UUIDField(source="creator.public_id")
    creator_name = serializers.CharField(source="creator.display_name")
    period = serializers.CharField()
    currency = serializers.CharField()
    number = serializers.IntegerField(allow_null=True, help_text="Gapless per agency; null for a draft.")
    status = serializers.CharField()
    corrects = serializers.UUIDField(source="corrects.public_id", allow_null=True, default=None)
    figures = serializers.SerializerMethodField()
    statement_due = serializers.DateField()
    payment_due = serializers.DateField()
    late_interest_percent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=True)
    content_sha256 = serializers.CharField()
    pdf_sha256 = serializers.CharField()
    ledger_head_seq = serializers.IntegerField(allow_null=True)
    ledger_head_hash = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    acknowledged_at = serializers.SerializerMethodField()

    @extend_schema_field(FiguresOutput)
    def get_figures(self, statement: Statement) -> dict[str, str]:
        return _figures({name: getattr(statement, name) for name in Statement.FIGURES}, statement.currency)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_acknowledged_at(self, statement: Statement) -> Any:
        acknowledgement = getattr(statement, "acknowledgement", None)
        return acknowledgement.acknowledged_at.isoformat() if acknowledgement else None


class LineOutput(serializers.Serializer):
    line = serializers.UUIDField(source="line_public_id")
    external_id = serializers.CharField()
    posted_on = serializers.DateField()
    platform = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # API field "source": stubs see Field.source
    description = serializers.CharField()
    gross = serializers.SerializerMethodField()
    line_currency = serializers.CharField()
    creator_share = serializers.SerializerMethodField()

    def get_gross(self, line: Any) -> str:
        return _money(line.gross_minor, line.line_currency)

    def get_creator_share(self, line: Any) -> str:
        return _money(line.creator_share_minor, self.context["currency"])


class LatenessOutput(serializers.Serializer):
    today = serializers.DateField()
    statement_days_late = serializers.IntegerField()
    payment_days_late = serializers.IntegerField()
    unpaid = serializers.CharField()
    interest_days = serializers.IntegerField()
    late_interest = serializers.CharField(
        help_text="Computed per day on the unpaid amount; posted only when the agency posts it."
    )


class WithholdingOutput(serializers.Serializer):
    payout = serializers.UUIDField(source="item_public_id")
    paid_on = serializers.DateField()
    status = serializers.CharField()
    method = serializers.CharField()
    gross = serializers.SerializerMethodField()
    tax = serializers.SerializerMethodField()
    net = serializers.SerializerMethodField()
    computation = serializers.JSONField(
        help_text="As recorded on the payout, with docs/withholding.md's names."
    )

    def get_gross(self, item: Any) -> str:
        return _money(item.gross_minor, item.currency)

    def get_tax(self, item: Any) -> str:
        return _money(item.tax_minor, item.currency)

    def get_net(self, item: Any) -> str:
        return _money(item.net_minor, item.currency)


class InterestPostingOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    statement = serializers.UUIDField(source="statement.public_id")
    as_of = serializers.DateField(
        help_text="The interest runs up to and including this day; the entry is dated on it."
    )
    interest_days = serializers.IntegerField()
    late_interest_percent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=True)
    unpaid = serializers.SerializerMethodField()
    accrued = serializers.SerializerMethodField(help_text="Interest of the month accrued up to as_of.")
    posted_before = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField(help_text="What this posting added: accrued − posted before.")
    currency = serializers.CharField()
    ledger_entry = serializers.UUIDField(source="entry.public_id")
    posted_by = serializers.EmailField(source="posted_by.email")
    posted_at = serializers.DateTimeField()

    def get_unpaid(self, posting: Any) -> str:
        return _money(posting.unpaid_minor, posting.currency)

    def get_accrued(self, posting: Any) -> str:
        return _money(posting.accrued_minor, posting.currency)

    def get_posted_before(self, posting: Any) -> str:
        return _money(posting.posted_before_minor, posting.currency)

    def get_amount(self, posting: Any) -> str:
        return _money(posting.amount_minor, posting.currency)


class StatementDetailOutput(StatementOutput):
    url = serializers.SerializerMethodField()
    difference = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()
    withholding = serializers.SerializerMethodField()
    lateness = serializers.SerializerMethodField()
    late_interest_postings = serializers.SerializerMethodField()

    @extend_schema_field(InterestPostingOutput(many=True))
    def get_late_interest_postings(self, statement: Statement) -> Any:
        return InterestPostingOutput(interest_postings_of_month(statement=statement), many=True).data

    @extend_schema_field(WithholdingOutput(many=True))
    def get_withholding(self, statement: Statement) -> Any:
        return WithholdingOutput(statement_withholdings(statement=statement), many=True).data

    def get_url(self, statement: Statement) -> str:
        return statement_url(statement, self.context.get("base_url", ""))

    @extend_schema_field(FiguresOutput(allow_null=True))
    def get_difference(self, statement: Statement) -> dict[str, str] | None:
        difference = statement_difference(statement=statement)
        return _figures(difference, statement.currency) if difference is not None else None

    @extend_schema_field(LineOutput(many=True))
    def get_lines(self, statement: Statement) -> Any:
        lines = statement_lines(statement=statement)
        return LineOutput(lines, many=True, context={"currency": statement.currency}).data

    @extend_schema_field(LatenessOutput)
    def get_lateness(self, statement: Statement) -> dict[str, Any]:
        lateness = statement_lateness(statement=statement)
        return {
            "today": lateness.today,
            "statement_days_late": lateness.statement_days_late,
            "payment_days_late": lateness.payment_days_late,
            "unpaid": _money(lateness.unpaid_minor, statement.currency),
            "interest_days": lateness.interest_days,
            "late_interest": _money(lateness.late_interest_minor, statement.currency),
        }


def _detail(request: Request, statement: Statement) -> dict[str, Any]:
    fresh = statement_get_for_actor(actor=request.user, public_id=statement.public_id)
    return StatementDetailOutput(fresh, context={"base_url": request.build_absolute_uri("/")}).data


class StatementListApi(APIView):
    pagination_class = Pagination

    class FilterSerializer(serializers.Serializer):
        agency = serializers.UUIDField(required=False)
        period = serializers.RegexField(r"^[0-9]{4}-(0[1-9]|1[0-2])$", required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter("agency", UUID, description="agency public id"),
            OpenApiParameter("period", str, description="month, e.g. 2026-11"),
        ],
        responses=StatementOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        agency_id = None
        if "agency" in filters:
            agency_id = agency_get_for_actor(actor=request.user, public_id=filters["agency"]).pk
        statements = statement_list_for_actor(
            actor=request.user, agency_id=agency_id, period=filters.get("period")
        )
        return paginated(self, request, statements, StatementOutput)


class StatementDetailApi(APIView):
    @extend_schema(responses=StatementDetailOutput)
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(_detail(request, statement_get_for_actor(actor=request.user, public_id=public_id)))


class StatementsDraftApi(APIView):
    class InputSerializer(serializers.Serializer):
        agency = serializers.UUIDField()
        period = serializers.CharField(help_text="A closed month, e.g. 2026-11.")

    class OutputSerializer(serializers.Serializer):
        drafted = serializers.IntegerField()

    @idempotent
    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        agency = agency_get_for_actor(actor=request.user, public_id=data["agency"])
        drafted = statements_draft(agency=agency, period=data["period"], actor=request.user)
        return Response({"drafted": drafted}, status=201)


class StatementPublishApi(APIView):
    @extend_schema(request=None, responses=StatementDetailOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        statement = statement_get_for_actor(actor=request.user, public_id=public_id)
        published = statement_publish(
            statement=statement, actor=request.user, base_url=request.build_absolute_uri("/")
        )
        return Response(_detail(request, published))


class StatementAcknowledgeApi(APIView):
    @extend_schema(request=None, responses=StatementDetailOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        statement = statement_get_for_actor(actor=request.user, public_id=public_id)
        statement_acknowledge(statement=statement, actor=request.user)
        return Response(_detail(request, statement))


class StatementLateInterestPostApi(APIView):
    """Post the late interest accrued up to a day and not posted yet (owner or finance): 201 with
    the new posting, or 200 with the existing one when that day was posted already."""

    class InputSerializer(serializers.Serializer):
        as_of = serializers.DateField(required=False, help_text="Default: the agency's today.")

    @idempotent
    @extend_schema(
        request=InputSerializer, responses={200: InterestPostingOutput, 201: InterestPostingOutput}
    )
    def post(self, request: Request, public_id: UUID) -> Response:
        data = validated(self.InputSerializer, request.data)
        statement = statement_get_for_actor(actor=request.user, public_id=public_id)
        result = statement_late_interest_post(
            statement=statement, actor=request.user, as_of=data.get("as_of")
        )
        return Response(InterestPostingOutput(result.posting).data, status=201 if result.created else 200)


class QuarterIncomeReportApi(APIView):
    """The quarter's income per creator as CSV (owner or finance), for the agency's platform
    tax-information report; the same file as the statements page's download."""

    class FilterSerializer(serializers.Serializer):
        agency = serializers.UUIDField()
        year = serializers.IntegerField(min_value=1900, max_value=2199)
        quarter = serializers.IntegerField(min_value=1, max_value=4)

    @extend_schema(
        parameters=[
            OpenApiParameter("agency", UUID, required=True, description="agency public id"),
            OpenApiParameter("year", int, required=True, description="e.g. 2026"),
            OpenApiParameter(
                "quarter", int, required=True, description="1 to 4; its three months must be closed"
            ),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The report (UTF-8 CSV)")
        },
    )
    def get(self, request: Request) -> HttpResponse:
        filters = validated(self.FilterSerializer, request.query_params)
        agency = agency_get_for_actor(actor=request.user, public_id=filters["agency"])
        quarter = quarter_parse(year=filters["year"], quarter=filters["quarter"])
        rows = quarter_income(actor=request.user, agency=agency, quarter=quarter)
        response = HttpResponse(
            quarter_income_csv(quarter=quarter, rows=rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="income-{quarter}.csv"'
        return response
