"""The bundle's linear-time proofs are the very proofs of recognition's Merkle module."""

from __future__ import annotations

import hashlib

from apps.evidence.proofs import EntryTree
from apps.recognition.merkle import merkle_proof, merkle_root, merkle_verify


def test_every_proof_of_every_tree_up_to_70_leaves_equals_recognitions() -> None:
    for size in range(1, 71):
        leaves = [hashlib.sha256(str(index).encode()).digest() for index in range(size)]
        tree = EntryTree(leaves)
        assert tree.root == merkle_root(leaves)
        for index in range(size):
            assert tree.proof(index) == merkle_proof(leaves, index)
            assert merkle_verify(leaves[index], tree.proof(index), tree.root)
