"""Split entries re-evaluate to themselves; verify_ledger passes on honest data and names tampered entries."""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.ledger.models import Account, AccountBalance, JournalEntry
from apps.ledger.services import ledger_post_split, ledger_reverse
from apps.ledger.verification import ledger_verify_agency
from apps.splits.engine import Evaluator, Line, parse_rule_set
from tests.ledger.conftest import RULES, Books, advance, receive

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _line(line_id: str, gross: int, *, day: int = 3, refund_of: str | None = None) -> Line:
    return Line(
        id=line_id,
        source="brand_deal",
        platform="douyin",
        gross=gross,
        occurred_at=datetime.datetime(2026, 3, day, 10, tzinfo=SHANGHAI),
        currency="CNY",
        refund_of=refund_of,
    )


def seed(books: Books) -> dict[str, JournalEntry]:
    """Income, an advance, splits with tiers and recoupment, a refund and a reversal."""
    world = books.world
    evaluator = Evaluator(parse_rule_set(RULES), advance_outstanding=200_000)
    entries = {
        "advance": advance(books, 200_000, key="adv1"),
        "income": receive(books, 12_000_000, key="st1"),
    }
    for line_id, gross in (("L1", 1_000_000), ("L2", 9_000_000), ("L3", 2_000_000)):
        entries[line_id] = ledger_post_split(
            agency=world.agency_a,
            creator=world.creator_a,
            evaluator=evaluator,
            line=_line(line_id, gross),
            idempotency_key=f"income:{line_id}",
        )
    entries["refund"] = ledger_post_split(
        agency=world.agency_a,
        creator=world.creator_a,
        evaluator=evaluator,
        line=_line("R1", -500_000, day=20, refund_of="L1"),
        idempotency_key="income:R1",
    )
    mistaken = receive(books, 7, key="st-typo")
    entries["reversal"] = ledger_reverse(entry=mistaken, idempotency_key="rev:st-typo", reason="typo")
    return entries


def test_split_entry_posts_the_engine_result(books: Books) -> None:
    entries = seed(books)
    split = entries["L1"]

    amounts = {
        (posting.account.purpose, posting.account.key): posting.amount_minor
        for posting in split.postings.select_related("account")
    }
    # 10,000.00 gross, 5 % platform fee, 70/30 of 9,500.00; half the creator's 6,650.00 would
    # recoup 3,325.00 but only the 2,000.00 advance is outstanding.
    assert amounts == {
        ("income_clearing", ""): 1_000_000,
        ("deduction", "platform_fee"): -50_000,
        ("creator_payable", ""): -465_000,
        ("agency_revenue", ""): -285_000,
        ("advances_receivable", ""): -200_000,
    }
    assert split.kind == "income_line" and split.rule_id == "brand" and split.trace[0][0] == "match"
    assert split.rule_set is not None and split.engine_line["gross"] == 1_000_000
    assert entries["refund"].kind == "refund"


def test_verify_passes_on_honest_data(books: Books, capsys: Any) -> None:
    seed(books)

    report = ledger_verify_agency(books.world.agency_a)
    call_command("verify_ledger", agency=str(books.world.agency_a.public_id))

    assert report.problems == []
    assert (report.entries, report.splits_recomputed) == (8, 4)
    out = capsys.readouterr().out
    assert "8 entries" in out and "4 splits re-evaluated" in out and "OK" in out


@pytest.mark.parametrize(
    ("target", "sql", "expected"),
    [
        (
            "L2",
            "UPDATE ledger_posting SET amount_minor = amount_minor - 1 WHERE entry_id = %s AND line_no = 0",
            "hash mismatch",
        ),
        ("L2", "UPDATE ledger_journalentry SET trace = '[]' WHERE id = %s", "different trace"),
        (
            "L3",
            "UPDATE ledger_journalentry SET engine_state = jsonb_set(engine_state, '{advance_outstanding}', '100000') WHERE id = %s",
            "re-evaluation gives postings",
        ),
        ("income", "UPDATE ledger_journalentry SET memo = 'nothing to see' WHERE id = %s", "hash mismatch"),
        ("advance", "DELETE FROM ledger_posting WHERE entry_id = %s AND line_no = 1", "does not balance"),
    ],
)
@pytest.mark.django_db(transaction=True)  # tamper with committed rows, as an attacker would
def test_verify_names_the_entry_tampered_with_by_raw_sql(
    books: Books, target: str, sql: str, expected: str
) -> None:
    entries = seed(books)
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
    with pytest.raises(CommandError, match=f"entry #{entry.seq} ") as error:
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


def test_split_accounts_are_created_on_first_use(books: Books) -> None:
    seed(books)

    fee = Account.objects.get(agency=books.world.agency_a, purpose="deduction", key="platform_fee")
    assert fee.currency == "CNY" and fee.creator_id is None
