"""The simulator page, through Django's test client."""

from __future__ import annotations

import json

import pytest

from apps.splits.forms import EXAMPLE_RULE_SET
from tests.conftest import web_as
from tests.factories import UserFactory
from tests.splits.test_bad_input import page_post

PAGE_URL = "/splits/simulator/"


@pytest.fixture
def signed_in(db):
    return web_as(UserFactory.create())


def test_page_needs_a_signed_in_user(client, db):
    response = client.get(PAGE_URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_page_offers_an_example_to_start_from(signed_in, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = signed_in.get(PAGE_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Platform service fee" in html
    assert 'name="form-0-gross"' in html


def test_page_shows_each_split_and_its_explanation(signed_in):
    rows = [
        {"gross": "10000.00", "source": "brand_deal", "platform": "douyin", "occurred_at": "2026-11-03"},
        {"gross": "500.00", "source": "live_gifts", "platform": "kuaishou", "occurred_at": "2026-11-04"},
        {"gross": "", "source": "brand_deal", "platform": "douyin", "occurred_at": ""},
    ]
    response = page_post(signed_in, json.dumps(EXAMPLE_RULE_SET), rows)
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "Brand deal ¥10,000.00 on Douyin → Platform service fee 5% = ¥500.00 → ¥9,500.00 split 70/30" in html
    )
    assert 'data-line="L1"' in html and 'data-line="L2"' in html and 'data-line="L3"' not in html
    assert "6650.00" in html and "2850.00" in html  # 70/30 of 9,500.00
    assert "300.00" in html and "200.00" in html  # live gifts fall to "other": 60/40 of 500.00


def test_page_speaks_chinese(signed_in):
    signed_in.cookies["django_language"] = "zh-hans"
    row = {"gross": "10000.00", "source": "brand_deal", "platform": "douyin", "occurred_at": "2026-11-03"}
    html = page_post(signed_in, json.dumps(EXAMPLE_RULE_SET), [row]).content.decode()
    assert "抖音品牌合作 ¥10,000.00" in html
    assert "计算过程" in html
