"""A line's breakdown (issue 14): gross → each deduction → expenses → each tier portion → my share
→ recouped → payable, naming the clause and the contract version, with the ledger entry it is in;
recomputed from the same result as the explanation, never stored."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest

from apps.income.models import IncomeLine
from apps.recognition.breakdown import split_breakdown
from apps.recognition.models import LineAllocation
from apps.recognition.selectors import line_split
from apps.splits.engine import Evaluator, Line, parse_rule_set
from tests.conftest import api_as, web_as
from tests.income.history import creator_share
from tests.recognition.conftest import STATEFUL_RULES, two_creators_two_months
from tests.statements.conftest import october_open, statement_world

__all__ = ["october_open", "statement_world"]

pytestmark = pytest.mark.django_db


def _figures(split: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(row["kind"], row["label"], row["amount_minor"]) for row in split["breakdown"]]


def _adds_up(split: dict[str, Any], line: IncomeLine) -> None:
    """Gross less the deductions is what is left to split; the tier portions (and the cap) make
    my share; my share less what was recouped is payable: the allocation's creator payable."""
    rows = split["breakdown"]
    amount = {row["kind"]: row["amount_minor"] for row in rows}
    taken = sum(row["amount_minor"] for row in rows if row["kind"] in ("deduction", "expenses"))
    assert amount["gross"] + taken == amount["net"]
    portions = [row["amount_minor"] for row in rows if row["kind"] in ("portion", "cap")]
    if portions:
        assert sum(portions) == amount["share"]
    others = sum(row["amount_minor"] for row in rows if row["kind"] == "other_share")
    assert amount["share"] + others == amount["net"]
    assert amount["share"] + amount.get("recouped", 0) == amount["payable"] == creator_share(line)


def test_a_brand_deal_payment_from_gross_to_payable_with_its_clause(october_open: Any) -> None:
    line = IncomeLine.objects.get(external_id="P-1")
    allocation = LineAllocation.objects.get(pk=line.pk)

    split = line_split(line=line)

    assert _figures(split) == [
        ("gross", "Gross", 60_000_00),
        ("deduction", "Platform service fee", -3_000_00),
        ("expenses", "Approved production costs", -9_000_00),
        ("net", "Left to split", 48_000_00),
        ("portion", "Tier 1", 33_600_00),
        ("share", "My share", 33_600_00),
        ("other_share", "Share of agency", 14_400_00),
        ("payable", "Payable to me", 33_600_00),
    ]
    _adds_up(split, line)
    rows = {row["kind"]: row for row in split["breakdown"]}
    assert rows["deduction"]["detail"] == "5% of ¥60,000.00"
    assert "¥9,000.00 claimed, capped at 15% of gross (¥9,000.00)" in rows["expenses"]["detail"]
    assert rows["payable"]["amount"] == "33600.00"  # the API's decimal string
    assert split["clause"]["rule"] == "brand" and split["clause"]["label"] == "Brand deals"
    assert split["clause"]["contract_version"] is not None
    assert split["clause"]["version_number"] == 1
    assert split["proof"]["entry"] is not None and allocation.entry_id


def test_recoupment_and_a_refund_are_broken_down_too(october_open: Any) -> None:
    gift = IncomeLine.objects.get(external_id="B-10")  # A2: 60 %, half of it repays the advance
    refund = IncomeLine.objects.get(external_id="R-10")  # A: -200.00 of a 1,000.00 gift

    gift_split = line_split(line=gift)
    refund_split = line_split(line=refund)

    amounts = {row["kind"]: row["amount_minor"] for row in gift_split["breakdown"]}
    assert (amounts["share"], amounts["recouped"], amounts["payable"]) == (300_00, -150_00, 150_00)
    _adds_up(gift_split, gift)
    refund_rows = {row["kind"]: row for row in refund_split["breakdown"]}
    assert refund_rows["gross"]["amount_minor"] == -200_00 and "G-10" in refund_rows["gross"]["detail"]
    assert refund_rows["payable"]["amount_minor"] == -120_00
    _adds_up(refund_split, refund)


