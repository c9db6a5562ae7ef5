"""Contracts API: thin views over the services and selectors; errors as problem details."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from apps.accounts.models import User
from apps.agencies.selectors import agency_get_for_actor
from apps.common.api import BusinessDateField, validated
from apps.common.catalog import Platform
from apps.common.exceptions import ApplicationError
from apps.common.money import MoneyError, to_decimal_string, to_minor
from apps.common.pagination import Pagination, paginated
from apps.common.ratelimit import allow, client_ip
from apps.contracts.models import CreativeControl, Exclusivity, Language
from apps.contracts.rendering.document import render_document
from apps.contracts.selectors import (
    MAX_PDF_BYTES,
    PDF_CHECK_WINDOW_SECONDS,
    PDF_CHECKS_PER_WINDOW,
    contract_fairness_summary,
    contract_get_for_actor,
    contract_list_for_actor,
    contract_pdf_check,
    contract_template_get_for_actor,
    contract_template_list_for_actor,
    contract_version_diff,
    contract_version_get_for_actor,
    contract_version_list_for_actor,
    pdf_check_body_too_large,
    pdf_too_large_error,
)
from apps.contracts.services import (
    audit_meta_from_request,
    contract_amendment_draft,
    contract_draft,
    contract_pdf_ensure,
    contract_sign,
    contract_signer_reauthenticate,
    contract_template_create,
    contract_version_decline,
    contract_version_send,
    contract_version_update,
    contract_version_withdraw,
)
from apps.creators.selectors import creator_get_for_actor
from apps.idempotency.api import idempotent

# --- outputs ---------------------------------------------------------------------------------------


class SignatureOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    party = serializers.CharField()
    signer_name = serializers.CharField()
    signer_email = serializers.EmailField()
    signed_at = serializers.DateTimeField()
    ip_address = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    document_sha256 = serializers.CharField()
    reauthenticated_by = serializers.CharField()


class VersionOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    contract = serializers.UUIDField(source="contract.public_id")
    number = serializers.IntegerField()
    status = serializers.CharField()
    language = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    effective_from = serializers.DateField()
    auto_renewal = serializers.BooleanField()
    renewal_notice_days = serializers.IntegerField()
    platforms = serializers.ListField(child=serializers.CharField())
    exclusivity = serializers.CharField()
    creative_control = serializers.CharField()
    statement_days = serializers.IntegerField()
    payment_days = serializers.IntegerField()
    late_interest_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    payout_threshold = serializers.SerializerMethodField()
    audit_right = serializers.BooleanField()
    termination_notice_days = serializers.IntegerField()
    termination_fee_cap = serializers.SerializerMethodField()
    currency = serializers.CharField()
    rule_set = serializers.JSONField()
    worked_examples = serializers.SerializerMethodField()
    offer_valid_days = serializers.IntegerField()
    document_sha256 = serializers.CharField()
    sent_at = serializers.DateTimeField(allow_null=True)
    offer_expires_at = serializers.DateTimeField(allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    activated_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    closed_reason = serializers.CharField()
    pdf_sha256 = serializers.CharField()
    signatures = SignatureOutput(many=True)

    def get_termination_fee_cap(self, version: Any) -> str:
        return to_decimal_string(version.termination_fee_cap_minor, version.currency)

    def get_payout_threshold(self, version: Any) -> str:
        return to_decimal_string(version.payout_threshold_minor, version.currency)

    def get_worked_examples(self, version: Any) -> list[dict[str, Any]]:
        """Amounts as decimal strings, like every amount the API returns."""
        return [
            {
                key.removesuffix("_minor"): to_decimal_string(value, version.currency)
                if key.endswith("_minor")
                else value
                for key, value in example.items()
            }
            for example in version.worked_examples
        ]


class ContractOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    title = serializers.CharField()
    agency = serializers.UUIDField(source="agency.public_id")
    agency_name = serializers.CharField(source="agency.name")
    creator = serializers.UUIDField(source="creator.public_id")
    creator_name = serializers.CharField(source="creator.display_name")
    template = serializers.UUIDField(source="template.public_id")
    created_at = serializers.DateTimeField()
    versions = serializers.SerializerMethodField()

    def get_versions(self, contract: Any) -> list[dict[str, Any]]:
        return [
            {"public_id": str(version.public_id), "number": version.number, "status": version.status}
            for version in contract.versions.all()
            if version.status != "draft" or self.context.get("sees_drafts", {}).get(contract.agency_id)
        ]


class TemplateOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.CharField()
    language = serializers.CharField()
    is_builtin = serializers.BooleanField()
    body = serializers.CharField()
    default_terms = serializers.JSONField()
    default_rule_set = serializers.JSONField()


def _contract_context(request: Request) -> dict[str, Any]:
    from apps.common.tenancy import scope_for

    return {"sees_drafts": {agency_id: True for agency_id in scope_for(request.user).agency_ids}}


# --- inputs ------------------------------------------------------------------------------------------


class TermsInput(serializers.Serializer):
    """Terms as a person writes them; money as a decimal string, converted at this edge."""

    language = serializers.ChoiceField(choices=Language.choices, required=False)
    start_date = BusinessDateField(required=False)
    end_date = BusinessDateField(required=False)
    auto_renewal = serializers.BooleanField(required=False)
    renewal_notice_days = serializers.IntegerField(min_value=0, max_value=3650, required=False)
    platforms = serializers.ListField(
        child=serializers.ChoiceField(choices=Platform.choices), allow_empty=True, required=False
    )
    exclusivity = serializers.ChoiceField(choices=Exclusivity.choices, required=False)
    creative_control = serializers.ChoiceField(choices=CreativeControl.choices, required=False)
    statement_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    payment_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    late_interest_percent = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    payout_threshold = serializers.RegexField(
        r"^\d+(\.\d+)?$",
        max_length=40,
        required=False,
        help_text="The smallest payout after tax, e.g. 100.00; a smaller balance waits for a later batch.",
    )
    audit_right = serializers.BooleanField(required=False)
    termination_notice_days = serializers.IntegerField(min_value=0, max_value=3650, required=False)
    termination_fee_cap = serializers.RegexField(r"^\d+(\.\d+)?$", max_length=40, required=False)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    rule_set = serializers.JSONField(required=False)
    offer_valid_days = serializers.IntegerField(min_value=1, max_value=90, required=False)


def terms_from_input(data: dict[str, Any], *, currency: str) -> dict[str, Any]:
    """Turn the decimal-string amounts (fee cap, payout threshold) into minor units; every other
    term is already typed."""
    terms = dict(data)
    for field in ("termination_fee_cap", "payout_threshold"):
        if field not in terms:
            continue
        try:
            terms[f"{field}_minor"] = to_minor(terms.pop(field), terms.get("currency", currency))
        except MoneyError as error:
            raise ApplicationError(str(error), code="invalid_amount", extra={"field": field}) from None
    return terms


# --- templates ------------------------------------------------------------------------------------------


class ContractTemplateListApi(APIView):
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        agency = serializers.UUIDField()
        name = serializers.CharField(max_length=200)
        language = serializers.ChoiceField(choices=Language.choices)
        body = serializers.CharField()
        default_rule_set = serializers.JSONField()
        default_terms = serializers.DictField(required=False)

    @extend_schema(responses=TemplateOutput(many=True))
    def get(self, request: Request) -> Response:
        return paginated(self, request, contract_template_list_for_actor(actor=request.user), TemplateOutput)

    @idempotent
    @extend_schema(request=InputSerializer, responses={201: TemplateOutput})
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        agency = agency_get_for_actor(actor=request.user, public_id=data.pop("agency"))
        template = contract_template_create(agency=agency, actor=request.user, **data)
        return Response(TemplateOutput(template).data, status=201)


# --- contracts and versions -------------------------------------------------------------------------------


class ContractListApi(APIView):
    pagination_class = Pagination

    class InputSerializer(TermsInput):
        agency = serializers.UUIDField()
        creator = serializers.UUIDField()
        template = serializers.UUIDField()
        title = serializers.CharField(max_length=200, required=False, allow_blank=True)

    @extend_schema(responses=ContractOutput(many=True))
    def get(self, request: Request) -> Response:
        contracts = contract_list_for_actor(actor=request.user)
        return paginated(self, request, contracts, ContractOutput, context=_contract_context(request))

    @idempotent
    @extend_schema(request=InputSerializer, responses={201: VersionOutput})
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        # Every foreign key through the caller's scope: another tenant's ids answer 404.
        agency = agency_get_for_actor(actor=request.user, public_id=data.pop("agency"))
        creator = creator_get_for_actor(actor=request.user, public_id=data.pop("creator"))
        template = contract_template_get_for_actor(actor=request.user, public_id=data.pop("template"))
        title = data.pop("title", "")
        terms = terms_from_input(data, currency=agency.default_currency)
        version = contract_draft(
            actor=request.user, agency=agency, creator=creator, template=template, title=title, **terms
        )
        return Response(VersionOutput(version).data, status=201)


class ContractDetailApi(APIView):
    @extend_schema(responses=ContractOutput)
    def get(self, request: Request, public_id: UUID) -> Response:
        contract = contract_get_for_actor(actor=request.user, public_id=public_id)
        return Response(ContractOutput(contract, context=_contract_context(request)).data)


class ContractAmendApi(APIView):
    class InputSerializer(TermsInput):
        effective_from = BusinessDateField()

    @idempotent
    @extend_schema(request=InputSerializer, responses={201: VersionOutput})
    def post(self, request: Request, public_id: UUID) -> Response:
        contract = contract_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        effective_from = data.pop("effective_from")
        terms = terms_from_input(data, currency=contract.agency.default_currency)
        version = contract_amendment_draft(
            contract=contract, actor=request.user, effective_from=effective_from, **terms
        )
        return Response(VersionOutput(version).data, status=201)


class DiffTermOutput(serializers.Serializer):
    term = serializers.CharField()
    before = serializers.CharField()
    after = serializers.CharField()


class DiffRuleOutput(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # API field "label": the metaclass takes it off the class; stubs see Field.label
    status = serializers.ChoiceField(choices=["added", "removed", "changed"])
    before = serializers.ListField(child=serializers.CharField())
    after = serializers.ListField(child=serializers.CharField())


class DiffSentencesOutput(serializers.Serializer):
    before = serializers.ListField(child=serializers.CharField())
    after = serializers.ListField(child=serializers.CharField())


class DiffPointerOutput(serializers.Serializer):
    path = serializers.CharField(help_text="JSON pointer into the rule set")
    before = serializers.CharField()
    after = serializers.CharField()


class ContractDiffApi(APIView):
    class OutputSerializer(serializers.Serializer):
        from_version = serializers.IntegerField()
        to_version = serializers.IntegerField()
        terms = DiffTermOutput(many=True)
        rules = DiffRuleOutput(many=True)
        general = DiffSentencesOutput(allow_null=True)
        rule_set = DiffPointerOutput(many=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", int, required=True, description="Version number"),
            OpenApiParameter("to", int, required=True, description="Version number"),
        ],
        responses=OutputSerializer,
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        contract = contract_get_for_actor(actor=request.user, public_id=public_id)
        versions = {
            v.number: v for v in contract_version_list_for_actor(actor=request.user, contract=contract)
        }
        try:
            older, newer = (
                versions[int(request.query_params["from"])],
                versions[int(request.query_params["to"])],
            )
        except (KeyError, ValueError):
            raise ApplicationError(
                "Give two version numbers of this contract you can see: ?from=1&to=2", code="invalid_versions"
            ) from None
        diff = contract_version_diff(older=older, newer=newer)
        return Response(
            {
                "from_version": diff.older.number,
                "to_version": diff.newer.number,
                "terms": [
                    {"term": label, "before": before, "after": after} for label, before, after in diff.terms
                ],
                "rules": diff.rules,
                "general": {"before": diff.general[0], "after": diff.general[1]} if diff.general else None,
                "rule_set": [
                    {"path": path, "before": before, "after": after}
                    for path, before, after in diff.rule_set_changes
                ],
            }
        )


class ContractVersionDetailApi(APIView):
    class InputSerializer(TermsInput):
        effective_from = BusinessDateField(required=False)

    @extend_schema(responses=VersionOutput)
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(
            VersionOutput(contract_version_get_for_actor(actor=request.user, public_id=public_id)).data
        )

    @extend_schema(request=InputSerializer, responses=VersionOutput)
    def patch(self, request: Request, public_id: UUID) -> Response:
        version = contract_version_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        terms = terms_from_input(data, currency=version.currency)
        return Response(
            VersionOutput(contract_version_update(version=version, actor=request.user, **terms)).data
        )


class ContractVersionSendApi(APIView):
    @extend_schema(request=None, responses=VersionOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        version = contract_version_get_for_actor(actor=request.user, public_id=public_id)
        return Response(VersionOutput(contract_version_send(version=version, actor=request.user)).data)


class ContractVersionWithdrawApi(APIView):
    @extend_schema(request=None, responses=VersionOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        version = contract_version_get_for_actor(actor=request.user, public_id=public_id)
        return Response(VersionOutput(contract_version_withdraw(version=version, actor=request.user)).data)


class ContractVersionDeclineApi(APIView):
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=300, required=False, allow_blank=True)

    @extend_schema(request=InputSerializer, responses=VersionOutput)
    def post(self, request: Request, public_id: UUID) -> Response:
        version = contract_version_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        return Response(
            VersionOutput(contract_version_decline(version=version, actor=request.user, **data)).data
        )


class ContractSignApi(APIView):
    class InputSerializer(serializers.Serializer):
        document_sha256 = serializers.RegexField(r"^[0-9a-fA-F]{64}$")
        party = serializers.ChoiceField(choices=["creator", "agency"], required=False)
        password = serializers.CharField(write_only=True, help_text="Re-authentication: your password.")
        code = serializers.CharField(
            required=False, allow_blank=True, help_text="Re-authentication: a TOTP code, if you use one."
        )

    @idempotent(request_secrets=("password", "code"))
    @extend_schema(request=InputSerializer, responses={201: SignatureOutput})
    def post(self, request: Request, public_id: UUID) -> Response:
        user = cast(User, request.user)  # IsAuthenticated: never anonymous here
        data = validated(self.InputSerializer, request.data)
        version = contract_version_get_for_actor(actor=user, public_id=public_id)
        method = contract_signer_reauthenticate(
            user=user, password=data["password"], code=data.get("code", "")
        )
        signature = contract_sign(
            version=version,
            signer=user,
            document_sha256=data["document_sha256"],
            party=data.get("party"),
            meta=audit_meta_from_request(request, reauthenticated_by=method),
        )
        return Response(SignatureOutput(signature).data, status=201)


class ContractVersionDocumentApi(APIView):
    class OutputSerializer(serializers.Serializer):
        html = serializers.CharField()
        text = serializers.CharField()
        sha256 = serializers.CharField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, public_id: UUID) -> Response:
        version = contract_version_get_for_actor(actor=request.user, public_id=public_id)
        if version.is_draft:
            document = render_document(version)  # a preview: drafts are rendered live
            return Response({"html": document.html, "text": document.text, "sha256": document.sha256})
        return Response(
            {"html": version.document_html, "text": version.document_text, "sha256": version.document_sha256}
        )


class FairnessItemOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # API field "label": the metaclass takes it off the class; stubs see Field.label
    text = serializers.CharField()
    is_concern = serializers.BooleanField()


class ContractVersionFairnessApi(APIView):
    class OutputSerializer(serializers.Serializer):
        en = FairnessItemOutput(many=True)
        zh_hans = FairnessItemOutput(many=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, public_id: UUID) -> Response:
        version = contract_version_get_for_actor(actor=request.user, public_id=public_id)
        summary = contract_fairness_summary(version=version)
        return Response(self.OutputSerializer({"en": summary["en"], "zh_hans": summary["zh-hans"]}).data)


class ContractVersionPdfApi(APIView):
    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request: Request, public_id: UUID) -> FileResponse:
        version = contract_version_get_for_actor(actor=request.user, public_id=public_id)
        version = contract_pdf_ensure(version=version)
        return FileResponse(
            version.pdf.open("rb"),
            as_attachment=True,
            filename=f"contract-{version.contract.public_id}-v{version.number}.pdf",
            content_type="application/pdf",
        )


class ContractPdfCheckApi(APIView):
    """Anyone holding a PDF may check it: no login, throttled like anonymous traffic and with the
    check page's budget per client address; what one check may cost is bounded in
    contract_pdf_check (413 too large, 422 too complex, 503 busy)."""

    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()

    class OutputSerializer(serializers.Serializer):
        matches = serializers.BooleanField()
        reason = serializers.CharField()
        pdf_sha256 = serializers.CharField()
        document_sha256 = serializers.CharField(allow_blank=True)
        contract = serializers.UUIDField(allow_null=True)
        version = serializers.IntegerField(allow_null=True)

    @extend_schema(request={"multipart/form-data": InputSerializer}, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        if not allow(
            f"pdf-check:{client_ip(request)}",
            limit=PDF_CHECKS_PER_WINDOW,
            window_seconds=PDF_CHECK_WINDOW_SECONDS,
        ):
            raise ApplicationError(
                _("Too many checks from your address. Wait ten minutes and try again."), code="throttled"
            ).with_status(429)
        if pdf_check_body_too_large(content_length=request.META.get("CONTENT_LENGTH")):
            raise pdf_too_large_error()  # before the body is read
        upload = validated(self.InputSerializer, request.data)["file"]
        check = contract_pdf_check(pdf_bytes=upload.read(MAX_PDF_BYTES + 1))
        return Response(
            {
                "matches": check.matches,
                "reason": check.reason,
                "pdf_sha256": check.pdf_sha256,
                "document_sha256": check.claimed_document_sha256,
                "contract": check.version.contract.public_id if check.version else None,
                "version": check.version.number if check.version else None,
            }
        )
