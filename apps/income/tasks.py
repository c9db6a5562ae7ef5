"""Thin task entrypoints: ids in, one service call, safe to run twice (idempotency lives in the
database: the import row lock, its status and the (import, chunk) marker)."""

from __future__ import annotations

from celery import Task, shared_task
from django.db import OperationalError

from apps.income import pipeline


class _ImportTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # type: ignore[no-untyped-def]
        # Out of retries, or a bug: the import must not stay "running" for ever.
        import_id = kwargs.get("import_id")
        if import_id is not None:
            pipeline.statement_import_fail(import_id=import_id, message=f"The import stopped: {exc}")


@shared_task(
    name="income.statement_import_step",
    base=_ImportTask,
    acks_late=True,
    autoretry_for=(OperationalError,),  # lost connection, deadlock, serialization failure
    max_retries=5,
    retry_backoff=2,
    retry_jitter=True,
)
def statement_import_step(*, import_id: int) -> bool:
    return pipeline.statement_import_step(import_id=import_id)


@shared_task(name="income.statement_import_resume_stalled", acks_late=True)
def statement_import_resume_stalled() -> int:
    return len(pipeline.statement_import_resume_stalled())


@shared_task(
    name="income.recognize_pending", acks_late=True, autoretry_for=(OperationalError,), max_retries=3
)
def income_recognize_pending() -> int:
    from apps.agencies.models import Agency
    from apps.income.recognition import income_recognize_pending as recognise

    return sum(recognise(agency=agency).recognised for agency in Agency.objects.order_by("pk"))
