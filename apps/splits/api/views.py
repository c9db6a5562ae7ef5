"""The split engine over HTTP: simulate a vector-shaped document; publish the rule set schema."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import problem
from apps.splits.engine import RULE_SET_SCHEMA, InvalidDocument
from apps.splits.services import split_simulate


class SplitSimulateApi(APIView):
    """POST a vector-shaped document ({rules, lines, initial?, close?}); get the spec's result
    document back, each line with its trace and its explanation in the request's language."""

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses={
            200: OpenApiResponse(
                description="The result document, lines extended with trace and explanation"
            ),
            400: OpenApiResponse(
                description="Problem details naming the field (INVALID_RULES, INVALID_DOCUMENT)"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        viewer = request.query_params.get("viewer")
        try:
            simulation = split_simulate(document=request.data, viewer=viewer)
        except InvalidDocument as error:
            return problem(
                400,
                f"{error.path.lstrip('/') or 'document'}: {error.message}",
                code="INVALID_DOCUMENT",
                pointer=error.path,
            )
        invalid = simulation.invalid_rules
        if invalid is not None:
            # The spec's result ({"error", "path"}) inside problem details: a client gets both.
            return problem(
                400,
                f"rules{invalid.path}: {invalid.message}",
                code="INVALID_RULES",
                error="INVALID_RULES",
                path=invalid.path,
                pointer="/rules" + invalid.path,
            )
        return Response(simulation.as_api())


class SplitRuleSetSchemaApi(APIView):
    """The JSON Schema (2020-12) of a rule set, for editors and integrations."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: OpenApiResponse(description="JSON Schema 2020-12")})
    def get(self, request: Request) -> Response:
        return Response(RULE_SET_SCHEMA, content_type="application/schema+json")
