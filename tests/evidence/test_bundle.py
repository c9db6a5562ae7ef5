"""The bundle a creator downloads, checked as the creator would: unzipped in a fresh directory by
following its README literally, its script run by an isolated interpreter that cannot import the
project. It recomputes every split and verifies every hash; each kind of tampering fails it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from apps.income.models import IncomeLine
from apps.ledger.models import JournalEntry, LedgerHead
from apps.recognition.models import LineAllocation
from tests.evidence.conftest import build, follow_readme, members, run_python

pytestmark = pytest.mark.django_db


def _allocations(world: Any, creator: Any) -> int:
    return LineAllocation.objects.filter(agency=world.agency_a, creator=creator).count()


def test_following_the_readme_recomputes_every_split_and_verifies_every_hash(
    published: Any, tmp_path: Path
) -> None:
    world = published
    bundle, data = build(world)
    allocations = _allocations(world, world.creator_a)
    lines = IncomeLine.objects.filter(agency=world.agency_a, creator=world.creator_a).count()
    own_entries = JournalEntry.objects.filter(agency=world.agency_a, creator=world.creator_a).count()
    head = LedgerHead.objects.get(agency=world.agency_a)
    assert allocations == 5 and lines == 5  # September, October (a deal, a gift, its refund), November

    # the project cannot be imported where the creator runs the script
    assert run_python(["-c", "import apps"], tmp_path).returncode != 0
    result, folder = follow_readme(data, bundle.filename, tmp_path)

    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "MISMATCH" not in out
    assert (
        f"splits:       {allocations} of {allocations} allocations recomputed by the split engine and equal"
        in out
    )
    assert f"income lines: {lines} in income/lines.csv, {allocations} recognised" in out
    assert f"{allocations} leaves hashed, {allocations} proofs verified" in out
    assert f"{own_entries} entry hashes recomputed" in out
    assert (
        f"ledger head #{head.last_seq} {head.last_hash} at build; 1 published statement head(s) found" in out
    )
    assert "1 published statement(s) checked" in out
    assert "1 version(s), 1 signed PDF(s), 2 signature(s) checked" in out
    assert out.rstrip().endswith("OK: every split recomputed and every hash verified.")
    # the engine it used is the bundle's own copy, byte for byte Fenrun's
    engine = Path(__file__).resolve().parents[2] / "apps/splits/engine/evaluator.py"
    assert (folder / "engine/apps/splits/engine/evaluator.py").read_bytes() == engine.read_bytes()
    assert not list(folder.rglob("__pycache__")), "the check left bytecode in the bundle"


def test_another_creators_lines_and_entries_never_appear(published: Any, tmp_path: Path) -> None:
    world = published
    _bundle, data = build(world)
    files = members(data)
    everything = b"".join(files.values())
    others = IncomeLine.objects.filter(agency=world.agency_a).exclude(creator=world.creator_a)
    assert others.exists()
    for line in others:
        assert str(line.public_id).encode() not in everything
        assert f",{line.external_id},".encode() not in files["income/lines.csv"]
    # their entries are in the chain by their hashes alone, never with their content
    rows = [json.loads(text) for text in files["ledger/chain.jsonl"].splitlines()]
    theirs = set(
        JournalEntry.objects.filter(agency=world.agency_a)
        .exclude(creator=world.creator_a)
        .values_list("seq", flat=True)
    )
    assert theirs & {row["seq"] for row in rows}, "the segment should span another creator's entries"
    for row in rows:
        if row["seq"] in theirs:
            assert set(row) == {"seq", "prev_hash", "hash"}
        else:
            assert row["content"]["creator"] == world.creator_a.pk
    # a formula in a line's description is defused for spreadsheets, as in statement CSVs
    # and creator A2's own bundle (an advance recouped, a guarantee top-up) holds none of A's
    bundle, theirs_data = build(world, world.creator_a2)
    everything = b"".join(members(theirs_data).values())
    for line in IncomeLine.objects.filter(creator=world.creator_a):
        assert str(line.public_id).encode() not in everything
    result, _folder = follow_readme(theirs_data, bundle.filename, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    count = _allocations(world, world.creator_a2)
    assert f"{count} of {count} allocations recomputed by the split engine and equal" in result.stdout
    descriptions = [
        row["description"]
        for row in csv.DictReader(io.StringIO(files["income/lines.csv"].decode("utf-8-sig")))
    ]
    assert '\'=HYPERLINK("http://evil")' in descriptions


def test_the_chinese_readme_gives_the_same_commands_and_records_are_canonical(published: Any) -> None:
    from tests.evidence.conftest import readme_commands

    _bundle, data = build(published)
    files = members(data)
    assert readme_commands(data, "README.zh-CN.md") == readme_commands(data)
    assert "分账" in files["README.zh-CN.md"].decode()
    # JSON Lines records are canonical (keys sorted, no spaces): what a reader re-serialises
    for name in ("recognition/allocations.jsonl", "recognition/proofs.jsonl", "ledger/chain.jsonl"):
        for text in files[name].decode().splitlines():
            assert (
                json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                == text
            )
