"""Evidence fixtures: agency A's seeded October (tests/statements/conftest.py) with creator A's
statement published (its PDF rendered, as the worker does after the commit) and a November line
recognised after the close, so the bundle spans two months, a refund, a brand deal's expenses
and a published ledger head; and helpers that build a bundle and follow its README literally."""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from apps.evidence.services import evidence_bundle_build
from apps.statements.models import Statement
from apps.statements.services import statement_publish, statements_draft
from tests.statements.conftest import import_rows, october, october_open, statement_world

__all__ = ["october", "october_open", "statement_world"]


@pytest.fixture
def published(october: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any) -> Any:
    world = october
    statements_draft(agency=world.agency_a, period=world.month, actor=world.finance_a)
    statement = Statement.objects.get(creator=world.creator_a, period=world.month)
    with django_capture_on_commit_callbacks(execute=True):
        statement_publish(statement=statement, actor=world.finance_a, base_url="https://fenrun.example/")
    import_rows(
        world, "nov.csv", "G-11,2026-11-05T10:00:00+08:00,douyin,dy_a,live_gifts,321.09,CNY,,,November gifts"
    )
    world.statement = Statement.objects.get(pk=statement.pk)
    assert world.statement.pdf_sha256 and world.statement.ledger_head_seq
    return world


def build(world: Any, creator: Any = None) -> tuple[Any, bytes]:
    creator = creator or world.creator_a
    bundle = evidence_bundle_build(creator=creator, agency=world.agency_a, actor=creator.user)
    with bundle.file:
        data = bundle.file.read()
    assert len(data) == bundle.size
    return bundle, data


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def run_python(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The same interpreter, isolated (-I: no PYTHONPATH, no script or working directory on
    sys.path), with nothing of the test's environment but PATH: the project is not importable."""
    return subprocess.run(
        [sys.executable, "-I", *arguments],
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def readme_commands(data: bytes, name: str = "README.md") -> list[str]:
    readme = members(data)[name].decode()
    block = re.search(r"```sh\n(.*?)```", readme, re.DOTALL)
    assert block, f"{name} has no shell block to follow"
    return [line for line in block.group(1).splitlines() if line.strip()]


def follow_readme(
    data: bytes, filename: str, directory: Path
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Do what the README says, command by command, in a fresh directory holding only the ZIP:
    `python3 …` runs this interpreter isolated, `cd` moves. Returns the last run and the folder."""
    (directory / filename).write_bytes(data)
    cwd, result = directory, None
    for command in readme_commands(data):
        words = shlex.split(command)
        if words[0] == "cd":
            cwd = cwd / words[1]
            continue
        assert words[0] == "python3", f"the README asks for something else than Python: {command}"
        result = run_python(words[1:], cwd)
        assert result.returncode == 0 or command == readme_commands(data)[-1], result.stdout + result.stderr
    assert result is not None
    return result, cwd


def rerun(folder: Path) -> subprocess.CompletedProcess[str]:
    return run_python(["verify_bundle.py"], folder)
