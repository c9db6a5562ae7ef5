"""`manage.py verify_ledger --bundle FILE` passes on a fresh bundle and fails, naming what
differs, once the live ledger no longer says what the bundle holds (changed by raw SQL with the
protection triggers off, as an attacker with the database password would), or once the bundle's
recorded head is one the live chain never had."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.income.models import IncomeLine
from apps.ledger.models import JournalEntry, LedgerHead
from tests.evidence.conftest import build

pytestmark = pytest.mark.django_db
ALLOCATION = "recognition.LineAllocation:protect_update_delete"
ENTRY = "ledger.JournalEntry:protect_update_delete"


def _tamper(sql: str, params: list[Any], *triggers: str) -> None:
    with pgtrigger.ignore(*triggers), connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert cursor.rowcount == 1, "the tampering touched no row: the test would prove nothing"


def _fails(path: Path, capsys: Any) -> str:
    with pytest.raises(CommandError) as error:
        call_command("verify_ledger", bundle=str(path))
    assert error.value.returncode == 1
    return str(error.value) + capsys.readouterr().err


def _rewrite_member(source: Path, target: Path, name: str, change: Any) -> None:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for item in original.namelist():
            data = original.read(item)
            copy.writestr(item, change(data) if item == name else data)


def test_a_fresh_bundle_matches_and_a_changed_live_ledger_does_not(
    published: Any, tmp_path: Path, capsys: Any
) -> None:
    world = published
    _bundle, data = build(world)
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = len(archive.read("ledger/chain.jsonl").splitlines())

    call_command("verify_ledger", bundle=str(path))
    out = capsys.readouterr().out
    assert f"{entries} bundle chain entries compared" in out and "5 bundle leaves compared" in out
    assert "OK: the bundle" in out

    # the bundle's recorded head replaced by one the live chain never had
    forged = tmp_path / "forged.zip"
    head = LedgerHead.objects.get(agency=world.agency_a)

    def other_head(raw: bytes) -> bytes:
        heads = json.loads(raw)
        heads["build"]["hash"] = "ef" * 32
        return json.dumps(heads).encode()

    _rewrite_member(path, forged, "ledger/heads.json", other_head)
    assert f"the bundle's ledger head #{head.last_seq} {'ef' * 32} is not in the live chain" in _fails(
        forged, capsys
    )

    # one fen moved in the deal's live allocation: the live leaf is no longer the bundle's
    deal = IncomeLine.objects.get(agency=world.agency_a, external_id="P-1")
    amounts = list(deal.allocation.amounts_minor)
    amounts[-2] += 1  # the agency's payable…
    amounts[-3] -= 1  # …from the creator's
    _tamper(
        "UPDATE recognition_lineallocation SET amounts_minor = %s::bigint[] WHERE line_id = %s",
        [amounts, deal.pk],
        ALLOCATION,
    )
    report = _fails(path, capsys)
    assert f"line {deal.public_id}: the live allocation differs from the bundle's in payable" in report

    # and an entry rewritten with a recomputed hash: the chain the creator holds contradicts it
    entry = JournalEntry.objects.get(pk=deal.allocation.entry_id)
    _tamper("UPDATE ledger_journalentry SET hash = %s WHERE id = %s", ["12" * 32, entry.pk], ENTRY)
    report = _fails(path, capsys)
    assert (
        f"entry #{entry.seq}: the live ledger's hash is {'12' * 32}, the bundle holds {entry.hash}" in report
    )


def test_a_file_that_is_not_a_bundle_is_a_readable_failure(tmp_path: Path, db: Any, capsys: Any) -> None:
    path = tmp_path / "not-a-bundle.zip"
    path.write_bytes(b"hello")
    assert "not a readable ZIP file" in _fails(path, capsys)
