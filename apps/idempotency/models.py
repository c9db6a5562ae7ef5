"""One row per Idempotency-Key a user sent to an API POST that creates something (docs/idempotency.md).

The row is claimed, committed, before the view runs (status in progress), so a concurrent request
with the same key finds it and waits instead of creating a second object; it keeps the response
once the view answered, so a retry gets that response back. Unique per (user, key): the database,
not a lock in memory, makes two concurrent claims impossible.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotencyKey(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # What the key was first sent with: a retry must be the same request to get its response.
    method = models.CharField(max_length=10)
    path = models.TextField()
    request_sha256 = models.CharField(max_length=64)  # the body's fields, files and query string
    scope_sha256 = models.CharField(max_length=64)  # the user's agency roles and creator profile
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The JSON document sent, verbatim (text, not jsonb: a replay is the same bytes, key order included).
    response_body = models.TextField(blank=True, default="")
    response_content_type = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user"),
            models.CheckConstraint(
                condition=models.Q(status="in_progress") | models.Q(response_status__isnull=False),
                name="idempotency_key_done_has_response",
            ),
        ]
        # The hourly expiry deletes by age.
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.key!r} ({self.status})"
