"""Disputes API: the list (paginated, scoped: an agency's members its disputes, a creator their
own), a dispute with its whole thread, opening one (the creator, JSON or multipart with files),
adding a message (the creator's is a reply, the agency's an answer), resolving (with an optional
correction as a decimal string) and rejecting, and each file as an attachment. Refusals are
problem documents: 400 bad input (an empty message, a file over 10 MB), 403 a role that may not,
404 another tenant's dispute, 409 a dispute already closed or already open about the subject."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agencies.selectors import agency_get_for_actor
from apps.common.api import validated
from apps.common.exceptions import ApplicationError
from apps.common.money import MoneyError, to_decimal_string, to_minor
from apps.common.pagination import Pagination, paginated
from apps.common.parsers import JSONParser
from apps.common.tenancy import scope_for
from apps.disputes.models import Dispute, DisputeAttachment, DisputeMessage
from apps.disputes.selectors import (
    dispute_attachment_get_for_actor,
    dispute_get_for_actor,
    dispute_is_overdue,
    dispute_list_for_actor,
    dispute_subject_text,
    dispute_thread,
)
from apps.disputes.services import (
    MAX_MESSAGE_CHARS,
    MAX_NOTE_CHARS,
    dispute_answer,
    dispute_open,
    dispute_reject,
    dispute_reply,
    dispute_resolve,
    dispute_url,
)
from apps.idempotency.api import idempotent
from apps.income.selectors import income_line_get_for_actor
from apps.statements.selectors import statement_get_for_actor


class DisputeOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    agency = serializers.UUIDField(source="agency.public_id")
    agency_name = serializers.CharField(source="agency.name")
    creator = serializers.UUIDField(source="creator.public_id")
    creator_name = serializers.CharField(source="creator.display_name")
    income_line = serializers.UUIDField(source="income_line.public_id", allow_null=True, default=None)
    statement = serializers.UUIDField(source="statement.public_id", allow_null=True, default=None)
    about = serializers.SerializerMethodField()
    state = serializers.CharField()
    currency = serializers.CharField()
    answer_due = serializers.DateField(help_text="The agency-local day by which the agency must answer.")
    is_overdue = serializers.SerializerMethodField()
    opened_at = serializers.DateTimeField()
    last_message_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    resolution_note = serializers.CharField()
    correction = serializers.SerializerMethodField()
    correction_entry = serializers.UUIDField(
        source="correction_entry.public_id", allow_null=True, default=None
    )
    correction_entry_seq = serializers.IntegerField(
        source="correction_entry.seq", allow_null=True, default=None
    )

    def get_about(self, dispute: Dispute) -> str:
        return dispute_subject_text(dispute)

    def get_is_overdue(self, dispute: Dispute) -> bool:
        return dispute_is_overdue(dispute)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_correction(self, dispute: Dispute) -> str | None:
        if dispute.correction_minor is None:
            return None
        return to_decimal_string(dispute.correction_minor, dispute.currency)


class AttachmentOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()


class MessageOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    side = serializers.CharField()
    kind = serializers.CharField()
    author_name = serializers.CharField(source="author.get_short_name")
    body = serializers.CharField()
    state_after = serializers.CharField()
    created_at = serializers.DateTimeField()
    attachments = serializers.SerializerMethodField()

    @extend_schema_field(AttachmentOutput(many=True))
    def get_attachments(self, message: DisputeMessage) -> Any:
        return AttachmentOutput(message.attachments.all(), many=True).data


class DisputeDetailOutput(DisputeOutput):
    url = serializers.SerializerMethodField()
    messages = serializers.SerializerMethodField()

    def get_url(self, dispute: Dispute) -> str:
        return dispute_url(dispute, self.context.get("base_url", ""))

    @extend_schema_field(MessageOutput(many=True))
    def get_messages(self, dispute: Dispute) -> Any:
        return MessageOutput(dispute_thread(dispute=dispute), many=True).data


def _base_url(request: Request) -> str:
    return request.build_absolute_uri("/")


def _detail(request: Request, dispute: Dispute, status: int = 200) -> Response:
    fresh = dispute_get_for_actor(actor=request.user, public_id=dispute.public_id)
    return Response(DisputeDetailOutput(fresh, context={"base_url": _base_url(request)}).data, status=status)


def attachment_response(attachment: DisputeAttachment) -> FileResponse:
    """The stored file, served through tenancy (media files are never public), as an attachment:
    the browser saves it rather than rendering what was uploaded on this origin."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        content_type=attachment.content_type,
        filename=attachment.name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


