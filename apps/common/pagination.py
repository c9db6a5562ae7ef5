"""Every API list is paginated (REST_FRAMEWORK DEFAULT_PAGINATION_CLASS is `Pagination`).

The API views are thin `APIView`s, which DRF does not paginate by itself: a list view names its
`pagination_class` (drf-spectacular then documents the page shape and its parameters) and answers
with `paginated(...)`. Short lists use limit/offset with a count; lists that grow without bound
use a cursor, which stays cheap on the millionth row: ledger entries by seq (their own view), income
lines newest first by when they occurred, a keyset cursor on (occurred_at, id) (apps/common/keyset.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework import pagination, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from apps.common.keyset import KeysetPage, cursor_decode, keyset_page


class Pagination(pagination.LimitOffsetPagination):
    """`?limit=` (50 unless given, at most 500) and `?offset=`; the body has count, next, previous
    and results."""

    default_limit = 50
    max_limit = 500


class TimeCursorPagination(pagination.BasePagination):
    """Newest first by (occurred_at, id), a keyset cursor (apps/common/keyset.py): each page costs
    the same at any depth, and rows of one moment are neither skipped nor repeated. `?page_size=`
    (50 unless given, at most 500); follow `next` (older) and `previous` (newer). No count: an
    agency's lines are counted by its reports, not by every page."""

    field = "occurred_at"
    page_size = 50
    max_page_size = 500
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> list[Any]:
        self.request = request
        raw = request.query_params.get(self.cursor_query_param)
        cursor = cursor_decode(raw) if raw else None
        self.page: KeysetPage = keyset_page(
            queryset, cursor=cursor, size=self._size(request), field=self.field
        )
        return self.page.items

    def _size(self, request: Request) -> int:
        try:
            size = int(request.query_params.get(self.page_size_query_param, self.page_size))
        except ValueError:
            return self.page_size
        return min(max(size, 1), self.max_page_size)

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"next": self._link(self.page.older), "previous": self._link(self.page.newer), "results": data}
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {**link, "description": "The page of older rows; null on the last page."},
                "previous": {**link, "description": "The page of newer rows; null on the first page."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The pagination cursor of a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.page_size}, at most {self.max_page_size}).",
                "schema": {"type": "integer"},
            },
        ]


def paginated(
    view: APIView,
    request: Request,
    items: QuerySet[Any] | Sequence[Any],
    serializer_class: type[serializers.BaseSerializer[Any]],
    **serializer_kwargs: Any,
) -> Response:
    """One page of `items` through the view's `pagination_class`, serialized."""
    paginator = view.pagination_class()  # type: ignore[attr-defined]
    page = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True, **serializer_kwargs).data)
