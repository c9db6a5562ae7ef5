"""Reports fixtures: agency A's two creators over October and November 2026 under a three-party
rule set with a platform fee (recognised through the real pipeline, tests/recognition), and
agency B's own creator with YouTube lines of the same months, which must never show in A's."""

from __future__ import annotations

from typing import Any

import pytest

from apps.contracts.services import contract_draft, contract_sign, contract_version_send
from apps.income.models import IncomeLine, StatementImport
from apps.income.pipeline import statement_import_create, statement_import_run
from tests.contracts.conftest import END, META, START, builtin
from tests.income.conftest import SIMPLE_RULES, sign_contract, statement_world, upload
from tests.recognition.conftest import STATEFUL_RULES, csv, import_rows, two_creators_two_months

__all__ = ["statement_world"]


def agency_b_income(world: Any) -> StatementImport:
    """Creator B's contract with agency B, then two YouTube lines imported and recognised there."""
    version = contract_draft(
        actor=world.owner_b,
        agency=world.agency_b,
        creator=world.creator_b,
        template=builtin(),
        start_date=START,
        end_date=END,
        platforms=["youtube"],
        rule_set=SIMPLE_RULES,
    )
    version = contract_version_send(version=version, actor=world.owner_b)
    for signer in (world.creator_b.user, world.owner_b):
        contract_sign(version=version, signer=signer, document_sha256=version.document_sha256, meta=META)
    statement_import = statement_import_create(
        agency=world.agency_b,
        actor=world.owner_b,
        file=upload(
            "b.csv",
            csv(
                [
                    "Y-1,2026-10-03T10:00:00+08:00,youtube,yt_b,platform_revenue_share,5000.00,CNY,,,",
                    "Y-2,2026-11-04T10:00:00+08:00,youtube,yt_b,ecommerce_commission,7000.00,CNY,,,",
                ]
            ),
        ),
        enqueue=False,
    )
    done = statement_import_run(statement_import=statement_import)
    assert done.status == StatementImport.Status.DONE, done.message
    return done


@pytest.fixture
def reported(statement_world: Any) -> Any:
    """Agency A: creator A on Douyin and creator A2 on Bilibili, October and November 2026, with a
    refund, under the stateful three-party rules; agency B: creator B's two YouTube lines."""
    world = statement_world
    two_creators_two_months(world, STATEFUL_RULES)
    agency_b_income(world)
    assert not IncomeLine.objects.exclude(allocation__isnull=False).exists()  # every line recognised
    return world


SOURCES = ("live_gifts", "platform_revenue_share", "ecommerce_commission")


def import_many(world: Any, count: int, *, start: int = 0) -> None:
    """`count` more lines for agency A, both creators, three sources, October and November."""
    rows = []
    for number in range(start, start + count):
        creator_a = number % 2 == 0
        platform, account = ("douyin", "dy_88231") if creator_a else ("bilibili", "bl_552")
        month = 10 + number % 2 if number % 3 else 11 - number % 2
        rows.append(
            f"N-{number},2026-{month}-{1 + number % 27:02d}T12:00:00+08:00,{platform},{account},"
            f"{SOURCES[number % 3]},{100 + number}.{number % 100:02d},CNY,,,"
        )
    import_rows(world, rows, name=f"many-{start}.csv")


@pytest.fixture
def contracted(statement_world: Any) -> Any:
    """Agency A's two creators under the simple two-party rules, no lines yet."""
    sign_contract(statement_world, statement_world.creator_a, ["douyin"], SIMPLE_RULES)
    sign_contract(statement_world, statement_world.creator_a2, ["bilibili"], SIMPLE_RULES)
    return statement_world


__all__ += ["agency_b_income", "contracted", "import_many", "reported"]
