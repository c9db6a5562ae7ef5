"""Fixed-window counters for what DRF's throttles do not cover: public forms and failed
re-authentications."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.cache import caches


def _clean_ip(value: str | None) -> str | None:
    """`value` as a canonical IP address (a port or IPv6 brackets dropped), or None."""
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 203.0.113.7:443
        value = value.partition(":")[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: Any) -> str:
    """The client's address: the one place that decides it (login limits, API throttles, public
    forms, the address recorded with a signature).

    Without a trusted-proxy setting it is REMOTE_ADDR, and a client-sent X-Forwarded-For is ignored
    (it would let anyone pick their bucket). Behind the proxy (README, Security) it is the header
    the proxy sets (ALLAUTH_TRUSTED_CLIENT_IP_HEADER), or the address the outermost of the
    ALLAUTH_TRUSTED_PROXY_COUNT proxies appended to X-Forwarded-For; entries before it were
    written by the client and are never read. A request that did not pass every proxy (fewer
    entries, no header: a healthcheck, a misconfigured hop) counts as REMOTE_ADDR, never a 500.
    """
    meta = request.META
    forwarded: str | None = None
    header = getattr(settings, "ALLAUTH_TRUSTED_CLIENT_IP_HEADER", None)
    proxy_count = getattr(settings, "ALLAUTH_TRUSTED_PROXY_COUNT", 0)
    if header:
        forwarded = request.headers.get(header)
    elif proxy_count > 0:
        hops = [hop for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxy_count:
            forwarded = hops[-proxy_count]
    return _clean_ip(forwarded) or _clean_ip(meta.get("REMOTE_ADDR")) or "unknown"


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
