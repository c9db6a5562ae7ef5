"""Thin task entrypoints of recognition: periodic recognition fans out one task per agency, so
that one agency's failure is logged with its id and retried on its own, and stops no other agency.
Task names keep their "income." prefix: beat schedules and queued messages name them so.
"""

from __future__ import annotations

import logging
from functools import partial

import psycopg
from celery import Task, shared_task
from django.db import OperationalError, transaction

from apps.agencies.models import Agency
from apps.recognition import services

# Errors a retry may cure. psycopg's own class too: the ledger's COPY raises it unwrapped.
_TRANSIENT = (OperationalError, psycopg.OperationalError)
logger = logging.getLogger(__name__)


@shared_task(name="income.recognize_pending", acks_late=True)
def income_recognize_pending() -> int:
    """Beat: hand each agency with matched lines to its own task; returns how many agencies.

    Robust on_commit: an agency whose task cannot even be enqueued is logged, the next ones
    still are (the next beat tries it again)."""
    agency_ids = services.agencies_pending()
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
    (apps.recognition.batch), so only a transient error fails the task."""
    agency = Agency.objects.filter(pk=agency_id).first()
    if agency is None:
        return 0  # deleted since the beat listed it
    return services.recognize_pending(agency=agency).recognised
