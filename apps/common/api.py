"""One error shape for the whole API: RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

from typing import Any, Literal

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from apps.common.exceptions import ApplicationError
from apps.common.validators import validate_business_date

_TITLES = {
    400: "Invalid request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    415: "Unsupported media type",
    429: "Too many requests",
}


def problem(status_code: int, detail: str, *, code: str, errors: Any = None, **extra: Any) -> Response:
    body: dict[str, Any] = {
        "type": f"https://fenrun.org/problems/{code}",
        "title": _TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return Response(body, status=status_code, content_type="application/problem+json")


class ProblemOutput(serializers.Serializer):
    """The error document of `problem()`, for the schema (operations that name their 4xx answers)."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="For a person to read.")
    code = serializers.CharField(help_text="Stable, for programs: e.g. `idempotency_key_reused`.")
    # A field named like Serializer.errors: DRF moves declared fields off the class, so no clash.
    errors = serializers.JSONField(required=False, help_text="Invalid input: the messages by field.")  # type: ignore[assignment]


def _first_message(errors: Any) -> str:
    """The first human message in DRF's nested error structure, prefixed with its field."""
    if isinstance(errors, dict):
        for field, value in errors.items():
            message = _first_message(value)
            return message if field in ("non_field_errors", "detail") else f"{field}: {message}"
    if isinstance(errors, list) and errors:
        return _first_message(errors[0])
    return str(errors)


def problem_details_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every error, ours or DRF's, leaves in the same shape."""
    if isinstance(exc, ApplicationError):
        return problem(exc.status, exc.message, code=exc.code, **exc.extra)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=serializers.as_serializer_error(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    if isinstance(exc, exceptions.ValidationError):
        return problem(
            status.HTTP_400_BAD_REQUEST, _first_message(exc.detail), code="invalid", errors=exc.detail
        )
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    result = problem(response.status_code, str(detail), code=code if isinstance(code, str) else "error")
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            result[header] = response[header]
    return result


def validated(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> dict[str, Any]:
    """Validate input with a serializer and return its clean data (400 on failure)."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


_COMMON_PROBLEMS = {
    400: "Invalid input: the problem names the field and the reason.",
    401: "Not authenticated: no session, or an unknown, expired or revoked token.",
    403: "Forbidden: the role may not do this, or must enrol a second factor (`mfa_required`).",
    404: "Not found, or not visible to this user (another tenant's objects are never revealed).",
    429: "Too many requests: retry after the `Retry-After` seconds.",
}
_WRITE_PROBLEMS = {
    409: "Conflict with the object's state (already closed, already signed, taken by another request)."
}
_BODY_PROBLEMS = {415: "Unsupported media type: send the content type the operation documents."}


class AutoSchema(openapi.AutoSchema):
    """Names nested `InputSerializer` / `OutputSerializer` classes after their view.

    Thin API views declare `class InputSerializer` inside themselves (STYLE.md), so many
    serializers share a class name; the schema needs them distinct: `AgencyDetailInput`.
    """

    def get_serializer_name(
        self, serializer: serializers.Serializer, direction: Literal["request", "response"]
    ) -> str:
        name = super().get_serializer_name(serializer, direction)
        if type(serializer).__name__ in ("InputSerializer", "OutputSerializer"):
            view_name = type(self.view).__name__.removesuffix("Api")
            return f"{view_name}{name}"
        return name

    def _get_response_bodies(self, direction: Any = "response") -> Any:
        """The operation's own answers, plus the problems every operation can answer, where the
        view names none of its own for that status: a client (and `make attack`'s schema
        conformance check, which found them missing) reads every status the API sends."""
        responses = super()._get_response_bodies(direction)
        method = self.method.upper()
        codes = dict(_COMMON_PROBLEMS)
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            codes.update(_WRITE_PROBLEMS)
        if method in ("POST", "PUT", "PATCH"):
            codes.update(_BODY_PROBLEMS)
        for code, description in codes.items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    OpenApiResponse(ProblemOutput, description=description),
                    str(code),
                    ["application/problem+json"],
                )
        return responses


class BusinessDateField(serializers.DateField):
    """A date within Fenrun's business bounds (see apps.common.validators)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validators", []).append(validate_business_date)
        super().__init__(**kwargs)
