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


class DegradingRedisCache(RedisCache):
    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except (RedisError, OSError) as error:
            _degraded("get", error)
            return default

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        try:
            return super().get_many(keys, version)
        except (RedisError, OSError) as error:
            _degraded("get_many", error)
            return {}

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().has_key(key, version)
        except (RedisError, OSError) as error:
            _degraded("has_key", error)
            return False

    def set(self, key: Any, value: Any, timeout: Any = 300, version: int | None = None) -> None:  # type: ignore[override]
        try:
            super().set(key, value, timeout, version)
        except (RedisError, OSError) as error:
            _degraded("set", error)

    def set_many(self, data: dict[Any, Any], timeout: Any = 300, version: int | None = None) -> list[Any]:  # type: ignore[override]
        try:
            return super().set_many(data, timeout, version)
        except (RedisError, OSError) as error:
            _degraded("set_many", error)
            return []

    def add(self, key: Any, value: Any, timeout: Any = 300, version: int | None = None) -> bool:  # type: ignore[override]
        try:
            return super().add(key, value, timeout, version)
        except (RedisError, OSError) as error:
            _degraded("add", error)
            return True  # as if added: a limit or a used-code check then allows

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        try:
            return super().incr(key, delta, version)
        except (RedisError, OSError) as error:
            _degraded("incr", error)
            return delta

    def touch(self, key: Any, timeout: Any = 300, version: int | None = None) -> bool:  # type: ignore[override]
        try:
            return super().touch(key, timeout, version)
        except (RedisError, OSError) as error:
            _degraded("touch", error)
            return False

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().delete(key, version)
        except (RedisError, OSError) as error:
            _degraded("delete", error)
            return False

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        try:
            super().delete_many(keys, version)
        except (RedisError, OSError) as error:
            _degraded("delete_many", error)
