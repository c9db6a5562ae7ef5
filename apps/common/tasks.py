"""Tasks every deployment has: a ping that proves a worker consumes from the broker."""

from celery import shared_task


@shared_task(name="common.ping", acks_late=True)
def ping() -> str:
    return "pong"
