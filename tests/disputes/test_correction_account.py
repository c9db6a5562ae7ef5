"""A dispute resolved with money posts to the agency's own dispute corrections account (issue 14):
the entry names the dispute, the dispute page links to the entry's postings, the month report
counts it as a correction beside the splits, and the ledger still verifies."""

from __future__ import annotations

import re
from typing import Any

from django.utils import timezone

from apps.disputes.services import dispute_resolve
from apps.ledger.models import Account, AccountPeriodBalance, JournalEntry
from apps.ledger.verification import ledger_verify_agency
from apps.reports.selectors import ReportPeriod, revenue_report
from tests.conftest import api_as, web_as
from tests.disputes.conftest import line_world, open_dispute, payable

__all__ = ["line_world"]


def test_the_correction_posts_to_the_dispute_corrections_account_and_explains_itself(line_world: Any) -> None:
    world = line_world
    dispute = open_dispute(world)

    dispute_resolve(
        dispute=dispute, actor=world.finance_a, note="70 % since version 2.", correction_minor=120_00
    )
    dispute.refresh_from_db()
    entry = JournalEntry.objects.get(pk=dispute.correction_entry_id)
    postings = {
        (posting.account.purpose, posting.account.key, posting.account.creator_id): posting.amount_minor
        for posting in entry.postings.select_related("account")
    }

    # The agency bears it on an account of its own, not on the revenue its splits post to.
    assert postings == {
        (Account.Purpose.DISPUTE_CORRECTION, "", None): 120_00,
        (Account.Purpose.CREATOR_PAYABLE, "", world.creator_a.pk): -120_00,
    }
    assert payable(world.creator_a) == 600_00 + 120_00
    assert entry.cause_reference == f"dispute:{dispute.public_id}" and entry.reason == "70 % since version 2."
    corrections = Account.objects.get(agency=world.agency_a, purpose=Account.Purpose.DISPUTE_CORRECTION)
    assert str(corrections) == "Dispute corrections (CNY)" and corrections.normal_sign == 1

    # Both sides follow the dispute page to the entry's postings.
    for user in (world.creator_a.user, world.finance_a):
        page = web_as(user).get(f"/disputes/{dispute.public_id}/").content.decode()
        link = re.search(r'id="dispute-correction-entry" href="([^"]+)"', page).group(1)
        assert link == f"/api/v1/ledger/entries/{entry.public_id}/"
        body = api_as(user).get(link).json()
        assert body["cause_reference"] == f"dispute:{dispute.public_id}"

    # The month report: a correction of -120.00 beside an unchanged revenue from the splits.
    month = timezone.localdate().strftime("%Y-%m")
    report = revenue_report(
        actor=world.finance_a, agency=world.agency_a, group="month", period=ReportPeriod("2026-11", month)
    )
    (row,) = [row for row in report.rows if row.key == entry.effective_date.strftime("%Y-%m")]
    assert row.ledger.corrections_minor == -120_00
    assert row.ledger.agency_total_minor == row.ledger.agency_minor - 120_00
    assert AccountPeriodBalance.objects.get(account=corrections).net_minor == 120_00

    # Nothing the ledger checks changed: the chain, the sums, the balances.
    assert ledger_verify_agency(world.agency_a).problems == []
