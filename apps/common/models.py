"""The transactional outbox: a task to publish, written in the transaction that decided it.

Publishing a Celery message after a commit can fail (the broker is down, the connection
dropped between the commit and the publish). Written here, the intent commits with the work
that made it due; a relay publishes what was not published, retrying, so a broker outage only
delays the work (apps/common/outbox.py, docs/reliability.md).
"""

from __future__ import annotations

from django.db import models


class OutboxMessage(models.Model):
    # The work it belongs to ("income.import:42"): the latest message of a key is the current
    # one, so a redelivered or re-sent older message knows it is stale (outbox_is_current).
    key = models.CharField(max_length=200)
    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["key", "id"], name="common_outbox_key"),
            # The relay's scan: only what is still to publish.
            models.Index(
                fields=["id"], name="common_outbox_unpublished", condition=models.Q(published_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.key} ({'published' if self.published_at else 'due'})"
