"""verify_bundle.py and the engine it ships import nothing but Python's standard library (and
the engine, from the bundle's own copy)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from apps.evidence.services import ENGINE_DIRECTORY, SCRIPT


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _outside_stdlib(names: set[str]) -> set[str]:
    return {name for name in names if name.split(".")[0] not in sys.stdlib_module_names}


def test_the_script_imports_only_the_standard_library_and_the_shipped_engine() -> None:
    assert _outside_stdlib(_imported(SCRIPT)) == {"apps.splits.engine"}


def test_the_shipped_engine_imports_only_the_standard_library_and_itself() -> None:
    for path in ENGINE_DIRECTORY.glob("*.py"):
        outside = _outside_stdlib(_imported(path))
        assert all(name.startswith("apps.splits.engine") for name in outside), (path.name, outside)
