"""`make attack`: idempotency races. Twenty clients send one Idempotency-Key at the same moment, on
real threads with their own database connections: exactly one object is created, and every
client gets the first response (201/202, the same body) or a 409 'still in progress'."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from apps.deals.models import BrandDeal
from apps.idempotency.models import IdempotencyKey
from apps.income.models import StatementImport
from tests.conftest import api_as
from tests.idempotency.test_keys import create_payload
from tests.income.conftest import FILES

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20


def _race(send: Callable[[], Any]) -> list[Any]:
    """`send` from THREADS threads released together; their responses (or what they raised)."""
    results: list[Any] = []
    barrier = threading.Barrier(THREADS)
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            outcome = send()
        except BaseException as error:  # collected: the test asserts there were none
            outcome = error
        finally:
            connection.close()  # each thread's own connection, or the test database stays open
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _assert_one_answer(responses: list[Any], *, created: int) -> None:
    assert len(responses) == THREADS
    errors = [item for item in responses if isinstance(item, BaseException)]
    assert errors == []
    firsts = [item for item in responses if item.status_code == created]
    busy = [item for item in responses if item.status_code == 409]
    assert len(firsts) + len(busy) == THREADS, sorted(item.status_code for item in responses)
    assert {item.json()["code"] for item in busy} <= {"idempotency_key_in_progress"}
    assert len({item.content for item in firsts}) == 1  # one document, byte for byte
    replayed = [item for item in firsts if item.get("Idempotent-Replayed") == "true"]
    assert len(firsts) - len(replayed) == 1  # the one that ran the view
    assert IdempotencyKey.objects.get().status == IdempotencyKey.Status.DONE


def test_twenty_threads_create_one_deal_with_one_key(world) -> None:
    payload = create_payload(world)

    def send() -> Any:
        return api_as(world.manager_a).post(
            "/api/v1/deals/", payload, format="json", headers={"Idempotency-Key": "race-deal"}
        )

    responses = _race(send)

    _assert_one_answer(responses, created=201)
    assert BrandDeal.objects.count() == 1


def test_twenty_threads_upload_one_statement_with_one_key(statement_world) -> None:
    content = (FILES / "canonical_example.csv").read_bytes()

    def send() -> Any:
        return api_as(statement_world.manager_a).post(
            "/api/v1/income/imports/",
            {
                "agency": str(statement_world.agency_a.public_id),
                "file": SimpleUploadedFile("canonical_example.csv", content, content_type="text/csv"),
            },
            format="multipart",
            headers={"Idempotency-Key": "race-upload"},
        )

    responses = _race(send)

    _assert_one_answer(responses, created=202)
    assert StatementImport.objects.count() == 1
