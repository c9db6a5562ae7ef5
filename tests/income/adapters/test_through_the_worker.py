"""Each export through the API with a real Celery worker (tests/integration's harness): uploaded
as an agency manager uploads it, staged, matched and split by the worker; each line's creator
share is what the contract says (SIMPLE_RULES: 60 % of anything that is not a brand deal)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from apps.creators.services import platform_account_add
from apps.income.models import IncomeLine, StatementImport
from tests.conftest import api_as
from tests.income.adapters.conftest import upload_file
from tests.income.conftest import SIMPLE_RULES, sign_contract
from tests.income.history import creator_share
from tests.integration.conftest import start_worker, stop_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
USD_RULES = {**SIMPLE_RULES, "currency": "USD"}


@pytest.fixture(scope="module")
def worker(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Any]:
    """One worker for the module (starting one takes seconds); each test has its own data."""
    with django_db_blocker.unblock():
        process = start_worker(name=f"adapters{os.getpid()}")
    yield process
    stop_worker(process)


@pytest.fixture(autouse=True)
def _worker_idle_after_each_test(worker: Any) -> Iterator[None]:
    """The worker outlives a test: let it finish what the test queued (the contract's offer mail,
    a last step's follow-up) before the test's tables are flushed, or the flush's TRUNCATE and
    the worker's transaction deadlock."""
    yield
    from config.celery_app import app

    destination = [f"adapters{os.getpid()}@{os.uname().nodename}"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        inspector = app.control.inspect(destination=destination, timeout=1.0)
        busy = [task for tasks in (inspector.active() or {}).values() for task in tasks]
        busy += [task for tasks in (inspector.reserved() or {}).values() for task in tasks]
        if not busy:
            return
        time.sleep(0.2)


def _usd_contract(world: Any) -> None:
    from tests.contracts.conftest import active_contract

    active_contract(world, creator=world.creator_a, platforms=["youtube"], rule_set=USD_RULES, currency="USD")


def _upload(world: Any, name: str, **fields: Any) -> StatementImport:
    response = api_as(world.manager_a).post(
        "/api/v1/income/imports/",
        {"agency": str(world.agency_a.public_id), "file": upload_file(name), **fields},
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    statement_import = StatementImport.objects.get(public_id=response.json()["public_id"])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        statement_import.refresh_from_db()
        if statement_import.is_finished:
            assert statement_import.status == "done", statement_import.message
            return statement_import
        time.sleep(0.2)
    raise AssertionError(f"the import did not finish: {statement_import.status}")


def _shares(statement_import: StatementImport) -> dict[str, tuple[int, int]]:
    """external id -> (gross, the creator's share) of the import's recognised lines."""
    lines = IncomeLine.objects.filter(statement_import=statement_import, creator__isnull=False)
    return {line.external_id: (line.gross_minor, creator_share(line)) for line in lines}


def test_youtube_studio_through_the_worker(world: Any, worker: Any) -> None:
    platform_account_add(creator=world.creator_a, actor=None, platform="youtube", account_id="UCx9f3")
    _usd_contract(world)

    done = _upload(world, "yt_studio_table_by_video.csv", account="UCx9f3", period="2026-11")

    assert done.detection["skipped_count"] == 2
    assert _shares(done) == {
        "yt:UCx9f3:dQw4w9WgXcQ:2026-11": (120130, 72078),
        "yt:UCx9f3:a1B2c3D4e5F:2026-11": (20125, 12075),
    }


def test_youtube_reporting_through_the_worker(world: Any, worker: Any) -> None:
    platform_account_add(creator=world.creator_a, actor=None, platform="youtube", account_id="UCx9f3")
    _usd_contract(world)

    done = _upload(world, "yt_reporting_estimated_revenue.csv")

    assert _shares(done) == {
        "yt:UCx9f3:dQw4w9WgXcQ:2026-11-03:US:claimed:self": (3010, 1806),
        "yt:UCx9f3:dQw4w9WgXcQ:2026-11-03:GB:claimed:self": (1110, 666),
        "yt:UCx9f3:a1B2c3D4e5F:2026-11-04:US:claimed:self": (1235, 741),
    }
    assert IncomeLine.objects.get(account_id="UCstranger01").exception_reason == "unknown_account"


def test_doudian_settlement_bill_through_the_worker(world: Any, worker: Any) -> None:
    platform_account_add(creator=world.creator_a, actor=None, platform="douyin", account_id="dy_88231")
    sign_contract(world, world.creator_a, ["douyin"])

    done = _upload(world, "doudian_settlement_gbk.csv", account="dy_88231")

    # The refund takes back 60 % of what it refunds.
    assert _shares(done) == {
        "dd:settle:6930011122233344456": (128050, 76830),
        "dd:settle:6930011122233344461": (8600, 5160),
        "dd:refund:6930011122233344456:30000": (-30000, -18000),
    }


def test_doudian_fund_flow_through_the_worker(world: Any, worker: Any) -> None:
    platform_account_add(creator=world.creator_a, actor=None, platform="douyin", account_id="dy_88231")
    sign_contract(world, world.creator_a, ["douyin"])

    done = _upload(world, "doudian_fund_flow.xlsx", account="dy_88231")

    assert _shares(done) == {
        "dd:settle:6930011122233344456": (128050, 76830),
        "dd:flow:AS202611081200002_IN": (1230, 738),
        "dd:refund:6930011122233344456:30000": (-30000, -18000),
        "dd:flow:AS202611210900005_OUT": (-40, -24),
    }


def test_buyin_orders_through_the_worker(world: Any, worker: Any) -> None:
    platform_account_add(creator=world.creator_a, actor=None, platform="douyin", account_id="dy_88231")
    sign_contract(world, world.creator_a, ["douyin"])

    done = _upload(world, "buyin_orders_bom.csv")

    assert done.detection["warning_count"] == 1
    assert _shares(done) == {
        "dd:commission:6953547102608758621": (20000, 12000),
        "dd:commission-refund:6953547102608758621:5000": (-5000, -3000),
    }


def test_taobao_union_through_the_worker(world: Any, worker: Any) -> None:
    platform_account_add(creator=world.creator_a, actor=None, platform="taobao", account_id="1002003")
    sign_contract(world, world.creator_a, ["taobao"])

    done = _upload(world, "taobao_union_gbk.csv")

    assert _shares(done) == {
        "tb:2987000000000000002": (1280, 768),
        "tb:2987000000000000002:refund:640": (-640, -384),
    }
