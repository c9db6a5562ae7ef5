"""Fixtures of the split tests: the conformance vectors, kept in the repository (tests/data).

The vectors are copies of the published spec's suite, so a clone or the Docker image runs them
with nothing beside the repository. An empty or missing folder fails collection loudly: a
conformance suite that collects nothing would pass silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

VECTORS_DIR = Path(__file__).resolve().parent.parent / "data" / "split-vectors"
# The spec's suite has 16 vectors; fewer means the copy in tests/data lost some.
MINIMUM_VECTORS = 16


def vector_paths() -> list[Path]:
    paths = sorted(VECTORS_DIR.glob("*.json"))
    if len(paths) < MINIMUM_VECTORS:
        raise pytest.UsageError(
            f"expected at least {MINIMUM_VECTORS} split conformance vectors in {VECTORS_DIR}, "
            f"found {len(paths)}: the vector tests would collect nothing"
        )
    return paths


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "vector_path" in metafunc.fixturenames:
        metafunc.parametrize("vector_path", vector_paths(), ids=lambda path: path.stem)


@pytest.fixture
def vectors_dir() -> Path:
    return VECTORS_DIR


@pytest.fixture
def load_vector():
    def load(name_or_path: str | Path) -> dict[str, Any]:
        path = Path(name_or_path)
        if not path.is_absolute():
            path = VECTORS_DIR / f"{name_or_path}.json"
        return json.loads(path.read_text(encoding="utf-8"))

    return load
