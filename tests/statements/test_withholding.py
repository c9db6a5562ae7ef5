"""The statement prints the withholding computation of each payout of its month, as the payout
item recorded it: on the page, in both languages of the PDF, in the API and under the content hash.

October of the seeded world (tests/statements/conftest.py) is paid on 25 October, before it
closes, by a real four-eyes batch (prepared by finance A, approved by finance B):
* creator A (per payment) is owed 600.00 + 34,080.00 = 34,680.00. Expense 20 % = 6,936.00,
  taxable 27,744.00, band 30 % less 2,000.00: 8,323.20 − 2,000.00 = 6,323.20 tax, 28,356.80 net;
* creator A2 (cumulative, set in their tax profile) is owed 300.00 less the 150.00 that recoups the
  advance = 150.00: year to date 150.00, expense 30.00, allowance 5,000.00, taxable 0.00, tax 0.00.
"""

from __future__ import annotations

import datetime
import io
import re
from typing import Any

import pytest
from django.urls import reverse
from pypdf import PdfReader

from apps.payouts.models import PayoutItem
from apps.payouts.services import payout_batch_approve, payout_batch_prepare, tax_profile_set
from apps.recognition.period_close import period_close
from apps.statements.models import Statement
from apps.statements.selectors import (
    content_sha256,
    statement_content,
    statement_lines,
    statement_withholdings,
)
from apps.statements.services import statement_publish, statements_draft
from tests.conftest import api_as, web_as
from tests.factories import Role, member
from tests.payouts.conftest import give_payout_details
from tests.statements.conftest import MONTH

pytestmark = pytest.mark.django_db
PAYMENT_DAY = datetime.date(2026, 10, 25)


def _figures(section: str) -> dict[str, str]:
    """The computation's rows on the page: {figure name: the amount shown}."""
    rows = re.findall(r'data-figure="(\w+)".*?<td[^>]*class="money">([^<]*)</td>', section, re.DOTALL)
    return dict(rows)


