"""DATABASE_POOL, the opt-in connection pool (README, Production stack): the production settings
pool connections when it is set, refuse a malformed value in one line, and keep persistent
connections when it is not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "a-production-like-secret-key-that-is-long-and-random-0c1d2e3f4a5b6c7d8e9f",
    "DJANGO_ALLOWED_HOSTS": "fenrun.example.com",
}
SHOW = (
    "import json, django; django.setup(); from django.conf import settings; "
    "d = settings.DATABASES['default']; print(json.dumps({'pool': d['OPTIONS'].get('pool'), "
    "'age': d['CONN_MAX_AGE']}))"
)


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_POOL"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **PRODUCTION_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_pool_is_off_by_default_and_connections_persist() -> None:
    result = _python(SHOW)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"pool": None, "age": 60}


def test_database_pool_sets_psycopgs_pool_and_no_persistent_connections() -> None:
    result = _python(SHOW, DATABASE_POOL="2:8")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"pool": {"min_size": 2, "max_size": 8, "timeout": 10}, "age": 0}


def test_a_pooled_connection_answers_a_query() -> None:
    code = (
        "import django; django.setup(); from django.db import connection; "
        "cursor = connection.cursor(); cursor.execute('SELECT 41 + 1'); print(cursor.fetchone()[0]); "
        "print(type(connection.pool).__name__)"
    )
    result = _python(code, DATABASE_POOL="1:2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["42", "ConnectionPool"]


def test_a_malformed_pool_is_refused_in_one_line() -> None:
    for value in ("8:2", "0:0", "eight", "2:x"):
        result = _python("import django; django.setup()", DATABASE_POOL=value)
        assert result.returncode != 0
        assert result.stderr.strip() == (
            f"Fenrun configuration error: DATABASE_POOL must be min:max connections per process (2:8), "
            f"not {value!r}."
        )
