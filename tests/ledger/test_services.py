"""ledger_post, ledger_reverse and their refusals: each bad input is a clear error and writes nothing."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from apps.common.exceptions import ApplicationError
from apps.ledger.models import AccountBalance, AccountPeriodBalance, JournalEntry, LedgerHead, Posting
from apps.ledger.services import (
    EntryDraft,
    PostingSpec,
    ledger_post,
    ledger_post_many,
    ledger_reverse,
)
from tests.ledger.conftest import DAY, Books, Kind, advance, receive

pytestmark = pytest.mark.django_db


def _nothing_written() -> tuple[int, int, int]:
    return JournalEntry.objects.count(), Posting.objects.count(), AccountBalance.objects.count()


def test_post_writes_entry_postings_balances_and_chain(books: Books) -> None:
    # when
    entry = receive(books, 12_345, key="s1")

    # then
    assert entry.seq == 1 and entry.prev_hash == "0" * 64 and len(entry.hash) == 64
    assert list(entry.postings.values_list("account_id", "amount_minor", "currency")) == [
        (books.bank.pk, 12_345, "CNY"),
        (books.clearing.pk, -12_345, "CNY"),
    ]
    assert AccountBalance.objects.get(account=books.bank).balance_minor == 12_345
    month = AccountPeriodBalance.objects.get(account=books.clearing, period="2026-03")
    assert (month.debit_minor, month.credit_minor, month.net_minor) == (0, 12_345, -12_345)
    head = LedgerHead.objects.get(agency=books.world.agency_a)
    assert (head.last_seq, head.last_hash) == (1, entry.hash)


def test_chain_links_each_entry_to_the_one_before(books: Books) -> None:
    first = receive(books, 100, key="s1")
    second = receive(books, 200, key="s2")

    assert second.seq == 2 and second.prev_hash == first.hash
    # Agency B's ledger is its own chain.
    other = ledger_post(
        agency=books.world.agency_b,
        idempotency_key="b1",
        kind=Kind.INCOME_LINE,
        effective_date=DAY,
        postings=[PostingSpec(books.bank_b, 5), PostingSpec(books.clearing_b, -5)],
    )
    assert other.seq == 1


def test_same_key_same_content_returns_the_first_entry(books: Books) -> None:
    first = receive(books, 100, key="s1")

    again = receive(books, 100, key="s1")

    assert again.pk == first.pk
    assert JournalEntry.objects.count() == 1
    assert AccountBalance.objects.get(account=books.bank).balance_minor == 100


def test_same_key_different_content_is_a_conflict_and_writes_nothing(books: Books) -> None:
    receive(books, 100, key="s1")
    before = _nothing_written()

    with pytest.raises(ApplicationError) as error:
        receive(books, 101, key="s1")

    assert error.value.code == "idempotency_conflict"
    assert "s1" in error.value.message
    assert _nothing_written() == before
    assert AccountBalance.objects.get(account=books.bank).balance_minor == 100


def test_idempotency_keys_belong_to_one_agency_ledger(books: Books) -> None:
    mine = receive(books, 100, key="statement-2026-11")

    theirs = ledger_post(
        agency=books.world.agency_b,
        idempotency_key="statement-2026-11",
        kind=Kind.INCOME_LINE,
        effective_date=mine.effective_date,
        postings=[PostingSpec(books.bank_b, 250), PostingSpec(books.clearing_b, -250)],
    )

    assert theirs.pk != mine.pk and theirs.agency_id == books.world.agency_b.pk
    assert AccountBalance.objects.get(account=books.bank_b).balance_minor == 250
    assert AccountBalance.objects.get(account=books.bank).balance_minor == 100


@pytest.mark.parametrize(
    ("postings", "code"),
    [
        (lambda b: [PostingSpec(b.bank, 100), PostingSpec(b.clearing, -99)], "unbalanced"),
        (lambda b: [PostingSpec(b.bank, 100)], "too_few_postings"),
        (lambda b: [PostingSpec(b.bank, 0), PostingSpec(b.clearing, 0)], "zero_posting"),
        (lambda b: [PostingSpec(b.bank, 100), PostingSpec(b.usd_bank, -100)], "cross_currency"),
        (lambda b: [PostingSpec(b.bank, 100, "USD"), PostingSpec(b.clearing, -100)], "currency_mismatch"),
        (lambda b: [PostingSpec(b.bank, 100), PostingSpec(b.clearing_b, -100)], "unknown_account"),
        (lambda b: [PostingSpec(b.bank, 100), PostingSpec(987_654_321, -100)], "unknown_account"),
        (lambda b: [PostingSpec(b.bank, 1.5), PostingSpec(b.clearing, -1.5)], "invalid_amount"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_written(
    books: Books, postings: Any, code: str
) -> None:
    with pytest.raises(ApplicationError) as error:
        ledger_post(
            agency=books.world.agency_a,
            idempotency_key="bad",
            kind=Kind.INCOME_LINE,
            effective_date=DAY,
            postings=postings(books),
        )

    assert error.value.code == code
    assert error.value.message
    assert _nothing_written() == (0, 0, 0)
    assert not LedgerHead.objects.filter(last_seq__gt=0).exists()


def test_manual_adjustment_needs_reason_and_author(books: Books) -> None:
    with pytest.raises(ApplicationError) as error:
        ledger_post(
            agency=books.world.agency_a,
            idempotency_key="m1",
            kind=Kind.MANUAL_ADJUSTMENT,
            effective_date=DAY,
            postings=[PostingSpec(books.bank, 1), PostingSpec(books.revenue, -1)],
        )
    assert error.value.code == "manual_needs_reason"

    entry = ledger_post(
        agency=books.world.agency_a,
        idempotency_key="m1",
        kind=Kind.MANUAL_ADJUSTMENT,
        effective_date=DAY,
        reason="Bank interest credited in March",
        author=books.world.finance_a,
        postings=[PostingSpec(books.bank, 1), PostingSpec(books.revenue, -1)],
    )
    assert entry.author == books.world.finance_a


def test_reversal_mirrors_the_original_and_names_it(books: Books) -> None:
    original = advance(books, 50_000, key="adv1")

    reversal = ledger_reverse(
        entry=original, idempotency_key="rev:adv1", reason="Advance paid twice by mistake"
    )

    assert reversal.kind == Kind.REVERSAL and reversal.reverses_id == original.pk
    assert sorted(reversal.postings.values_list("account_id", "amount_minor")) == sorted(
        (account, -amount) for account, amount in original.postings.values_list("account_id", "amount_minor")
    )
    assert AccountBalance.objects.get(account=books.advances).balance_minor == 0
    # Retrying the same reversal is idempotent.
    assert (
        ledger_reverse(entry=original, idempotency_key="rev:adv1", reason="Advance paid twice by mistake")
        == reversal
    )


def test_second_reversal_of_the_same_entry_is_refused(books: Books) -> None:
    original = advance(books, 50_000, key="adv1")
    ledger_reverse(entry=original, idempotency_key="rev1", reason="mistake")

    with pytest.raises(ApplicationError) as error:
        ledger_reverse(entry=original, idempotency_key="rev2", reason="mistake again")

    assert error.value.code == "already_reversed"
    assert JournalEntry.objects.count() == 2


def test_reversal_of_a_reversal_is_refused(books: Books) -> None:
    original = advance(books, 50_000, key="adv1")
    reversal = ledger_reverse(entry=original, idempotency_key="rev1", reason="mistake")

    with pytest.raises(ApplicationError) as error:
        ledger_reverse(entry=reversal, idempotency_key="rev-rev", reason="undo the undo")

    assert error.value.code == "reversal_of_reversal"
    assert JournalEntry.objects.count() == 2


def test_balances_accumulate_per_account_and_month(books: Books) -> None:
    receive(books, 100, key="s1", day=datetime.date(2026, 3, 31))
    receive(books, 250, key="s2", day=datetime.date(2026, 4, 1))
    receive(books, 50, key="s3", day=datetime.date(2026, 4, 2))

    balance = AccountBalance.objects.get(account=books.bank)
    assert (balance.balance_minor, balance.posting_count) == (400, 3)
    months = dict(AccountPeriodBalance.objects.filter(account=books.bank).values_list("period", "net_minor"))
    assert months == {"2026-03": 100, "2026-04": 300}


def _income(books: Books, key: str, amount: int) -> EntryDraft:
    return EntryDraft(
        idempotency_key=key,
        kind=Kind.INCOME_LINE,
        effective_date=DAY,
        cause_reference=f"statement:{key}",
        postings=[PostingSpec(books.bank.pk, amount), PostingSpec(books.clearing.pk, -amount)],
    )


def test_bulk_post_refuses_a_key_that_is_not_text_with_the_usual_error(books: Books) -> None:
    draft = _income(books, "ok", 100)
    bad = _income(books, "ok", 100)
    bad.idempotency_key = None  # type: ignore[assignment]

    with pytest.raises(ApplicationError, match="idempotency key of 1 to 200 characters"):
        ledger_post_many(agency=books.world.agency_a, drafts=[draft, bad], bulk=True)

    assert not JournalEntry.objects.filter(agency=books.world.agency_a).exists()
