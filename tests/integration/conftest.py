"""A real Celery worker process against the real broker (Redis when REDIS_URL is set, else the
embedded filesystem broker), for integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def start_worker(
    *,
    name: str,
    concurrency: int = 1,
    extra_env: dict[str, str] | None = None,
    queues: list[str] | None = None,
) -> subprocess.Popen:
    """Start `celery worker` on the test database; returns once it answers a ping.

    Without `queues` it consumes every configured queue (CELERY_TASK_QUEUES: default, money.0…),
    as `make run`'s and compose's workers do; with them, only those (`-Q`)."""
    from config.celery_app import app

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", **(extra_env or {})}
    # The worker must use the test database that pytest-django created, not the dev one.
    db = connection.settings_dict
    env["FENRUN_TEST_DATABASE_NAME"] = db["NAME"]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-l",
            "WARNING",
            "--concurrency",
            str(concurrency),
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--pool",
            "prefork",
            *(["-Q", ",".join(queues)] if queues else []),
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited with {process.returncode}")
        replies = app.control.ping(timeout=1.0, destination=[f"{name}@{os.uname().nodename}"])
        if replies:
            return process
    process.kill()
    raise RuntimeError("celery worker did not answer a ping within 60 s")


def stop_worker(process: subprocess.Popen, *, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def celery_worker_process(transactional_db: object) -> Iterator[subprocess.Popen]:
    assert settings.CELERY_TASK_ACKS_LATE
    process = start_worker(name=f"test{os.getpid()}")
    yield process
    stop_worker(process)
