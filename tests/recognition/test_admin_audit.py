"""Staff audit a split in Django admin as the design card asks: from an income line to its journal
entry, postings, contract version and rule set snapshot (links, not numbers) and the explanation as
sentences; from the entry back to its lines; nothing can be changed there, and the people and
accounts money names cannot be bulk-deleted."""

from __future__ import annotations

import html
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.urls import reverse

from apps.income.models import IncomeLine, StatementImport
from apps.recognition.models import LineAllocation

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(recognised: Any) -> Client:
    TOTP.activate(recognised.staff, "JBSWY3DPEHPK3PXP")
    recognised.staff.is_superuser = True
    recognised.staff.save()
    client = Client()
    client.force_login(recognised.staff)
    return client


def test_from_a_line_to_its_entry_postings_contract_rule_set_and_explanation(staff: Client) -> None:
    line = IncomeLine.objects.get(external_id="A-4")
    allocation = LineAllocation.objects.get(line=line)
    page = html.unescape(
        staff.get(reverse("admin:income_incomeline_change", args=[line.pk])).content.decode()
    )

    assert reverse("admin:ledger_journalentry_change", args=[allocation.entry_id]) in page
    assert reverse("admin:ledger_posting_changelist") + f"?entry__id__exact={allocation.entry_id}" in page
    assert reverse("admin:contracts_contractversion_change", args=[allocation.contract_version_id]) in page
    assert reverse("admin:recognition_rulesetsnapshot_change", args=[allocation.rule_set_id]) in page
    # The explanation as the creator reads it: sentences naming the rule, not the trace's JSON.
    assert "Rule “Live gifts” applies" in page
    assert "recomputed, matches the stored allocation" in page
    assert "Merkle proof verified" in page
    assert '"trace"' not in page
    assert 'name="_save"' not in page  # read-only

    postings = staff.get(
        reverse("admin:ledger_posting_changelist") + f"?entry__id__exact={allocation.entry_id}"
    )
    assert postings.status_code == 200


def test_from_an_entry_back_to_the_lines_it_covers(staff: Client) -> None:
    line = IncomeLine.objects.get(external_id="A-4")
    allocation = LineAllocation.objects.get(line=line)
    covered = set(
        LineAllocation.objects.filter(entry_id=allocation.entry_id).values_list("line_id", flat=True)
    )
    page = staff.get(reverse("admin:ledger_journalentry_change", args=[allocation.entry_id])).content.decode()

    for line_id in covered:
        assert reverse("admin:income_incomeline_change", args=[line_id]) in page
    others = LineAllocation.objects.exclude(entry_id=allocation.entry_id).values_list("line_id", flat=True)
    for line_id in others:
        assert reverse("admin:income_incomeline_change", args=[line_id]) not in page


def test_an_import_links_to_its_lines_and_nothing_changes_in_admin(staff: Client) -> None:
    statement_import = StatementImport.objects.get()
    page = html.unescape(
        staff.get(reverse("admin:income_statementimport_change", args=[statement_import.pk])).content.decode()
    )
    lines_url = (
        reverse("admin:income_incomeline_changelist") + f"?statement_import__id__exact={statement_import.pk}"
    )
    assert lines_url in page
    listed = staff.get(lines_url)
    assert listed.status_code == 200
    assert "A-4" in listed.content.decode()

    line = IncomeLine.objects.get(external_id="A-4")
    for url in (
        reverse("admin:income_incomeline_add"),
        reverse("admin:income_incomeline_delete", args=[line.pk]),
        reverse("admin:income_statementimport_delete", args=[statement_import.pk]),
    ):
        assert staff.get(url).status_code == 403, url
    assert (
        staff.post(reverse("admin:income_incomeline_change", args=[line.pk]), {"gross_minor": 1}).status_code
        == 403
    )
    assert IncomeLine.objects.get(pk=line.pk).gross_minor == 80001


@pytest.mark.parametrize(
    "model",
    ["creators_creator", "creators_platformaccount", "agencies_membership", "agencies_representation"],
)
def test_people_and_accounts_money_names_are_not_bulk_deletable(staff: Client, model: str) -> None:
    page = staff.get(reverse(f"admin:{model}_changelist")).content.decode()
    assert "delete_selected" not in page
