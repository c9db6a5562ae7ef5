"""Thin, idempotent tasks: the message's notified_at makes a second run mail nobody."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from apps.disputes.services import dispute_message_notify

# A refused connection to the mail server (OSError, smtplib's errors among them) is transient:
# the mail and notified_at were rolled back together, so a retry sends it.
_TASK = {
    "acks_late": True,
    "autoretry_for": (OperationalError, OSError),
    "max_retries": 5,
    "retry_backoff": True,
}


@shared_task(name="disputes.message_notify", **_TASK)
def dispute_message_notify_task(*, message_id: int, base_url: str = "") -> int:
    return dispute_message_notify(message_id=message_id, base_url=base_url)
