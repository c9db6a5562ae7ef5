"""PostgreSQL array literals for the bulk paths' `unnest(%s::bigint[], …)` queries.

psycopg adapts a Python list element by element in Python; a recognition batch sends a dozen
arrays of 20,000 elements per query, and that adaptation alone took about half a second per
batch. These functions write the array's text form in one join instead; the query casts it
(`%s::bigint[]`), so PostgreSQL parses and type-checks every element as it would have.
"""

from __future__ import annotations

from collections.abc import Iterable

_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})


def int_array(values: Iterable[int | None]) -> str:
    """'{1,2,NULL}' for bigint[] / integer[]."""
    return "{" + ",".join("NULL" if value is None else str(int(value)) for value in values) + "}"


def text_array(values: Iterable[object | None]) -> str:
    """'{"a","b\\"c",NULL}' for varchar[] / text[] / numeric[] / date[]: every element quoted
    (an empty string, a comma or a brace needs it anyway), backslashes and quotes escaped."""
    return (
        "{"
        + ",".join(
            "NULL" if value is None else '"' + str(value).translate(_ESCAPES) + '"' for value in values
        )
        + "}"
    )
