"""Bad input gives a clear error naming the field — in the command, the API and the page — and
never a traceback."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from apps.splits.engine import InvalidRules, parse_rule_set, simulate
from tests.conftest import api_as, web_as
from tests.factories import UserFactory

SIMULATE_URL = "/api/v1/splits/simulate/"
PAGE_URL = "/splits/simulator/"
RULES: dict[str, Any] = {
    "version": 1,
    "currency": "CNY",
    "parties": ["creator", "agency"],
    "rules": [{"id": "all", "split": {"creator": "70", "agency": "30"}}],
}
LINE = {
    "id": "L1",
    "source": "brand_deal",
    "platform": "douyin",
    "gross": "100.00",
    "occurred_at": "2026-11-03T10:00:00+08:00",
}


def rules_with(change) -> dict[str, Any]:
    rules = copy.deepcopy(RULES)
    change(rules)
    return rules


# Each bad rule set, and the JSON pointer (within the rule set) its error must name.
BAD_RULE_SETS = {
    "wrong type": (rules_with(lambda r: r["rules"][0]["split"].update(creator=70)), "/rules/0/split/creator"),
    "unknown key": (rules_with(lambda r: r["rules"][0].update(splitt={})), "/rules/0/splitt"),
    "five decimals": (
        rules_with(lambda r: r["rules"][0].update(split={"creator": "70.00001", "agency": "29.99999"})),
        "/rules/0/split/creator",
    ),
    "sum 99.9999": (
        rules_with(lambda r: r["rules"][0].update(split={"creator": "69.9999", "agency": "30"})),
        "/rules/0/split",
    ),
    "absurd amount": (
        rules_with(lambda r: r.update(agency_cap={"amount": "10000000000000.01", "period": "month"})),
        "/agency_cap/amount",
    ),
    "version as string": (rules_with(lambda r: r.update(version="1")), "/version"),
}


def document(rules: Any = None, lines: list | None = None) -> dict[str, Any]:
    return {"rules": RULES if rules is None else rules, "lines": [LINE] if lines is None else lines}


# --- the engine ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BAD_RULE_SETS)
def test_engine_names_the_path_of_a_bad_rule_set(name):
    rules, path = BAD_RULE_SETS[name]
    with pytest.raises(InvalidRules) as raised:
        parse_rule_set(rules)
    assert raised.value.path == path
    assert simulate(document(rules)) == {"error": "INVALID_RULES", "path": path}


def test_absurd_line_amount_is_that_lines_error():
    result = simulate(document(lines=[{**LINE, "gross": "10000000000000.01"}, {**LINE, "id": "L2"}]))
    assert result["lines"]["L1"] == {"error": "INVALID_AMOUNT"}
    assert result["lines"]["L2"]["shares"] == {"creator": "70.00", "agency": "30.00"}


def test_the_largest_accepted_amount_splits_exactly():
    result = simulate(document(lines=[{**LINE, "gross": "10000000000000.00"}]))
    assert result["lines"]["L1"]["shares"] == {"creator": "7000000000000.00", "agency": "3000000000000.00"}


# --- the command ----------------------------------------------------------------------------------


def run_command(tmp_path: Path, text: str) -> tuple[str, str]:
    path = tmp_path / "input.json"
    path.write_text(text, encoding="utf-8")
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("simulate_split", str(path), stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_command_refuses_malformed_json_with_its_position(tmp_path):
    with pytest.raises(CommandError, match=r"malformed JSON at line 1, column 2"):
        run_command(tmp_path, "{rules")


def test_command_refuses_an_unreadable_file(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("simulate_split", str(tmp_path / "missing.json"))


@pytest.mark.parametrize("name", BAD_RULE_SETS)
def test_command_prints_invalid_rules_and_names_the_field(tmp_path, name):
    rules, path = BAD_RULE_SETS[name]
    stdout, stderr = run_command(tmp_path, json.dumps(document(rules)))
    assert json.loads(stdout) == {"error": "INVALID_RULES", "path": path}
    assert f"INVALID_RULES at {path}:" in stderr


@pytest.mark.parametrize(
    ("line", "pointer", "message"),
    [
        ({**LINE, "gross": 100}, "/lines/0/gross", "must be a non-empty string"),
        ({**LINE, "occurred_at": "2026-11-03T10:00:00"}, "/lines/0/occurred_at", "has no UTC offset"),
        ({**LINE, "colour": "red"}, "/lines/0/colour", "unknown key"),
        ({key: value for key, value in LINE.items() if key != "source"}, "/lines/0/source", "is required"),
    ],
)
def test_command_names_the_field_of_a_malformed_line(tmp_path, line, pointer, message):
    with pytest.raises(CommandError, match=f"{pointer}: .*{message}"):
        run_command(tmp_path, json.dumps(document(lines=[line])))


def test_command_names_the_field_of_an_absurd_amount(tmp_path):
    stdout, stderr = run_command(
        tmp_path, json.dumps(document(lines=[{**LINE, "gross": "10000000000000.01"}]))
    )
    assert json.loads(stdout)["lines"]["L1"] == {"error": "INVALID_AMOUNT"}
    assert "L1: INVALID_AMOUNT: gross:" in stderr


def test_command_line_exits_non_zero_without_traceback(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("[1, 2", encoding="utf-8")
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    completed = subprocess.run(
        [sys.executable, "manage.py", "simulate_split", str(path)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert completed.returncode != 0
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1
    assert "malformed JSON" in completed.stderr


# --- the API --------------------------------------------------------------------------------------


@pytest.fixture
def client_api(db):
    return api_as(UserFactory.create())


def test_api_refuses_malformed_json(client_api):
    response = client_api.post(SIMULATE_URL, data="{rules", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


@pytest.mark.parametrize("name", BAD_RULE_SETS)
def test_api_names_the_path_of_a_bad_rule_set(client_api, name):
    rules, path = BAD_RULE_SETS[name]
    response = client_api.post(SIMULATE_URL, data=document(rules), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "INVALID_RULES"
    assert body["path"] == path
    assert body["detail"].startswith(f"rules{path}: ")


@pytest.mark.parametrize(
    ("line", "pointer"),
    [
        ({**LINE, "gross": 100}, "/lines/0/gross"),
        ({**LINE, "occurred_at": "2026-11-03T10:00:00"}, "/lines/0/occurred_at"),
        ({**LINE, "colour": "red"}, "/lines/0/colour"),
    ],
)
def test_api_names_the_field_of_a_malformed_line(client_api, line, pointer):
    response = client_api.post(SIMULATE_URL, data=document(lines=[line]), format="json")
    assert response.status_code == 400
    assert response.json()["pointer"] == pointer
    assert response.json()["detail"].startswith(pointer.lstrip("/") + ": ")


def test_api_names_the_field_of_an_absurd_amount(client_api):
    response = client_api.post(
        SIMULATE_URL, data=document(lines=[{**LINE, "gross": "99999999999999999"}]), format="json"
    )
    assert response.status_code == 200
    line = response.json()["lines"]["L1"]
    assert line["error"] == "INVALID_AMOUNT"
    assert line["trace"][0]["field"] == "gross"
    assert line["explanation"][0].startswith("gross: ")


def test_api_refuses_a_document_that_is_not_an_object(client_api):
    response = client_api.post(SIMULATE_URL, data=[1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DOCUMENT"


# --- the page -------------------------------------------------------------------------------------


def page_post(client, rules_text: str, rows: list[dict[str, str]] | None = None, **extra: str):
    rows = (
        rows
        if rows is not None
        else [{"gross": "100.00", "source": "brand_deal", "platform": "douyin", "occurred_at": "2026-11-03"}]
    )
    data = {
        "rules": rules_text,
        "advance_outstanding": "",
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "20",
        **extra,
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"form-{index}-{key}"] = value
    return client.post(PAGE_URL, data)


@pytest.fixture
def browser_client(db):
    return web_as(UserFactory.create())


def test_page_shows_malformed_json_next_to_the_rule_set(browser_client):
    response = page_post(browser_client, "{rules")
    assert response.status_code == 400
    assert "Malformed JSON at line 1, column 2" in response.content.decode()


@pytest.mark.parametrize("name", BAD_RULE_SETS)
def test_page_shows_the_path_of_a_bad_rule_set(browser_client, name):
    rules, path = BAD_RULE_SETS[name]
    response = page_post(browser_client, json.dumps(rules))
    assert response.status_code == 400
    html = response.content.decode()
    assert f'data-path="{path}"' in html
    assert 'id="rules-error"' in html


def test_page_shows_a_date_without_offset_next_to_the_date(browser_client):
    row = {
        "gross": "100.00",
        "source": "brand_deal",
        "platform": "douyin",
        "occurred_at": "2026-11-03T10:00:00",
    }
    response = page_post(browser_client, json.dumps(RULES), [row])
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="occurred_at"' in html
    assert "has no UTC offset" in html


def test_page_shows_an_absurd_amount_next_to_the_amount(browser_client):
    row = {
        "gross": "10000000000000.01",
        "source": "brand_deal",
        "platform": "douyin",
        "occurred_at": "2026-11-03",
    }
    response = page_post(browser_client, json.dumps(RULES), [row])
    html = response.content.decode()
    assert 'data-field="gross"' in html
    assert "larger than 10^15 minor units" in html
