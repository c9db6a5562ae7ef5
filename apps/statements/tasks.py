"""Thin, idempotent tasks (the PDF is written once, the notice row is unique), acks_late; each
publish enqueues one PDF task per statement, so workers render a month's PDFs in parallel."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from apps.statements.services import statement_notify, statement_pdf_render

_TASK = {"acks_late": True, "autoretry_for": (OperationalError,), "max_retries": 3, "retry_backoff": True}


@shared_task(name="statements.pdf_render", **_TASK)
def statement_pdf_render_task(*, statement_id: int) -> str:
    return statement_pdf_render(statement_id=statement_id).pdf_sha256


@shared_task(name="statements.notify", **_TASK)
def statement_notify_task(*, statement_id: int, base_url: str = "") -> bool:
    return statement_notify(statement_id=statement_id, base_url=base_url)
