"""Keyset pages of a list ordered newest first by (a moment, id), for lists that grow without bound
(an agency's income lines: millions).

A page is read from where the last one stopped, `(moment, id) < (the last row's)`, through an
index on (…, moment, id): the thousandth page costs what the first does, where OFFSET reads and
throws away every row before it. The cursor is opaque to people and clients (URL-safe base64 of
the direction, the moment and the id); a cursor someone edited into nonsense is a 400, never a 500.

PostgreSQL needs the bound as an index condition to start the scan at the cursor, so the filter
is `moment <= m AND (moment < m OR id < i)`: the first term bounds the index scan, the second
only sorts out the rows of the same moment (a statement's lines often share one).
"""

from __future__ import annotations

import base64
import binascii
import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError


@dataclass(frozen=True)
class Cursor:
    moment: datetime.datetime
    pk: int
    is_newer: bool  # the page of rows newer than (moment, pk); else older


def cursor_encode(moment: datetime.datetime, pk: int, *, is_newer: bool) -> str:
    text = f"{'n' if is_newer else 'o'}|{moment.isoformat()}|{pk}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_decode(value: str) -> Cursor:
    """The cursor of a `next` or `previous` link; ApplicationError (400) for anything else."""
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        direction, moment_text, pk_text = text.split("|")
        moment = datetime.datetime.fromisoformat(moment_text)
        pk = int(pk_text)
        if direction not in ("n", "o") or moment.tzinfo is None or pk < 1:
            raise ValueError(text)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ApplicationError(
            _("This page link is damaged: go back to the first page."), code="invalid_cursor"
        ) from None
    return Cursor(moment=moment, pk=pk, is_newer=direction == "n")


@dataclass(frozen=True)
class KeysetPage:
    items: list[Any]
    older: str | None  # the cursor of the next page (older rows), None at the end
    newer: str | None  # the cursor of the previous page (newer rows), None on the first


def older_than(
    queryset: QuerySet[Any], moment: datetime.datetime, pk: int, *, field: str = "occurred_at"
) -> QuerySet[Any]:
    """The rows after (moment, pk) in the newest-first order, in that order."""
    before = Q(**{f"{field}__lte": moment}) & (Q(**{f"{field}__lt": moment}) | Q(id__lt=pk))
    return queryset.filter(before).order_by(f"-{field}", "-id")


def keyset_page(
    queryset: QuerySet[Any], *, cursor: Cursor | None, size: int, field: str = "occurred_at"
) -> KeysetPage:
    """One page of `queryset`, newest first by (`field`, id): one query of size + 1 rows (the
    extra row says whether there is another page)."""
    if cursor is None:
        rows = list(queryset.order_by(f"-{field}", "-id")[: size + 1])
        has_older, has_newer = len(rows) > size, False
        rows = rows[:size]
    elif not cursor.is_newer:
        rows = list(older_than(queryset, cursor.moment, cursor.pk, field=field)[: size + 1])
        # Reached from a newer page, so there is one (lines are never deleted).
        has_older, has_newer = len(rows) > size, True
        rows = rows[:size]
    else:
        after = Q(**{f"{field}__gte": cursor.moment}) & (
            Q(**{f"{field}__gt": cursor.moment}) | Q(id__gt=cursor.pk)
        )
        rows = list(queryset.filter(after).order_by(field, "id")[: size + 1])
        has_older, has_newer = True, len(rows) > size
        rows = rows[:size][::-1]
    if not rows:
        return KeysetPage(items=[], older=None, newer=None)
    first, last = rows[0], rows[-1]
    return KeysetPage(
        items=rows,
        older=cursor_encode(getattr(last, field), last.pk, is_newer=False) if has_older else None,
        newer=cursor_encode(getattr(first, field), first.pk, is_newer=True) if has_newer else None,
    )
