"""Tasks every deployment has: a ping that proves a worker consumes from the broker."""

from celery import shared_task


@shared_task(name="common.ping", acks_late=True)
def ping() -> str:
    return "pong"


@shared_task(name="common.outbox_relay", acks_late=True)
def outbox_relay() -> int:
    # Beat, every few seconds: the tasks whose first publish failed (apps/common/outbox.py).
    from apps.common.outbox import outbox_relay as relay

    return relay()
