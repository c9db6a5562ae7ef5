"""PostgreSQL itself refuses what the ledger forbids, whatever the code path: raw SQL here."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from apps.ledger.models import JournalEntry
from apps.ledger.services import ledger_reverse
from tests.ledger.conftest import Books, advance, receive


def _insert_entry(books: Books, *, seq: int, kind: str = "income_line", reverses: int | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO ledger_journalentry (public_id, agency_id, seq, prev_hash, hash, idempotency_key,
                request_sha256, kind, cause_reference, reason, memo, effective_date, posted_at, lines_root,
                line_count, reverses_id)
            VALUES (%s, %s, %s, repeat('0', 64), %s, %s, repeat('0', 64), %s, '', '', '', '2026-03-14', now(), '', 0, %s)
            RETURNING id
            """,
            [
                uuid.uuid4(),
                books.world.agency_a.pk,
                seq,
                uuid.uuid4().hex * 2,
                f"raw-{uuid.uuid4()}",
                kind,
                reverses,
            ],
        )
        return cursor.fetchone()[0]


def _insert_posting(
    entry_id: int, account_id: int, amount: int, currency: str = "CNY", line_no: int = 0
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, line_no, amount_minor, currency) VALUES (%s, %s, %s, %s, %s)",
            [entry_id, account_id, line_no, amount, currency],
        )


def _execute(sql: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_posting SET amount_minor = amount_minor + 1 WHERE entry_id = %s",
        "DELETE FROM ledger_posting WHERE entry_id = %s",
        "UPDATE ledger_journalentry SET memo = 'edited' WHERE id = %s",
        "DELETE FROM ledger_journalentry WHERE id = %s",
    ],
)
def test_update_and_delete_of_entries_and_postings_are_refused(books: Books, sql: str) -> None:
    entry = receive(books, 100, key="s1")

    with pytest.raises(DatabaseError, match="pgtrigger"), transaction.atomic():
        _execute(sql, [entry.pk])

    assert list(entry.postings.values_list("amount_minor", flat=True)) == [100, -100]


@pytest.mark.django_db(transaction=True)
def test_unbalanced_entry_inserted_by_raw_sql_is_refused_at_commit(books: Books) -> None:
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        entry_id = _insert_entry(books, seq=1)
        _insert_posting(entry_id, books.bank.pk, 100, line_no=0)
        _insert_posting(entry_id, books.clearing.pk, -99, line_no=1)
        # Still inside the transaction: the check is deferred to commit.

    assert not JournalEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_entry_with_a_single_posting_or_none_is_refused_at_commit(books: Books) -> None:
    with pytest.raises(IntegrityError, match="at least two"), transaction.atomic():
        _insert_entry(books, seq=1)

    assert not JournalEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_posting_appended_to_a_committed_entry_is_refused(books: Books) -> None:
    entry = receive(books, 100, key="s1")

    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        _insert_posting(entry.pk, books.bank.pk, 5, line_no=7)

    assert entry.postings.count() == 2


@pytest.mark.django_db
def test_zero_posting_and_foreign_currency_posting_are_refused(books: Books) -> None:
    entry = receive(books, 100, key="s1")

    with pytest.raises(IntegrityError, match="ledger_posting_non_zero"), transaction.atomic():
        _insert_posting(entry.pk, books.bank.pk, 0, line_no=5)
    with pytest.raises(IntegrityError, match="no such account holds that currency"), transaction.atomic():
        _insert_posting(entry.pk, books.bank.pk, 1, currency="USD", line_no=5)


@pytest.mark.django_db
def test_postings_must_name_an_existing_entry_and_account(books: Books) -> None:
    entry = receive(books, 100, key="s1")
    missing = JournalEntry.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000

    with (
        pytest.raises(IntegrityError, match=f"names entry {missing}, which does not exist"),
        transaction.atomic(),
    ):
        _insert_posting(missing, books.bank.pk, 1)
    with pytest.raises(IntegrityError, match="no such account holds that currency"), transaction.atomic():
        _insert_posting(entry.pk, 987_654_321, 1, line_no=5)

    assert entry.postings.count() == 2


