"""Many writers on the same accounts at once, with real threads and real PostgreSQL transactions."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from apps.ledger.models import AccountBalance, AccountPeriodBalance, JournalEntry
from apps.ledger.services import PostingSpec, ledger_post
from apps.ledger.verification import ledger_verify_agency
from tests.ledger.conftest import DAY, Books, Kind

THREADS = 6
ENTRIES_PER_THREAD = 15


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_lose_no_update_and_keep_the_chain(books: Books) -> None:
    world = books.world
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            barrier.wait()  # start together so that the writers really contend for the same rows
            for index in range(ENTRIES_PER_THREAD):
                amount = number * 1000 + index + 1
                # Half the threads post bank→clearing, half clearing→bank: opposite account orders.
                first, second = (books.bank, books.clearing) if number % 2 else (books.clearing, books.bank)
                ledger_post(
                    agency=world.agency_a,
                    idempotency_key=f"t{number}-{index}",
                    kind=Kind.INCOME_LINE,
                    effective_date=DAY,
                    postings=[PostingSpec(first, amount), PostingSpec(second, -amount)],
                )
                # …and the same key again, as a retrying client would.
                if index % 5 == 0:
                    ledger_post(
                        agency=world.agency_a,
                        idempotency_key=f"t{number}-{index}",
                        kind=Kind.INCOME_LINE,
                        effective_date=DAY,
                        postings=[PostingSpec(first, amount), PostingSpec(second, -amount)],
                    )
        except BaseException as error:  # reported below; a thread's exception is otherwise lost
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    entries = JournalEntry.objects.filter(agency=world.agency_a)
    assert entries.count() == THREADS * ENTRIES_PER_THREAD
    assert sorted(entries.values_list("seq", flat=True)) == list(range(1, THREADS * ENTRIES_PER_THREAD + 1))
    expected_bank = sum(
        (number * 1000 + index + 1) * (1 if number % 2 else -1)
        for number in range(THREADS)
        for index in range(ENTRIES_PER_THREAD)
    )
    bank = AccountBalance.objects.get(account=books.bank)
    assert (bank.balance_minor, bank.posting_count) == (expected_bank, THREADS * ENTRIES_PER_THREAD)
    assert AccountBalance.objects.get(account=books.clearing).balance_minor == -expected_bank
    assert AccountPeriodBalance.objects.get(account=books.bank, period="2026-03").net_minor == expected_bank
    assert Counter(p for p in ledger_verify_agency(world.agency_a).problems) == Counter()
