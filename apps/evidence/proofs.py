"""Merkle inclusion proofs for every leaf of one entry, in time linear in the leaves.

apps/recognition/merkle.py's merkle_proof recomputes subtrees for each proof: fine for one line's
page, quadratic for a bundle that proves all of an entry's 100,000 lines. The same tree (RFC
6962's shape: the first k leaves, k the largest power of two below n, on the left) is built here
level by level: pair neighbours left to right, and carry a last unpaired node up unchanged.
Both shapes give the same root and the same sibling paths (tests/evidence/test_proofs.py
compares them for every size up to 70 and every index).
"""

from __future__ import annotations

import hashlib

_NODE = b"\x01"


class EntryTree:
    """All levels of one entry's tree: ~2n hashes of 32 bytes."""

    def __init__(self, leaves: list[bytes]) -> None:
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        self.levels: list[list[bytes]] = [leaves]
        level = leaves
        while len(level) > 1:
            level = [
                hashlib.sha256(_NODE + level[i] + level[i + 1]).digest() if i + 1 < len(level) else level[i]
                for i in range(0, len(level), 2)
            ]
            self.levels.append(level)

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def proof(self, index: int) -> list[tuple[str, bytes]]:
        """The siblings from leaf `index` up: [(side, hash)], "L" when the sibling is on the left."""
        if not 0 <= index < len(self.levels[0]):
            raise IndexError("no such leaf")
        path: list[tuple[str, bytes]] = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):  # else the node is carried up unpaired: no step
                path.append(("L" if index & 1 else "R", level[sibling]))
            index //= 2
        return path
