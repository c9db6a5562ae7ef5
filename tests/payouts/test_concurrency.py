"""Two preparations racing for one creator, with real threads and real PostgreSQL transactions:
the database's one-open-item index refuses the one that commits second, and nothing of it stays."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction

from apps.common.exceptions import ApplicationError
from apps.payouts.models import PayoutBatch, PayoutItem
from apps.payouts.services import payout_batch_prepare
from tests.payouts.conftest import Payouts


def _someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        (count,) = cursor.fetchone()
    return bool(count)


@pytest.mark.django_db(transaction=True)
def test_two_batches_racing_for_one_creator_the_second_is_refused_whole(payouts: Payouts) -> None:
    world = payouts.world
    payouts.owe(world.creator_a, 500_000, key="a")
    prepared = threading.Event()
    release = threading.Event()
    outcome: dict[str, Any] = {}

    def first() -> None:
        try:
            with transaction.atomic():  # holds the first batch uncommitted until released
                outcome["first"] = payout_batch_prepare(agency=payouts.agency, actor=world.finance_a)
                prepared.set()
                release.wait(timeout=30)
        except BaseException as error:
            outcome["first_error"] = error
            prepared.set()
        finally:
            connection.close()

    def second() -> None:
        prepared.wait(timeout=30)
        try:
            # It cannot see the first batch's item (not committed), so it takes the same creator;
            # its insert waits on the unique index until the first commits, then fails.
            outcome["second"] = payout_batch_prepare(agency=payouts.agency, actor=payouts.finance_b)
        except BaseException as error:
            outcome["second_error"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    prepared.wait(timeout=30)
    deadline = time.monotonic() + 15
    while not _someone_waits_on_a_lock() and time.monotonic() < deadline:
        time.sleep(0.05)
    waited = _someone_waits_on_a_lock()
    release.set()
    for thread in threads:
        thread.join(timeout=60)

    assert "first_error" not in outcome
    assert waited, "the second preparation never waited on the first one's item"
    error = outcome.get("second_error")
    assert isinstance(error, ApplicationError), outcome
    assert (error.code, error.status) == ("creator_in_open_batch", 409)
    # Nothing of the second batch stays: one batch, one open item for the creator.
    assert PayoutBatch.objects.count() == 1
    assert PayoutItem.objects.filter(creator=world.creator_a, status__in=PayoutItem.OPEN).count() == 1
    assert PayoutItem.objects.get().batch == outcome["first"]