def _copy_entry(entry: JournalEntry, *, agency_id: int, creator_id: int | None) -> None:
    """INSERT a copy of `entry` (new id, seq and key) that names other references."""
    _execute(
        """
        INSERT INTO ledger_journalentry (public_id, agency_id, creator_id, seq, prev_hash, hash,
            idempotency_key, request_sha256, kind, cause_reference, reason, memo, effective_date, posted_at,
            lines_root, line_count)
        SELECT gen_random_uuid(), %s, %s, seq + 1000, prev_hash, hash, idempotency_key || '-copy',
            request_sha256, kind, cause_reference, reason, memo, effective_date, posted_at, lines_root, line_count
        FROM ledger_journalentry WHERE id = %s
        """,
        [agency_id, creator_id, entry.pk],
    )


@pytest.mark.django_db
def test_entries_must_name_an_existing_agency_and_creator(books: Books) -> None:
    # The ledger holds no rule set snapshot since issue 12 (recognition owns them).
    entry = advance(books, 100, key="a1")
    agency_id, creator_id = books.world.agency_a.pk, books.world.creator_a.pk

    with (
        pytest.raises(IntegrityError, match="names agency 987654321, which does not exist"),
        transaction.atomic(),
    ):
        _copy_entry(entry, agency_id=987_654_321, creator_id=creator_id)
    with (
        pytest.raises(IntegrityError, match="names creator 987654321, which does not exist"),
        transaction.atomic(),
    ):
        _copy_entry(entry, agency_id=agency_id, creator_id=987_654_321)

    assert JournalEntry.objects.filter(agency_id=agency_id).count() == 1


@pytest.mark.django_db
def test_agency_and_creator_named_by_entries_cannot_go(books: Books) -> None:
    advance(books, 100, key="a1")
    agency_id, creator_id = books.world.agency_a.pk, books.world.creator_a.pk

    with pytest.raises(DatabaseError, match="named by ledger entries"), transaction.atomic():
        _execute("DELETE FROM creators_creator WHERE id = %s", [creator_id])
    with pytest.raises(DatabaseError, match="named by ledger entries"), transaction.atomic():
        _execute("UPDATE creators_creator SET id = id + 1000 WHERE id = %s", [creator_id])
    with pytest.raises(DatabaseError, match="named by ledger entries"), transaction.atomic():
        _execute("DELETE FROM agencies_agency WHERE id = %s", [agency_id])
    # Agency B has no entries: the trigger does not stand in the way of other changes.
    _execute(
        "UPDATE agencies_agency SET name = name || ' (renamed)' WHERE id = %s", [books.world.agency_b.pk]
    )

    assert JournalEntry.objects.filter(creator_id=creator_id, agency_id=agency_id).count() == 1


@pytest.mark.django_db
def test_ledger_accounts_are_permanent(books: Books) -> None:
    receive(books, 100, key="s1")

    with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic():
        _execute("DELETE FROM ledger_account WHERE id = %s", [books.bank.pk])
    with pytest.raises(DatabaseError, match="never change"), transaction.atomic():
        _execute("UPDATE ledger_account SET currency = 'USD' WHERE id = %s", [books.bank.pk])

    books.bank.refresh_from_db()
    assert books.bank.currency == "CNY"


@pytest.mark.django_db
def test_database_refuses_second_reversal_and_reversal_of_reversal(books: Books) -> None:
    original = advance(books, 500, key="adv1")
    reversal = ledger_reverse(entry=original, idempotency_key="rev1", reason="mistake")

    with pytest.raises(IntegrityError, match="reverses"), transaction.atomic():
        _insert_entry(books, seq=3, kind="reversal", reverses=original.pk)
    with pytest.raises(IntegrityError, match="cannot be reversed"), transaction.atomic():
        _insert_entry(books, seq=3, kind="reversal", reverses=reversal.pk)
    with pytest.raises(IntegrityError, match="ledger_entry_reversal_names_original"), transaction.atomic():
        _insert_entry(books, seq=3, kind="reversal", reverses=None)
