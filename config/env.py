"""Every setting that varies between machines is read here, from the environment.

A missing or malformed value fails fast with one line that names it, not a traceback
from deep inside Django.
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import environ

env = environ.Env()


class ConfigurationError(SystemExit):
    """Raised (as a clean exit) when the environment cannot configure Fenrun."""

    def __init__(self, message: str) -> None:
        print(f"Fenrun configuration error: {message}", file=sys.stderr)
        super().__init__(2)


def required(name: str, hint: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ConfigurationError(f"{name} is not set. {hint}")
    return value


def whole_number(name: str, *, default: int) -> int:
    """A count of 0 or more (ASCII digits only), or the default when unset."""
    raw = env.str(name, default="").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise ConfigurationError(f"{name} must be a whole number of 0 or more, not {raw!r}.")
    return int(raw)


# The database role web, worker and beat connect as when `make run` makes it (scripts/devserver.py);
# docker-compose names its own (see README, "Database roles").
APP_DATABASE_ROLE = "fenrun_app"


def database_url_as(url: str, user: str, password: str | None = None) -> str:
    """`url` with another user (and that user's password, or none): same server and database."""
    parts = urlsplit(url)
    where = parts.netloc.rpartition("@")[2]
    secret = f":{quote(password, safe='')}" if password else ""
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}{secret}@{where}"))


def database_url_credentials(url: str) -> tuple[str, str | None]:
    """The user and password a database URL names (the password None when it has none)."""
    parts = urlsplit(url)
    if not parts.username:
        raise ConfigurationError("the database URL names no user (postgres://user:password@host:5432/name).")
    return unquote(parts.username), unquote(parts.password) if parts.password else None


def database_config(*, allow_embedded: bool) -> dict[str, Any]:
    """DATABASE_URL, or (development and tests only) the embedded PostgreSQL.

    DATABASE_URL is the role this process connects as. Web, worker and beat use the app's
    restricted role; `migrate` and `manage.py db_roles_grant` run with the owner's URL in
    DATABASE_URL (docker-compose's migrate service). The local tools that run both kinds of
    process read the owner's URL from DATABASE_OWNER_URL: scripts/devserver.py (`make run`)
    migrates with it and serves as DATABASE_URL's role; scripts/with_database.py (`make test`,
    `make migrate`…) runs its command as the owner. Without DATABASE_URL, the embedded server's
    superuser is the owner.
    """
    url = env.str("DATABASE_URL", default="")
    if not url:
        if not allow_embedded:
            raise ConfigurationError("DATABASE_URL is not set (postgres://user:password@host:5432/name).")
        from config.embedded import embedded_database_url

        url = embedded_database_url()
    try:
        config = env.db_url_config(url)
    except Exception as error:  # environ raises several types for a bad URL
        raise ConfigurationError(f"DATABASE_URL is not a valid database URL: {error}") from None
    if config.get("ENGINE") != "django.db.backends.postgresql":
        raise ConfigurationError("DATABASE_URL must be a PostgreSQL URL: Fenrun runs on PostgreSQL only.")
    # Short connect timeout: an unreachable server should fail in seconds with a clear message.
    config.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    pool = database_pool()
    if pool:
        # psycopg's pool (Django's OPTIONS["pool"]), per process: a thread takes a connection for
        # its request and gives it back. Django refuses persistent connections beside a pool.
        config["OPTIONS"]["pool"] = {"min_size": pool[0], "max_size": pool[1], "timeout": 10}
        config["CONN_MAX_AGE"] = 0
    return config


def database_pool() -> tuple[int, int] | None:
    """DATABASE_POOL=min:max (connections per process, e.g. 2:8), or None when unset."""
    raw = env.str("DATABASE_POOL", default="").strip()
    if not raw:
        return None
    low, _, high = raw.partition(":")
    high = high or low
    numbers = low.isascii() and low.isdigit() and high.isascii() and high.isdigit()
    if not numbers or int(high) == 0 or int(low) > int(high):
        raise ConfigurationError(f"DATABASE_POOL must be min:max connections per process (2:8), not {raw!r}.")
    return int(low), int(high)