def test_tier_portions_and_the_agency_cap_under_stateful_rules(statement_world: Any) -> None:
    two_creators_two_months(statement_world, STATEFUL_RULES)
    kinds = {}
    for line in IncomeLine.objects.filter(allocation__isnull=False).order_by("occurred_at"):
        split = line_split(line=line)
        _adds_up(split, line)
        kinds[line.external_id] = [row["kind"] for row in split["breakdown"]]
    # A-6 (1,200.00 of "everything else" in November): 200.00 at 60 %, the rest above the tier.
    big = line_split(line=IncomeLine.objects.get(external_id="A-6"))
    portions = [row for row in big["breakdown"] if row["kind"] == "portion"]
    assert [row["label"] for row in portions] == ["Tier 1", "Tier 2"]
    assert [row["amount_minor"] for row in portions] == [120_00, 750_00]  # 60 % of 200, 75 % of 1,000
    assert "above ¥200.00 split 75/20/5" in portions[1]["detail"]
    assert kinds["A-2"].count("portion") == 2  # 300.00: the tier is crossed within the line


def test_the_agency_cap_moves_the_excess_to_my_share() -> None:
    """The engine alone (no database): a cap of 100.00 a month and a 1,000.00 gift, 5 % fee, 25 %
    to the agency: 237.50 would be the agency's; 137.50 of it moves to the creator."""
    rules = {**STATEFUL_RULES, "agency_cap": {"amount": "100.00", "period": "month"}}
    rule_set = parse_rule_set(rules)
    line = Line(
        id="douyin:G-1",
        source="live_gifts",
        platform="douyin",
        gross=1_000_00,
        occurred_at=datetime.datetime(2026, 10, 3, 10, tzinfo=datetime.UTC),
        currency="CNY",
    )

    rows = split_breakdown(Evaluator(rule_set).evaluate(line), rule_set)

    amount = {row.kind: row.amount_minor for row in rows}
    assert amount["cap"] == 137_50 and amount["portion"] == 665_00  # 70 % of 950.00
    assert amount["share"] == amount["payable"] == 802_50
    assert "capped at ¥100.00 for 2026-10" in next(row.detail for row in rows if row.kind == "cap")


def test_the_line_page_shows_the_breakdown_the_version_and_the_entry(october_open: Any) -> None:
    world = october_open
    line = IncomeLine.objects.get(external_id="P-1")
    split = line_split(line=line)

    mine = web_as(world.creator_a.user).get(f"/income/lines/{line.public_id}/").content.decode()
    agency = web_as(world.manager_a).get(f"/income/lines/{line.public_id}/").content.decode()

    table = re.search(r'<table id="breakdown-figures">.*?</table>', mine, re.S).group(0)
    for label, amount in (
        ("Gross", "¥60,000.00"),
        ("Platform service fee", "-¥3,000.00"),
        ("Payable to me", "¥33,600.00"),
    ):
        assert label in table and amount in table
    assert f"/contracts/v/{split['clause']['contract_version']}/" in mine
    assert f"/api/v1/ledger/entries/{split['proof']['entry']}/" in mine
    assert "Brand deals" in mine
    # The agency reads the same figures about the creator, not as "me".
    assert "Payable to the creator" in agency and "Payable to me" not in agency
    # The entry the page links to is one the creator may open (it touches their payable).
    entry = web_as(world.creator_a.user).get(f"/api/v1/ledger/entries/{split['proof']['entry']}/")
    assert entry.status_code == 200
    # The API's line detail carries the same figures and clause.
    api = api_as(world.creator_a.user).get(f"/api/v1/income/lines/{line.public_id}/").json()["split"]
    assert api["breakdown"][-1] == {**split["breakdown"][-1], "label": "Payable to me"}
    assert api["breakdown"][-1]["amount"] == "33600.00" and api["clause"]["rule"] == "brand"
