"""A dispute about a published statement (the entry point the statement page links to):
the seeded October of tests/statements/conftest.py, closed and published."""

from __future__ import annotations

from typing import Any

import pytest

from apps.disputes.models import Dispute
from apps.statements.models import Statement
from apps.statements.services import statement_publish, statements_draft
from tests.conftest import api_as, web_as
from tests.disputes.conftest import payable, pdf
from tests.statements.conftest import october, october_open

__all__ = ["october", "october_open"]
pytestmark = pytest.mark.django_db


def test_a_creator_disputes_a_published_statement_and_gets_a_correction(
    october: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = october
    statements_draft(agency=world.agency_a, period=world.month, actor=world.finance_a)
    statement = Statement.objects.get(creator=world.creator_a)
    url = f"/disputes/open/statement/{statement.public_id}/"
    # A draft is not the creator's to see, so not theirs to dispute.
    assert web_as(world.creator_a.user).get(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=False):
        statement = statement_publish(statement=statement, actor=world.finance_a)
    before = payable(world.creator_a)

    creator = web_as(world.creator_a.user)
    # The statement page offers the creator (only) the way in.
    statement_page = f"/statements/{statement.public_id}/"
    assert f'href="{url}"' in creator.get(statement_page).content.decode()
    assert f'href="{url}"' not in web_as(world.owner_a).get(statement_page).content.decode()
    form = creator.get(url)
    assert form.status_code == 200
    assert f"About statement No. {statement.number} for 2026-10 from Agency A." in form.content.decode()
    opened = creator.post(url, {"message": "The refund was counted twice.", "attachments": [pdf()]})
    assert opened.status_code == 302, opened.content.decode()
    dispute = Dispute.objects.get(statement=statement)
    assert (dispute.income_line_id, dispute.currency, dispute.creator_id) == (None, "CNY", world.creator_a.pk)
    # The agency sees the statement but it is not theirs to dispute; creator A2 does not see it at all.
    assert web_as(world.owner_a).get(url).status_code == 403
    assert web_as(world.creator_a2.user).get(url).status_code == 404

    resolved = api_as(world.finance_a).post(
        f"/api/v1/disputes/{dispute.public_id}/resolve/",
        {"note": "Refund counted twice: 120.00 back.", "amount": "120.00"},
        format="json",
    )
    assert resolved.status_code == 200, resolved.content
    assert resolved.json()["statement"] == str(statement.public_id)
    assert resolved.json()["about"] == f"statement No. {statement.number} for 2026-10"
    assert payable(world.creator_a) == before + 120_00
    statement.refresh_from_db()
    assert statement.closing_minor == 34_680_00  # a published statement never changes
