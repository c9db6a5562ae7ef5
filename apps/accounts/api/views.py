"""API about the signed-in person: who am I, and my personal access tokens."""

from __future__ import annotations

from typing import cast
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import User
from apps.accounts.services import access_token_create, access_token_revoke
from apps.common.api import validated
from apps.common.pagination import Pagination, paginated
from apps.common.tenancy import scope_for
from apps.idempotency.api import idempotent


class MeOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    email = serializers.EmailField()
    name = serializers.CharField()
    is_staff = serializers.BooleanField()
    creator = serializers.UUIDField(allow_null=True)
    agencies = serializers.ListField(child=serializers.DictField())


class MeApi(APIView):
    @extend_schema(responses=MeOutput)
    def get(self, request: Request) -> Response:
        from apps.agencies.models import Agency
        from apps.creators.models import Creator

        user = cast(User, request.user)  # IsAuthenticated: never anonymous here
        scope = scope_for(user)
        agencies = Agency.objects.filter(pk__in=scope.agency_ids).order_by("name")
        creator = (
            Creator.objects.filter(pk=scope.creator_id).values_list("public_id", flat=True).first()
            if scope.creator_id
            else None
        )
        return Response(
            MeOutput(
                {
                    "public_id": user.public_id,
                    "email": user.email,
                    "name": user.name,
                    "is_staff": user.is_staff,
                    "creator": creator,
                    "agencies": [
                        {"public_id": str(a.public_id), "name": a.name, "role": scope.agency_roles[a.pk]}
                        for a in agencies
                    ],
                }
            ).data
        )


class AccessTokenOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    name = serializers.CharField()
    token_prefix = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class AccessTokenListCreateApi(APIView):
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        expires_in_days = serializers.IntegerField(min_value=1, max_value=366, default=90)

    @extend_schema(responses=AccessTokenOutput(many=True))
    def get(self, request: Request) -> Response:
        tokens = cast(User, request.user).access_tokens.order_by("-created_at", "-id")
        return paginated(self, request, tokens, AccessTokenOutput)

    @idempotent(response_secrets=("token",))
    @extend_schema(request=InputSerializer, responses={201: AccessTokenOutput})
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        token, secret = access_token_create(user=cast(User, request.user), **data)
        # The secret appears in this one response only.
        return Response({**AccessTokenOutput(token).data, "token": secret}, status=201)


class AccessTokenRevokeApi(APIView):
    @extend_schema(request=None, responses=AccessTokenOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        token = access_token_revoke(user=cast(User, request.user), public_id=public_id)
        return Response(AccessTokenOutput(token).data)
