"""A line the engine refuses at a checkpoint's ordinal leaves that ordinal to the next line: the
next line must still be recognised, in the same batch or a later one (the checkpoint before an
ordinal is the same state whichever line ends up there, the refused line changed nothing)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.income.models import IncomeLine
from apps.ledger.verification import ledger_verify_agency
from apps.recognition.models import StateCheckpoint
from tests.income.conftest import SIMPLE_RULES
from tests.recognition.conftest import import_rows, sign_contract

pytestmark = pytest.mark.django_db
GIFTS_ONLY = {
    **SIMPLE_RULES,
    "rules": [
        {"id": "gifts", "match": {"sources": ["live_gifts"]}, "split": {"creator": "60", "agency": "40"}}
    ],
}


def _states() -> dict[str, tuple[str, str]]:
    return {line.external_id: (line.state, line.exception_reason) for line in IncomeLine.objects.all()}


def test_a_refused_line_at_a_checkpoint_then_another_versions_checkpoint(
    statement_world: Any, monkeypatch: Any
) -> None:
    world = statement_world
    monkeypatch.setattr("apps.recognition.batch.CHECKPOINT_EVERY", 2)
    douyin = sign_contract(world, world.creator_a, ["douyin"], GIFTS_ONLY)
    sign_contract(world, world.creator_a, ["youtube"])
    import_rows(
        world,
        [
            "D-0,2026-11-01T10:00:00+08:00,douyin,dy_88231,live_gifts,10.00,CNY,,,",
            "D-1,2026-11-01T11:00:00+08:00,douyin,dy_88231,live_gifts,10.00,CNY,,,",
            "Y-0,2026-11-01T12:00:00+08:00,youtube,UCx9f3,live_gifts,10.00,CNY,,,",
            "Y-1,2026-11-01T13:00:00+08:00,youtube,UCx9f3,live_gifts,10.00,CNY,,,",
            # Ordinal 2 of the douyin version: no rule matches, the engine refuses it.
            "D-2,2026-11-01T14:00:00+08:00,douyin,dy_88231,platform_revenue_share,5.00,CNY,,,",
            "Y-2,2026-11-01T15:00:00+08:00,youtube,UCx9f3,live_gifts,10.00,CNY,,,",  # youtube's checkpoint 2
            "D-3,2026-11-01T16:00:00+08:00,douyin,dy_88231,live_gifts,10.00,CNY,,,",  # douyin's ordinal 2 again
        ],
    )

    states = _states()
    assert states.pop("D-2") == ("exception", "engine_error")
    assert set(states.values()) == {("recognised", "")}, states
    assert StateCheckpoint.objects.filter(contract_version_id=douyin.pk, ordinal=2).count() == 1
    assert ledger_verify_agency(world.agency_a).problems == []


def test_a_refused_line_at_a_checkpoint_does_not_stop_the_versions_later_batches(
    statement_world: Any, monkeypatch: Any
) -> None:
    world = statement_world
    monkeypatch.setattr("apps.recognition.batch.CHECKPOINT_EVERY", 2)
    sign_contract(world, world.creator_a, ["douyin"], GIFTS_ONLY)
    import_rows(
        world,
        [
            "D-0,2026-11-01T10:00:00+08:00,douyin,dy_88231,live_gifts,10.00,CNY,,,",
            "D-1,2026-11-01T11:00:00+08:00,douyin,dy_88231,live_gifts,10.00,CNY,,,",
            "D-2,2026-11-01T14:00:00+08:00,douyin,dy_88231,platform_revenue_share,5.00,CNY,,,",
        ],
        "one.csv",
    )
    import_rows(
        world,
        [
            "D-3,2026-11-02T10:00:00+08:00,douyin,dy_88231,live_gifts,10.00,CNY,,,",
            "D-4,2026-11-02T11:00:00+08:00,douyin,dy_88231,live_gifts,10.00,CNY,,,",
        ],
        "two.csv",
    )

    states = _states()
    assert states.pop("D-2") == ("exception", "engine_error")
    # Before the fix every later line of the version went to the queue ("an unexpected error"):
    # each batch inserted the checkpoint before ordinal 2 again (recognition_checkpoint_unique).
    assert set(states.values()) == {("recognised", "")}, states
    assert ledger_verify_agency(world.agency_a).problems == []
