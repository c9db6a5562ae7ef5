"""The import-linter contracts (pyproject.toml, run by `lint-imports` in `make lint` and CI) name
modules one by one; a module added later must not slip past them unnamed."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {contract["source_modules"][0]: contract for contract in config["contracts"]}


def _children(package: str) -> set[str]:
    folder = ROOT / package.replace(".", "/")
    return {
        f"{package}.{path.stem}"
        for path in folder.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }


def test_the_engine_contract_forbids_every_other_app_and_every_other_splits_module() -> None:
    forbidden = set(_contracts()["apps.splits.engine"]["forbidden_modules"])
    others = (_children("apps") - {"apps.splits"}) | (_children("apps.splits") - {"apps.splits.engine"})
    assert others - forbidden == set()
    assert {"django", "rest_framework", "config"} <= forbidden


def test_common_may_import_no_other_app() -> None:
    forbidden = set(_contracts()["apps.common"]["forbidden_modules"])
    assert _children("apps") - {"apps.common"} - forbidden == set()


def test_no_package_but_the_demo_may_import_the_demo() -> None:
    contract = next(
        contract
        for contract in _contracts().values()
        if contract["forbidden_modules"] == ["apps.demo"] and len(contract["source_modules"]) > 1
    )
    assert set(contract["source_modules"]) == (_children("apps") - {"apps.demo"}) | {"config"}
