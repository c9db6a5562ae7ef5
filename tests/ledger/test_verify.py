"""verify_ledger's own checks (the ledger knows no engine): every entry re-hashes to itself, the chain
links, entries balance, stored balances equal their postings; a change by raw SQL is named.

The creator entries here are shaped like recognition's (apps/recognition/postings.py): postings
aggregated per account, the lines they cover named by a Merkle root and a count, which the chain
hashes like every other field. Re-computing those lines' splits is recognition's registered check,
tested in tests/recognition/test_verification.py."""

from __future__ import annotations

import hashlib
from typing import Any

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.ledger.models import Account, AccountBalance, JournalEntry
from apps.ledger.services import PostingSpec, ledger_account_get_or_create, ledger_post, ledger_reverse
from apps.ledger.verification import ledger_verify_agency
from tests.ledger.conftest import DAY, Books, Kind, advance, receive

pytestmark = pytest.mark.django_db


def _root(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _creator_entry(
    books: Books, key: str, amounts: dict[tuple[str, str], int], *, kind: str, lines: int, roots: bool = True
) -> JournalEntry:
    world = books.world

    def account(purpose: str, account_key: str) -> Account:
        creator = world.creator_a if purpose in Account.CREATOR_REQUIRED else None
        return ledger_account_get_or_create(
            agency=world.agency_a, purpose=purpose, key=account_key, currency="CNY", creator=creator
        )

    return ledger_post(
        agency=world.agency_a,
        idempotency_key=key,
        kind=kind,
        effective_date=DAY,
        creator=world.creator_a,
        cause_reference=f"batch:{key}",
        postings=[PostingSpec(account(purpose, k), amount) for (purpose, k), amount in amounts.items()],
        lines_root=_root(key) if roots else "",
        line_count=lines if roots else 0,
    )


def seed(books: Books, *, roots: bool = False) -> dict[str, JournalEntry]:
    """Income, an advance, three creator entries (one covering two lines), a refund, a reversal.

    With `roots` the creator entries name lines by a root; no allocations stand behind those
    roots here, so recognition's registered check reports them (the last test)."""
    entries = {
        "advance": advance(books, 200_000, key="adv1"),
        "income": receive(books, 12_000_000, key="st1"),
    }
    # 10,000.00 gross, 5 % platform fee, 70/30 of 9,500.00, 2,000.00 of the creator's share recouped.
    entries["L1"] = _creator_entry(
        books,
        "income:L1",
        {
            ("income_clearing", ""): 1_000_000,
            ("deduction", "platform_fee"): -50_000,
            ("creator_payable", ""): -465_000,
            ("agency_revenue", ""): -285_000,
            ("advances_receivable", ""): -200_000,
        },
        kind=Kind.INCOME_LINE,
        lines=1,
        roots=roots,
    )
    entries["L2"] = _creator_entry(
        books,
        "income:L2",
        {
            ("income_clearing", ""): 11_000_000,
            ("deduction", "platform_fee"): -550_000,
            ("creator_payable", ""): -7_315_000,
            ("agency_revenue", ""): -3_135_000,
        },
        kind=Kind.INCOME_LINE,
        lines=2,
        roots=roots,
    )
    entries["L3"] = _creator_entry(
        books,
        "income:L3",
        {("income_clearing", ""): 100_000, ("creator_payable", ""): -60_000, ("agency_revenue", ""): -40_000},
        kind=Kind.INCOME_LINE,
        lines=1,
        roots=roots,
    )
    entries["refund"] = _creator_entry(
        books,
        "income:R1",
        {("income_clearing", ""): -50_000, ("creator_payable", ""): 30_000, ("agency_revenue", ""): 20_000},
        kind=Kind.REFUND,
        lines=1,
        roots=roots,
    )
    mistaken = receive(books, 7, key="st-typo")
    entries["reversal"] = ledger_reverse(entry=mistaken, idempotency_key="rev:st-typo", reason="typo")
    return entries


def test_a_creator_entry_records_its_lines_root_in_the_chain(books: Books) -> None:
    entries = seed(books, roots=True)
    entry = entries["L2"]

    assert (entry.lines_root, entry.line_count) == (_root("income:L2"), 2)
    assert sum(posting.amount_minor for posting in entry.postings.all()) == 0
    # The same request again is the same entry; the root is part of the request.
    again = _creator_entry(
        books,
        "income:L3",
        {("income_clearing", ""): 100_000, ("creator_payable", ""): -60_000, ("agency_revenue", ""): -40_000},
        kind=Kind.INCOME_LINE,
        lines=1,
        roots=True,
    )
    assert again.pk == entries["L3"].pk


def test_a_lines_root_must_be_a_sha256(books: Books) -> None:
    from apps.common.exceptions import ApplicationError

    with pytest.raises(ApplicationError, match="64 lowercase hex"):
        ledger_post(
            agency=books.world.agency_a,
            idempotency_key="bad-root",
            kind=Kind.INCOME_LINE,
            effective_date=DAY,
            postings=[PostingSpec(books.bank, 1), PostingSpec(books.clearing, -1)],
            lines_root="not a hash",
            line_count=1,
        )
    assert not JournalEntry.objects.filter(idempotency_key="bad-root").exists()


def test_verify_passes_on_honest_data(books: Books, capsys: Any) -> None:
    seed(books)

    report = ledger_verify_agency(books.world.agency_a)
    call_command("verify_ledger", agency=str(books.world.agency_a.public_id))

    assert report.problems == []
    assert report.entries == 8
    out = capsys.readouterr().out
    assert "8 entries" in out and "chain checked" in out and "OK" in out


@pytest.mark.parametrize(
    ("target", "sql", "expected"),
    [
        (
            "L2",
            "UPDATE ledger_posting SET amount_minor = amount_minor - 1 WHERE entry_id = %s AND line_no = 0",
            "hash mismatch",
        ),
        ("L2", "UPDATE ledger_journalentry SET lines_root = repeat('0', 64) WHERE id = %s", "hash mismatch"),
        ("L3", "UPDATE ledger_journalentry SET line_count = 7 WHERE id = %s", "hash mismatch"),
        ("income", "UPDATE ledger_journalentry SET memo = 'nothing to see' WHERE id = %s", "hash mismatch"),
        ("advance", "DELETE FROM ledger_posting WHERE entry_id = %s AND line_no = 1", "does not balance"),
    ],
)
@pytest.mark.django_db(transaction=True)  # tamper with committed rows, as an attacker would
def test_verify_names_the_entry_tampered_with_by_raw_sql(
    books: Books, target: str, sql: str, expected: str
) -> None:
    entries = seed(books, roots=target in ("L2", "L3"))
    entry = entries[target]

    # Tampering needs the protection switched off first: that is the attack being detected.
    with (
        pgtrigger.ignore("ledger.JournalEntry:protect_update_delete", "ledger.Posting:protect_update_delete"),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [entry.pk])

    report = ledger_verify_agency(books.world.agency_a)
    assert any(f"entry #{entry.seq} " in problem and expected in problem for problem in report.problems), (
        report.problems
    )
    with pytest.raises(CommandError) as error:
        call_command("verify_ledger")
    assert error.value.returncode == 1


def test_verify_reports_a_tampered_balance(books: Books) -> None:
    seed(books)
    AccountBalance.objects.filter(account=books.bank).update(balance_minor=1)

    report = ledger_verify_agency(books.world.agency_a)

    assert any(f"account {books.bank.pk}: stored balance" in problem for problem in report.problems)


def test_verify_reports_a_broken_chain_link(books: Books) -> None:
    entries = seed(books)
    with pgtrigger.ignore("ledger.JournalEntry:protect_update_delete"):
        JournalEntry.objects.filter(pk=entries["L1"].pk).update(prev_hash="f" * 64)

    problems = ledger_verify_agency(books.world.agency_a).problems

    assert any(f"entry #{entries['L1'].seq} " in p and "prev_hash" in p for p in problems)


def test_verify_runs_the_registered_checks_an_entry_naming_lines_that_are_not_there(books: Books) -> None:
    """The ledger hashes a root it cannot read; recognition's registered check reads it, and a root
    with no allocations behind it is as broken as a removed line."""
    entries = seed(books, roots=True)

    problems = ledger_verify_agency(books.world.agency_a).problems

    named = {entries[name].seq for name in ("L1", "L2", "L3", "refund")}
    assert {int(p.split("#")[1].split(":")[0]) for p in problems} == named
    assert all("lines were removed" in p for p in problems)
