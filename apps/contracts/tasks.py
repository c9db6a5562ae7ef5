"""Beat entrypoints: thin, idempotent (status guards and unique reminder keys), acks_late.

The daily sweep finds the versions due and hands each id to its own task, so one bad row
cannot stop the others and a re-run does nothing twice.
"""

from __future__ import annotations

from functools import partial

from celery import shared_task
from django.db import transaction

from apps.contracts.models import ContractVersion
from apps.contracts.services import (
    contract_offer_expire,
    contract_offer_notify,
    contract_reminders_send,
    contract_version_activate,
    contract_version_end,
    contract_versions_due,
)


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
            transaction.on_commit(partial(task.delay, version_id=version_id))
    return {key: len(ids) for key, ids in due.items()}


@shared_task(name="contracts.offer_expire", acks_late=True)
def contract_offer_expire_task(*, version_id: int) -> bool:
    return contract_offer_expire(version=ContractVersion.objects.get(pk=version_id))


@shared_task(name="contracts.version_activate", acks_late=True)
def contract_version_activate_task(*, version_id: int) -> bool:
    return contract_version_activate(version=ContractVersion.objects.get(pk=version_id))


@shared_task(name="contracts.version_end", acks_late=True)
def contract_version_end_task(*, version_id: int) -> bool:
    return contract_version_end(version=ContractVersion.objects.get(pk=version_id))


@shared_task(name="contracts.reminders_send", acks_late=True)
def contract_reminders_send_task() -> int:
    return contract_reminders_send()


@shared_task(
    name="contracts.offer_notify", acks_late=True, autoretry_for=(OSError,), max_retries=5, retry_backoff=True
)
def contract_offer_notify_task(*, version_id: int) -> None:
    # SMTP trouble is transient (OSError covers socket and smtplib errors): retry a few times.
    contract_offer_notify(version_id=version_id)
