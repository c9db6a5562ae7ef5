"""Claiming, completing and releasing Idempotency-Keys (Stripe's semantics; docs/idempotency.md).

A first request claims its key by inserting the row in its own short transaction, committed
before the view runs; the unique constraint on (user, key) makes exactly one of concurrent
claims win. The others find the row and wait for it (a short poll: the winner's row is not
locked while its view runs, because the view's services open their own, sometimes durable,
transactions), then replay its response, or answer 409 if it is not done in a few seconds.
The response is written after the view returned; a 5xx or a crash releases the key instead.
The gap: a process killed between the view's commit and the response's write leaves the key in
progress; after ABANDONED_AFTER a retry takes it over and runs again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.idempotency.models import IdempotencyKey

# A key answers for 24 hours (Stripe's figure); idempotency_keys_expire deletes older rows.
KEY_LIFETIME = timedelta(hours=24)
# No request runs this long (gunicorn kills a worker after 30 s): an older claim in progress
# belongs to a process that died, and a retry may take it over.
ABANDONED_AFTER = timedelta(minutes=10)
POLL_SECONDS = 0.05


def _wait_seconds() -> float:
    # How long a duplicate waits for the first request before answering 409 (a setting: tests shorten it).
    return float(getattr(settings, "FENRUN_IDEMPOTENCY_WAIT_SECONDS", 5.0))


@dataclass(frozen=True)
class RequestPrint:
    """What must be equal for a retry to be the same request."""

    method: str
    path: str
    request_sha256: str
    scope_sha256: str


@dataclass(frozen=True)
class Claim:
    record: IdempotencyKey
    is_replay: bool  # True: the key is done, answer record's response; False: run the view


def idempotency_claim(*, user_id: int, key: str, request: RequestPrint) -> Claim:
    """Claim `key` for this request, or return the finished claim to replay.

    Raises 409 when the key was used for another request or with other access, or when the first
    request with it is still running after the wait.
    """
    deadline = time.monotonic() + _wait_seconds()
    while True:
        record = _insert(user_id=user_id, key=key, request=request)
        if record is not None:
            return Claim(record=record, is_replay=False)
        existing = IdempotencyKey.objects.filter(user_id=user_id, key=key).first()
        if existing is None:
            continue  # released (a 5xx) or expired between our insert and this read: claim again
        if _is_stale(existing):
            # Deleted only if still the row we judged stale; a concurrent taker then loses the insert.
            IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        _check_same_request(existing, request)
        if existing.status == IdempotencyKey.Status.DONE:
            return Claim(record=existing, is_replay=True)
        if time.monotonic() >= deadline:
            raise ApplicationError(
                _(
                    "A request with this Idempotency-Key is still in progress. Retry in a few "
                    "seconds: you will get its response."
                ),
                code="idempotency_key_in_progress",
            ).with_status(409)
        time.sleep(POLL_SECONDS)


def _insert(*, user_id: int, key: str, request: RequestPrint) -> IdempotencyKey | None:
    """The new row, committed (a savepoint inside a test's transaction); None if the key exists."""
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                user_id=user_id,
                key=key,
                method=request.method,
                path=request.path,
                request_sha256=request.request_sha256,
                scope_sha256=request.scope_sha256,
            )
    except IntegrityError:
        # The unique (user, key): a concurrent insert waited for the winner's commit, then lost.
        return None


def _is_stale(record: IdempotencyKey) -> bool:
    age = timezone.now() - record.created_at
    if age >= KEY_LIFETIME:
        return True
    return record.status == IdempotencyKey.Status.IN_PROGRESS and age >= ABANDONED_AFTER


def _check_same_request(record: IdempotencyKey, request: RequestPrint) -> None:
    if (record.method, record.path) != (request.method, request.path):
        raise ApplicationError(
            _(
                "This Idempotency-Key was already used for another request (%(method)s %(path)s). "
                "Use a new key for each new request."
            )
            % {"method": record.method, "path": record.path},
            code="idempotency_key_reused",
        ).with_status(409)
    if record.request_sha256 != request.request_sha256:
        raise ApplicationError(
            _(
                "This Idempotency-Key was already used with a different request body. Send the "
                "same body to get the first response, or use a new key for a new request."
            ),
            code="idempotency_key_reused",
        ).with_status(409)
    if record.scope_sha256 != request.scope_sha256:
        # A stored response is shown only to the access it was made for: memberships or roles
        # changed since (an agency left, a role lowered), so it may hold what is no longer theirs.
        raise ApplicationError(
            _(
                "Your access changed since the first request with this Idempotency-Key (an agency "
                "membership or role), so its response is not replayed. Check whether it took "
                "effect, then use a new key."
            ),
            code="idempotency_key_access_changed",
        ).with_status(409)


def idempotency_complete(*, record: IdempotencyKey, status: int, body: str, content_type: str) -> None:
    """Store the response of the claim's request: from now on the key replays it."""
    IdempotencyKey.objects.filter(pk=record.pk, status=IdempotencyKey.Status.IN_PROGRESS).update(
        status=IdempotencyKey.Status.DONE,
        response_status=status,
        response_body=body,
        response_content_type=content_type,
        completed_at=timezone.now(),
    )


def idempotency_release(*, record: IdempotencyKey) -> None:
    """Forget a claim whose request failed on our side (5xx, 429, a crash): the key may be retried."""
    IdempotencyKey.objects.filter(pk=record.pk, status=IdempotencyKey.Status.IN_PROGRESS).delete()


def idempotency_keys_expire() -> int:
    """Delete the keys older than KEY_LIFETIME (a beat task, hourly); the number deleted."""
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - KEY_LIFETIME).delete()
    return deleted
