"""The read-only ledger API: entries (cursor pagination, filters) and balances, tenant-scoped."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import validated
from apps.common.money import to_decimal_string
from apps.common.pagination import Pagination, paginated
from apps.ledger.selectors import (
    balance_list_for_actor,
    entry_get_for_actor,
    entry_list_for_actor,
    period_balance_list_for_actor,
)


class AccountOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    purpose = serializers.CharField()
    key = serializers.CharField()
    currency = serializers.CharField()
    agency = serializers.UUIDField(source="agency.public_id")
    creator = serializers.UUIDField(source="creator.public_id", allow_null=True, default=None)


class PostingOutput(serializers.Serializer):
    account = AccountOutput()
    amount = serializers.SerializerMethodField(
        help_text="Signed decimal string: positive debit, negative credit."
    )
    currency = serializers.CharField()

    def get_amount(self, posting: Any) -> str:
        return to_decimal_string(posting.amount_minor, posting.currency)


class EntryOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    agency = serializers.UUIDField(source="agency.public_id")
    creator = serializers.UUIDField(source="creator.public_id", allow_null=True, default=None)
    seq = serializers.IntegerField()
    kind = serializers.CharField()
    cause_reference = serializers.CharField()
    reason = serializers.CharField()
    memo = serializers.CharField()
    effective_date = serializers.DateField()
    posted_at = serializers.DateTimeField()
    idempotency_key = serializers.CharField()
    reverses = serializers.UUIDField(source="reverses.public_id", allow_null=True, default=None)
    # The lines the entry covers: the Merkle root of their allocations and their number ('' and 0
    # for an entry that covers none). Each line's proof is on the income line's detail.
    lines_root = serializers.CharField()
    line_count = serializers.IntegerField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()
    postings = PostingOutput(many=True)


class BalanceOutput(serializers.Serializer):
    account = AccountOutput()
    currency = serializers.CharField()
    balance = serializers.SerializerMethodField()
    posting_count = serializers.IntegerField()

    def get_balance(self, row: Any) -> str:
        return to_decimal_string(row.balance_minor, row.currency)


class PeriodBalanceOutput(serializers.Serializer):
    account = AccountOutput()
    period = serializers.CharField()
    currency = serializers.CharField()
    debit = serializers.SerializerMethodField()
    credit = serializers.SerializerMethodField()
    net = serializers.SerializerMethodField()

    def get_debit(self, row: Any) -> str:
        return to_decimal_string(row.debit_minor, row.currency)

    def get_credit(self, row: Any) -> str:
        return to_decimal_string(row.credit_minor, row.currency)

    def get_net(self, row: Any) -> str:
        return to_decimal_string(row.net_minor, row.currency)


class EntryPagination(CursorPagination):
    ordering = "-id"  # unique and append-only: a cursor never skips or repeats an entry
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class EntryListApi(APIView):
    pagination_class = EntryPagination

    class FilterSerializer(serializers.Serializer):
        account = serializers.UUIDField(required=False)
        creator = serializers.UUIDField(required=False)
        period = serializers.RegexField(r"^[0-9]{4}-(0[1-9]|1[0-2])$", required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter("account", str, description="account public id"),
            OpenApiParameter("creator", str, description="creator public id"),
            OpenApiParameter("period", str, description="month, e.g. 2026-03"),
        ],
        responses=EntryOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        entries = entry_list_for_actor(actor=request.user, **filters)
        return paginated(self, request, entries, EntryOutput)


class EntryDetailApi(APIView):
    @extend_schema(responses=EntryOutput)
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(EntryOutput(entry_get_for_actor(actor=request.user, public_id=public_id)).data)


class BalanceListApi(APIView):
    pagination_class = Pagination

    class FilterSerializer(serializers.Serializer):
        creator = serializers.UUIDField(required=False)
        agency = serializers.UUIDField(required=False)
        period = serializers.RegexField(r"^[0-9]{4}-(0[1-9]|1[0-2])$", required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter("creator", str, description="creator public id"),
            OpenApiParameter("agency", str, description="agency public id"),
            OpenApiParameter("period", str, description="month, e.g. 2026-03: monthly totals instead"),
        ],
        responses=BalanceOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        period = filters.pop("period", None)
        if period is not None:
            months = period_balance_list_for_actor(actor=request.user, period=period, **filters)
            return paginated(self, request, months, PeriodBalanceOutput)
        balances = balance_list_for_actor(actor=request.user, **filters)
        return paginated(self, request, balances, BalanceOutput)


__all__ = ["BalanceListApi", "EntryDetailApi", "EntryListApi"]
