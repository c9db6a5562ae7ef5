"""`@idempotent`: the Idempotency-Key header on an API POST that creates something.

    class DealListApi(APIView):
        @idempotent
        @extend_schema(request=InputSerializer, responses={201: DealDetailOutput})
        def post(self, request: Request) -> Response: ...

Without the header the view runs as before. With it, the first request runs the view and its
response (2xx or 4xx) is kept for 24 hours; the same key with the same request (method, path,
body, query string) from the same user answers that response again, with `Idempotent-Replayed:
true`, without running the view; with another request it answers a 409 problem. A 5xx or a 429
is not kept: the key may be retried. Put it above `@extend_schema`: it adds the header and the
400/409 problems to the operation the view's own annotation describes (docs/idempotency.md).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse, HttpResponseBase
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from apps.common.api import ProblemOutput
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import scope_for
from apps.idempotency.models import IdempotencyKey
from apps.idempotency.services import (
    RequestPrint,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
PROBLEM_MEDIA_TYPE = "application/problem+json"

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    type={"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[ -~]+$"},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional. A key of your choosing (1 to 255 printable ASCII characters; a UUID is a good "
        "one) that makes a retry of this request safe: for 24 hours, the same key with the same "
        "request answers the first response again, with the header `Idempotent-Replayed: true`, "
        "and creates nothing more; with another request it answers 409. Keys are per user. A 4xx "
        "answer is kept like a success; a 5xx is not, so the key can be retried. A duplicate sent "
        "while the first is still running waits for it a few seconds, else answers 409 "
        "(`idempotency_key_in_progress`): retry then."
    ),
)


def idempotent[ViewMethod: Callable[..., HttpResponseBase]](
    view_method: ViewMethod | None = None,
    *,
    request_secrets: Iterable[str] = (),
    response_secrets: Iterable[str] = (),
) -> Any:
    """Decorate an APIView's `post` (see the module docstring).

    `request_secrets`: top-level input fields left out of the request's hash (a password, a TOTP
    code): not kept even hashed, so they need not match for a replay. `response_secrets`:
    top-level output fields shown once and never stored (an API token's secret, an invitation's
    link): the kept copy has them null, and so has a replay.
    """
    unhashed = frozenset(request_secrets)
    secrets = tuple(response_secrets)

    def decorate(method: ViewMethod) -> ViewMethod:
        @functools.wraps(method)
        def wrapper(view: APIView, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
            key = request.headers.get(HEADER)
            if key is None or not request.user.is_authenticated:
                return method(view, request, *args, **kwargs)
            _check_key(key)
            claim = idempotency_claim(
                user_id=request.user.pk, key=key, request=request_print(request, unhashed=unhashed)
            )
            if claim.is_replay:
                return _replay(claim.record)
            try:
                try:
                    response = method(view, request, *args, **kwargs)
                except Exception as error:
                    # Rendered here as DRF's dispatch would, so that a 4xx is kept like a success;
                    # an error the handler does not answer (a bug: 500) is raised again.
                    response = view.handle_exception(error)
                _keep(claim.record, response, secrets)
            except BaseException:
                idempotency_release(record=claim.record)
                raise
            return response

        # drf-spectacular reads an operation's schema class from the method's `kwargs`; wraps()
        # copied the view's own annotation there, which this extends.
        wrapper.kwargs = {"schema": _schema_with_key(getattr(method, "kwargs", {}).get("schema"))}  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate(view_method) if view_method is not None else decorate


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= character <= "~" for character in key):
        raise ApplicationError(
            _(
                "The Idempotency-Key header must be 1 to 255 printable ASCII characters "
                "(a UUID is a good key)."
            ),
            code="idempotency_key_invalid",
        )


def request_print(request: Request, *, unhashed: frozenset[str] = frozenset()) -> RequestPrint:
    return RequestPrint(
        method=request.method or "POST",
        path=request.path,
        request_sha256=request_sha256(data=request.data, query=request.query_params, unhashed=unhashed),
        scope_sha256=scope_sha256(request.user),
    )


def request_sha256(*, data: Any, query: MultiValueDict, unhashed: frozenset[str] = frozenset()) -> str:
    """SHA-256 of a request's content, parsed: JSON by value (key order and spacing do not
    matter), form and multipart fields by name with every value in order, a file by its name,
    size and the SHA-256 of its bytes (streamed), and the query string's parameters; the
    top-level fields named in `unhashed` left out."""
    body = _fields(data) if isinstance(data, MultiValueDict) else data
    if unhashed and isinstance(body, dict):
        body = {name: value for name, value in body.items() if name not in unhashed}
    document = {"query": _fields(query), "body": body}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _fields(values: MultiValueDict) -> dict[str, list[Any]]:
    return {
        name: [_file(value) if isinstance(value, UploadedFile) else value for value in values.getlist(name)]
        for name in values
    }


def _file(upload: UploadedFile) -> dict[str, Any]:
    digest = hashlib.sha256()
    # chunks() reads 64 KiB at a time, from memory or from the temporary file Django spooled a
    # large upload to: a 200 MB statement is never held whole, and read once more by the view.
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return {"file": upload.name, "size": upload.size, "sha256": digest.hexdigest()}


def scope_sha256(user: Any) -> str:
    """SHA-256 of what the user may reach now: their agencies with their role, their creator profile."""
    scope = scope_for(user)
    document = {"agencies": sorted(scope.agency_roles.items()), "creator": scope.creator_id}
    return hashlib.sha256(json.dumps(document, separators=(",", ":")).encode()).hexdigest()


def _keep(record: IdempotencyKey, response: HttpResponseBase, secrets: tuple[str, ...]) -> None:
    if not isinstance(response, Response) or response.status_code >= 500 or response.status_code == 429:
        # Not ours to replay: a server error or a throttle is worth retrying; a non-JSON answer
        # (none of the decorated views give one) is not kept.
        idempotency_release(record=record)
        return
    data = response.data
    if secrets and isinstance(data, dict):
        data = {**data, **{name: None for name in secrets if name in data}}
    body = "" if data is None else JSONRenderer().render(data).decode()
    idempotency_complete(
        record=record,
        status=response.status_code,
        body=body,
        content_type=response.content_type or "application/json",
    )


def _replay(record: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        record.response_body.encode(),
        status=record.response_status,
        content_type=record.response_content_type,
    )
    response[REPLAYED_HEADER] = "true"
    return response


def _schema_with_key(base: Any) -> type:
    """The view's schema class, plus the header parameter and the 400/409 problems."""
    base = base or api_settings.DEFAULT_SCHEMA_CLASS
    base = base if isinstance(base, type) else type(base)

    class IdempotentSchema(base):  # type: ignore[misc, valid-type]
        def get_override_parameters(self) -> list[Any]:
            return [*super().get_override_parameters(), IDEMPOTENCY_KEY_PARAMETER]

        def get_response_serializers(self) -> Any:
            responses = super().get_response_serializers()
            # A copy: the view's own annotation returns the same dict for every schema build.
            if isinstance(responses, dict):
                responses = dict(responses)
            else:
                responses = {201 if self._is_create_operation() else 200: responses}
            codes = {str(code[0] if isinstance(code, tuple) else code) for code in responses}
            extra = {
                400: "Invalid input, or an Idempotency-Key that is not 1 to 255 printable ASCII characters.",
                409: "The Idempotency-Key was used with another request (`idempotency_key_reused`) or "
                "other access (`idempotency_key_access_changed`), or its first request is still "
                "running (`idempotency_key_in_progress`).",
            }
            for code, description in extra.items():
                if str(code) not in codes:
                    responses[(code, PROBLEM_MEDIA_TYPE)] = OpenApiResponse(
                        ProblemOutput, description=description
                    )
            return responses

    return IdempotentSchema
