"""Adapters of real platform exports: the sample files (tests/data/platform-exports/, written in
each export's real shape) imported through the upload service and the real pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.creators.services import platform_account_add
from apps.income.models import IncomeLine, StatementImport
from apps.income.pipeline import statement_import_run
from apps.income.uploads import statement_import_upload

DATA = Path(__file__).resolve().parents[2] / "data" / "platform-exports"


@pytest.fixture
def exports_world(statement_world: Any) -> Any:
    """The statement world (creator A: dy_88231, UCx9f3) and creator A's Alimama media 1002003."""
    platform_account_add(
        creator=statement_world.creator_a, actor=None, platform="taobao", account_id="1002003"
    )
    return statement_world


def upload_file(name: str, data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else (DATA / name).read_bytes())


def import_export(world: Any, name: str, data: bytes | None = None, **options: Any) -> StatementImport:
    """Upload a file as an agency manager does (format detected, account checked), then run it."""
    statement_import = statement_import_upload(
        agency=world.agency_a, actor=world.manager_a, file=upload_file(name, data), enqueue=False, **options
    )
    return statement_import_run(statement_import=statement_import)


def lines_of(statement_import: StatementImport) -> dict[str, IncomeLine]:
    return {line.external_id: line for line in IncomeLine.objects.filter(statement_import=statement_import)}


def skipped(statement_import: StatementImport) -> dict[int, str]:
    return {item["row"]: item["reason"] for item in statement_import.detection.get("skipped", [])}


def warnings(statement_import: StatementImport) -> dict[int, str]:
    return {item["row"]: item["message"] for item in statement_import.detection.get("warnings", [])}


def errors(statement_import: StatementImport) -> list[tuple[int, str, str]]:
    return [(error.row_number, error.column, error.reason) for error in statement_import.row_errors.all()]
