"""verify_ledger checks that a ledger exists where one must, and that its chain starts at genesis.

Issue 11: with the table owner's rights, deleting an agency's whole ledger (entries, postings and
its head) made `verify_ledger` skip that agency silently, because it only visited agencies that
have a head. The deletions here are done as the owner with the ledger's triggers disabled: the
attack the database roles now stop the app from making, and the one verify_ledger must report.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.income.models import IncomeLine
from apps.ledger.models import JournalEntry, LedgerHead
from apps.ledger.verification import ledger_verify, ledger_verify_agency
from apps.recognition.models import LineAllocation
from tests.ledger.conftest import Books, advance, receive

# The rows are committed first: a table with pending (deferred) trigger events cannot be altered.
pytestmark = pytest.mark.django_db(transaction=True)

_LEDGER_TABLES = ("ledger_journalentry", "ledger_posting", "ledger_ledgerhead")


class _TriggersDisabled:
    """ALTER TABLE … DISABLE TRIGGER USER on the ledger tables for the block (the owner can)."""

    def __enter__(self) -> Any:
        self.cursor = connection.cursor().__enter__()
        for table in _LEDGER_TABLES:
            self.cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        return self.cursor

    def __exit__(self, *exc: object) -> None:
        for table in _LEDGER_TABLES:
            self.cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        self.cursor.__exit__(None, None, None)


@pytest.fixture
def posted(books: Books) -> Iterator[Books]:
    receive(books, 500_000, key="st1")
    advance(books, 100_000, key="adv1")
    receive(books, 20_000, key="st2")
    yield books


def _verify_fails_naming(agency: Any) -> str:
    with pytest.raises(CommandError) as error:
        call_command("verify_ledger")
    assert error.value.returncode == 1
    assert str(agency.public_id) in str(error.value)
    return str(error.value)


def test_a_ledger_deleted_with_its_head_is_reported(posted: Books) -> None:
    agency = posted.world.agency_a
    with _TriggersDisabled() as cursor:
        cursor.execute(
            "DELETE FROM ledger_posting WHERE entry_id IN (SELECT id FROM ledger_journalentry WHERE agency_id = %s)",
            [agency.pk],
        )
        cursor.execute("DELETE FROM ledger_journalentry WHERE agency_id = %s", [agency.pk])
        cursor.execute("DELETE FROM ledger_ledgerhead WHERE agency_id = %s", [agency.pk])

    reports = {report.agency: report for report in ledger_verify()}
    [report] = [r for name, r in reports.items() if str(agency.public_id) in name]
    assert any("no ledger head" in problem for problem in report.problems), report.problems
    _verify_fails_naming(agency)


def test_entries_without_a_head_are_reported(posted: Books) -> None:
    agency = posted.world.agency_a
    LedgerHead.objects.filter(agency=agency).delete()

    problems = ledger_verify_agency(agency).problems

    assert any("3 entries but no ledger head" in problem for problem in problems), problems
    _verify_fails_naming(agency)


def test_a_head_whose_entries_are_gone_is_reported(posted: Books) -> None:
    """The head still says #3, but the chain it points at no longer starts at genesis."""
    agency = posted.world.agency_a
    with _TriggersDisabled() as cursor:
        cursor.execute(
            "DELETE FROM ledger_posting WHERE entry_id IN (SELECT id FROM ledger_journalentry WHERE agency_id = %s)",
            [agency.pk],
        )
        cursor.execute("DELETE FROM ledger_journalentry WHERE agency_id = %s", [agency.pk])
        cursor.execute(
            "DELETE FROM ledger_accountbalance WHERE account_id IN (SELECT id FROM ledger_account WHERE agency_id = %s)",
            [agency.pk],
        )
        cursor.execute(
            "DELETE FROM ledger_accountperiodbalance WHERE account_id IN (SELECT id FROM ledger_account WHERE agency_id = %s)",
            [agency.pk],
        )

    problems = ledger_verify_agency(agency).problems

    assert any("ledger head" in problem and "genesis" in problem for problem in problems), problems
    _verify_fails_naming(agency)


def test_a_chain_whose_first_entries_are_gone_does_not_start_at_genesis(posted: Books) -> None:
    agency = posted.world.agency_a
    first = JournalEntry.objects.get(agency=agency, seq=1)
    with _TriggersDisabled() as cursor:
        cursor.execute("DELETE FROM ledger_posting WHERE entry_id = %s", [first.pk])
        cursor.execute("DELETE FROM ledger_journalentry WHERE id = %s", [first.pk])

    problems = ledger_verify_agency(agency).problems

    assert any("does not start at genesis" in problem for problem in problems), problems


def test_recognised_income_lines_without_a_ledger_are_reported(world: Any) -> None:
    """Agency B has a recognised line but no ledger at all: the recognition app says it must have
    one (a recognised line is one with an allocation, issue 12; its entry and batch are gone)."""
    line = IncomeLine.objects.create(
        agency=world.agency_b,
        creator=world.creator_b,
        platform="youtube",
        external_id="YT-1",
        source="platform_revenue_share",
        gross_minor=100_00,
        currency="CNY",
        occurred_at=datetime.datetime(2026, 11, 3, 10, tzinfo=datetime.UTC),
        status=IncomeLine.Status.MATCHED,
    )
    LineAllocation.objects.create(
        line=line,
        agency=world.agency_b,
        creator=world.creator_b,
        batch_id=1,
        contract_version_id=1,
        ordinal=0,
        entry_id=1,
        rule_set_id=1,
        engine_version=1,
        rule_index=0,
        currency="CNY",
        gross_minor=100_00,
        amounts_minor=[0, 60_00, 40_00, 0],
        effective_date=datetime.date(2026, 11, 3),
    )

    message = _verify_fails_naming(world.agency_b)

    assert "1 recognised income line" in message


def test_an_agency_without_any_ledger_or_income_is_not_a_problem(books: Books, capsys: Any) -> None:
    receive(books, 1_000, key="st1")

    call_command("verify_ledger")

    assert "OK: 1 ledger(s) verified" in capsys.readouterr().out
