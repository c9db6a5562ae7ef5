import subprocess

import pytest

from apps.common.tasks import ping

pytestmark = pytest.mark.integration


def test_a_real_worker_answers_a_ping_task(celery_worker_process: subprocess.Popen) -> None:
    result = ping.delay()
    assert result.get(timeout=30) == "pong"
