"""Income fixtures: the world's creators with the accounts the sample statements name, signed
contracts through the real services, and imports run through the real pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.creators.services import platform_account_add
from apps.income.models import StatementImport
from apps.income.pipeline import statement_import_create, statement_import_run

FILES = Path(__file__).parent / "files"
SIMPLE_RULES = {
    "version": 1,
    "currency": "CNY",
    "timezone": "Asia/Shanghai",
    "parties": ["creator", "agency"],
    "rules": [
        {
            "id": "brand",
            "label": "Brand deals",
            "match": {"sources": ["brand_deal"]},
            "deductions": [{"id": "platform_fee", "label": "Platform fee", "percent": "5"}],
            "split": {"creator": "70", "agency": "30"},
        },
        {"id": "other", "label": "Everything else", "split": {"creator": "60", "agency": "40"}},
    ],
}


@pytest.fixture
def statement_world(world: Any) -> Any:
    """The world, plus the accounts of the spec's example and the sample files."""
    platform_account_add(creator=world.creator_a, actor=None, platform="douyin", account_id="dy_88231")
    platform_account_add(creator=world.creator_a2, actor=None, platform="bilibili", account_id="bl_552")
    platform_account_add(creator=world.creator_a, actor=None, platform="youtube", account_id="UCx9f3")
    return world


def upload(name: str, data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else (FILES / name).read_bytes())


def run_import(
    world: Any, name: str, data: bytes | None = None, *, actor: Any = None, **options: Any
) -> StatementImport:
    statement_import = statement_import_create(
        agency=world.agency_a,
        actor=actor or world.manager_a,
        file=upload(name, data),
        enqueue=False,
        **options,
    )
    return statement_import_run(statement_import=statement_import)


def sign_contract(world: Any, creator: Any, platforms: list[str], rules: dict[str, Any] | None = None) -> Any:
    from tests.contracts.conftest import active_contract

    return active_contract(world, creator=creator, platforms=platforms, rule_set=rules or SIMPLE_RULES)
