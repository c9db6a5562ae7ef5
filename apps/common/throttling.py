"""API rate limits on their own cache alias.

With Redis it is Redis; without it (development, `make test`) a per-process memory cache, so
that throttling never turns into extra database queries on every API request. While Redis is
down the alias degrades (apps/common/cache.py): the throttles then allow every request rather
than answer 500.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from rest_framework import throttling

from apps.common.ratelimit import client_ip


class UserRateThrottle(throttling.UserRateThrottle):
    cache = caches["throttle"]

    def get_ident(self, request: Any) -> str:
        # DRF's own lookup trusts a client-sent X-Forwarded-For unless NUM_PROXIES is set:
        # one rule for the client's address everywhere instead.
        return client_ip(request)


class AnonRateThrottle(throttling.AnonRateThrottle):
    cache = caches["throttle"]

    def get_ident(self, request: Any) -> str:
        return client_ip(request)
