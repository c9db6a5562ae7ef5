"""Beat entrypoints: thin, idempotent (status guards and unique reminder keys), acks_late.

The hourly sweep finds the versions due and hands each id to its own task, and the reminders
beat each reminder due to its own, so one bad row cannot stop the others (logged with its id,
retried when the error is transient) and a re-run does nothing twice.
"""

from __future__ import annotations

import logging
from functools import partial

from celery import Task, shared_task
from django.db import OperationalError, transaction

from apps.contracts.models import ContractVersion
from apps.contracts.services import (
    contract_offer_expire,
    contract_offer_notify,
    contract_reminder_send,
    contract_reminders_due,
    contract_version_activate,
    contract_version_end,
    contract_versions_due,
)

logger = logging.getLogger(__name__)
# Transient: a lost connection, a deadlock, a lock timeout. A version's task retries alone.
_VERSION_TASK = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "max_retries": 3,
    "retry_backoff": True,
}


@shared_task(name="contracts.sweep", acks_late=True)
def contract_versions_sweep() -> dict[str, int]:
    due = contract_versions_due()
    tasks = {
        "expire": contract_offer_expire_task,
        "activate": contract_version_activate_task,
        "end": contract_version_end_task,
    }
    for key, task in tasks.items():
        for version_id in due[key]:
            transaction.on_commit(partial(task.delay, version_id=version_id), robust=True)
    return {key: len(ids) for key, ids in due.items()}


@shared_task(name="contracts.offer_expire", **_VERSION_TASK)
def contract_offer_expire_task(*, version_id: int) -> bool:
    return contract_offer_expire(version=ContractVersion.objects.get(pk=version_id))


@shared_task(name="contracts.version_activate", **_VERSION_TASK)
def contract_version_activate_task(*, version_id: int) -> bool:
    return contract_version_activate(version=ContractVersion.objects.get(pk=version_id))


@shared_task(name="contracts.version_end", **_VERSION_TASK)
def contract_version_end_task(*, version_id: int) -> bool:
    return contract_version_end(version=ContractVersion.objects.get(pk=version_id))


@shared_task(name="contracts.reminders_send", acks_late=True)
def contract_reminders_send_task() -> int:
    """Beat: one task per reminder due (their rows make them once-only); returns how many.
    Enqueued at once: this task writes nothing that a reminder must wait for."""
    due = contract_reminders_due()
    for version_id, kind, key in due:
        try:
            contract_reminder_send_task.delay(version_id=version_id, kind=kind, key=key)
        except Exception:  # the broker, or (eagerly) the reminder itself: the next ones still go
            logger.exception("The %s reminder of contract version %s could not be enqueued", kind, version_id)
    return len(due)


class _ReminderTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # type: ignore[no-untyped-def]
        # Not remembered, so the next beat tries it again.
        logger.error(
            "The %s reminder of contract version %s could not be sent (task %s)",
            kwargs.get("kind"),
            kwargs.get("version_id"),
            task_id,
            exc_info=einfo.exc_info,
        )


@shared_task(
    name="contracts.reminder_send",
    base=_ReminderTask,
    acks_late=True,
    autoretry_for=(OSError, OperationalError),  # SMTP trouble (socket and smtplib errors), the database
    max_retries=5,
    retry_backoff=True,
)
def contract_reminder_send_task(*, version_id: int, kind: str, key: str) -> bool:
    return contract_reminder_send(version_id=version_id, kind=kind, key=key)


@shared_task(
    name="contracts.offer_notify", acks_late=True, autoretry_for=(OSError,), max_retries=5, retry_backoff=True
)
def contract_offer_notify_task(*, version_id: int) -> None:
    # SMTP trouble is transient (OSError covers socket and smtplib errors): retry a few times.
    contract_offer_notify(version_id=version_id)
