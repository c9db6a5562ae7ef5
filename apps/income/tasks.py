"""Thin task entrypoints: ids in, one service call, safe to run twice (idempotency lives in the
database: the import row lock, its status and the (import, chunk) marker; recognition's status
guard and the ledger's idempotency keys).

Periodic recognition fans out one task per agency: one agency's failure is logged with its id
and retried on its own, and stops no other agency (issue 11).
"""

from __future__ import annotations

import logging
from functools import partial

import psycopg
from celery import Task, shared_task
from django.db import OperationalError, transaction
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
)
def statement_import_step(*, import_id: int, agency_id: int | None = None) -> bool:
    # agency_id only routes the task to its agency's queue (config/routing.py); None: a message
    # enqueued before the queues by agency, which runs the same.
    return pipeline.statement_import_step(import_id=import_id)


@shared_task(name="income.statement_import_resume_stalled", acks_late=True)
def statement_import_resume_stalled() -> int:
    # Each stalled import is re-enqueued as its own step task: one import cannot stop another.
    return len(pipeline.statement_import_resume_stalled())


@shared_task(name="income.recognize_pending", acks_late=True)
def income_recognize_pending() -> int:
    """Beat: hand each agency with matched lines to its own task; returns how many agencies.

    Robust on_commit: an agency whose task cannot even be enqueued is logged, the next ones
    still are (the next beat tries it again)."""
    from apps.income.recognition import income_agencies_pending

    agency_ids = income_agencies_pending()
    for agency_id in agency_ids:
        transaction.on_commit(
            partial(income_recognize_pending_agency.delay, agency_id=agency_id), robust=True
        )
    return len(agency_ids)


class _AgencyTask(Task):
    def on_retry(self, exc, task_id, args, kwargs, einfo) -> None:  # type: ignore[no-untyped-def]
        logger.warning("Recognition of agency %s will be retried: %r", kwargs.get("agency_id"), exc)

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # type: ignore[no-untyped-def]
        # The agency's lines stay matched: the next beat (5 minutes) tries them again.
        logger.error(
            "Recognition of agency %s failed (task %s)",
            kwargs.get("agency_id"),
            task_id,
            exc_info=einfo.exc_info,
        )


@shared_task(
    name="income.recognize_pending_agency",
    base=_AgencyTask,
    acks_late=True,
    autoretry_for=_TRANSIENT,  # lost connection, deadlock, lock or statement timeout
    max_retries=5,
    retry_backoff=2,
    retry_jitter=True,
)
def income_recognize_pending_agency(*, agency_id: int) -> int:
    """Recognise one agency's matched lines; a line that cannot be recognised goes to the queue
    (apps.income.recognition), so only a transient error fails the task."""
    from apps.agencies.models import Agency
    from apps.income.recognition import income_recognize_pending as recognise

    agency = Agency.objects.filter(pk=agency_id).first()
    if agency is None:
        return 0  # deleted since the beat listed it
    return recognise(agency=agency).recognised
