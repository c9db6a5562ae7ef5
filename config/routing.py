"""Celery queues by agency: the money path scales out one agency bucket per queue (docs/scaling.md).

Agencies are independent ledgers, so every money-path task that carries an `agency_id` keyword
goes to the queue of its agency's bucket, `money.<agency_id mod FENRUN_MONEY_QUEUE_BUCKETS>`, or
to the agency's own queue when FENRUN_DEDICATED_AGENCY_QUEUES names it ("42:big" sends agency 42
to `money.big`). Any number of workers may consume one queue: the order within an agency is kept
by the database (the import's row lock, recognition's per-agency advisory lock, the ledger head's
row lock), not by the queue. Everything else (beats, fan-outs, contracts, deals, pings) stays on
the default queue.

The parsing here reads the environment only (no Django), so that scripts/devserver.py can name the
same queues as the settings do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from config.env import ConfigurationError

DEFAULT_QUEUE = "default"
MONEY_QUEUE_PREFIX = "money."
# The apps whose tasks are the money path. A task of theirs without an agency id (a beat that fans
# out per agency, the stalled-import sweep) is not one agency's work and stays on the default queue.
MONEY_PATH_TASK_PREFIXES = ("income.", "recognition.", "ledger.")


def money_queue_buckets(raw: str | None = None) -> int:
    """FENRUN_MONEY_QUEUE_BUCKETS: how many `money.<n>` queues share the agencies (1 or more)."""
    raw = (os.environ.get("FENRUN_MONEY_QUEUE_BUCKETS", "") if raw is None else raw).strip()
    if not raw:
        return 1
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ConfigurationError(
            f"FENRUN_MONEY_QUEUE_BUCKETS must be a whole number of 1 or more, not {raw!r}."
        )
    return int(raw)


def dedicated_agency_queues(raw: str | None = None) -> dict[int, str]:
    """FENRUN_DEDICATED_AGENCY_QUEUES: "42:big,7:acme" → {42: "money.big", 7: "money.acme"}."""
    raw = os.environ.get("FENRUN_DEDICATED_AGENCY_QUEUES", "") if raw is None else raw
    queues: dict[int, str] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        agency, _, name = (piece.strip() for piece in item.partition(":"))
        if not (agency.isascii() and agency.isdigit()) or not name or not _is_queue_word(name):
            raise ConfigurationError(
                "FENRUN_DEDICATED_AGENCY_QUEUES must read like '42:big,7:acme' (an agency id, a colon, "
                f"a queue name of letters, digits, '-' or '_'), not {item!r}."
            )
        if int(agency) in queues:
            raise ConfigurationError(f"FENRUN_DEDICATED_AGENCY_QUEUES names agency {agency} twice.")
        queues[int(agency)] = MONEY_QUEUE_PREFIX + name
    return queues


def _is_queue_word(name: str) -> bool:
    # No dots, commas or spaces: the name goes into `-Q a,b,c` and must not look like a bucket.
    return name.isascii() and all(char.isalnum() or char in "-_" for char in name) and not name.isdigit()


def money_queue(agency_id: int, *, buckets: int, dedicated: Mapping[int, str]) -> str:
    """The queue of one agency's money-path work."""
    return dedicated.get(agency_id) or f"{MONEY_QUEUE_PREFIX}{agency_id % buckets}"


def queue_names(*, buckets: int, dedicated: Mapping[int, str]) -> list[str]:
    """Every queue a worker that serves the whole app consumes: default, the buckets, the dedicated ones."""
    names = [DEFAULT_QUEUE, *(f"{MONEY_QUEUE_PREFIX}{bucket}" for bucket in range(buckets))]
    return names + sorted(set(dedicated.values()) - set(names))


def route_task(
    name: str, args: Any, kwargs: Mapping[str, Any] | None, options: Any, task: Any = None, **_: Any
) -> dict[str, str] | None:
    """Celery router (CELERY_TASK_ROUTES): a money-path task with an agency id goes to its queue.

    None leaves the task on the default queue. An explicit `queue=` given to apply_async wins:
    Celery merges the caller's options over the route.
    """
    agency_id = (kwargs or {}).get("agency_id")
    if (
        not name.startswith(MONEY_PATH_TASK_PREFIXES)
        or isinstance(agency_id, bool)
        or not isinstance(agency_id, int)
    ):
        return None
    from django.conf import settings

    queue = money_queue(
        agency_id,
        buckets=settings.FENRUN_MONEY_QUEUE_BUCKETS,
        dedicated=settings.FENRUN_DEDICATED_AGENCY_QUEUES,
    )
    return {"queue": queue}
