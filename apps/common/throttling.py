"""API rate limits on their own cache alias.

With Redis it is Redis; without it (development, `make test`) a per-process memory cache, so
that throttling never turns into extra database queries on every API request.
"""

from __future__ import annotations

from django.core.cache import caches
from rest_framework import throttling


class UserRateThrottle(throttling.UserRateThrottle):
    cache = caches["throttle"]


class AnonRateThrottle(throttling.AnonRateThrottle):
    cache = caches["throttle"]
