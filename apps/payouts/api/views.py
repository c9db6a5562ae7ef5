"""Payouts API: an agency's batches (paginated), preparing one, approving it, exporting it to a
rail (the file is the response), marking items paid or failed, importing a result file.

Approval over the API: the token's owner must be an owner or finance member of the agency who
did not prepare the batch (403 otherwise, the same four-eyes rule as the page, enforced by the
service and a CHECK in the database). Re-authentication and the second factor are the page's
(a person at a browser); a token is itself a credential its owner created after signing in
with their second factor (the MFA policy stops tokens of owners and finance members without
one). Payout details leave unmasked only in the export's file; items show them masked.

Refusals are problem documents: 400 bad input, 403 a role or the preparer, 404 another tenant's
batch or item, 409 a batch in the wrong state or an item already settled.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agencies.selectors import agency_get_for_actor
from apps.common.api import validated
from apps.common.exceptions import NotFound
from apps.common.money import to_decimal_string
from apps.common.pagination import Pagination, paginated
from apps.common.tenancy import scope_for
from apps.idempotency.api import idempotent
from apps.payouts.details import masked, payout_details_of_creators
from apps.payouts.exports import payout_batch_export, payout_results_import
from apps.payouts.models import PayoutBatch, PayoutDetails, PayoutItem
from apps.payouts.rails import RAILS
from apps.payouts.selectors import (
    payout_batch_get_for_actor,
    payout_batch_list_for_actor,
    payout_item_get_for_actor,
    payout_items_of_batch,
)
from apps.payouts.services import (
    payout_batch_approve,
    payout_batch_prepare,
    payout_item_mark_failed,
    payout_item_mark_paid,
)


class BatchOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    agency = serializers.UUIDField(source="agency.public_id")
    currency = serializers.CharField()
    status = serializers.CharField()
    as_of = serializers.DateField()
    period = serializers.CharField()
    item_count = serializers.IntegerField()
    gross = serializers.SerializerMethodField()
    tax = serializers.SerializerMethodField()
    net = serializers.SerializerMethodField()
    prepared_by = serializers.EmailField(source="prepared_by.email")
    prepared_at = serializers.DateTimeField()
    approved_by = serializers.EmailField(source="approved_by.email", allow_null=True, default=None)
    approved_at = serializers.DateTimeField(allow_null=True)
    exported_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)

    def get_gross(self, batch: PayoutBatch) -> str:
        return to_decimal_string(batch.gross_minor, batch.currency)

    def get_tax(self, batch: PayoutBatch) -> str:
        return to_decimal_string(batch.tax_minor, batch.currency)

    def get_net(self, batch: PayoutBatch) -> str:
        return to_decimal_string(batch.net_minor, batch.currency)


class MaskedDetailsOutput(serializers.Serializer):
    method = serializers.ChoiceField(choices=PayoutDetails.Method.choices)
    real_name = serializers.CharField(
        help_text="Masked: the first character, e.g. 张*; empty when a WeChat Pay payee gave none."
    )
    account = serializers.CharField(
        help_text="Masked, e.g. 6222 **** **** 1234, 138****5678 or (a WeChat openid) o-MY****6Xoy."
    )
    bank_name = serializers.CharField()
    bank_branch = serializers.CharField()
    wechat_appid = serializers.CharField(help_text="WeChat Pay: the AppID the openid belongs to.")
    changed_at = serializers.DateTimeField()
    held_until = serializers.DateTimeField(allow_null=True)


class ItemOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    batch = serializers.UUIDField(source="batch.public_id")
    creator = serializers.UUIDField(source="creator.public_id")
    creator_name = serializers.CharField(source="creator.display_name")
    currency = serializers.CharField()
    gross = serializers.SerializerMethodField()
    tax = serializers.SerializerMethodField()
    net = serializers.SerializerMethodField()
    method = serializers.CharField()
    period = serializers.CharField()
    withholding = serializers.JSONField(help_text="The computation, with docs/withholding.md's names.")
    status = serializers.CharField()
    reference = serializers.CharField()
    failure_reason = serializers.CharField()
    invoice_reference = serializers.CharField()
    paid_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    details = serializers.SerializerMethodField()

    def get_gross(self, item: PayoutItem) -> str:
        return to_decimal_string(item.gross_minor, item.currency)

    def get_tax(self, item: PayoutItem) -> str:
        return to_decimal_string(item.tax_minor, item.currency)

    def get_net(self, item: PayoutItem) -> str:
        return to_decimal_string(item.net_minor, item.currency)

    def get_details(self, item: PayoutItem) -> dict[str, Any] | None:
        found = self.context.get("details", {}).get(item.creator_id)
        if found is None:
            return None
        view = masked(found)
        return MaskedDetailsOutput(view).data


def _item_data(item: PayoutItem) -> Any:
    details = payout_details_of_creators(creator_ids=[item.creator_id])
    return ItemOutput(item, context={"details": details}).data


class PayoutBatchListApi(APIView):
    pagination_class = Pagination

    class FilterSerializer(serializers.Serializer):
        agency = serializers.UUIDField(required=False)

    class InputSerializer(serializers.Serializer):
        agency = serializers.UUIDField()
        as_of = serializers.DateField(
            required=False, help_text="The payment day, in the current month; today if absent."
        )

    @extend_schema(
        parameters=[OpenApiParameter("agency", UUID, description="agency public id")],
        responses=BatchOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        agency = (
            agency_get_for_actor(actor=request.user, public_id=filters["agency"])
            if "agency" in filters
            else None
        )
        return paginated(
            self, request, payout_batch_list_for_actor(actor=request.user, agency=agency), BatchOutput
        )

    @idempotent
    @extend_schema(request=InputSerializer, responses={201: BatchOutput})
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        agency = agency_get_for_actor(actor=request.user, public_id=data["agency"])
        batch = payout_batch_prepare(agency=agency, actor=request.user, as_of=data.get("as_of"))
        return Response(BatchOutput(batch).data, status=201)


class PayoutBatchDetailApi(APIView):
    @extend_schema(responses=BatchOutput)
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(BatchOutput(payout_batch_get_for_actor(actor=request.user, public_id=public_id)).data)


class PayoutBatchItemsApi(APIView):
    pagination_class = Pagination

    @extend_schema(responses=ItemOutput(many=True))
    def get(self, request: Request, public_id: UUID) -> Response:
        batch = payout_batch_get_for_actor(actor=request.user, public_id=public_id)
        items = payout_items_of_batch(actor=request.user, batch=batch).select_related("batch", "creator")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(items, request, view=self) or []
        details = payout_details_of_creators(creator_ids=[item.creator_id for item in page])
        return paginator.get_paginated_response(
            ItemOutput(page, many=True, context={"details": details}).data
        )


class PayoutBatchApproveApi(APIView):
    @extend_schema(
        request=None,
        responses=BatchOutput,
        description="The token's owner must be an owner or finance member other than the preparer (403).",
    )
    def post(self, request: Request, public_id: UUID) -> Response:
        batch = payout_batch_get_for_actor(actor=request.user, public_id=public_id)
        return Response(BatchOutput(payout_batch_approve(batch=batch, actor=request.user)).data)


class PayoutBatchExportApi(APIView):
    class InputSerializer(serializers.Serializer):
        rail = serializers.ChoiceField(choices=sorted(RAILS))

    @extend_schema(
        request=InputSerializer,
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file")
        },
        description="The rail's file (XLSX, CSV, a zip of CSVs of 1,000, or JSON Lines of WeChat Pay "
        "transfer bills); the batch is marked exported. "
        "Header X-Fenrun-Left-Out: the number of payouts not in the file (held, another rail's, or refused by "
        "this rail, e.g. WeChat Pay from 2,000.00 without a real name).",
    )
    def post(self, request: Request, public_id: UUID) -> HttpResponse:
        data = validated(self.InputSerializer, request.data)
        batch = payout_batch_get_for_actor(actor=request.user, public_id=public_id)
        export = payout_batch_export(batch=batch, actor=request.user, rail_name=data["rail"])
        response = HttpResponse(export.file.content, content_type=export.file.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.file.filename}"'
        response["X-Fenrun-Left-Out"] = str(len(export.left_out))
        return response


class PayoutBatchResultsApi(APIView):
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        rail = serializers.ChoiceField(choices=sorted(RAILS))
        file = serializers.FileField(
            help_text="CSV: item_reference, status (paid|failed), reference, reason, amount; for the "
            "wechat rail also WeChat Pay's states (SUCCESS, FAIL, CANCELLED) or JSON Lines of its bills"
        )

    class OutcomeOutput(serializers.Serializer):
        row = serializers.IntegerField()
        item_reference = serializers.CharField()
        outcome = serializers.ChoiceField(choices=["paid", "failed", "error"])
        message = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=OutcomeOutput(many=True))
    def post(self, request: Request, public_id: UUID) -> Response:
        data = validated(self.InputSerializer, request.data)
        batch = payout_batch_get_for_actor(actor=request.user, public_id=public_id)
        outcomes = payout_results_import(
            batch=batch, actor=request.user, rail_name=data["rail"], file=data["file"]
        )
        return Response(self.OutcomeOutput(outcomes, many=True).data)


def _agency_item(request: Request, public_id: UUID) -> PayoutItem:
    item = payout_item_get_for_actor(actor=request.user, public_id=public_id)
    if item.agency_id not in scope_for(request.user).agency_ids:
        raise NotFound()  # a creator reads their own item and settles none
    return item


class PayoutItemPaidApi(APIView):
    class InputSerializer(serializers.Serializer):
        reference = serializers.CharField(max_length=200, help_text="The bank's or Alipay's reference.")

    @extend_schema(request=InputSerializer, responses=ItemOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        data = validated(self.InputSerializer, request.data)
        item = payout_item_mark_paid(item=_agency_item(request, public_id), actor=request.user, **data)
        return Response(_item_data(item))


class PayoutItemFailedApi(APIView):
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500, help_text="The bank's or Alipay's message.")

    @extend_schema(request=InputSerializer, responses=ItemOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        data = validated(self.InputSerializer, request.data)
        item = payout_item_mark_failed(item=_agency_item(request, public_id), actor=request.user, **data)
        return Response(_item_data(item))
