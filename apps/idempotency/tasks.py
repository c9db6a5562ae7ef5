"""The beat's hourly expiry of Idempotency-Keys older than 24 hours (safe to run twice)."""

from celery import shared_task

from apps.idempotency.services import idempotency_keys_expire


@shared_task(name="idempotency.keys_expire", acks_late=True)
def keys_expire() -> int:
    return idempotency_keys_expire()
