"""Every conformance vector, through the engine and through `manage.py simulate_split`."""

from __future__ import annotations

import io
import json
from pathlib import Path

from django.core.management import call_command

from apps.splits.engine import simulate


def test_the_conformance_suite_is_there(vectors_dir: Path):
    # An empty glob would make the parametrised tests vanish silently; this one fails instead.
    assert len(list(vectors_dir.glob("*.json"))) >= 16, f"expected the spec vectors in {vectors_dir}"


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
