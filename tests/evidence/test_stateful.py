"""Under rules whose state carries from line to line (monthly tiers, an agency cap, a refund in
the next month of a line in the month before), the bundle's script still recomputes every split:
it replays each contract version's lines in order from the first, as Fenrun did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.recognition.models import LineAllocation
from tests.evidence.conftest import build, follow_readme
from tests.recognition.conftest import recognised

__all__ = ["recognised"]
pytestmark = pytest.mark.django_db


def test_tiers_caps_and_a_refund_are_recomputed_from_the_first_line(recognised: Any, tmp_path: Path) -> None:
    world = recognised
    count = LineAllocation.objects.filter(creator=world.creator_a).count()
    assert count == 6

    bundle, data = build(world)
    result, _folder = follow_readme(data, bundle.filename, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{count} of {count} allocations recomputed by the split engine and equal" in result.stdout
    # A's three entries (October, November, November's refund) recomputed; A2's only linked
    assert "3 entry roots recomputed" in result.stdout
    assert "3 entries post exactly the sum of their lines' splits" in result.stdout
