"""Recognition fixtures: the income world (creators with the sample statements' accounts), a rule
set whose engine state matters (tiers and a cap carry from line to line), and imports through the
real pipeline."""

from __future__ import annotations

from typing import Any

import pytest

from apps.income.models import StatementImport
from tests.income.conftest import run_import, sign_contract, statement_world

__all__ = ["statement_world"]

HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"

# Tiers per month and an agency cap: a line's split depends on the lines before it, so an
# allocation recomputed from the wrong engine state (a missing checkpoint, a skipped line) differs.
STATEFUL_RULES: dict[str, Any] = {
    "version": 1,
    "currency": "CNY",
    "timezone": "Asia/Shanghai",
    "parties": ["creator", "agency", "editor"],
    "tier_period": "month",
    "rules": [
        {
            "id": "gifts",
            "label": "Live gifts",
            "match": {"sources": ["live_gifts"]},
            "deductions": [{"id": "platform_fee", "label": "Platform fee", "percent": "5"}],
            "split": {"creator": "70", "agency": "25", "editor": "5"},
            "tiers": [{"above": "1000.00", "split": {"creator": "80", "agency": "15", "editor": "5"}}],
        },
        {
            "id": "other",
            "label": "Everything else",
            "split": {"creator": "60", "agency": "33.33", "editor": "6.67"},
            "tiers": [{"above": "200.00", "split": {"creator": "75", "agency": "20", "editor": "5"}}],
        },
    ],
    "agency_cap": {"amount": "400.00", "period": "month"},
}


def csv(rows: list[str]) -> bytes:
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode()


def import_rows(world: Any, rows: list[str], name: str = "statement.csv") -> StatementImport:
    done = run_import(world, name, csv(rows))
    assert done.status == StatementImport.Status.DONE, done.message
    return done


def two_creators_two_months(world: Any, rules: dict[str, Any] | None = None) -> StatementImport:
    """Creator A on douyin and creator A2 on bilibili, October and November 2026, a refund of
    A's October gift in November: entries for (creator, version, month, income/refund)."""
    sign_contract(world, world.creator_a, ["douyin"], rules)
    sign_contract(world, world.creator_a2, ["bilibili"], rules)
    return import_rows(
        world,
        [
            "A-1,2026-10-03T10:00:00+08:00,douyin,dy_88231,live_gifts,1000.00,CNY,,,",
            "A-2,2026-10-05T10:00:00+08:00,douyin,dy_88231,platform_revenue_share,300.00,CNY,,,",
            "A-3,2026-10-20T10:00:00+08:00,douyin,dy_88231,live_gifts,45.67,CNY,,,",
            "A-4,2026-11-02T10:00:00+08:00,douyin,dy_88231,live_gifts,800.01,CNY,,,",
            "A-5,2026-11-04T10:00:00+08:00,douyin,dy_88231,live_gifts,-250.00,CNY,,A-1,refund",
            "A-6,2026-11-09T10:00:00+08:00,douyin,dy_88231,platform_revenue_share,1200.00,CNY,,,",
            "B-1,2026-10-04T10:00:00+08:00,bilibili,bl_552,live_gifts,333.33,CNY,,,",
            "B-2,2026-10-30T23:59:59+08:00,bilibili,bl_552,platform_revenue_share,12.34,CNY,,,",
            "B-3,2026-11-01T00:00:00+08:00,bilibili,bl_552,live_gifts,700.00,CNY,,,",
        ],
    )


@pytest.fixture
def recognised(statement_world: Any) -> Any:
    """The world after two_creators_two_months under the stateful rules."""
    two_creators_two_months(statement_world, STATEFUL_RULES)
    return statement_world


__all__ += ["HEADER", "STATEFUL_RULES", "csv", "import_rows", "recognised", "sign_contract"]
