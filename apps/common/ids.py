"""Time-ordered public ids (UUID version 7, RFC 9562) for rows written in bulk.

A random (version 4) UUID lands on a random page of its unique index, so every insert into a
large table touches a different, probably uncached, B-tree page; a version 7 UUID starts with
the time in milliseconds, so a batch's ids go to the index's right edge, a few hot pages. The
74 random bits keep them unguessable; what they reveal (when the row was written) the rows
already show.
"""

from __future__ import annotations

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    """A version 7 UUID: 48 bits of Unix time in ms, version, 12 + 62 random bits, variant."""
    millis = time.time_ns() // 1_000_000
    random = int.from_bytes(os.urandom(10))  # 80 bits; 74 are used
    value = (millis & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version 7
    value |= ((random >> 62) & 0xFFF) << 64  # rand_a: 12 bits
    value |= 0b10 << 62  # RFC 9562 variant
    value |= random & 0x3FFF_FFFF_FFFF_FFFF  # rand_b: 62 bits
    return uuid.UUID(int=value)
