"""Invitations over the API: an agency's members list them; owners and managers invite creators and
owners invite members (201; a phone invitation's link is in the answer, once); revoke; and the
invited person opens, accepts or declines by the link's token (in the body, never the path)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agencies.selectors import agency_get_for_actor
from apps.common.api import validated
from apps.common.catalog import Platform
from apps.common.pagination import Pagination, paginated
from apps.creators.models import Creator
from apps.idempotency.api import idempotent
from apps.invitations.models import Invitation
from apps.invitations.selectors import (
    STATES,
    invitation_get_by_token,
    invitation_get_for_actor,
    invitation_list_for_actor,
    invitation_proposed_accounts,
)
from apps.invitations.services import (
    DEFAULT_DAYS,
    MAX_DAYS,
    MAX_PROPOSED_ACCOUNTS,
    invitation_accept,
    invitation_closed_reason,
    invitation_create_for_creator,
    invitation_create_for_member,
    invitation_decline,
    invitation_refusal,
    invitation_revoke,
)


class ProposedAccountSerializer(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Platform.choices)
    account_id = serializers.CharField(max_length=128)
    handle = serializers.CharField(max_length=128, required=False, default="", allow_blank=True)


class InvitationOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    agency = serializers.UUIDField(source="agency.public_id")
    agency_name = serializers.CharField(source="agency.name")
    kind = serializers.ChoiceField(choices=Invitation.Kind.choices)
    channel = serializers.ChoiceField(choices=Invitation.Channel.choices)
    email = serializers.EmailField()
    phone = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField(
        help_text="The role a member invitation gives; empty for a creator invitation."
    )
    proposed_accounts = ProposedAccountSerializer(many=True)
    state = serializers.SerializerMethodField(
        help_text="open (the link works), expired, accepted, declined, revoked or replaced."
    )
    invited_by = serializers.EmailField(source="invited_by.email")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    email_sent_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)

    def get_state(self, invitation: Invitation) -> str:
        if invitation.is_expired:
            return "expired"
        return "open" if invitation.status == Invitation.Status.PENDING else invitation.status


class CreatedInvitationOutput(InvitationOutput):
    link = serializers.CharField(
        allow_null=True,
        help_text="A phone invitation's link, for the agency to send itself; shown this once. Null "
        "for an email invitation: its link goes to the address only.",
    )
    email_sent = serializers.BooleanField()


class InvitationListApi(APIView):
    """GET: the invitations of the caller's agencies. POST: invite a creator (owners and managers;
    `email` or `phone`, and the platform accounts proposed) or a member (owners; `email`, `role`)."""

    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        agency = serializers.UUIDField()
        kind = serializers.ChoiceField(choices=Invitation.Kind.choices)
        email = serializers.CharField(max_length=254, required=False, default="", allow_blank=True)
        phone = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)
        name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
        role = serializers.CharField(max_length=16, required=False, default="", allow_blank=True)
        accounts = serializers.ListField(
            child=ProposedAccountSerializer(), required=False, max_length=MAX_PROPOSED_ACCOUNTS
        )
        expires_in_days = serializers.IntegerField(min_value=1, max_value=MAX_DAYS, default=DEFAULT_DAYS)

    @extend_schema(
        parameters=[
            OpenApiParameter("agency", str, description="An agency's public id."),
            OpenApiParameter("kind", str, enum=Invitation.Kind.values),
            OpenApiParameter("state", str, enum=list(STATES)),
        ],
        responses=InvitationOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        agency_id = None
        if request.query_params.get("agency"):
            agency_id = agency_get_for_actor(actor=request.user, public_id=request.query_params["agency"]).pk
        invitations = invitation_list_for_actor(
            actor=request.user,
            agency_id=agency_id,
            kind=request.query_params.get("kind") or None,
            state=request.query_params.get("state") or None,
        )
        return paginated(self, request, invitations, InvitationOutput)

    @idempotent(response_secrets=("link",))
    @extend_schema(request=InputSerializer, responses={201: CreatedInvitationOutput})
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        agency = agency_get_for_actor(actor=request.user, public_id=data["agency"])
        common: dict[str, Any] = {
            "agency": agency,
            "actor": request.user,
            "base_url": request.build_absolute_uri("/"),
            "name": data["name"],
            "expires_in_days": data["expires_in_days"],
            "language": getattr(request, "LANGUAGE_CODE", "en"),
        }
        if data["kind"] == Invitation.Kind.CREATOR:
            created = invitation_create_for_creator(
                email=data["email"], phone=data["phone"], accounts=data.get("accounts", []), **common
            )
        else:
            created = invitation_create_for_member(email=data["email"], role=data["role"], **common)
        body = dict(InvitationOutput(created.invitation).data)
        body["link"] = created.link if created.invitation.channel == Invitation.Channel.PHONE else None
        body["email_sent"] = created.email_sent
        return Response(body, status=201)


class InvitationDetailApi(APIView):
    @extend_schema(responses=InvitationOutput)
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(
            InvitationOutput(invitation_get_for_actor(actor=request.user, public_id=public_id)).data
        )


class InvitationRevokeApi(APIView):
    """Owners and managers revoke a creator invitation, owners a member invitation; the link stops working."""

    @extend_schema(request=None, responses=InvitationOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        invitation = invitation_get_for_actor(actor=request.user, public_id=public_id)
        return Response(InvitationOutput(invitation_revoke(invitation=invitation, actor=request.user)).data)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=100)


class InvitationPreviewOutput(serializers.Serializer):
    agency_name = serializers.CharField(source="invitation.agency.name")
    kind = serializers.CharField(source="invitation.kind")
    role = serializers.CharField(source="invitation.role")
    invited_by = serializers.CharField(source="invitation.invited_by.get_full_name")
    expires_at = serializers.DateTimeField(source="invitation.expires_at")
    proposed_accounts = serializers.ListField(child=serializers.DictField())
    can_accept = serializers.BooleanField()
    refusal = serializers.CharField(allow_null=True, help_text="Why the caller may not accept it, if so.")
    refusal_code = serializers.CharField(allow_null=True)


class InvitationOpenApi(APIView):
    """What an invitation proposes and whether the caller may accept it (the link's token in the body)."""

    @extend_schema(request=TokenSerializer, responses=InvitationPreviewOutput)
    def post(self, request: Request) -> Response:
        invitation = invitation_get_by_token(token=validated(TokenSerializer, request.data)["token"])
        closed = invitation_closed_reason(invitation=invitation)
        if closed is not None:
            raise closed
        refusal = invitation_refusal(invitation=invitation, user=request.user)
        accounts = [
            {
                "index": a.index,
                "platform": a.platform,
                "account_id": a.account_id,
                "handle": a.handle,
                "is_on_profile": a.is_on_profile,
            }
            for a in invitation_proposed_accounts(invitation=invitation, viewer=request.user)
        ]
        return Response(
            InvitationPreviewOutput(
                {
                    "invitation": invitation,
                    "proposed_accounts": accounts,
                    "can_accept": refusal is None,
                    "refusal": refusal.message if refusal else None,
                    "refusal_code": refusal.code if refusal else None,
                }
            ).data
        )


class AcceptedOutput(serializers.Serializer):
    invitation = InvitationOutput()
    creator = serializers.UUIDField(source="creator.public_id", allow_null=True, default=None)
    role = serializers.CharField(source="membership.role", allow_null=True, default=None)
    accounts_added = serializers.ListField(child=serializers.UUIDField())


class InvitationAcceptApi(APIView):
    """The invited person accepts: `accounts` are the indexes of the proposed accounts that are
    theirs (all when left out); a caller without a creator profile gives its `legal_name` (and
    `display_name`, `creator_type`). Refusals: 403 (another person's email), 409 (used, declined,
    a member of the agency, already represented, an account that cannot be added), 410 (expired,
    revoked, replaced); nothing is created."""

    class InputSerializer(TokenSerializer):
        accounts = serializers.ListField(child=serializers.IntegerField(min_value=0), required=False)
        display_name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
        legal_name = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
        creator_type = serializers.ChoiceField(choices=Creator.Type.choices, default=Creator.Type.INDIVIDUAL)

    @extend_schema(request=InputSerializer, responses=AcceptedOutput)
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        invitation = invitation_get_by_token(token=data.pop("token"))
        accepted = invitation_accept(
            invitation=invitation, user=request.user, accounts=data.pop("accounts", None), **data
        )
        return Response(
            AcceptedOutput(
                {
                    "invitation": accepted.invitation,
                    "creator": accepted.creator,
                    "membership": accepted.membership,
                    "accounts_added": [account.public_id for account in accepted.accounts_added],
                }
            ).data
        )


class InvitationDeclineApi(APIView):
    @extend_schema(request=TokenSerializer, responses=InvitationOutput)
    def post(self, request: Request) -> Response:
        invitation = invitation_get_by_token(token=validated(TokenSerializer, request.data)["token"])
        return Response(InvitationOutput(invitation_decline(invitation=invitation, user=request.user)).data)
