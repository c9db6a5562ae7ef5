"""The demo world carries ledger entries that verify, and seeding twice posts nothing new."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.common.demo import demo_seed
from apps.ledger.models import JournalEntry

pytestmark = pytest.mark.django_db


def test_demo_ledger_verifies_and_reseeding_adds_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    demo_seed()
    count = JournalEntry.objects.count()

    demo_seed()
    call_command("verify_ledger")

    assert JournalEntry.objects.count() == count
    kinds = set(JournalEntry.objects.values_list("kind", flat=True))
    assert {"advance", "income_line", "refund", "manual_adjustment", "reversal"} <= kinds
    assert "OK: 1 ledger(s) verified" in capsys.readouterr().out
