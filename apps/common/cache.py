"""A Redis cache that degrades instead of failing while Redis is down.

The cache holds nothing the site cannot do without: rate-limit counters (API throttles,
allauth's login limits) and used authenticator codes. A Redis outage used to turn every API
request into a 500 (the throttle's read raised). Here a failed read is a miss and a failed
write is dropped, with one warning a minute in the log: limits then allow, which is the lesser
harm for the length of an outage. Sessions live in the database (Django's default engine), so
nobody is signed out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
_WARN_EVERY = 60.0
_last_warning = 0.0


def _degraded(operation: str, error: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARN_EVERY:
        _last_warning = now
        logger.warning("cache unavailable (%s): %r; limits allow until it is back", operation, error)


def _guarded(operation: str, fallback: Any, call: Callable[[], Any]) -> Any:
    """The Redis call's result, or `fallback` (with the warning) when Redis cannot answer."""
    try:
        return call()
    except (RedisError, OSError) as error:
        _degraded(operation, error)
        return fallback


class DegradingRedisCache(RedisCache):
    """Each operation's fallback is what lets the caller go on: a miss, nothing stored, and for
    `add` and `incr` the answer of a first use, so a limit or a used-code check allows."""

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return _guarded("get", default, lambda: super(DegradingRedisCache, self).get(key, default, version))

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return _guarded("get_many", {}, lambda: super(DegradingRedisCache, self).get_many(keys, version))

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return _guarded("has_key", False, lambda: super(DegradingRedisCache, self).has_key(key, version))

    def set(self, key: Any, value: Any, timeout: Any = 300, version: int | None = None) -> None:  # type: ignore[override]
        _guarded("set", None, lambda: super(DegradingRedisCache, self).set(key, value, timeout, version))

    def set_many(self, data: dict[Any, Any], timeout: Any = 300, version: int | None = None) -> list[Any]:  # type: ignore[override]
        return _guarded(
            "set_many", [], lambda: super(DegradingRedisCache, self).set_many(data, timeout, version)
        )

    def add(self, key: Any, value: Any, timeout: Any = 300, version: int | None = None) -> bool:  # type: ignore[override]
        return _guarded(
            "add", True, lambda: super(DegradingRedisCache, self).add(key, value, timeout, version)
        )

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return _guarded("incr", delta, lambda: super(DegradingRedisCache, self).incr(key, delta, version))

    def touch(self, key: Any, timeout: Any = 300, version: int | None = None) -> bool:  # type: ignore[override]
        return _guarded("touch", False, lambda: super(DegradingRedisCache, self).touch(key, timeout, version))

    def delete(self, key: Any, version: int | None = None) -> bool:
        return _guarded("delete", False, lambda: super(DegradingRedisCache, self).delete(key, version))

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        _guarded("delete_many", None, lambda: super(DegradingRedisCache, self).delete_many(keys, version))
