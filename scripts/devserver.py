"""`make run`: the whole app on one machine — web, Celery worker and beat — until Ctrl-C.

Uses DATABASE_URL / REDIS_URL when set; otherwise the embedded PostgreSQL (config/embedded.py)
and the embedded filesystem broker (config/settings/base.py).

Database roles, as in production: migrations (and `manage.py db_roles_grant`) run as the owner
of the tables, the demo seed, web, worker and beat as the app's restricted role. With the
embedded server the owner is its superuser and the app role `fenrun_app` (no password: the
server trusts local connections). With DATABASE_URL, that URL's role is the app's and
DATABASE_OWNER_URL the owner's; DATABASE_URL alone is used for everything (one role, as before).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.embedded import embedded_database_url  # noqa: E402
from config.env import APP_DATABASE_ROLE, database_url_as, database_url_credentials  # noqa: E402

PYTHON = sys.executable
HOST = os.environ.get("FENRUN_HOST", "127.0.0.1")
PORT = os.environ.get("FENRUN_PORT", "8000")


def manage(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, check=True, env=env)


def database_urls() -> tuple[str, str]:
    """(the owner's URL, for migrations and grants; the app's, for everything else)."""
    app_url = os.environ.get("DATABASE_URL", "")
    owner_url = os.environ.get("DATABASE_OWNER_URL", "")
    if not app_url:
        if not owner_url:
            print("No DATABASE_URL: starting the embedded PostgreSQL 18 (data in .run/pgdata)…", flush=True)
            owner_url = embedded_database_url()
        return owner_url, database_url_as(owner_url, APP_DATABASE_ROLE)
    if not owner_url:
        print(
            "DATABASE_URL without DATABASE_OWNER_URL: migrations and the app share its role "
            "(README, Database roles).",
            flush=True,
        )
        return app_url, app_url
    return owner_url, app_url


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    owner_url, app_url = database_urls()
    if not os.environ.get("REDIS_URL"):
        print("No REDIS_URL: Celery uses the embedded filesystem broker in .run/broker.", flush=True)
    os.environ.pop("DATABASE_OWNER_URL", None)  # the app's processes never see the owner's URL
    as_owner = {**os.environ, "DATABASE_URL": owner_url}
    try:
        manage("wait_for_database", "--timeout", "15", env=as_owner)
        manage("migrate", "--no-input", "-v", "0", env=as_owner)
        manage("createcachetable", env=as_owner)
        if app_url != owner_url:
            role, password = database_url_credentials(app_url)
            manage(
                "db_roles_grant",
                "--role",
                role,
                "--password-env",
                "FENRUN_APP_DB_PASSWORD",
                env={**as_owner, "FENRUN_APP_DB_PASSWORD": password or ""},
            )
        os.environ["DATABASE_URL"] = app_url
        manage("seed_demo", "--if-empty")
    except subprocess.CalledProcessError:
        return 1

    (ROOT / ".run").mkdir(exist_ok=True)
    celery = [PYTHON, "-m", "celery", "-A", "config"]
    processes = [
        # No -Q: the worker consumes every configured queue, default and each money.* one (docs/scaling.md).
        subprocess.Popen(
            [*celery, "worker", "-l", "INFO", "--concurrency", "2", "-n", "fenrun@%h"], cwd=ROOT
        ),
        subprocess.Popen(
            [*celery, "beat", "-l", "INFO", "-s", str(ROOT / ".run" / "celerybeat-schedule")], cwd=ROOT
        ),
        subprocess.Popen([PYTHON, "manage.py", "runserver", f"{HOST}:{PORT}"], cwd=ROOT),
    ]
    print(
        f"\nFenrun is at http://{HOST}:{PORT}/  (Ctrl-C stops the web server, worker and beat)\n", flush=True
    )

    def stop(*_: object) -> None:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        print("A process stopped; stopping the others.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
