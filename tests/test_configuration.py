"""The production-shaped configuration: fail fast with one clear line, pass Django's deploy checks,
and a docker-compose.yml whose structure holds together."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "a-production-like-secret-key-that-is-long-and-random-4f9d8e7c6b5a4f3e2d1c0b9a8f7e6d5c",
    "DJANGO_ALLOWED_HOSTS": "fenrun.example.com",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _manage("check", env={**PRODUCTION_ENV, "DJANGO_SECRET_KEY": ""})
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "Fenrun configuration error: DJANGO_SECRET_KEY is not set. Set it to a long random string "
        "(python -c 'import secrets; print(secrets.token_urlsafe(64))')."
    )


def test_production_refuses_to_start_without_a_database_url() -> None:
    env = {**PRODUCTION_ENV}
    clean = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("DJANGO_")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_sqlite_is_refused() -> None:
    result = _manage("check", env={**PRODUCTION_ENV, "DATABASE_URL": "sqlite:///db.sqlite3"})
    assert result.returncode != 0
    assert "PostgreSQL only" in result.stderr


def test_unreachable_database_fails_fast_with_one_line() -> None:
    result = _manage(
        "wait_for_database",
        "--timeout",
        "1",
        env={**PRODUCTION_ENV, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/nothing"},
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert len(lines) == 1
    assert lines[0].startswith("CommandError: Cannot reach the database 'nothing' at 127.0.0.1")


def test_deploy_checks_pass_with_production_settings() -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            **PRODUCTION_ENV,
            "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://x@127.0.0.1/x"),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_describes_the_production_stack() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
        assert services[name]["healthcheck"]["test"], name
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["build"] == "."
        assert service["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    assert set(compose["volumes"]) >= {"postgres-data", "redis-data"}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements/prod.lock" in dockerfile and "--require-hashes" in dockerfile


def _url_user(url: str) -> str:
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[0]


def test_compose_runs_the_app_as_its_restricted_database_role() -> None:
    """Issue 11: web, worker and beat connected as the owner of the ledger tables (a superuser)."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    for name in ("web", "worker", "beat"):
        environment = services[name]["environment"]
        assert _url_user(environment["DATABASE_URL"]) == "fenrun_app", name
        assert "${POSTGRES_APP_PASSWORD" in environment["DATABASE_URL"], name
        # The owner's password reaches no long-running process.
        assert not any("POSTGRES_PASSWORD" in str(value) for value in environment.values()), name
    migrate = services["migrate"]
    assert _url_user(migrate["environment"]["DATABASE_URL"]) == owner != "fenrun_app"
    command = " ".join(migrate["command"])
    assert command.index("manage.py migrate") < command.index(
        "manage.py db_roles_grant --role fenrun_app --password-env POSTGRES_APP_PASSWORD"
    )
    assert migrate["environment"]["POSTGRES_APP_PASSWORD"].startswith("${POSTGRES_APP_PASSWORD")


def test_database_urls_for_another_role_keep_the_server_and_database() -> None:
    from config.env import database_url_as, database_url_credentials

    embedded = "postgresql://postgres:@/fenrun?host=/work/.run/pgdata"
    assert database_url_as(embedded, "fenrun_app") == "postgresql://fenrun_app@/fenrun?host=/work/.run/pgdata"
    url = database_url_as("postgres://fenrun:owner@db:5432/fenrun", "fenrun_app", "p@ss/word")
    assert url == "postgres://fenrun_app:p%40ss%2Fword@db:5432/fenrun"
    assert database_url_credentials(url) == ("fenrun_app", "p@ss/word")
    assert database_url_credentials(embedded) == ("postgres", None)


def test_with_database_runs_its_command_as_the_owner() -> None:
    """`make test` and `make migrate` need the owner: DATABASE_OWNER_URL wins over DATABASE_URL."""
    script = "import os; print(os.environ['DATABASE_URL'], 'DATABASE_OWNER_URL' in os.environ)"
    result = subprocess.run(
        [sys.executable, "scripts/with_database.py", "--", sys.executable, "-c", script],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": "postgres://fenrun_app@127.0.0.1:5432/x",
            "DATABASE_OWNER_URL": "postgres://fenrun@127.0.0.1:5432/x",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["postgres://fenrun@127.0.0.1:5432/x", "False"], result.stderr
