"""The published documents: in the repository (docs/), served by the app, linked from the pages
that explain splits, and the split rules' worked month re-computed by the engine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.splits.engine import simulate
from tests.conftest import web_as
from tests.factories import UserFactory

DOCS = Path(settings.BASE_DIR) / "docs"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "heading"),
    [
        ("split-rules", "How Fenrun splits income"),
        ("statement-csv", "canonical income statement"),
        ("merkle", "how to check it yourself"),
        ("withholding", "Tax withheld on payments to creators"),
        ("exchange-rates", "how a line in another currency is converted"),
        ("payouts", "how money leaves Fenrun for the creator"),
        ("statements", "what an agency owes a creator for a month"),
        ("disputes", "a creator questions a line or a statement"),
        ("onboarding", "invitations, the roster and the team"),
        ("reports", "revenue by month, creator, platform and source"),
        ("contracts", "Drafting a contract"),
    ],
)
def test_each_document_is_served_to_anyone(name: str, heading: str) -> None:
    page = Client().get(reverse("splits:docs", kwargs={"name": name}))
    assert page.status_code == 200
    assert heading in page.content.decode()

    source = Client().get(reverse("splits:docs-source", kwargs={"name": name}))
    assert source.status_code == 200
    assert source["Content-Type"] == "text/plain; charset=utf-8"
    assert source.content.decode() == (DOCS / f"{name}.md").read_text(encoding="utf-8")


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["README", "settings", "..", "split_rules"])
def test_only_the_published_documents_are_served(name: str) -> None:
    assert Client().get(f"/splits/docs/{name}/").status_code == 404


def test_the_simulator_links_the_algorithm(db: None) -> None:
    page = web_as(UserFactory.create()).get(reverse("splits:simulator"))
    assert reverse("splits:docs", kwargs={"name": "split-rules"}) in page.content.decode()


def test_the_readme_links_the_documents_inside_the_repository() -> None:
    readme = (Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    assert "docs/split-rules.md" in readme
    assert "../shared/spec" not in readme


def test_the_split_rules_cover_every_part_of_the_algorithm() -> None:
    text = (DOCS / "split-rules.md").read_text(encoding="utf-8")
    for term in (
        "half_up",
        "allocate",
        "largest remainders",
        "INVALID_RULES",
        "NO_MATCHING_RULE",
        "EXPENSES_NOT_ALLOWED",
        "REFUND_EXCEEDS_ORIGINAL",
        "UNKNOWN_ORIGINAL",
        "CURRENCY_MISMATCH",
        "INVALID_AMOUNT",
        "min(line expenses, half_up(gross, cap_percent), max(rest, 0))",
        "marginal",
        "agency_cap",
        "recouped",
        "minimum_guarantee",
        "tier_period",
        "time zone",
    ):
        assert term in text, term


def test_the_worked_month_of_the_split_rules_is_what_the_engine_computes() -> None:
    # The rule set is the document's own example (section 3), without its minimum guarantee.
    text = (DOCS / "split-rules.md").read_text(encoding="utf-8")
    rules = json.loads(re.search(r"```json\n(\{\n  \"version\".*?)\n```", text, re.DOTALL).group(1))
    rules.pop("minimum_guarantee")
    moment = "2026-11-{:02d}T12:00:00+08:00".format
    result = simulate(
        {
            "rules": rules,
            "initial": {"advance_outstanding": "5000.00"},
            "lines": [
                {"id": "A", "source": "brand_deal", "platform": "douyin", "gross": "12000.00",
                 "expenses": "2500.00", "occurred_at": moment(3)},
                {"id": "B", "source": "live_gifts", "platform": "douyin", "gross": "3850.51",
                 "occurred_at": moment(9)},
                {"id": "C", "source": "brand_deal", "platform": "douyin", "gross": "120000.00",
                 "occurred_at": moment(15)},
                {"id": "D", "source": "brand_deal", "platform": "douyin", "gross": "-2000.00",
                 "refund_of": "A", "occurred_at": moment(22)},
                {"id": "E", "source": "brand_deal", "platform": "douyin", "gross": "500.00",
                 "occurred_at": moment(30)},
            ],
        }
    )  # fmt: skip
    lines = result["lines"]
    assert lines["A"]["deductions"] == {"platform_fee": "600.00", "expenses": "1800.00"}
    assert lines["A"]["payable"] == {"creator": "3360.00", "agency": "2880.00"}
    assert lines["B"]["shares"] == {"creator": "2310.31", "agency": "1540.20"}
    assert lines["B"]["recouped"] == "1155.16"
    assert lines["C"]["shares"] == {"creator": "88420.20", "agency": "25579.80"}
    assert lines["C"]["payable"]["creator"] == "87935.36"
    assert lines["D"]["deductions"] == {"platform_fee": "-100.00", "expenses": "-300.00"}
    assert lines["D"]["recouped"] == "-560.00"
    assert lines["E"]["shares"] == {"creator": "380.00", "agency": "95.00"}
    assert lines["E"]["recouped"] == "190.00"
    assert result["advance_outstanding"] == "370.00"
    # and the document quotes these figures
    for figure in ("1,800.00", "2,310.31", "1,155.16", "88,420.20", "25,579.80", "87,935.36", "370.00"):
        assert figure in text, figure