@pytest.fixture
def paid_october(october_open: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    world = october_open
    give_payout_details(world.creator_a)
    give_payout_details(world.creator_a2)
    tax_profile_set(
        agency=world.agency_a, actor=world.finance_a, creator=world.creator_a2, method="cumulative"
    )
    # A batch pays in the agency's current month: the payouts app is told it is 25 October.
    monkeypatch.setattr("apps.payouts.services.agency_today", lambda agency: PAYMENT_DAY)
    batch = payout_batch_prepare(agency=world.agency_a, actor=world.finance_a)
    payout_batch_approve(batch=batch, actor=member(world.agency_a, Role.FINANCE))
    monkeypatch.undo()
    period_close(agency=world.agency_a, period=MONTH, actor=world.finance_a)
    statements_draft(agency=world.agency_a, period=MONTH, actor=world.finance_a)
    world.statement_a = Statement.objects.get(creator=world.creator_a, period=MONTH)
    world.statement_a2 = Statement.objects.get(creator=world.creator_a2, period=MONTH)
    return world


def test_the_page_shows_the_computation_of_each_payout_of_the_month(paid_october: Any) -> None:
    world = paid_october
    statement = world.statement_a
    assert statement.tax_minor == 6_323_20 and statement.payouts_minor == 28_356_80
    assert statement.closing_minor == 0

    page = (
        web_as(world.finance_a).get(reverse("statements:detail", args=[statement.public_id])).content.decode()
    )

    section = page[page.index('id="withholding"') : page.index('id="due"')]
    item = PayoutItem.objects.get(creator=world.creator_a)
    assert f'data-payout="{item.public_id}"' in section
    assert "Payout of 2026-10-25" in section and "Per payment" in section
    assert _figures(section) == {
        "month": "2026-10",
        "payout_gross": "¥34,680.00",
        "month_paid_before": "¥0.00",
        "gross": "¥34,680.00",
        "expense": "¥6,936.00",
        "taxable": "¥27,744.00",
        "rate": "30 %",
        "quick_deduction": "¥2,000.00",
        "tax": "¥6,323.20",
        "month_withheld_before": "¥0.00",
        "payout_tax": "¥6,323.20",
    }  # per payment: no year-to-date figures
    assert "Taxable income" in section and "Quick deduction" in section


def test_the_cumulative_method_shows_its_year_to_date_figures(paid_october: Any) -> None:
    world = paid_october
    statement_publish(statement=world.statement_a2, actor=world.finance_a)
    page = (
        web_as(world.creator_a2.user)
        .get(reverse("statements:detail", args=[world.statement_a2.public_id]))
        .content.decode()
    )
    section = page[page.index('id="withholding"') : page.index('id="due"')]
    assert "Cumulative" in section
    figures = _figures(section)
    assert {name: figures[name] for name in ("months_counted", "ytd_income", "ytd_expense")} == {
        "months_counted": "1",
        "ytd_income": "¥150.00",
        "ytd_expense": "¥30.00",
    }
    assert figures["ytd_allowance"] == "¥5,000.00" and figures["ytd_taxable"] == "¥0.00"
    assert figures["rate"] == "3 %" and figures["ytd_tax"] == "¥0.00" and figures["payout_tax"] == "¥0.00"
    assert figures["ytd_withheld"] == "¥0.00" and "expense" not in figures
    assert "Basic deduction, year to date (5,000.00 a month)" in section


def test_the_pdf_prints_the_computation_in_both_languages(
    paid_october: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = paid_october
    with django_capture_on_commit_callbacks(execute=True):
        published = statement_publish(statement=world.statement_a, actor=world.finance_a)

    response = web_as(world.creator_a.user).get(reverse("statements:pdf", args=[published.public_id]))
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)

    assert response.status_code == 200
    assert "Tax withheld: the computation of each payout" in text and "代扣税款" in text
    assert "Per payment (labour remuneration)" in text and "按次预扣" in text
    assert "Taxable income" in text and "应纳税所得额" in text and "27,744.00" in text
    assert "Quick deduction" in text and "速算扣除数" in text and "2,000.00" in text
    assert "减除费用" in text and "6,936.00" in text and "30 %" in text
    assert "本次预扣税额" in text and "6,323.20" in text
    assert "2026-10-25" in text


def test_the_content_hash_covers_the_recorded_computation(
    paid_october: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = paid_october
    with django_capture_on_commit_callbacks(execute=False):
        published = statement_publish(statement=world.statement_a, actor=world.finance_a)
    withholdings = statement_withholdings(statement=published)
    item = PayoutItem.objects.get(creator=world.creator_a)

    content = statement_content(
        statement=published, lines=statement_lines(statement=published), withholdings=withholdings
    )

    assert content["withholding"] == [{"payout": str(item.public_id), "computation": item.withholding}]
    assert content["withholding"][0]["computation"]["taxable"] == "27744.00"
    assert content_sha256(content) == published.content_sha256
    # Another computation would be another hash.
    content["withholding"][0]["computation"] = {**item.withholding, "taxable": "27745.00"}
    assert content_sha256(content) != published.content_sha256


def test_the_api_gives_the_computation(paid_october: Any) -> None:
    world = paid_october

    data = api_as(world.finance_a).get(f"/api/v1/statements/{world.statement_a.public_id}/").json()

    [payout] = data["withholding"]
    assert payout["paid_on"] == "2026-10-25" and payout["method"] == "per_payment"
    assert (payout["gross"], payout["tax"], payout["net"]) == ("34680.00", "6323.20", "28356.80")
    assert payout["computation"]["rate"] == "30" and payout["computation"]["quick_deduction"] == "2000.00"


def test_a_month_without_payouts_shows_no_computation(october: Any) -> None:
    world = october
    statements_draft(agency=world.agency_a, period=MONTH, actor=world.finance_a)
    statement = Statement.objects.get(creator=world.creator_a, period=MONTH)

    page = (
        web_as(world.finance_a).get(reverse("statements:detail", args=[statement.public_id])).content.decode()
    )

    assert statement.tax_minor == 0
    assert 'id="withholding"' not in page and statement_withholdings(statement=statement) == []
