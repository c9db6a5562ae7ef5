"""The background writer: in order, in the caller's transaction, failures raised in the caller."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from apps.common.dbwriter import transaction_writer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scratch():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE writer_scratch (n integer PRIMARY KEY, thread text NOT NULL)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE writer_scratch")


def _rows() -> list[tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT n, thread FROM writer_scratch ORDER BY n")
        return cursor.fetchall()


def _insert(n: int):
    def work(cursor) -> None:
        cursor.execute("INSERT INTO writer_scratch VALUES (%s, %s)", [n, threading.current_thread().name])

    return work


def test_writes_run_in_order_on_another_thread_and_commit_with_the_caller(scratch) -> None:
    with transaction.atomic(), transaction_writer() as writer:
        for n in range(1, 51):
            writer.submit(_insert(n))
        # A query of the caller waits for what was submitted before it, and sees it.
        assert [n for n, _thread in _rows()] == list(range(1, 51))
        writer.execute("UPDATE writer_scratch SET n = n + 100 WHERE n = %s", [50])

    rows = _rows()
    assert [n for n, _thread in rows] == [*range(1, 50), 150]
    assert {thread for _n, thread in rows} == {"fenrun-transaction-writer"}


def test_writes_roll_back_with_the_caller(scratch) -> None:
    with (
        pytest.raises(RuntimeError, match="caller failed"),
        transaction.atomic(),
        transaction_writer() as writer,
    ):
        writer.submit(_insert(1))
        raise RuntimeError("caller failed")

    assert _rows() == []


def test_a_failed_write_is_raised_in_the_caller_and_nothing_after_it_runs(scratch) -> None:
    ran_after: list[int] = []
    with (
        pytest.raises(IntegrityError, match="writer_scratch_pkey"),
        transaction.atomic(),
        transaction_writer() as writer,
    ):
        writer.submit(_insert(1))
        writer.submit(_insert(1))  # duplicate key
        writer.submit(lambda cursor: ran_after.append(1))

    assert ran_after == []
    assert _rows() == []


def test_a_writer_needs_the_callers_transaction() -> None:
    with pytest.raises(RuntimeError, match=r"transaction\.atomic"), transaction_writer():
        pass


def test_a_query_error_of_the_caller_still_leaves_no_write_behind(scratch) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), transaction_writer() as writer:
        writer.submit(_insert(1))
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    assert _rows() == []
