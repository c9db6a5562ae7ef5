"""Creators and their platform accounts, scoped: a creator sees themself, an agency its roster."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import validated
from apps.common.catalog import Platform
from apps.common.pagination import Pagination, paginated
from apps.creators.models import Creator, PlatformAccount
from apps.creators.selectors import (
    creator_get_for_actor,
    creator_list_for_actor,
    platform_account_get_for_actor,
)
from apps.creators.services import (
    creator_update,
    platform_account_add,
    platform_account_confirm,
    platform_account_reject,
    platform_account_remove,
)
from apps.idempotency.api import idempotent


class PlatformAccountOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    platform = serializers.CharField()
    account_id = serializers.CharField()
    handle = serializers.CharField()
    status = serializers.ChoiceField(
        choices=PlatformAccount.Status.choices,
        help_text="pending: an agency asked for it and the creator has not decided; only a confirmed "
        "account routes statement rows.",
    )
    requested_by_agency = serializers.SerializerMethodField(
        help_text="The agency that asked for a pending or rejected account (null once confirmed)."
    )

    def get_requested_by_agency(self, account: PlatformAccount) -> str | None:
        # Only pending and rejected accounts are shown to the creator and the agency that asked;
        # a confirmed one is shown to every agency of the creator, which must not learn the others.
        if account.status == PlatformAccount.Status.CONFIRMED or account.requested_by_agency is None:
            return None
        return account.requested_by_agency.name


class CreatorOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    display_name = serializers.CharField()
    legal_name = serializers.CharField()
    creator_type = serializers.CharField()
    platform_accounts = PlatformAccountOutput(many=True)


class CreatorListApi(APIView):
    pagination_class = Pagination

    @extend_schema(responses=CreatorOutput(many=True))
    def get(self, request: Request) -> Response:
        return paginated(self, request, creator_list_for_actor(actor=request.user), CreatorOutput)


class CreatorDetailApi(APIView):
    """PATCH: only the creator changes their identity fields; an agency gets 403."""

    class InputSerializer(serializers.Serializer):
        display_name = serializers.CharField(max_length=150, required=False)
        legal_name = serializers.CharField(max_length=300, required=False)
        creator_type = serializers.ChoiceField(choices=Creator.Type.choices, required=False)

    @extend_schema(responses=CreatorOutput)
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(CreatorOutput(creator_get_for_actor(actor=request.user, public_id=public_id)).data)

    @extend_schema(request=InputSerializer, responses=CreatorOutput)
    def patch(self, request: Request, public_id: UUID) -> Response:
        creator = creator_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        creator = creator_update(creator=creator, actor=request.user, **data)
        return Response(
            CreatorOutput(creator_get_for_actor(actor=request.user, public_id=creator.public_id)).data
        )


class PlatformAccountCreateApi(APIView):
    """The creator adds an account (confirmed); an owner or manager of the one agency representing
    the creator asks for one (pending until the creator confirms). Any refusal: 403 or 409 with the
    same neutral message, whoever holds the id."""

    class InputSerializer(serializers.Serializer):
        platform = serializers.ChoiceField(choices=Platform.choices)
        account_id = serializers.CharField(max_length=128)
        handle = serializers.CharField(max_length=128, required=False, default="", allow_blank=True)

    @idempotent
    @extend_schema(request=InputSerializer, responses={201: PlatformAccountOutput})
    def post(self, request: Request, public_id: UUID) -> Response:
        creator = creator_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        account = platform_account_add(creator=creator, actor=request.user, **data)
        return Response(PlatformAccountOutput(account).data, status=201)


class PlatformAccountDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, public_id: UUID) -> Response:
        account = platform_account_get_for_actor(actor=request.user, public_id=public_id)
        platform_account_remove(account=account, actor=request.user)
        return Response(status=204)


class PlatformAccountConfirmApi(APIView):
    """The creator confirms an account an agency asked for; the lines queued for it are routed."""

    @extend_schema(request=None, responses=PlatformAccountOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        account = platform_account_get_for_actor(actor=request.user, public_id=public_id)
        account = platform_account_confirm(account=account, actor=request.user)
        return Response(PlatformAccountOutput(account).data)


class PlatformAccountRejectApi(APIView):
    """The creator rejects an account an agency asked for; it routes nothing."""

    @extend_schema(request=None, responses=PlatformAccountOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        account = platform_account_get_for_actor(actor=request.user, public_id=public_id)
        account = platform_account_reject(account=account, actor=request.user)
        return Response(PlatformAccountOutput(account).data)
