"""Thin task entrypoint: a build's id in, one service call, safe to run twice (the build's status
guards it: a ready or failed build is left alone, a building one whose worker died is rebuilt)."""

from __future__ import annotations

import logging

import psycopg
from celery import Task, shared_task
from django.db import OperationalError

from apps.evidence.services import evidence_bundle_build_failed, evidence_bundle_build_run

logger = logging.getLogger(__name__)

# A lost connection or a serialization failure of the REPEATABLE READ snapshot: a retry cures it.
_TRANSIENT = (OperationalError, psycopg.OperationalError)


class _BuildTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # type: ignore[no-untyped-def]
        logger.error("evidence bundle build %s failed: %r", kwargs.get("build_id"), exc)
        if kwargs.get("build_id") is not None:
            evidence_bundle_build_failed(build_id=kwargs["build_id"])


@shared_task(
    base=_BuildTask,
    name="evidence.bundle_build",
    acks_late=True,
    autoretry_for=_TRANSIENT,
    max_retries=3,
    retry_backoff=5,
    retry_jitter=True,
    ignore_result=True,
)
def evidence_bundle_build_task(*, build_id: int) -> None:
    evidence_bundle_build_run(build_id=build_id)
