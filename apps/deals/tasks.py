"""Deals tasks: thin entry points; the idempotency is the service's status guard. The overdue sweep
runs one UPDATE per agency time zone, and a zone that does not load stops only its agencies."""

from __future__ import annotations

from celery import shared_task

from apps.deals.services import deals_flag_overdue


@shared_task(name="deals.flag_overdue", acks_late=True)
def flag_overdue() -> int:
    """Flag deals past due with nothing paid; a second run (or a re-delivered one) flags nothing."""
    return deals_flag_overdue()
