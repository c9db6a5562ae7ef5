"""The simulation API and the rule-set schema endpoint."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import api_as
from tests.factories import UserFactory

SIMULATE_URL = "/api/v1/splits/simulate/"
SCHEMA_URL = "/api/v1/splits/schema/"


@pytest.fixture
def client_api(db):
    return api_as(UserFactory.create())


def test_simulate_returns_the_result_document_of_every_vector(client_api, vector_path, load_vector):
    vector = load_vector(vector_path)
    response = client_api.post(SIMULATE_URL, data=vector, format="json")
    expect = vector["expect"]
    if "error" in expect:
        assert response.status_code == 400
        assert {key: response.json()[key] for key in expect} == expect
        return
    assert response.status_code == 200
    body = response.json()
    # The spec's document, with trace, explanation and summary beside each line's keys.
    extras = {"trace", "explanation", "summary"}
    lines = {
        line_id: {k: v for k, v in line.items() if k not in extras} for line_id, line in body["lines"].items()
    }
    assert {**body, "lines": lines} == expect
    for line in body["lines"].values():
        assert line["trace"] and line["explanation"] and line["summary"]


def test_simulate_explains_the_split_in_plain_words(client_api, load_vector):
    vector = load_vector("16-expenses-capped")
    body = client_api.post(SIMULATE_URL + "?viewer=creator", data=vector, format="json").json()
    line = body["lines"]["L2"]
    assert line["summary"] == (
        "Brand deal ¥10,000.00 on Douyin → platform_fee 5% = ¥500.00 → Approved production costs ¥800.00"
        " → ¥8,700.00 split 70/30 → you ¥6,090.00, agency ¥2,610.00."
    )
    assert [step["step"] for step in line["trace"]] == ["match", "deduction", "expenses", "portion"]
    assert line["trace"][1] == {
        "step": "deduction",
        "deduction": "platform_fee",
        "base": "10000.00",
        "percent": "5",
        "amount": "500.00",
    }


def test_simulate_explains_in_simplified_chinese(client_api, load_vector):
    vector = load_vector("05-tiers-marginal")
    response = client_api.post(SIMULATE_URL, data=vector, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    line = response.json()["lines"]["L2"]
    assert "抖音" in line["summary"]
    assert any("超过" in sentence for sentence in line["explanation"])


def test_simulate_shows_which_party_got_each_rounding_unit(client_api, load_vector):
    body = client_api.post(SIMULATE_URL, data=load_vector("02-largest-remainder"), format="json").json()
    portion = body["lines"]["L4"]["trace"][1]
    assert portion["shares"] == {"creator": "0.01", "agency": "0.00", "editor": "0.01"}
    # Largest remainder first: the editor (33.3334 %) before the creator, who wins the tie with the agency.
    assert portion["rounding_units_to"] == ["editor", "creator"]


def test_simulate_needs_a_signed_in_user(db, load_vector):
    response = APIClient().post(SIMULATE_URL, data=load_vector("01-basic-split"), format="json")
    assert response.status_code in (401, 403)


def test_simulate_refuses_too_many_lines(client_api, load_vector):
    vector = load_vector("01-basic-split")
    vector["lines"] = [{**vector["lines"][0], "id": f"L{index}"} for index in range(1001)]
    response = client_api.post(SIMULATE_URL, data=vector, format="json")
    assert response.status_code == 400
    assert response.json()["pointer"] == "/lines"


def test_schema_is_public_json_schema_2020_12(db):
    response = APIClient().get(SCHEMA_URL)
    assert response.status_code == 200
    schema = response.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["required"]) == {"version", "currency", "parties", "rules"}
