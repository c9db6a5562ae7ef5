"""Run a command with DATABASE_URL pointing at a real PostgreSQL, as the owner of the tables.

The commands run here (`make test`, `migrate`, `seed`, `typecheck`, `bench`) need the owner:
pytest-django creates the test database, migrations alter tables, the benchmarks truncate
theirs. So DATABASE_OWNER_URL, when set, becomes the command's DATABASE_URL (DATABASE_URL then
names the app's restricted role, which only `make run` uses); otherwise DATABASE_URL is used as
is; otherwise the embedded PostgreSQL of config/embedded.py is started (or reused).

Usage: python scripts/with_database.py [--database NAME] -- COMMAND ...
       python scripts/with_database.py --stop

--database NAME points the command at another database of the same server (the benchmarks use
their own *bench* databases, which they drop and create).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# Load config/embedded.py on its own: importing the `config` package would load the Celery app,
# which sets DJANGO_SETTINGS_MODULE, and pytest must keep choosing its own settings.
_spec = importlib.util.spec_from_file_location(
    "fenrun_embedded", Path(__file__).resolve().parent.parent / "config" / "embedded.py"
)
assert _spec is not None and _spec.loader is not None
embedded = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(embedded)


def main(argv: list[str]) -> int:
    if "--stop" in argv:
        embedded.stop_embedded()
        return 0
    command = argv[argv.index("--") + 1 :] if "--" in argv else argv
    if not command:
        print("usage: with_database.py -- COMMAND ...", file=sys.stderr)
        return 2
    if os.environ.get("DATABASE_OWNER_URL"):
        os.environ["DATABASE_URL"] = os.environ.pop("DATABASE_OWNER_URL")
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded.embedded_database_url()
    if "--database" in argv[: argv.index("--") if "--" in argv else 0]:
        name = argv[argv.index("--database") + 1]
        parts = urlsplit(os.environ["DATABASE_URL"])
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    os.execvp(command[0], command)  # noqa: S606
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
