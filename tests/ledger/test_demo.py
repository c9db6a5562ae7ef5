"""The demo world's ledger verifies, holds only income lines' splits, and seeding twice posts nothing new."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.demo.seed import demo_seed
from apps.ledger.models import JournalEntry

pytestmark = pytest.mark.django_db


def test_demo_ledger_verifies_and_reseeding_adds_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    demo_seed()
    count = JournalEntry.objects.count()

    demo_seed()
    call_command("verify_ledger")

    assert JournalEntry.objects.count() == count
    # Income and a refund, each posted by recognition; the seed posts nothing to the ledger itself.
    assert set(JournalEntry.objects.values_list("kind", flat=True)) == {"income_line", "refund"}
    # Each entry covers lines (issue 12: their Merkle root and count).
    assert not JournalEntry.objects.filter(lines_root="").exists()
    assert "OK: 1 ledger(s) verified" in capsys.readouterr().out
