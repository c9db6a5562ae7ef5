"""Writes that run on a second thread, in order, inside the caller's own transaction.

Why: a recognition batch alternates Python work (the engine, the chain's hashes, COPY rows)
with PostgreSQL work (COPY, UPDATE, the deferred checks), and on a 2-core machine each waits
for the other. Handing each part's writes to one background thread lets PostgreSQL write part k
while Python prepares part k+1; the GIL is released while the thread waits on the socket.

Rules that keep it correct:
* the thread uses the same psycopg connection as the caller (psycopg connections are
  thread-safe; each side opens its own cursor), so every write is in the caller's transaction
  and commits or rolls back with it;
* work runs in submission order, one item at a time; after the first failure nothing more
  runs (the transaction is lost anyway) and the failure is raised in the caller, converted to
  Django's database errors, when it submits again or leaves the block;
* leaving the block always waits for the thread, also on an exception, so no write can reach
  the connection after the caller's transaction has ended.
* a query the caller sends through Django meanwhile (savepoints included) first waits until the
  thread has run all the work submitted before it (an execute wrapper), so the caller reads
  what it wrote and learns of a failure before it goes on; psycopg's connection lock, held for
  a whole statement or COPY, keeps the two threads' statements from interleaving in any case;
* work must use the cursor it is given, never the ORM: in the thread, Django would open
  another connection, outside the caller's transaction.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

Work = Callable[[Any], None]  # called with a psycopg cursor of the caller's connection
WRITER_SWITCH_INTERVAL = 0.0002  # seconds; sys.setswitchinterval while a writer runs


class TransactionWriter:
    def __init__(self) -> None:
        if not connection.in_atomic_block:
            raise RuntimeError("TransactionWriter needs the caller's transaction (transaction.atomic)")
        self._connection = connection.connection  # the psycopg connection under Django's wrapper
        self._queue: queue.SimpleQueue[Work | threading.Event | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._cancelled = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="fenrun-transaction-writer", daemon=True)
        self._thread.start()

    def submit(self, work: Work) -> None:
        if self._closed:
            raise RuntimeError("this TransactionWriter is closed")
        self.raise_failure()
        self._queue.put(work)

    def execute(self, sql: str, params: Any = None) -> None:
        self.submit(lambda cursor: cursor.execute(sql, params))

    def wait(self) -> None:
        """Block until all the work submitted so far has run; raise its failure, if any."""
        if self._closed:
            self.raise_failure()
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait()
        self.raise_failure()

    def raise_failure(self) -> None:
        if self._error is not None:
            with connection.wrap_database_errors:
                raise self._error

    def _run(self) -> None:
        while True:
            work = self._queue.get()
            if work is None:
                return
            if isinstance(work, threading.Event):
                work.set()
                continue
            if self._error is not None or self._cancelled:
                continue
            try:
                with self._connection.cursor() as cursor:
                    work(cursor)
            except BaseException as error:  # handed to the caller's thread, which raises it
                self._error = error

    def close(self, *, cancel: bool = False) -> None:
        """Wait for the submitted work (skip what has not started when `cancel`)."""
        self._cancelled = self._cancelled or cancel
        if not self._closed:
            self._closed = True
            self._queue.put(None)
        self._thread.join()


@contextmanager
def transaction_writer() -> Iterator[TransactionWriter]:
    """A TransactionWriter for the block; leaving it waits for the writes and raises their failure."""
    writer = TransactionWriter()

    def after_the_writes(execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
        writer.wait()
        return execute(sql, params, many, context)

    # While the caller computes, it holds the GIL and hands it over only every switch interval
    # (5 ms by default); the writer needs it back after each socket wait of a COPY, some hundred
    # times a part. A shorter interval for the block let recognition of 100,000 lines take
    # 19.9 s instead of 22.5 s (bench/income_pipeline.py, runs back to back).
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(WRITER_SWITCH_INTERVAL)
    try:
        with connection.execute_wrapper(after_the_writes):
            yield writer
    except BaseException:
        writer.close(cancel=True)
        raise
    finally:
        sys.setswitchinterval(switch_interval)
    try:
        writer.close()
    except BaseException:
        # Interrupted while waiting (a signal, a time limit): the caller's transaction is about
        # to roll back, and no queued write may reach the connection after that.
        writer.close(cancel=True)
        raise
    writer.raise_failure()
