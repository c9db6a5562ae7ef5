"""A fixed-window counter for pages that DRF's throttles do not cover (public forms)."""

from __future__ import annotations

from django.core.cache import caches
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: behind a proxy, Django's SECURE_PROXY_SSL_HEADER setup and the proxy's
    # own limits apply; a client-sent X-Forwarded-For would let anyone pick their bucket.
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def allow(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one hit on `key`; False once more than `limit` hits fall in the current window."""
    cache = caches["throttle"]
    full_key = f"fenrun:ratelimit:{key}"
    if cache.add(full_key, 1, timeout=window_seconds):
        return True
    try:
        return cache.incr(full_key) <= limit
    except ValueError:  # the window expired between add and incr
        cache.add(full_key, 1, timeout=window_seconds)
        return True
