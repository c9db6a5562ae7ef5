"""Publish Celery tasks through the transactional outbox (apps/common/models.py).

`outbox_send` writes the message in the caller's transaction and, once that commits, tries to
publish it at once; a broker error there is logged and the message stays due. `outbox_relay`
(beat, every few seconds) publishes every due message older than a short grace, retrying for
as long as it takes. A message can therefore be published twice (the relay and the first try
racing, a publish whose "published" mark was lost): its task must be idempotent, and
`outbox_is_current` lets it drop a copy that a later message of the same key superseded.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import KombuError

from apps.common.models import OutboxMessage

logger = logging.getLogger(__name__)

try:  # the broker's own client, when it is Redis
    from redis.exceptions import RedisError as _RedisError
except ImportError:  # pragma: no cover (redis is a dependency of celery[redis])
    _RedisError = OSError  # type: ignore[assignment,misc]

# What "the broker did not take the message" looks like. Narrow on purpose: an eager task's own
# error (tests) must still reach the caller, not be mistaken for a broker outage.
BROKER_ERRORS: tuple[type[BaseException], ...] = (KombuError, _RedisError, OSError)

# The first try after commit normally wins; the relay leaves a message this long to it.
RELAY_GRACE = timedelta(seconds=3)
RELAY_BATCH = 500
KEEP_PUBLISHED = timedelta(days=1)


def outbox_send(*, task: str, kwargs: dict[str, Any], key: str, fenced: bool = False) -> OutboxMessage:
    """Record `task(**kwargs)` as due in the current transaction; publish it after commit.

    `fenced`: the task also receives `outbox_id`, the id of this message, to tell with
    outbox_is_current whether a later message of the same key superseded it."""
    if fenced:
        kwargs = {**kwargs, "outbox_id": None}  # filled in when published
    message = OutboxMessage.objects.create(task=task, kwargs=kwargs, key=key[:200])
    transaction.on_commit(lambda: _publish_quietly(message.pk))
    return message


def outbox_resend(*, message_id: int) -> None:
    """Publish an already published message again (its consumer was lost), after commit."""
    transaction.on_commit(lambda: _publish_quietly(message_id))


def outbox_is_current(*, key: str, message_id: int | None) -> bool:
    """Whether `message_id` is the latest message of `key` (None: a message from before the
    outbox, always current). An older one was superseded: its work was done and moved on."""
    if message_id is None:
        return True
    latest = OutboxMessage.objects.filter(key=key[:200]).order_by("-id").values_list("id", flat=True).first()
    return latest is None or latest == message_id


def outbox_latest(*, key: str) -> OutboxMessage | None:
    return OutboxMessage.objects.filter(key=key[:200]).order_by("-id").first()


def outbox_relay(*, limit: int = RELAY_BATCH) -> int:
    """Publish the due messages (oldest first); returns how many were published. Rows are
    claimed with SKIP LOCKED, so two relays never publish the same row at once."""
    published = 0
    with transaction.atomic():
        due = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(published_at__isnull=True, created_at__lte=timezone.now() - RELAY_GRACE)
            .order_by("id")[:limit]
        )
        for message in due:
            if _publish(message):
                published += 1
            else:
                break  # the broker is down: the next relay tries again, in order
    OutboxMessage.objects.filter(
        pk__in=OutboxMessage.objects.filter(published_at__lt=timezone.now() - KEEP_PUBLISHED).values("pk")[
            :limit
        ]
    ).delete()
    return published


def outbox_due_count() -> int:
    """Messages waiting for the broker beyond the grace: the site says imports are delayed."""
    return OutboxMessage.objects.filter(
        published_at__isnull=True, created_at__lte=timezone.now() - RELAY_GRACE
    ).count()


def _publish_quietly(message_id: int) -> None:
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is not None:
        _publish(message)


def _task(name: str) -> Any:
    """The registered task of that name. Outside a worker, Celery registers the apps' task
    modules only when something imports them: discover them once, so a task is always sent
    through its own options (routing, eagerness). autodiscover_tasks(force=True) imports the
    installed apps' `tasks` modules and nothing else; the loader's import_default_modules would
    also run Celery's Django fixup (django.setup() again, the system checks, and logging
    reconfigured under a live request)."""
    task = current_app.tasks.get(name)
    if task is None:
        current_app.autodiscover_tasks(force=True)
        task = current_app.tasks.get(name)
    return task


def _publish(message: OutboxMessage) -> bool:
    """Send one message; mark it published, or count the failed try. Never raises for the
    broker: the caller's work is committed, and the relay owns the retry."""
    kwargs = dict(message.kwargs)
    if "outbox_id" in kwargs:
        kwargs["outbox_id"] = message.pk
    task = _task(message.task)
    try:
        if task is not None:
            task.apply_async(kwargs=kwargs)  # eager in tests, routed by config/routing.py
        else:
            current_app.send_task(message.task, kwargs=kwargs)
    except BROKER_ERRORS as error:
        logger.warning("outbox: %s %s not published yet: %r", message.task, message.key, error)
        OutboxMessage.objects.filter(pk=message.pk).update(
            publish_attempts=message.publish_attempts + 1, last_error=repr(error)[:500]
        )
        return False
    OutboxMessage.objects.filter(pk=message.pk).update(
        published_at=timezone.now(), publish_attempts=message.publish_attempts + 1, last_error=""
    )
    return True
