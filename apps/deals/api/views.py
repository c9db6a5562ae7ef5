"""Deals API: thin views over the services and selectors; amounts as decimal strings; errors as
problem details. Every id in a request is looked up through the caller's scope (another
tenant's deal, line or creator answers 404)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agencies.selectors import agency_get_for_actor
from apps.common.api import BusinessDateField, validated
from apps.common.catalog import Platform
from apps.common.exceptions import ApplicationError
from apps.common.money import MoneyError, to_decimal_string, to_minor
from apps.common.pagination import Pagination, paginated
from apps.common.parsers import JSONParser
from apps.creators.selectors import creator_get_for_actor
from apps.deals.models import BrandDeal
from apps.deals.selectors import (
    deal_expense_cap,
    deal_expense_get_for_actor,
    deal_get_for_actor,
    deal_list_for_actor,
    deliverable_get_for_actor,
    exception_line_get_for_actor,
    exception_line_list_for_actor,
)
from apps.deals.services import (
    deal_cancel,
    deal_create,
    deal_expense_approve,
    deal_expense_reject,
    deal_expense_submit,
    deal_mark_delivered,
    deal_mark_invoiced,
    deal_payment_assign,
    deal_update,
    deliverable_add,
    deliverable_mark_delivered,
)
from apps.idempotency.api import idempotent
from apps.income.services import income_line_resolve


def minor_from(text: str, currency: str, *, field: str) -> int:
    try:
        return to_minor(text, currency, allow_thousands=True)
    except MoneyError as error:
        raise ApplicationError(str(error), code="invalid_amount", extra={"field": field}) from None


@extend_schema_field(OpenApiTypes.STR)
class AmountField(serializers.Field):
    """An amount in minor units, rendered as the currency's decimal string ("1234.56")."""

    def __init__(self, *, currency_source: str = "currency", **kwargs: Any) -> None:
        self.currency_source = currency_source
        kwargs["read_only"] = True
        kwargs.setdefault("source", "*")
        super().__init__(**kwargs)

    def bind(self, field_name: str, parent: Any) -> None:
        self.minor_attribute = f"{field_name}_minor"
        super().bind(field_name, parent)

    def to_representation(self, value: Any) -> str:
        currency = value
        for part in self.currency_source.split("."):
            currency = getattr(currency, part)
        return to_decimal_string(getattr(value, self.minor_attribute), currency)


# --- outputs -----------------------------------------------------------------------------------------


class DeliverableOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    description = serializers.CharField()
    due_on = serializers.DateField()
    delivered_at = serializers.DateTimeField(allow_null=True)


class ExpenseOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    deal = serializers.UUIDField(source="deal.public_id")
    description = serializers.CharField()
    amount = AmountField(currency_source="deal.currency")
    status = serializers.CharField()
    receipt_name = serializers.CharField()
    receipt_content_type = serializers.CharField()
    decided_at = serializers.DateTimeField(allow_null=True)
    rejection_reason = serializers.CharField()


class PaymentOutput(serializers.Serializer):
    income_line = serializers.UUIDField(source="income_line.public_id")
    external_id = serializers.CharField(source="income_line.external_id")
    occurred_at = serializers.DateTimeField(source="income_line.occurred_at")
    amount = AmountField(currency_source="deal.currency")
    outcome = serializers.CharField()
    method = serializers.CharField()


class DealOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    agency = serializers.UUIDField(source="agency.public_id")
    agency_name = serializers.CharField(source="agency.name")
    creator = serializers.UUIDField(source="creator.public_id")
    creator_name = serializers.CharField(source="creator.display_name")
    brand = serializers.CharField()
    campaign = serializers.CharField()
    platform = serializers.CharField()
    fee = AmountField()
    paid = AmountField()
    outstanding = serializers.SerializerMethodField()
    currency = serializers.CharField()
    order_ref = serializers.CharField()
    due_on = serializers.DateField()
    status = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    invoiced_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)

    def get_outstanding(self, deal: BrandDeal) -> str:
        return to_decimal_string(max(deal.outstanding_minor, 0), deal.currency)


class DealDetailOutput(DealOutput):
    deliverables = DeliverableOutput(many=True)
    expenses = ExpenseOutput(many=True)
    payments = PaymentOutput(many=True)
    expenses_cap = serializers.SerializerMethodField()

    def get_expenses_cap(self, deal: BrandDeal) -> dict[str, Any]:
        cap = deal_expense_cap(deal=deal)
        return {
            "cap": to_decimal_string(cap.cap_minor, deal.currency),
            "approved": to_decimal_string(cap.approved_minor, deal.currency),
            "remaining": to_decimal_string(cap.remaining_minor, deal.currency),
            # What of the approved expenses the split has deducted from the deal's payments.
            "deducted": to_decimal_string(cap.deducted_minor, deal.currency),
            "percent": cap.percent,
            "reason": cap.reason,
        }


class ExceptionLineOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    agency = serializers.UUIDField(source="agency.public_id")
    creator = serializers.UUIDField(source="creator.public_id", allow_null=True)
    creator_name = serializers.CharField(source="creator.display_name", allow_null=True)
    platform = serializers.CharField()
    account_id = serializers.CharField()
    external_id = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # API field "source": the metaclass takes it off the class; stubs see Field.source
    gross = AmountField()
    currency = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    order_ref = serializers.CharField()
    description = serializers.CharField()
    exception_reason = serializers.CharField()
    exception_detail = serializers.CharField()
    status = serializers.CharField()


def _detail(request: Request, deal: BrandDeal, status: int = 200) -> Response:
    fresh = deal_get_for_actor(actor=request.user, public_id=deal.public_id)
    return Response(DealDetailOutput(fresh).data, status=status)


# --- deals ------------------------------------------------------------------------------------------------


class DealListApi(APIView):
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        agency = serializers.UUIDField()
        creator = serializers.UUIDField()
        brand = serializers.CharField(max_length=200)
        campaign = serializers.CharField(max_length=200, required=False, allow_blank=True)
        platform = serializers.ChoiceField(choices=Platform.choices)
        fee = serializers.CharField(max_length=40, help_text='Decimal string, e.g. "10000.00".')
        currency = serializers.RegexField(r"^[A-Za-z]{3}$")
        order_ref = serializers.CharField(max_length=128, required=False, allow_blank=True)
        due_on = BusinessDateField()
        deliverables = serializers.ListField(
            child=serializers.DictField(), required=False, help_text="[{description, due_on}]"
        )

    class DeliverableInput(serializers.Serializer):
        description = serializers.CharField(max_length=300)
        due_on = BusinessDateField()

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=BrandDeal.Status.values),
            OpenApiParameter("agency", UUID),
        ],
        responses=DealOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        status = request.query_params.get("status") or None
        if status is not None and status not in BrandDeal.Status.values:
            raise ApplicationError(
                f"{status!r} is not a deal status ({', '.join(BrandDeal.Status.values)}).",
                code="invalid_status",
            )
        agency_id = None
        if request.query_params.get("agency"):
            agency_id = agency_get_for_actor(actor=request.user, public_id=request.query_params["agency"]).pk
        deals = deal_list_for_actor(actor=request.user, status=status, agency_id=agency_id)
        return paginated(self, request, deals, DealOutput)

    @idempotent
    @extend_schema(request=InputSerializer, responses={201: DealDetailOutput})
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        agency = agency_get_for_actor(actor=request.user, public_id=data.pop("agency"))
        creator = creator_get_for_actor(actor=request.user, public_id=data.pop("creator"))
        currency = data.pop("currency").upper()
        deliverables = [validated(self.DeliverableInput, item) for item in data.pop("deliverables", [])]
        deal = deal_create(
            actor=request.user,
            agency=agency,
            creator=creator,
            fee_minor=minor_from(data.pop("fee"), currency, field="fee"),
            currency=currency,
            deliverables=deliverables,
            **data,
        )
        return _detail(request, deal, status=201)


class DealDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        brand = serializers.CharField(max_length=200, required=False)
        campaign = serializers.CharField(max_length=200, required=False, allow_blank=True)
        fee = serializers.CharField(max_length=40, required=False)
        order_ref = serializers.CharField(max_length=128, required=False, allow_blank=True)
        due_on = BusinessDateField(required=False)

    @extend_schema(responses=DealDetailOutput)
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(DealDetailOutput(deal_get_for_actor(actor=request.user, public_id=public_id)).data)

    @extend_schema(request=InputSerializer, responses=DealDetailOutput)
    def patch(self, request: Request, public_id: UUID) -> Response:
        deal = deal_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        if "fee" in data:
            data["fee_minor"] = minor_from(data.pop("fee"), deal.currency, field="fee")
        return _detail(request, deal_update(deal=deal, actor=request.user, **data))


