"""Income API: upload a statement (multipart), follow an import, read income lines with their
split and explanation, and a creator's balances; list and record exchange rates. Thin views over
services and selectors."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agencies.selectors import agency_get_for_actor
from apps.common.api import BusinessDateField, validated
from apps.common.catalog import Platform, Source
from apps.common.exceptions import NotFound
from apps.common.money import to_decimal_string
from apps.common.pagination import Pagination, TimeCursorPagination, paginated
from apps.common.tenancy import scope_for
from apps.idempotency.api import idempotent
from apps.income.hooks import deal_readers, share_reader
from apps.income.models import FxRate, IncomeLine, StatementImport
from apps.income.selectors import (
    fx_rate_list_for_actor,
    income_creator_find_for_actor,
    income_line_get_for_actor,
    income_line_list_for_actor,
    income_line_split,
    statement_import_get_for_actor,
    statement_import_list_for_actor,
)
from apps.income.services import fx_rate_record
from apps.income.uploads import statement_import_upload


class StatementImportOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    agency = serializers.UUIDField(source="agency.public_id")
    original_name = serializers.CharField()
    format = serializers.CharField()
    encoding = serializers.CharField()
    status = serializers.ChoiceField(choices=StatementImport.Status.choices)
    is_all_or_nothing = serializers.BooleanField()
    rows_total = serializers.IntegerField()
    rows_done = serializers.IntegerField()
    progress_percent = serializers.IntegerField()
    step = serializers.ChoiceField(
        choices=["queued", "matching", "recognising", "done", "failed"],
        help_text="The step running now: the first step reads, checks and stages the file (the import "
        "still says queued until it commits), then rows are matched, then lines are split into the ledger.",
    )
    lines_recognised = serializers.IntegerField()
    imported_count = serializers.IntegerField()
    duplicate_count = serializers.IntegerField()
    adjustment_count = serializers.IntegerField()
    exception_count = serializers.IntegerField()
    error_count = serializers.IntegerField()
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    detection = serializers.JSONField(
        help_text="Which adapter read the file and why ({format, label, reason, header_row, columns}), and"
        " the rows it skipped (notes above the header, totals rows, rows with no income: skipped, with"
        " row and reason) or warned about (a totals row that does not add up), apart from `errors`."
    )
    statement_period = serializers.CharField(
        help_text="The month chosen at upload, for an export without dates."
    )


class RowErrorOutput(serializers.Serializer):
    row_number = serializers.IntegerField()
    column = serializers.CharField()
    reason = serializers.CharField()


class IncomeLineOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    agency = serializers.UUIDField(source="agency.public_id")
    creator = serializers.SerializerMethodField()
    platform = serializers.CharField()
    external_id = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # the income source, not DRF's Field.source
    gross = serializers.SerializerMethodField()
    currency = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    order_ref = serializers.CharField()
    description = serializers.CharField()
    status = serializers.SerializerMethodField()
    exception_reason = serializers.CharField()
    exception_detail = serializers.CharField()
    # What recognition recorded (its allocation): the amount split, in the contract's currency,
    # and the conversion when the statement's currency differed.
    recognised_gross = serializers.SerializerMethodField()
    recognised_currency = serializers.SerializerMethodField()
    original_gross = serializers.SerializerMethodField()
    original_currency = serializers.SerializerMethodField()
    fx_rate = serializers.SerializerMethodField()
    fx_source = serializers.SerializerMethodField()
    fx_date = serializers.SerializerMethodField()
    posted_period = serializers.SerializerMethodField()
    # What the ledger credits the creator for the line (their payable, after deductions, expenses,
    # tiers, the agency cap and the advance recouped), in the rule set's currency: the income
    # list's "my share". Null until the line is recognised.
    creator_share = serializers.SerializerMethodField()
    share_currency = serializers.SerializerMethodField()

    def _share(self, line: IncomeLine) -> tuple[int, str] | None:
        shares = self.context.get("shares")
        return None if shares is None else shares.get(line.pk)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_creator_share(self, line: IncomeLine) -> str | None:
        share = self._share(line)
        return None if share is None else to_decimal_string(*share)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_share_currency(self, line: IncomeLine) -> str | None:
        share = self._share(line)
        return None if share is None else share[1]

    def _allocation(self, line: IncomeLine) -> Any:
        return getattr(line, "allocation", None) if line.is_recognised else None

    @extend_schema_field(serializers.ChoiceField(choices=IncomeLine.Status.choices))
    def get_status(self, line: IncomeLine) -> str:
        return line.state

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_recognised_gross(self, line: IncomeLine) -> str | None:
        allocation = self._allocation(line)
        return None if allocation is None else to_decimal_string(allocation.gross_minor, allocation.currency)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_recognised_currency(self, line: IncomeLine) -> str | None:
        allocation = self._allocation(line)
        return None if allocation is None else allocation.currency

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_original_gross(self, line: IncomeLine) -> str | None:
        allocation = self._allocation(line)
        if allocation is None or allocation.original_gross_minor is None:
            return None
        return to_decimal_string(allocation.original_gross_minor, allocation.original_currency)

    def get_original_currency(self, line: IncomeLine) -> str:
        allocation = self._allocation(line)
        return "" if allocation is None else allocation.original_currency

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_fx_rate(self, line: IncomeLine) -> str | None:
        allocation = self._allocation(line)
        return (
            None
            if allocation is None or allocation.fx_rate is None
            else format(allocation.fx_rate.normalize(), "f")
        )

    def get_fx_source(self, line: IncomeLine) -> str:
        allocation = self._allocation(line)
        return "" if allocation is None else allocation.fx_source

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_fx_date(self, line: IncomeLine) -> Any:
        allocation = self._allocation(line)
        return None if allocation is None or allocation.fx_date is None else allocation.fx_date.isoformat()

    def get_posted_period(self, line: IncomeLine) -> str:
        allocation = self._allocation(line)
        if allocation is None:
            return ""
        return f"{allocation.effective_date.year:04d}-{allocation.effective_date.month:02d}"

    def get_creator(self, line: IncomeLine) -> str | None:
        return str(line.creator.public_id) if line.creator is not None else None

    def get_gross(self, line: IncomeLine) -> str:
        return to_decimal_string(line.gross_minor, line.currency)


class StatementImportListApi(APIView):
    pagination_class = Pagination
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        agency = serializers.UUIDField()
        file = serializers.FileField()
        format = serializers.ChoiceField(choices=StatementImport.Format.choices, default="auto")
        is_all_or_nothing = serializers.BooleanField(default=False)
        account = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=128,
            help_text="The creator's platform account the file is for (its public id, or the platform's"
            " account id such as UCx9f3): required for exports that name none (a YouTube Studio export,"
            " a Douyin Shop bill).",
        )
        period = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=20,
            help_text="The month the file covers (2026-11), for a Studio table with one row per video and no date.",
        )

    @extend_schema(responses=StatementImportOutput(many=True))
    def get(self, request: Request) -> Response:
        imports = statement_import_list_for_actor(actor=request.user)
        return paginated(self, request, imports, StatementImportOutput)

    @idempotent
    @extend_schema(request={"multipart/form-data": InputSerializer}, responses={202: StatementImportOutput})
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        agency = agency_get_for_actor(actor=request.user, public_id=data.pop("agency"))
        statement_import = statement_import_upload(agency=agency, actor=request.user, **data)
        return Response(StatementImportOutput(statement_import).data, status=202)


class StatementImportDetailApi(APIView):
    @extend_schema(responses=StatementImportOutput)
    def get(self, request: Request, public_id: UUID) -> Response:
        statement_import = statement_import_get_for_actor(actor=request.user, public_id=public_id)
        body: dict[str, Any] = dict(StatementImportOutput(statement_import).data)
        body["errors"] = RowErrorOutput(statement_import.row_errors.all()[:1000], many=True).data
        account = statement_import.platform_account
        body["account"] = (
            None
            if account is None
            else {"public_id": str(account.public_id), "account_id": account.account_id}
        )
        return Response(body)


def _line_filters() -> type[serializers.Serializer]:
    """The list's query parameters ("import" is a Python keyword, hence the class built here)."""
    month = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
    fields: dict[str, Any] = {
        "status": serializers.ChoiceField(
            choices=IncomeLine.Status.choices, required=False, help_text="Only the lines in this status."
        ),
        "month": serializers.RegexField(
            month,
            required=False,
            help_text="`2026-11`: the recognised lines that count in that month on statements (their "
            "ledger day); lines not split yet have no month.",
        ),
        "agency": serializers.UUIDField(required=False, help_text="Only this agency's lines."),
        "creator": serializers.UUIDField(
            required=False, help_text="Only this creator's lines (agency members: a creator they represent)."
        ),
        "platform": serializers.ChoiceField(choices=Platform.choices, required=False),
        "source": serializers.ChoiceField(choices=Source.choices, required=False),
        "deal": serializers.UUIDField(
            required=False,
            help_text="A brand deal's lines: its payments (refunds included) and the lines its expenses re-issued.",
        ),
        "import": serializers.UUIDField(
            required=False, help_text="Only the lines this statement import recorded."
        ),
    }
    return type("IncomeLineFilters", (serializers.Serializer,), fields)


