"""Fixtures of the split tests: the conformance vectors, read from the shared spec at test time."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings


def spec_dir() -> Path:
    # FENRUN_SPEC_DIR wins (settings read it too); otherwise ../shared/spec beside the repository.
    if os.environ.get("FENRUN_SPEC_DIR"):
        return Path(os.environ["FENRUN_SPEC_DIR"])
    return Path(settings.BASE_DIR).parent / "shared" / "spec"


def vector_paths() -> list[Path]:
    return sorted((spec_dir() / "vectors").glob("*.json"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "vector_path" in metafunc.fixturenames:
        metafunc.parametrize("vector_path", vector_paths(), ids=lambda path: path.stem)


@pytest.fixture
def vectors_dir() -> Path:
    return spec_dir() / "vectors"


@pytest.fixture
def load_vector():
    def load(name_or_path: str | Path) -> dict[str, Any]:
        path = Path(name_or_path)
        if not path.is_absolute():
            path = spec_dir() / "vectors" / f"{name_or_path}.json"
        return json.loads(path.read_text(encoding="utf-8"))

    return load