class DealDeliverApi(APIView):
    @extend_schema(request=None, responses=DealDetailOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        deal = deal_get_for_actor(actor=request.user, public_id=public_id)
        return _detail(request, deal_mark_delivered(deal=deal, actor=request.user))


class DealInvoiceApi(APIView):
    @extend_schema(request=None, responses=DealDetailOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        deal = deal_get_for_actor(actor=request.user, public_id=public_id)
        return _detail(request, deal_mark_invoiced(deal=deal, actor=request.user))


class DealCancelApi(APIView):
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=300)

    @extend_schema(request=InputSerializer, responses=DealDetailOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        deal = deal_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        return _detail(request, deal_cancel(deal=deal, actor=request.user, **data))


class DeliverableListApi(APIView):
    class InputSerializer(serializers.Serializer):
        description = serializers.CharField(max_length=300)
        due_on = BusinessDateField()

    @idempotent
    @extend_schema(request=InputSerializer, responses={201: DeliverableOutput})
    def post(self, request: Request, public_id: UUID) -> Response:
        deal = deal_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        deliverable = deliverable_add(deal=deal, actor=request.user, **data)
        return Response(DeliverableOutput(deliverable).data, status=201)


class DeliverableDeliverApi(APIView):
    @extend_schema(request=None, responses=DeliverableOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        deliverable = deliverable_get_for_actor(actor=request.user, public_id=public_id)
        return Response(
            DeliverableOutput(deliverable_mark_delivered(deliverable=deliverable, actor=request.user)).data
        )


# --- expenses ----------------------------------------------------------------------------------------------


class DealExpenseListApi(APIView):
    parser_classes = (MultiPartParser, FormParser, JSONParser)

    class InputSerializer(serializers.Serializer):
        description = serializers.CharField(max_length=300)
        amount = serializers.CharField(
            max_length=40, help_text='Decimal string in the deal\'s currency, e.g. "800.00".'
        )
        receipt = serializers.FileField(help_text="PDF, JPG or PNG, at most 10 MB.")

    @idempotent
    @extend_schema(request={"multipart/form-data": InputSerializer}, responses={201: ExpenseOutput})
    def post(self, request: Request, public_id: UUID) -> Response:
        deal = deal_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        expense = deal_expense_submit(
            deal=deal,
            actor=request.user,
            description=data["description"],
            amount_minor=minor_from(data["amount"], deal.currency, field="amount"),
            receipt=data["receipt"],
        )
        return Response(ExpenseOutput(expense).data, status=201)


class DealExpenseApproveApi(APIView):
    @extend_schema(request=None, responses=ExpenseOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        expense = deal_expense_get_for_actor(actor=request.user, public_id=public_id)
        return Response(ExpenseOutput(deal_expense_approve(expense=expense, actor=request.user)).data)


class DealExpenseRejectApi(APIView):
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=300, required=False, allow_blank=True)

    @extend_schema(request=InputSerializer, responses=ExpenseOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        expense = deal_expense_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        return Response(ExpenseOutput(deal_expense_reject(expense=expense, actor=request.user, **data)).data)


class DealExpenseReceiptApi(APIView):
    # The receipt's own type, as checked at upload (a PDF, JPEG or PNG by its first bytes).
    @extend_schema(
        responses={(200, "application/pdf"): bytes, (200, "image/jpeg"): bytes, (200, "image/png"): bytes}
    )
    def get(self, request: Request, public_id: UUID) -> FileResponse:
        expense = deal_expense_get_for_actor(actor=request.user, public_id=public_id)
        return receipt_response(expense)


def receipt_response(expense: Any) -> FileResponse:
    """The stored receipt, served through tenancy (media files are never public), as an attachment:
    the browser saves it rather than rendering what was uploaded on this origin."""
    response = FileResponse(
        expense.receipt.open("rb"),
        as_attachment=True,
        content_type=expense.receipt_content_type,
        filename=expense.receipt_name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- the exceptions queue ------------------------------------------------------------------------------------


class ExceptionLineListApi(APIView):
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("agency", UUID)], responses=ExceptionLineOutput(many=True))
    def get(self, request: Request) -> Response:
        agency_id = None
        if request.query_params.get("agency"):
            agency_id = agency_get_for_actor(actor=request.user, public_id=request.query_params["agency"]).pk
        lines = exception_line_list_for_actor(actor=request.user, agency_id=agency_id)
        return paginated(self, request, lines, ExceptionLineOutput)


class ExceptionLineAssignDealApi(APIView):
    class InputSerializer(serializers.Serializer):
        deal = serializers.UUIDField()

    @idempotent
    @extend_schema(request=InputSerializer, responses=PaymentOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        line = exception_line_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        deal = deal_get_for_actor(actor=request.user, public_id=data["deal"])
        payment = deal_payment_assign(line=line, deal=deal, actor=request.user)
        return Response(PaymentOutput(payment).data)


class ExceptionLineAssignCreatorApi(APIView):
    class InputSerializer(serializers.Serializer):
        creator = serializers.UUIDField()

    @extend_schema(request=InputSerializer, responses=ExceptionLineOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        line = exception_line_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        creator = creator_get_for_actor(actor=request.user, public_id=data["creator"])
        return Response(
            ExceptionLineOutput(income_line_resolve(line=line, actor=request.user, creator=creator)).data
        )


class ExceptionLineDismissApi(APIView):
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=300)

    @extend_schema(request=InputSerializer, responses=ExceptionLineOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        line = exception_line_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        resolved = income_line_resolve(line=line, actor=request.user, dismiss_reason=data["reason"])
        return Response(ExceptionLineOutput(resolved).data)
