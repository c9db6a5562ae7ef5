"""Fixed-window counters for what DRF's throttles do not cover: public forms and failed
re-authentications."""

from __future__ import annotations

from django.core.cache import caches
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: behind a proxy, Django's SECURE_PROXY_SSL_HEADER setup and the proxy's
    # own limits apply; a client-sent X-Forwarded-For would let anyone pick their bucket.
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def hit(key: str, *, window_seconds: int, cache_alias: str = "throttle") -> int:
    """Count one hit on `key` in its current window and return the window's count."""
    cache = caches[cache_alias]
    full_key = f"fenrun:ratelimit:{key}"
    if cache.add(full_key, 1, timeout=window_seconds):
        return 1
    try:
        return int(cache.incr(full_key))
    except ValueError:  # the window expired between add and incr
        cache.add(full_key, 1, timeout=window_seconds)
        return 1


def hits(key: str, *, cache_alias: str = "throttle") -> int:
    """The current window's count for `key`, without counting."""
    return int(caches[cache_alias].get(f"fenrun:ratelimit:{key}", 0))


def allow(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one hit on `key`; False once more than `limit` hits fall in the current window."""
    return hit(key, window_seconds=window_seconds) <= limit
