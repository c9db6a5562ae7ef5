"""`make run`: the whole app on one machine — web, Celery worker and beat — until Ctrl-C.

Uses DATABASE_URL / REDIS_URL when set; otherwise the embedded PostgreSQL (config/embedded.py)
and the embedded filesystem broker (config/settings/base.py).
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

PYTHON = sys.executable
HOST = os.environ.get("FENRUN_HOST", "127.0.0.1")
PORT = os.environ.get("FENRUN_PORT", "8000")


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, check=True)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    if not os.environ.get("DATABASE_URL"):
        print("No DATABASE_URL: starting the embedded PostgreSQL 18 (data in .run/pgdata)…", flush=True)
        os.environ["DATABASE_URL"] = embedded_database_url()
    if not os.environ.get("REDIS_URL"):
        print("No REDIS_URL: Celery uses the embedded filesystem broker in .run/broker.", flush=True)
    try:
        manage("wait_for_database", "--timeout", "15")
        manage("migrate", "--no-input", "-v", "0")
        manage("createcachetable")
        manage("seed_demo", "--if-empty")
    except subprocess.CalledProcessError:
        return 1

    (ROOT / ".run").mkdir(exist_ok=True)
    celery = [PYTHON, "-m", "celery", "-A", "config"]
    processes = [
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
