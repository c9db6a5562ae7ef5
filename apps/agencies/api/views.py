"""Agencies and their members, scoped to the caller's memberships."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agencies.selectors import agency_get_for_actor, agency_list_for_actor, membership_list_for_actor
from apps.agencies.services import agency_update
from apps.common.api import validated
from apps.common.pagination import Pagination, paginated


class AgencyOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    name = serializers.CharField()
    legal_name = serializers.CharField()
    time_zone = serializers.CharField()
    default_currency = serializers.CharField()


class MembershipOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    email = serializers.EmailField(source="user.email")
    role = serializers.CharField()
    is_active = serializers.BooleanField()


class AgencyListApi(APIView):
    pagination_class = Pagination

    @extend_schema(responses=AgencyOutput(many=True))
    def get(self, request: Request) -> Response:
        return paginated(self, request, agency_list_for_actor(actor=request.user), AgencyOutput)


class AgencyDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        legal_name = serializers.CharField(max_length=300, required=False)
        time_zone = serializers.CharField(max_length=64, required=False)
        default_currency = serializers.CharField(min_length=3, max_length=3, required=False)

    @extend_schema(responses=AgencyOutput)
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(AgencyOutput(agency_get_for_actor(actor=request.user, public_id=public_id)).data)

    @extend_schema(request=InputSerializer, responses=AgencyOutput)
    def patch(self, request: Request, public_id: UUID) -> Response:
        agency = agency_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        return Response(AgencyOutput(agency_update(agency=agency, actor=request.user, **data)).data)


class MembershipListApi(APIView):
    pagination_class = Pagination

    @extend_schema(responses=MembershipOutput(many=True))
    def get(self, request: Request, public_id: UUID) -> Response:
        agency = agency_get_for_actor(actor=request.user, public_id=public_id)
        members = membership_list_for_actor(actor=request.user, agency=agency)
        return paginated(self, request, members, MembershipOutput)
