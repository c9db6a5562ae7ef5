"""The Merkle tree an entry's root is built with, and the check a creator runs on their own
computer (docs/merkle.md): every proof verifies, a changed proof never does."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

from apps.income.models import IncomeLine
from apps.recognition.leaves import allocation_leaf
from apps.recognition.merkle import leaf_hash, merkle_proof, merkle_root, merkle_verify
from apps.recognition.selectors import line_split
from tests.income.conftest import run_import, sign_contract

DOCS = Path(__file__).resolve().parents[2] / "docs" / "merkle.md"
HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"


def _leaves(count: int) -> list[bytes]:
    return [leaf_hash(f'{{"line":{index}}}'.encode()) for index in range(count)]


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _rfc6962_root(leaves: list[bytes]) -> bytes:
    """MTH of RFC 6962 section 2.1 (over leaf hashes), written out apart from apps/recognition."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return _node(_rfc6962_root(leaves[:k]), _rfc6962_root(leaves[k:]))


def test_three_leaves_make_node_of_node_a_b_and_c() -> None:
    a, b, c = _leaves(3)

    assert merkle_root([a]) == a
    assert merkle_root([a, b]) == _node(a, b)
    assert merkle_root([a, b, c]) == _node(_node(a, b), c)  # not node(a, node(b, c))
    assert merkle_proof([a, b, c], 2) == [("L", _node(a, b))]
    assert merkle_proof([a, b, c], 0) == [("R", b), ("R", c)]


def test_five_and_seven_leaves_split_at_the_largest_power_of_two_below() -> None:
    a, b, c, d, e, f, g = _leaves(7)

    assert merkle_root([a, b, c, d, e]) == _node(_node(_node(a, b), _node(c, d)), e)
    assert merkle_root([a, b, c, d, e, f, g]) == _node(_node(_node(a, b), _node(c, d)), _node(_node(e, f), g))


@pytest.mark.parametrize("count", range(1, 34))
def test_every_leafs_proof_verifies_and_a_changed_one_does_not(count: int) -> None:
    leaves = _leaves(count)
    root = merkle_root(leaves)
    assert root == _rfc6962_root(leaves)
    other = leaf_hash(b'{"line":"forged"}')

    for index, leaf in enumerate(leaves):
        proof = merkle_proof(leaves, index)
        assert merkle_verify(leaf, proof, root), (count, index)
        assert not merkle_verify(other, proof, root), "a wrong leaf passed"
        if index + 1 < count:
            assert not merkle_verify(leaves[index + 1], proof, root), "another line's leaf passed"
        assert not merkle_verify(leaf, proof, root[:-1] + bytes([root[-1] ^ 1])), "a wrong root passed"
        for step, (side, sibling) in enumerate(proof):
            wrong_sibling = [*proof]
            wrong_sibling[step] = (side, sibling[:-1] + bytes([sibling[-1] ^ 1]))
            assert not merkle_verify(leaf, wrong_sibling, root), (count, index, step, "sibling")
            wrong_side = [*proof]
            wrong_side[step] = ("R" if side == "L" else "L", sibling)
            assert not merkle_verify(leaf, wrong_side, root), (count, index, step, "side")
        if proof:
            assert not merkle_verify(leaf, proof[:-1], root), "a shortened proof passed"
        # A proof is as long as the leaf's depth: never more than ceil(log2(count)).
        assert len(proof) <= (count - 1).bit_length()


def test_a_tree_needs_a_leaf_and_a_proof_needs_a_leaf_that_exists() -> None:
    with pytest.raises(ValueError):
        merkle_root([])
    with pytest.raises(IndexError):
        merkle_proof(_leaves(3), 3)
    with pytest.raises(IndexError):
        merkle_proof(_leaves(3), -1)


def _docs_check() -> Any:
    """The python block of docs/merkle.md, run as a creator would run it (stdlib only)."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert len(blocks) == 1, "docs/merkle.md should hold exactly one python block"
    assert "from apps" not in blocks[0] and "import django" not in blocks[0]
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], str(DOCS), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


@pytest.mark.django_db
def test_the_documented_check_verifies_a_real_lines_proof(statement_world: Any) -> None:
    world = statement_world
    sign_contract(world, world.creator_a, ["douyin"])
    rows = "".join(
        f"G-{n},2026-11-{n:02d}T10:00:00+08:00,douyin,dy_88231,live_gifts,{100 + n}.{n:02d},CNY,,,\n"
        for n in range(1, 6)
    )
    run_import(
        world,
        "s.csv",
        (HEADER + rows + "G-9,2026-11-09,douyin,dy_88231,live_gifts,-50.00,CNY,,G-2,refund\n").encode(),
    )
    docs = _docs_check()

    for external_id in ("G-1", "G-4", "G-5", "G-9"):
        proof = line_split(line=IncomeLine.objects.get(external_id=external_id))["proof"]
        assert proof["verified"] is True
        assert docs["leaf"](proof["leaf_document"]).hex() == proof["leaf"]
        assert docs["leaf"](proof["leaf_document"]) == allocation_leaf(proof["leaf_document"])
        assert docs["check"](proof["leaf_document"], proof["path"], proof["root"]) is True
        # One fen more for the creator, and the creator's own check says no.
        forged = {**proof["leaf_document"], "payable": {**proof["leaf_document"]["payable"]}}
        forged["payable"]["creator"] += 1
        assert docs["check"](forged, proof["path"], proof["root"]) is False
    income = line_split(line=IncomeLine.objects.get(external_id="G-3"))["proof"]
    assert income["line_count"] == 5 and len(income["path"]) == 3  # five lines: depth 3 for G-1…G-4
