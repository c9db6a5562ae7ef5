"""The quarter's income per creator for the platform tax-information report (CSV), checked
against the ledger.

The third quarter of 2026 of agency A, through the real services:
* creator A (built-in contract: brand deals 5 % fee then 70 %, everything else 60 %):
  live gifts 1,000.00 → 600.00 in July, platform revenue share 2,000.00 → 1,200.00 in August,
  a 10,000.00 brand payment → 70 % × 9,500.00 = 6,650.00 in August, e-commerce commission
  500.00 → 300.00 in September, and the refund of 200.00 of July's gifts → −120.00. Gross
  8,750.00, refunds 120.00, net 8,630.00. A June line (400.00 → 240.00) and an October one are
  outside the quarter. Paid on 25 September, per payment, the whole balance of 8,870.00: expense
  20 % = 1,774.00, taxable 7,096.00 × 20 % = 1,419.20 withheld.
* creator A2 (60 %, a studio that invoices: method none, an invoice note starting with "="):
  live gifts 500.00 → 300.00 in August, paid without tax.
"""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any

import pytest
from django.db.models import Q, Sum
from django.urls import reverse

from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.deals.services import deal_create
from apps.ledger.models import Account, JournalEntry, Posting
from apps.payouts.services import payout_batch_approve, payout_batch_prepare, tax_profile_set
from apps.recognition.period_close import period_close
from apps.statements.csv_export import QUARTER_COLUMNS, quarter_income_csv
from apps.statements.selectors import quarter_income, quarter_parse
from tests.conftest import api_as, web_as
from tests.contracts.conftest import active_contract
from tests.factories import Role, member
from tests.income.conftest import SIMPLE_RULES, sign_contract
from tests.payouts.conftest import give_payout_details
from tests.statements.conftest import import_rows

pytestmark = pytest.mark.django_db
Purpose = Account.Purpose
Kind = JournalEntry.Kind
FIRST, LAST = datetime.date(2026, 7, 1), datetime.date(2026, 9, 30)
NOTE = '=HYPERLINK("http://evil","Studio A2")'


