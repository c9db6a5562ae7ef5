"""verify_ledger recomputes every line's allocation and every entry's Merkle root: it passes on
what the import recognised and names each kind of tampering done by raw SQL, as an attacker with
the database's password (and the protection triggers switched off) would do it."""

from __future__ import annotations

from typing import Any

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from apps.income.models import IncomeLine
from apps.ledger.models import JournalEntry
from apps.ledger.verification import ledger_verify_agency
from apps.recognition.models import LineAllocation
from tests.conftest import web_as

pytestmark = pytest.mark.django_db
ALLOCATION = "recognition.LineAllocation:protect_update_delete"
ENTRY = "ledger.JournalEntry:protect_update_delete"


def _line(external_id: str) -> IncomeLine:
    return IncomeLine.objects.get(external_id=external_id)


def _entry_of(external_id: str) -> JournalEntry:
    return JournalEntry.objects.get(pk=_line(external_id).allocation.entry_id)


def _tamper(sql: str, params: list[Any], *triggers: str) -> None:
    with pgtrigger.ignore(*triggers), connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert cursor.rowcount == 1, "the tampering touched no row: the test would prove nothing"


def _problems(world: Any) -> list[str]:
    """What verify_ledger says, both through the service and the command a person runs."""
    problems = ledger_verify_agency(world.agency_a).problems
    assert problems, "verification passed on tampered data"
    with pytest.raises(CommandError) as error:
        call_command("verify_ledger", agency=str(world.agency_a.public_id))
    assert error.value.returncode == 1
    return problems


def _has(problems: list[str], *parts: str) -> bool:
    return any(all(part in problem for part in parts) for problem in problems)


def test_honest_ledger_passes_and_every_allocation_is_recomputed(recognised: Any, capsys: Any) -> None:
    lines = IncomeLine.objects.filter(agency=recognised.agency_a)
    assert {line.state for line in lines} == {"recognised"}
    assert LineAllocation.objects.count() == 9
    with_lines = JournalEntry.objects.exclude(lines_root="")
    # (creator, version, month, income/refund): A Oct, A Nov, A Nov refund, A2 Oct, A2 Nov.
    assert sorted((entry.creator_id, entry.kind, entry.line_count) for entry in with_lines) == sorted(
        [
            (recognised.creator_a.pk, "income_line", 3),
            (recognised.creator_a.pk, "income_line", 2),
            (recognised.creator_a.pk, "refund", 1),
            (recognised.creator_a2.pk, "income_line", 2),
            (recognised.creator_a2.pk, "income_line", 1),
        ]
    )

    call_command("verify_ledger")

    out = capsys.readouterr().out
    assert "9 line allocations recomputed" in out
    assert "5 entry roots recomputed" in out
    assert "OK: 1 ledger(s) verified" in out
    report = ledger_verify_agency(recognised.agency_a)
    assert report.problems == []
    assert report.checked == {"line allocations recomputed": 9, "entry roots recomputed": 5}


@pytest.mark.django_db(transaction=True)
def test_a_changed_allocation_fails_the_recomputation_and_the_root(recognised: Any) -> None:
    line = _line("A-4")
    amounts = list(line.allocation.amounts_minor)
    # One fen from the agency to the creator: the amounts still add up to the gross.
    amounts[0] += 1
    amounts[1] -= 1
    _tamper(
        "UPDATE recognition_lineallocation SET amounts_minor = %s::bigint[] WHERE line_id = %s",
        [amounts, line.pk],
        ALLOCATION,
    )

    problems = _problems(recognised)

    assert _has(problems, f"line {line.public_id}:", "differs from the engine's recomputation"), problems
    seq = _entry_of("A-4").seq
    assert _has(problems, f"entry #{seq}:", "Merkle root"), problems
    # The line's own page says so too: its proof no longer leads to the entry's root.
    page = web_as(recognised.manager_a).get(reverse("income:line", args=[line.public_id]))
    assert page.status_code == 200
    assert "could not be verified" in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_changed_entry_root_or_memo_breaks_its_chain_hash(recognised: Any) -> None:
    entry = _entry_of("A-1")
    _tamper("UPDATE ledger_journalentry SET lines_root = %s WHERE id = %s", ["ab" * 32, entry.pk], ENTRY)

    problems = _problems(recognised)

    assert _has(problems, f"entry #{entry.seq} ", "hash mismatch"), problems
    assert _has(problems, f"entry #{entry.seq}:", "Merkle root"), problems

    other = _entry_of("B-1")
    _tamper("UPDATE ledger_journalentry SET memo = 'nothing to see' WHERE id = %s", [other.pk], ENTRY)
    assert _has(_problems(recognised), f"entry #{other.seq} ", "hash mismatch")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("external_id", ["A-2", "A-6"])  # in the middle of its version, and last
def test_a_removed_allocation_is_reported_removed(recognised: Any, external_id: str) -> None:
    line = _line(external_id)
    entry = _entry_of(external_id)
    version_id = line.allocation.contract_version_id
    _tamper("DELETE FROM recognition_lineallocation WHERE line_id = %s", [line.pk], ALLOCATION)

    problems = _problems(recognised)

    assert _has(problems, f"contract version {version_id}:", "removed"), problems
    assert _has(problems, f"entry #{entry.seq}:", "lines were removed"), problems


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_creator", [False, True], ids=["entry only", "entry and creator"])
@pytest.mark.parametrize(("moved", "into"), [("A-4", "B-3"), ("B-3", "A-4")])
def test_an_allocation_moved_to_another_creators_entry_is_reported(
    recognised: Any, moved: str, into: str, with_creator: bool
) -> None:
    line = _line(moved)
    source, target = _entry_of(moved), _entry_of(into)
    assert source.creator_id != target.creator_id
    sql = "UPDATE recognition_lineallocation SET entry_id = %s"
    params: list[Any] = [target.pk]
    if with_creator:  # and make it claim the other creator, as the entry does
        sql += ", creator_id = %s"
        params.append(target.creator_id)
    _tamper(f"{sql} WHERE line_id = %s", [*params, line.pk], ALLOCATION)

    problems = _problems(recognised)

    # The entry it left lacks a line, the entry it joined has one too many: both are named.
    assert _has(problems, f"entry #{source.seq}:", f"covers {source.line_count} lines"), problems
    assert _has(
        problems, f"entry #{target.seq}:", f"covers {target.line_count} lines, {target.line_count + 1}"
    ), problems


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("external_id", ["A-1", "A-2"])  # the first line of its entry, and the second
def test_an_allocation_that_names_another_creator_is_reported(recognised: Any, external_id: str) -> None:
    line = _line(external_id)
    entry = _entry_of(external_id)
    _tamper(
        "UPDATE recognition_lineallocation SET creator_id = %s WHERE line_id = %s",
        [recognised.creator_a2.pk, line.pk],
        ALLOCATION,
    )
    problems = _problems(recognised)

    assert _has(problems, f"entry #{entry.seq}:", "another creator"), problems
