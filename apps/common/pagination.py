"""Every API list is paginated (REST_FRAMEWORK DEFAULT_PAGINATION_CLASS is `Pagination`).

The API views are thin `APIView`s, which DRF does not paginate by itself: a list view names its
`pagination_class` (drf-spectacular then documents the page shape and its parameters) and answers
with `paginated(...)`. Short lists use limit/offset with a count; lists that grow without bound
(income lines, ledger entries) use a cursor on the id, which stays cheap on the millionth line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework import pagination, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class Pagination(pagination.LimitOffsetPagination):
    """`?limit=` (50 unless given, at most 500) and `?offset=`; the body has count, next, previous
    and results."""

    default_limit = 50
    max_limit = 500


class IdCursorPagination(pagination.CursorPagination):
    """Newest first by id: unique and never reused, so a cursor neither skips nor repeats a row.
    `?page_size=` (50 unless given, at most 500); follow `next`."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


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
