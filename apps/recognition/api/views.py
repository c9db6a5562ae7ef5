"""Period-close API: the agency's months, a month's preview (what closing it will do) and the
close (owner or finance: 201 with the closed month and the top-ups it posted). Thin views over
apps.recognition's selectors and `period_close`; refusals leave as problem documents (400 a
malformed month or one not over, 403 a role that may not close, 404 another agency, 409 a month
already closed or an import still running)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agencies.selectors import agency_get_for_actor, agency_list_for_actor
from apps.common.api import validated
from apps.common.money import to_decimal_string
from apps.common.pagination import Pagination, paginated
from apps.idempotency.api import idempotent
from apps.recognition.period_close import period_close
from apps.recognition.selectors import period_close_preview, period_list, period_top_up_list


def _amount(minor: int, currency: str) -> str:
    return to_decimal_string(minor, currency)


class AmountOutput(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.CharField(help_text='Decimal string, e.g. "1234.56".')


class ClosedOutput(serializers.Serializer):
    closed_at = serializers.DateTimeField()
    closed_by = serializers.EmailField(
        source="closed_by.email", allow_null=True, default=None, help_text="Empty: closed by manage.py."
    )
    top_up_count = serializers.IntegerField()


class PeriodOutput(serializers.Serializer):
    agency = serializers.UUIDField(source="agency.public_id")
    period = serializers.CharField(help_text="The month, e.g. 2026-11 (the agency's time zone).")
    status = serializers.SerializerMethodField()
    closed = ClosedOutput(allow_null=True)
    income = serializers.SerializerMethodField()
    waiting_lines = serializers.IntegerField(source="waiting_count")

    def get_status(self, row: Any) -> str:
        return "closed" if row.is_closed else "open" if row.is_over else "in_progress"

    @extend_schema_field(AmountOutput(many=True))
    def get_income(self, row: Any) -> list[dict[str, str]]:
        return [{"currency": currency, "amount": _amount(net, currency)} for currency, net in row.income]


class LineSampleOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    external_id = serializers.CharField()
    exception_reason = serializers.CharField()


class ReasonCountOutput(serializers.Serializer):
    reason = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # API field "label": the metaclass takes it off the class; stubs see Field.label
    count = serializers.IntegerField()


class RunningImportOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    original_name = serializers.CharField()
    status = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)


class TopUpOutput(serializers.Serializer):
    contract_version = serializers.UUIDField(source="version_public_id")
    contract_version_label = serializers.CharField(source="version_label")
    creator = serializers.UUIDField(source="creator_public_id")
    creator_name = serializers.CharField()
    guarantee_period = serializers.CharField(source="guarantee_key")
    currency = serializers.CharField()
    guarantee = serializers.SerializerMethodField()
    creator_share = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField()

    def get_guarantee(self, item: Any) -> str:
        return _amount(item.guarantee_minor, item.currency)

    def get_creator_share(self, item: Any) -> str:
        return _amount(item.creator_total_minor, item.currency)

    def get_amount(self, item: Any) -> str:
        return _amount(item.amount_minor, item.currency)


class PostedTopUpOutput(serializers.Serializer):
    entry = serializers.UUIDField(source="entry_public_id")
    creator = serializers.UUIDField(source="creator_public_id", allow_null=True)
    creator_name = serializers.CharField()
    currency = serializers.CharField()
    amount = serializers.SerializerMethodField()
    memo = serializers.CharField()

    def get_amount(self, item: Any) -> str:
        return _amount(item.amount_minor, item.currency)


class LineCountsOutput(serializers.Serializer):
    total = serializers.IntegerField(source="line_count")
    recognised = serializers.IntegerField(source="recognised_count")
    imported = serializers.IntegerField(source="imported_count", help_text="Imported, not matched yet.")
    matched = serializers.IntegerField(source="matched_count", help_text="Matched, not recognised yet.")
    exception = serializers.IntegerField(source="exception_count", help_text="In the exceptions queue.")
    dismissed = serializers.IntegerField(source="dismissed_count")
    exceptions_by_reason = ReasonCountOutput(many=True)
    imported_sample = LineSampleOutput(many=True)
    matched_sample = LineSampleOutput(many=True)
    exception_sample = LineSampleOutput(many=True)


class PreviewOutput(serializers.Serializer):
    agency = serializers.UUIDField(source="agency.public_id")
    period = serializers.CharField()
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    is_closed = serializers.BooleanField()
    closed = ClosedOutput(allow_null=True)
    is_over = serializers.BooleanField()
    can_close = serializers.BooleanField()
    refusals = serializers.ListField(child=serializers.CharField())
    lines = LineCountsOutput(source="*")
    late_lines_note = serializers.CharField()
    running_import_count = serializers.IntegerField()
    running_imports = RunningImportOutput(many=True)
    top_ups = TopUpOutput(many=True, help_text="What the close would post now (empty once closed).")
    posted_top_ups = PostedTopUpOutput(many=True, help_text="What the close posted (once closed).")


class PeriodCloseOutput(serializers.Serializer):
    agency = serializers.UUIDField(source="agency.public_id")
    period = serializers.CharField()
    closed_at = serializers.DateTimeField()
    closed_by = serializers.EmailField(source="closed_by.email", allow_null=True, default=None)
    top_up_count = serializers.IntegerField()
    top_ups = PostedTopUpOutput(many=True)


class PeriodListApi(APIView):
    pagination_class = Pagination

    class FilterSerializer(serializers.Serializer):
        agency = serializers.UUIDField(required=False)

    @extend_schema(
        parameters=[OpenApiParameter("agency", UUID, description="agency public id (default: all of yours)")],
        responses=PeriodOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        if "agency" in filters:
            agencies = [agency_get_for_actor(actor=request.user, public_id=filters["agency"])]
        else:
            agencies = list(agency_list_for_actor(actor=request.user))
        # Three aggregate queries an agency; a person belongs to a handful of agencies.
        rows = [row for agency in agencies for row in period_list(agency=agency)]
        return paginated(self, request, rows, PeriodOutput)


class PeriodPreviewApi(APIView):
    @extend_schema(responses=PreviewOutput)
    def get(self, request: Request, agency: UUID, period: str) -> Response:
        found = agency_get_for_actor(actor=request.user, public_id=agency)
        return Response(PreviewOutput(period_close_preview(agency=found, period=period)).data)


class PeriodCloseApi(APIView):
    # Keyed like every creating POST: a script whose close timed out retries with its key and
    # gets the close it made (201), not the 409 of a month closed "by someone".
    @idempotent
    @extend_schema(request=None, responses={201: PeriodCloseOutput})
    def post(self, request: Request, agency: UUID, period: str) -> Response:
        found = agency_get_for_actor(actor=request.user, public_id=agency)
        closed = period_close(agency=found, period=period, actor=request.user)
        result = {
            "agency": found,
            "period": closed.period,
            "closed_at": closed.closed_at,
            "closed_by": closed.closed_by,
            "top_up_count": closed.top_up_count,
            "top_ups": period_top_up_list(agency=found, period=closed.period),
        }
        return Response(PeriodCloseOutput(result).data, status=201)
