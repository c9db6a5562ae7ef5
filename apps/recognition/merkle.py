"""Merkle trees over line allocations: an entry's root commits to every line it covers.

Pure standard library, so that the same few lines can be checked anywhere (docs/merkle.md has
them in full for a creator's own script):

* leaf  = SHA-256(the allocation's canonical bytes)            (apps/recognition/leaves.py)
* node  = SHA-256(0x01 || left || right)
* root of n leaves (RFC 6962's shape): one leaf is its own root; otherwise the first k leaves,
  k the largest power of two below n, make the left subtree and the rest the right one.

A leaf's canonical bytes are JSON and start with "{", never with 0x01, so a leaf can never be
taken for an inner node. An inclusion proof lists the sibling hashes from the leaf up, each with
the side it stands on ("L": the sibling is on the left).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_NODE = b"\x01"


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def _split(count: int) -> int:
    """The largest power of two strictly below count (count >= 2)."""
    return 1 << ((count - 1).bit_length() - 1)


def leaf_hash(canonical: bytes) -> bytes:
    return hashlib.sha256(canonical).digest()


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """The root of the leaf hashes, in order. There is no root of nothing."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def merkle_proof(leaves: Sequence[bytes], index: int) -> list[tuple[str, bytes]]:
    """The siblings from leaf `index` up to the root: [(side, hash), …]."""
    if not 0 <= index < len(leaves):
        raise IndexError("no such leaf")
    path: list[tuple[str, bytes]] = []
    low, high = 0, len(leaves)
    # Walk down from the root, remembering each sibling, then reverse to go leaf-up.
    while high - low > 1:
        k = _split(high - low)
        middle = low + k
        if index < middle:
            path.append(("R", merkle_root(leaves[middle:high])))
            high = middle
        else:
            path.append(("L", merkle_root(leaves[low:middle])))
            low = middle
    path.reverse()
    return path


def merkle_verify(leaf: bytes, proof: Sequence[tuple[str, bytes]], root: bytes) -> bool:
    """Whether `leaf` with `proof` leads to `root`."""
    current = leaf
    for side, sibling in proof:
        current = _node(sibling, current) if side == "L" else _node(current, sibling)
    return current == root
