"""Every conformance vector (tests/data/split-vectors), through the engine and `manage.py simulate_split`."""

from __future__ import annotations

import io
import json
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from apps.splits.engine import simulate


def test_the_conformance_suite_is_in_the_repository(vectors_dir: Path):
    # An empty glob would make the parametrised tests vanish silently; this one fails instead
    # (and conftest refuses to collect at all). The vectors live inside the repository, so a
    # clone or the Docker image runs them without the spec beside it.
    names = sorted(path.name for path in vectors_dir.glob("*.json"))
    assert len(names) >= 16, f"expected the conformance vectors in {vectors_dir}"
    assert vectors_dir.resolve().is_relative_to(Path(settings.BASE_DIR).resolve())
    assert {"01-basic-split.json", "16-expenses-capped.json"} <= set(names)


def test_the_withholding_vectors_are_in_the_repository():
    folder = Path(settings.BASE_DIR) / "tests" / "data" / "withholding-vectors"
    vectors = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]
    assert len(vectors) >= 8, f"expected the withholding vectors in {folder}"
    assert all("expect" in vector for vector in vectors)


def test_engine_reproduces_vector(vector_path: Path, load_vector):
    vector = load_vector(vector_path)
    assert simulate(vector) == vector["expect"]


def test_simulate_split_command_reproduces_vector(vector_path: Path, load_vector):
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("simulate_split", str(vector_path), stdout=stdout, stderr=stderr)
    assert json.loads(stdout.getvalue()) == load_vector(vector_path)["expect"]


def test_command_ignores_expect(tmp_path: Path, load_vector):
    vector = load_vector("01-basic-split")
    vector["expect"] = {"lines": {}, "advance_outstanding": "999.99"}
    path = tmp_path / "vector.json"
    path.write_text(json.dumps(vector))
    stdout = io.StringIO()
    call_command("simulate_split", str(path), stdout=stdout)
    assert json.loads(stdout.getvalue())["lines"]["L1"]["shares"] == {
        "creator": "7000.00",
        "agency": "3000.00",
    }
