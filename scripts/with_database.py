"""Run a command with DATABASE_URL pointing at a real PostgreSQL.

If DATABASE_URL is set it is used as is; otherwise the embedded PostgreSQL of
config/embedded.py is started (or reused).

Usage: python scripts/with_database.py -- COMMAND ...
       python scripts/with_database.py --stop
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.embedded import embedded_database_url, stop_embedded


def main(argv: list[str]) -> int:
    if "--stop" in argv:
        stop_embedded()
        return 0
    command = argv[argv.index("--") + 1 :] if "--" in argv else argv
    if not command:
        print("usage: with_database.py -- COMMAND ...", file=sys.stderr)
        return 2
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded_database_url()
    os.execvp(command[0], command)  # noqa: S606
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
