"""Thin task entrypoints: ids in, one service call, safe to run twice (idempotency lives in the
database: the import row lock, its status and the (import, chunk) marker; recognition's status
guard and the ledger's idempotency keys).

Periodic recognition lives with recognition (apps/recognition/tasks.py).
"""

from __future__ import annotations

import logging

import psycopg
from celery import Task, shared_task
from django.db import OperationalError
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.income import pipeline

# Errors a retry may cure. psycopg's own class too: the ledger's COPY raises it unwrapped by
# Django, and without it a lost connection during recognition failed the import for good.
_TRANSIENT = (OperationalError, psycopg.OperationalError)

logger = logging.getLogger(__name__)


class _ImportTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # type: ignore[no-untyped-def]
        # Out of retries, or a bug: the import must not stay "running" for ever. The person who
        # uploaded it reads a sentence; the error itself (it can hold SQL) goes to the log.
        import_id = kwargs.get("import_id")
        logger.error("Statement import %s stopped (task %s)", import_id, task_id, exc_info=einfo.exc_info)
        if import_id is not None:
            if isinstance(exc, ApplicationError):
                message = _("The import stopped: %(reason)s") % {"reason": exc.message}
            else:
                message = _(
                    "The import stopped because of an unexpected error, which was logged for the "
                    "operators. Try again later; if it happens again, contact support."
                )
            pipeline.statement_import_fail(import_id=import_id, message=message)


@shared_task(
    name="income.statement_import_step",
    base=_ImportTask,
    acks_late=True,
    autoretry_for=_TRANSIENT,  # lost connection, deadlock, serialization failure
    max_retries=5,
    retry_backoff=2,
    retry_jitter=True,
    # Nothing reads a step's result; storing it needed the result backend (Redis), and a Redis
    # outage then failed a step that had committed.
    ignore_result=True,
)
def statement_import_step(
    *, import_id: int, agency_id: int | None = None, outbox_id: int | None = None
) -> bool:
    # agency_id only routes the task to its agency's queue (config/routing.py); None: a message
    # enqueued before the queues by agency, which runs the same. outbox_id: the message that
    # asked for this step (a superseded copy does nothing); None before the outbox.
    return pipeline.statement_import_step(import_id=import_id, outbox_id=outbox_id)


@shared_task(name="income.statement_import_resume_stalled", acks_late=True, ignore_result=True)
def statement_import_resume_stalled() -> int:
    # Each stalled import is re-enqueued as its own step task: one import cannot stop another.
    return len(pipeline.statement_import_resume_stalled())
