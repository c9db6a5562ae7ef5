"""Each change to a bundle after it was built makes its script fail, naming what changed: an
amount in one leaf document, an entry's hash, a published head, a removed line. Every variant
is checked on a fresh copy of one unzipped bundle."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apps.income.models import IncomeLine
from tests.evidence.conftest import build, follow_readme, rerun

pytestmark = pytest.mark.django_db


def _edit_jsonl(path: Path, change: Callable[[dict[str, Any]], bool]) -> None:
    """Rewrite the records `change` edits (it returns True), canonical as the bundle writes them."""
    records = [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines()]
    assert sum(1 for record in records if change(record)) == 1, "the tampering touched no record"
    path.write_text(
        "".join(
            json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
            for record in records
        ),
        encoding="utf-8",
    )


def _failures(folder: Path) -> str:
    result = rerun(folder)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stdout
    return result.stdout


def test_every_kind_of_tampering_fails_the_check_and_names_what_changed(
    published: Any, tmp_path: Path
) -> None:
    world = published
    bundle, data = build(world)
    (tmp_path / "honest").mkdir()
    honest, folder = follow_readme(data, bundle.filename, tmp_path / "honest")
    assert honest.returncode == 0, honest.stdout
    deal = IncomeLine.objects.get(agency=world.agency_a, external_id="P-1")

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(folder, target)
        return target

    # one fen moved from the agency to the creator in the deal's leaf: the amounts still add up
    leaf = copy("leaf")

    def one_fen(record: dict[str, Any]) -> bool:
        if record["line"] != str(deal.public_id):
            return False
        record["document"]["payable"]["creator"] += 1
        record["document"]["payable"]["agency"] -= 1
        return True

    _edit_jsonl(leaf / "recognition/allocations.jsonl", one_fen)
    out = _failures(leaf)
    name = f"line {deal.public_id} (douyin:P-1)"
    assert f"MISMATCH: {name}: its leaf document does not hash to its leaf" in out
    assert f"MISMATCH: {name}: its Merkle proof does not lead to the lines_root" in out
    assert f"MISMATCH: {name}: the recomputed split differs: payable: the leaf says" in out
    assert "recognition/allocations.jsonl: changed since the bundle was built" in out
    assert "4 of 5 allocations recomputed by the split engine and equal" in out

    # one entry's hash replaced: its content no longer hashes to it, and the next link breaks
    chain = copy("chain")
    rows = [json.loads(text) for text in (chain / "ledger/chain.jsonl").read_text().splitlines()]
    target = next(row for row in rows if "content" in row and row is not rows[-1])
    _edit_jsonl(
        chain / "ledger/chain.jsonl",
        lambda record: record["seq"] == target["seq"] and bool(record.update(hash="ab" * 32) or True),
    )
    out = _failures(chain)
    assert (
        f"MISMATCH: entry #{target['seq']} ({target['public_id']}): its hash does not match its content"
        in out
    )
    assert (
        f"MISMATCH: entry #{target['seq'] + 1}: its prev_hash is not the hash of entry #{target['seq']}"
        in out
    )

    # a published head that is not the chain's: what the statement said contradicts the chain
    head = copy("head")
    heads = json.loads((head / "ledger/heads.json").read_text())
    heads["published"][0]["hash"] = "cd" * 32
    (head / "ledger/heads.json").write_text(json.dumps(heads))
    out = _failures(head)
    assert (
        f"statement {world.statement.number}: it was published at ledger head #{heads['published'][0]['seq']}"
        in out
    )
    assert "history was rewritten" in out

    # a line left out of the bundle: its entry is short of a leaf, its version's replay of a line
    removed = copy("removed")
    path = removed / "recognition/allocations.jsonl"
    kept = [text for text in path.read_text().splitlines() if str(deal.public_id) not in text]
    path.write_text("".join(text + "\n" for text in kept))
    out = _failures(removed)
    assert "lines are missing: the split cannot be replayed" in out