class DisputeListApi(APIView):
    pagination_class = Pagination
    parser_classes = (JSONParser, MultiPartParser, FormParser)

    class FilterSerializer(serializers.Serializer):
        state = serializers.ChoiceField(choices=Dispute.State.values, required=False)
        overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
        agency = serializers.UUIDField(required=False)

    class InputSerializer(serializers.Serializer):
        income_line = serializers.UUIDField(required=False, help_text="The income line's public id.")
        statement = serializers.UUIDField(required=False, help_text="A published statement's public id.")
        message = serializers.CharField(max_length=MAX_MESSAGE_CHARS, allow_blank=True)
        files = serializers.ListField(
            child=serializers.FileField(),
            required=False,
            help_text="multipart only: up to 5 PDF, JPG or PNG files, at most 10 MB each.",
        )

        def validate(self, data: dict[str, Any]) -> dict[str, Any]:
            if ("income_line" in data) == ("statement" in data):
                raise serializers.ValidationError("Name one income_line or one statement.")
            return data

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=Dispute.State.values),
            OpenApiParameter("overdue", bool, description="true: only open disputes past their answer day"),
            OpenApiParameter("agency", UUID, description="agency public id"),
        ],
        responses=DisputeOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        agency = None
        if filters.get("agency"):
            agency = agency_get_for_actor(actor=request.user, public_id=filters["agency"])
        disputes = dispute_list_for_actor(
            actor=request.user, state=filters.get("state"), overdue=filters.get("overdue"), agency=agency
        )
        return paginated(self, request, disputes, DisputeOutput)

    @idempotent
    @extend_schema(
        request={"application/json": InputSerializer, "multipart/form-data": InputSerializer},
        responses={201: DisputeDetailOutput},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        line = statement = None
        if "income_line" in data:
            line = income_line_get_for_actor(actor=request.user, public_id=data["income_line"])
        else:
            statement = statement_get_for_actor(actor=request.user, public_id=data["statement"])
        dispute = dispute_open(
            actor=request.user,
            message=data["message"],
            files=data.get("files") or [],
            income_line=line,
            statement=statement,
            base_url=_base_url(request),
        )
        return _detail(request, dispute, status=201)


class DisputeDetailApi(APIView):
    @extend_schema(responses=DisputeDetailOutput)
    def get(self, request: Request, public_id: UUID) -> Response:
        return _detail(request, dispute_get_for_actor(actor=request.user, public_id=public_id))


class DisputeMessageApi(APIView):
    parser_classes = (JSONParser, MultiPartParser, FormParser)

    class InputSerializer(serializers.Serializer):
        message = serializers.CharField(max_length=MAX_MESSAGE_CHARS, allow_blank=True)
        files = serializers.ListField(
            child=serializers.FileField(),
            required=False,
            help_text="multipart only: up to 5 PDF, JPG or PNG files, at most 10 MB each.",
        )

    @idempotent
    @extend_schema(
        request={"application/json": InputSerializer, "multipart/form-data": InputSerializer},
        responses={201: DisputeDetailOutput},
        description="The creator's message is a reply (an answered dispute goes back to open); "
        "an agency owner's, manager's or finance member's is an answer (open → answered).",
    )
    def post(self, request: Request, public_id: UUID) -> Response:
        dispute = dispute_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        service = (
            dispute_reply if scope_for(request.user).creator_id == dispute.creator_id else dispute_answer
        )
        service(
            dispute=dispute,
            actor=request.user,
            message=data["message"],
            files=data.get("files") or [],
            base_url=_base_url(request),
        )
        return _detail(request, dispute, status=201)


class DisputeResolveApi(APIView):
    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=MAX_NOTE_CHARS, allow_blank=True)
        amount = serializers.CharField(
            max_length=40,
            required=False,
            allow_null=True,
            help_text='Optional correction in the dispute\'s currency, e.g. "120.00" (the creator is '
            'owed more) or "-50.00" (less); posted to the ledger. Omit to resolve without money.',
        )

    @extend_schema(request=InputSerializer, responses=DisputeDetailOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        dispute = dispute_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        correction_minor = None
        if data.get("amount") not in (None, ""):
            try:
                correction_minor = to_minor(data["amount"], dispute.currency)
            except MoneyError as error:
                raise ApplicationError(str(error), code="invalid_amount", extra={"field": "amount"}) from None
        resolved = dispute_resolve(
            dispute=dispute,
            actor=request.user,
            note=data["note"],
            correction_minor=correction_minor,
            base_url=_base_url(request),
        )
        return _detail(request, resolved)


class DisputeRejectApi(APIView):
    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=MAX_NOTE_CHARS, allow_blank=True)

    @extend_schema(request=InputSerializer, responses=DisputeDetailOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        dispute = dispute_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        rejected = dispute_reject(
            dispute=dispute, actor=request.user, note=data["note"], base_url=_base_url(request)
        )
        return _detail(request, rejected)


class DisputeAttachmentApi(APIView):
    # The attachment's own type, as checked at upload (a PDF, JPEG or PNG by its first bytes).
    @extend_schema(
        responses={(200, "application/pdf"): bytes, (200, "image/jpeg"): bytes, (200, "image/png"): bytes}
    )
    def get(self, request: Request, public_id: UUID) -> FileResponse:
        attachment: DisputeAttachment = dispute_attachment_get_for_actor(
            actor=request.user, public_id=public_id
        )
        return attachment_response(attachment)
