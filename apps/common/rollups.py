"""Roll-ups cached under the version of what they add up, so a cached figure is never stale.

A page that adds up thousands of rows (an agency's revenue report: a GROUP BY over a year of
allocations, 700 ms of PostgreSQL's CPU at a million lines) asks for the same sums again and
again while nothing it reads changed. The caller names a version that changes whenever the
rows could have (the agency's ledger head: every allocation and posting is written in the
transaction that advances it, and the ledger is append-only), and the roll-up is kept under
that version: a new entry makes a new key, the old one expires unread. Read the version before
the rows: a commit between the two only makes the cached value newer than its key says, never
older.

The cache degrades (apps/common/cache.py): while Redis is down every read misses and the roll-up
is computed, as it was before it was cached. A value that cannot be unpickled (a class changed
under a deploy) is a miss too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable

from django.core.cache import cache

logger = logging.getLogger(__name__)
_MISSING = object()
# Long enough to serve every reader between two entries of a quiet agency, short enough that
# the keys of superseded versions leave Redis soon (they are never read again).
TIMEOUT_SECONDS = 6 * 3600
# Bumped when a cached value's shape changes, so a deploy never reads the old shape.
SCHEMA = 1


def rollup_key(name: str, *parts: Hashable) -> str:
    return ":".join(["rollup", str(SCHEMA), name, *(str(part) for part in parts)])


def rollup_cached[T](key: str, compute: Callable[[], T], *, timeout: int = TIMEOUT_SECONDS) -> T:
    """compute()'s value, kept under `key` (which must name the version it was computed at)."""
    try:
        value = cache.get(key, _MISSING)
    except Exception as error:  # an unreadable pickle, a cache table missing: compute it again
        logger.warning("roll-up %s unreadable: %r", key, error)
        value = _MISSING
    if value is not _MISSING:
        return value  # type: ignore[return-value]
    value = compute()
    try:
        cache.set(key, value, timeout)
    except Exception as error:  # a cache that cannot store (no cache table yet): served uncached
        logger.warning("roll-up %s not stored: %r", key, error)
    return value