@pytest.fixture
def third_quarter(statement_world: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    world = statement_world
    active_contract(world)
    sign_contract(world, world.creator_a2, ["bilibili"], SIMPLE_RULES)
    deal_create(
        actor=world.manager_a,
        agency=world.agency_a,
        creator=world.creator_a,
        brand="Tea Co",
        platform="douyin",
        fee_minor=10_000_00,
        currency="CNY",
        due_on=datetime.date(2026, 8, 30),
        order_ref="XT-100",
    )
    import_rows(
        world,
        "q3.csv",
        "J-6,2026-06-15T10:00:00+08:00,douyin,dy_a,live_gifts,400.00,CNY,,,June",
        "G-7,2026-07-10T10:00:00+08:00,douyin,dy_a,live_gifts,1000.00,CNY,,,July gifts",
        "S-8,2026-08-05T10:00:00+08:00,douyin,dy_a,platform_revenue_share,2000.00,CNY,,,Ad share",
        "P-8,2026-08-20T10:00:00+08:00,douyin,dy_a,brand_deal,10000.00,CNY,XT-100,,Tea Co video",
        "B-8,2026-08-10T10:00:00+08:00,bilibili,bl_552,live_gifts,500.00,CNY,,,Live gifts",
        "E-9,2026-09-12T10:00:00+08:00,douyin,dy_a,ecommerce_commission,500.00,CNY,,,Shop",
        "R-9,2026-09-20T10:00:00+08:00,douyin,dy_a,live_gifts,-200.00,CNY,,G-7,Refund",
    )
    for month in ("2026-06", "2026-07", "2026-08"):
        period_close(agency=world.agency_a, period=month, actor=world.finance_a)
    give_payout_details(world.creator_a)
    give_payout_details(world.creator_a2)
    tax_profile_set(
        agency=world.agency_a,
        actor=world.finance_a,
        creator=world.creator_a2,
        method="none",
        invoice_note=NOTE,
    )
    # A batch pays in the agency's current month: the payouts app is told it is 25 September.
    monkeypatch.setattr("apps.payouts.services.agency_today", lambda agency: datetime.date(2026, 9, 25))
    batch = payout_batch_prepare(agency=world.agency_a, actor=world.finance_a)
    payout_batch_approve(batch=batch, actor=member(world.agency_a, Role.FINANCE))
    monkeypatch.undo()
    import_rows(
        world, "october.csv", "O-10,2026-10-02T10:00:00+08:00,douyin,dy_a,live_gifts,300.00,CNY,,,October"
    )
    period_close(agency=world.agency_a, period="2026-09", actor=world.finance_a)
    return world


def _ledger(creator: Any, **filters: Any) -> int:
    """The quarter's postings about `creator`, summed with the ORM (independently of the report)."""
    about = Q(account__creator=creator) | Q(account__creator__isnull=True, entry__creator=creator)
    total = Posting.objects.filter(
        about, entry__agency__name="Agency A", entry__effective_date__range=(FIRST, LAST), **filters
    ).aggregate(total=Sum("amount_minor"))["total"]
    return int(total or 0)


def _csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_one_row_per_creator_with_income_by_category_gross_refunds_net_and_tax(third_quarter: Any) -> None:
    world = third_quarter
    quarter = quarter_parse(year="2026", quarter="3")

    rows = quarter_income(actor=world.finance_a, agency=world.agency_a, quarter=quarter)
    by_name = {row["display_name"]: row for row in _csv(quarter_income_csv(quarter=quarter, rows=rows))}

    a, a2 = by_name["Creator A"], by_name["Creator A2"]
    assert set(by_name) == {"Creator A", "Creator A2"}
    assert a["quarter"] == "2026-Q3" and a["legal_name"] == "Creator A legal"
    assert a["creator_id"] == str(world.creator_a.public_id) and a["withholding_method"] == "per_payment"
    assert (
        a["income_brand_deal"],
        a["income_platform_revenue_share"],
        a["income_live_gifts"],
        a["income_ecommerce_commission"],
        a["income_other"],
    ) == ("6650.00", "1200.00", "600.00", "300.00", "0.00")
    assert (a["gross_income"], a["refunds"], a["net_income"], a["tax_withheld"]) == (
        "8750.00",
        "120.00",
        "8630.00",
        "1419.20",
    )
    assert a["line_count"] == "5"  # June's and October's lines are outside the quarter
    assert (a2["income_live_gifts"], a2["net_income"], a2["tax_withheld"]) == ("300.00", "300.00", "0.00")
    assert a2["withholding_method"] == "none"
    assert a2["invoice_note"] == "'" + NOTE  # a spreadsheet reads it as text, not a formula
    assert list(by_name["Creator A"]) == list(QUARTER_COLUMNS)


def test_the_figures_are_the_ledgers(third_quarter: Any, django_assert_max_num_queries: Any) -> None:
    world = third_quarter

    # Set-based: a fixed number of queries whatever the number of creators or lines (the role,
    # the closed months, the rule pairs and their snapshots, one aggregate, the two ledger
    # groupings, the creators, their tax profiles).
    with django_assert_max_num_queries(11):
        rows = quarter_income(
            actor=world.finance_a, agency=world.agency_a, quarter=quarter_parse(year=2026, quarter=3)
        )

    assert len(rows) == 2
    for row in rows:
        creator = world.creator_a if row.creator_id == world.creator_a.pk else world.creator_a2
        # Net income: the creator payable credits of the quarter's income and refund entries.
        assert row.net_minor == -_ledger(
            creator, entry__kind__in=[Kind.INCOME_LINE, Kind.REFUND], account__purpose=Purpose.CREATOR_PAYABLE
        )
        assert row.net_minor == sum(row.by_source_minor.values()) - row.refunds_minor
        # Tax: the tax withholding payable credits of the quarter's payout entries.
        assert row.tax_withheld_minor == -_ledger(
            creator, entry__kind=Kind.PAYOUT, account__purpose=Purpose.TAX_WITHHOLDING_PAYABLE
        )
    assert rows[0].tax_withheld_minor + rows[1].tax_withheld_minor == 1_419_20


def test_finance_downloads_it_from_the_statements_page_and_the_api(third_quarter: Any) -> None:
    world = third_quarter
    params = {"agency": str(world.agency_a.public_id), "year": "2026", "quarter": "3"}

    page = web_as(world.finance_a).get(reverse("statements:list")).content.decode()
    download = web_as(world.finance_a).get(reverse("statements:quarter_report"), params)
    api = api_as(world.owner_a).get("/api/v1/statements/quarter-report/", params)

    assert 'id="quarter-report-form"' in page and 'name="quarter"' in page
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert 'filename="income-2026-Q3.csv"' in download["Content-Disposition"]
    assert api.status_code == 200 and api.content == download.content
    assert {row["net_income"] for row in _csv(api.content)} == {"8630.00", "300.00"}


def test_an_open_quarter_a_bad_quarter_and_other_roles_are_refused(third_quarter: Any) -> None:
    world = third_quarter

    with pytest.raises(ApplicationError) as still_open:
        quarter_income(
            actor=world.finance_a, agency=world.agency_a, quarter=quarter_parse(year=2026, quarter=4)
        )
    with pytest.raises(ApplicationError) as bad:
        quarter_parse(year="2026", quarter="5")
    with pytest.raises(PermissionDenied):
        quarter_income(
            actor=world.manager_a, agency=world.agency_a, quarter=quarter_parse(year=2026, quarter=3)
        )
    with pytest.raises(NotFound):
        quarter_income(
            actor=world.owner_b, agency=world.agency_a, quarter=quarter_parse(year=2026, quarter=3)
        )

    assert still_open.value.code == "period_open" and "2026-10, 2026-11, 2026-12" in still_open.value.message
    assert bad.value.code == "invalid_quarter"
    params = {"agency": str(world.agency_a.public_id), "year": "2026", "quarter": "3"}
    manager_page = web_as(world.manager_a).get(reverse("statements:list")).content.decode()
    assert 'id="quarter-report-form"' not in manager_page
    assert web_as(world.manager_a).get(reverse("statements:quarter_report"), params).status_code == 403
    assert web_as(world.owner_b).get(reverse("statements:quarter_report"), params).status_code == 404
    page = web_as(world.finance_a).get(reverse("statements:quarter_report"), {**params, "quarter": "4"})
    assert page.status_code == 400 and "close 2026-10" in page.content.decode()
    api = api_as(world.finance_a)
    assert api.get("/api/v1/statements/quarter-report/", {**params, "quarter": "Q9"}).status_code == 400
    assert api.get("/api/v1/statements/quarter-report/", {**params, "quarter": "4"}).status_code == 400
    assert api_as(world.viewer_a).get("/api/v1/statements/quarter-report/", params).status_code == 403


def test_the_api_is_in_the_schema(world: Any) -> None:
    schema = api_as(world.owner_a).get("/api/schema/", {"format": "json"}).json()
    assert (
        "text/csv"
        in schema["paths"]["/api/v1/statements/quarter-report/"]["get"]["responses"]["200"]["content"]
    )
