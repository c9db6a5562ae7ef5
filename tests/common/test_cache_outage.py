"""While Redis is down the site and the API keep answering (issue 16): the cache degrades to a
miss, throttles and login limits allow, and nobody is signed out (sessions are in PostgreSQL).

"Down" is real: the cache points at a port nothing listens on, so every call meets the
connection refusal a stopped Redis gives.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from apps.common import cache as degrading
from apps.common.cache import DegradingRedisCache
from apps.common.throttling import AnonRateThrottle, UserRateThrottle
from tests.conftest import api_as
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

DEAD = {
    "BACKEND": "apps.common.cache.DegradingRedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",
    "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
}


def _dead_cache() -> DegradingRedisCache:
    return DegradingRedisCache(DEAD["LOCATION"], {"OPTIONS": DEAD["OPTIONS"]})


def test_a_dead_cache_misses_drops_writes_and_warns_once(caplog: Any) -> None:
    cache = _dead_cache()
    degrading._last_warning = 0.0
    with caplog.at_level(logging.WARNING, logger="apps.common.cache"):
        assert cache.get("k", "default") == "default"
        cache.set("k", 1)
        assert cache.add("k", 1) is True  # "added": a used-code or limit check then allows
        assert cache.get_many(["a", "b"]) == {}
        assert cache.incr("n") == 1
    assert len([r for r in caplog.records if "cache unavailable" in r.getMessage()]) == 1


def test_the_api_answers_while_the_throttle_cache_is_down(world: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(UserRateThrottle, "cache", _dead_cache())
    monkeypatch.setattr(AnonRateThrottle, "cache", _dead_cache())

    response = api_as(world.manager_a).get("/api/v1/income/imports/")

    assert response.status_code == 200, response.content


def test_signing_in_and_pages_work_while_the_cache_is_down(world: Any) -> None:
    client = Client()
    # Redis's aliases down; the process-local fragments (templates/base.html's navigation) stay.
    with override_settings(
        CACHES={"default": DEAD, "throttle": DEAD, "fragments": settings.CACHES["fragments"]}
    ):
        response = client.post("/accounts/login/", {"login": world.viewer_a.email, "password": PASSWORD})
        assert response.status_code == 302, response.content[:500]
        page = client.get("/", follow=True)
    assert page.status_code == 200
