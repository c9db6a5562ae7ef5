"""Time-ordered public ids: valid version 7 UUIDs, unique, sorted by the millisecond they were made."""

from __future__ import annotations

import time

from apps.common.ids import uuid7


def test_uuid7_is_a_version_7_rfc_9562_uuid_carrying_the_time() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000

    assert value.version == 7
    assert value.variant == "specified in RFC 4122"
    assert before <= value.int >> 80 <= after


def test_uuid7_values_are_unique_and_ordered_across_milliseconds() -> None:
    first = [uuid7() for _ in range(1000)]
    time.sleep(0.002)
    second = [uuid7() for _ in range(1000)]

    assert len(set(first + second)) == 2000
    assert max(first) < min(second)