IncomeLineFilters = _line_filters()


class IncomeLineListApi(APIView):
    """Newest first by the moment each line occurred (occurred_at, then id), a page at a time:
    a keyset cursor, so a page of an agency's millionth line costs what the first does. Filters
    combine (AND); each recognised line carries the creator's share. An agency, creator, deal or
    import the caller cannot see answers 404, a malformed filter 400."""

    pagination_class = TimeCursorPagination

    @extend_schema(parameters=[IncomeLineFilters], responses=IncomeLineOutput(many=True))
    def get(self, request: Request) -> Response:
        data = validated(IncomeLineFilters, request.query_params)
        user = request.user
        statement_import = None
        if data.get("import"):
            statement_import = statement_import_get_for_actor(actor=user, public_id=data["import"])
        agency = agency_get_for_actor(actor=user, public_id=data["agency"]) if data.get("agency") else None
        creator = None
        if data.get("creator"):
            found = income_creator_find_for_actor(actor=user, text=str(data["creator"]))
            if not found:
                raise NotFound()
            creator = found[0]
        condition = None
        if data.get("deal"):
            deals = deal_readers()
            if deals is None:
                raise NotFound()
            condition = deals[1](actor=user, public_id=data["deal"])
        lines = income_line_list_for_actor(
            actor=user,
            status=data.get("status"),
            agency=agency,
            creator=creator,
            statement_import=statement_import,
            month=data.get("month"),
            platform=data.get("platform"),
            source=data.get("source"),
            condition=condition,
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(lines, request, view=self)
        output = IncomeLineOutput(page, many=True, context={"shares": _shares_of(page)})
        return paginator.get_paginated_response(output.data)


def _shares_of(lines: list[IncomeLine]) -> dict[int, tuple[int, str]] | None:
    """{line id: (the creator's share, currency)} of the recognised lines: one query (recognition
    reads it, through income's hook); None without recognition installed."""
    reader = share_reader()
    return None if reader is None else reader(page=lines).shares


class IncomeLineDetailApi(APIView):
    @extend_schema(responses=IncomeLineOutput)
    def get(self, request: Request, public_id: UUID) -> Response:
        line = income_line_get_for_actor(actor=request.user, public_id=public_id)
        body: dict[str, Any] = dict(IncomeLineOutput(line, context={"shares": _shares_of([line])}).data)
        # The breakdown says "my share" to the line's creator, "the creator's share" to the agency.
        is_own = line.creator_id is not None and line.creator_id == scope_for(request.user).creator_id
        body["split"] = income_line_split(line=line, for_creator=is_own)
        return Response(body)


class FxRateOutput(serializers.Serializer):
    agency = serializers.UUIDField(source="agency.public_id", allow_null=True)  # null: a reference rate
    is_reference = serializers.SerializerMethodField()
    base = serializers.CharField()
    quote = serializers.CharField()
    date = serializers.DateField()
    rate = serializers.CharField(source="rate_text")
    source = serializers.CharField()  # type: ignore[assignment]  # the publisher, not DRF's Field.source
    created_at = serializers.DateTimeField()

    def get_is_reference(self, rate: FxRate) -> bool:
        return rate.agency_id is None


class FxRateRecordedOutput(FxRateOutput):
    requeued_lines = serializers.SerializerMethodField()

    def get_requeued_lines(self, rate: FxRate) -> int:
        """How many lines that waited for a rate went back to recognition."""
        return int(self.context["requeued"])


class DecimalStringField(serializers.CharField):
    """A decimal as a JSON string ("7.1234"): a JSON number is read as a float and may lose digits."""

    default_error_messages = {"not_a_string": _('Send the rate as a string, e.g. "7.1234".')}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return str(super().to_internal_value(data))


class FxRateListApi(APIView):
    """The caller's agencies' rates and the reference rates, newest day first; owner and finance
    record one for their agency (the lines that waited for it go back to recognition)."""

    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        agency = serializers.UUIDField()
        base = serializers.CharField(max_length=3)
        quote = serializers.CharField(max_length=3)
        date = BusinessDateField()
        rate = DecimalStringField(max_length=40)
        source = serializers.CharField(max_length=64)  # type: ignore[assignment]  # the publisher

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "agency", UUID, description="Only this agency's rates (and the reference rates)."
            )
        ],
        responses=FxRateOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        agency = None
        if request.query_params.get("agency"):
            agency = agency_get_for_actor(actor=request.user, public_id=request.query_params["agency"])
        return paginated(
            self, request, fx_rate_list_for_actor(actor=request.user, agency=agency), FxRateOutput
        )

    @idempotent
    @extend_schema(request=InputSerializer, responses={201: FxRateRecordedOutput})
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        agency = agency_get_for_actor(actor=request.user, public_id=data.pop("agency"))
        recorded = fx_rate_record(agency=agency, actor=request.user, **data)
        output = FxRateRecordedOutput(recorded.rate, context={"requeued": recorded.requeued})
        return Response(output.data, status=201)
