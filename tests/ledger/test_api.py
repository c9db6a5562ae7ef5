"""The ledger API and admin: tenant-scoped reads, cursor pages, and an admin that cannot write."""

from __future__ import annotations

from typing import Any

import pytest

from apps.ledger.models import JournalEntry
from apps.ledger.services import PostingSpec, ledger_post
from tests.conftest import api_as, web_as
from tests.ledger.conftest import DAY, Books, Kind, advance, receive
from tests.ledger.test_verify import seed

pytestmark = pytest.mark.django_db
ENTRIES = "/api/v1/ledger/entries/"
BALANCES = "/api/v1/ledger/balances/"


def _entry_b(books: Books) -> JournalEntry:
    return ledger_post(
        agency=books.world.agency_b,
        idempotency_key="b1",
        kind=Kind.INCOME_LINE,
        effective_date=DAY,
        postings=[PostingSpec(books.bank_b, 5), PostingSpec(books.clearing_b, -5)],
    )


def test_agency_members_see_their_ledger_and_not_another(
    books: Books, django_assert_max_num_queries: Any
) -> None:
    seed(books)
    entry_b = _entry_b(books)
    for user in (books.world.owner_a, books.world.viewer_a, books.world.finance_a):
        client = api_as(user)
        with django_assert_max_num_queries(8):
            response = client.get(ENTRIES)
        assert response.status_code == 200
        seen = {row["public_id"] for row in response.json()["results"]}
        assert len(seen) == 8 and str(entry_b.public_id) not in seen
        assert client.get(f"{ENTRIES}{entry_b.public_id}/").status_code == 404


def test_a_creator_sees_only_entries_and_postings_on_their_own_accounts(books: Books) -> None:
    entries = seed(books)
    creator_user = books.world.creator_a.user

    response = api_as(creator_user).get(ENTRIES)

    assert response.status_code == 200
    rows = response.json()["results"]
    # The advance and the four creator entries touch creator A's accounts; the plain receipts do not.
    assert {row["idempotency_key"] for row in rows} == {
        "adv1",
        "income:L1",
        "income:L2",
        "income:L3",
        "income:R1",
    }
    for row in rows:
        assert {posting["account"]["creator"] for posting in row["postings"]} == {
            str(books.world.creator_a.public_id)
        }
    assert api_as(creator_user).get(f"{ENTRIES}{entries['income'].public_id}/").status_code == 404
    # Another creator of the same agency sees none of it.
    assert api_as(books.world.creator_a2.user).get(ENTRIES).json()["results"] == []


def test_outsiders_and_anonymous_see_nothing(books: Books, api: Any) -> None:
    entry = receive(books, 100, key="s1")

    assert api_as(books.world.owner_b).get(f"{ENTRIES}{entry.public_id}/").status_code == 404
    assert api_as(books.world.loner.user).get(ENTRIES).json()["results"] == []
    assert api.get(ENTRIES).status_code in (401, 403)


def test_entries_are_cursor_paginated_and_filterable(books: Books) -> None:
    for number in range(5):
        receive(books, 100 + number, key=f"s{number}")
    advance(books, 10, key="adv1")
    client = api_as(books.world.owner_a)

    first = client.get(ENTRIES, {"page_size": 4}).json()
    second = client.get(first["next"]).json()

    keys = [row["idempotency_key"] for row in first["results"] + second["results"]]
    assert keys == ["adv1", "s4", "s3", "s2", "s1", "s0"]
    by_creator = client.get(ENTRIES, {"creator": str(books.world.creator_a.public_id)}).json()["results"]
    assert [row["idempotency_key"] for row in by_creator] == ["adv1"]
    by_account = client.get(ENTRIES, {"account": str(books.clearing.public_id), "period": "2026-03"}).json()
    assert len(by_account["results"]) == 5
    assert client.get(ENTRIES, {"period": "2026-04"}).json()["results"] == []
    bad = client.get(ENTRIES, {"period": "March"})
    assert bad.status_code == 400 and bad["Content-Type"].startswith("application/problem+json")


def test_balances_and_monthly_totals_are_scoped(books: Books) -> None:
    seed(books)
    _entry_b(books)
    creator_user = books.world.creator_a.user

    mine = api_as(creator_user).get(BALANCES).json()["results"]
    months = api_as(creator_user).get(BALANCES, {"period": "2026-03"}).json()["results"]
    agency = (
        api_as(books.world.owner_a)
        .get(BALANCES, {"agency": str(books.world.agency_b.public_id)})
        .json()["results"]
    )

    assert {row["account"]["purpose"] for row in mine} == {"creator_payable", "advances_receivable"}
    payable = next(row for row in months if row["account"]["purpose"] == "creator_payable")
    assert payable["period"] == "2026-03" and payable["credit"].count(".") == 1
    assert agency == []  # agency A's owner asking for agency B's balances gets nothing


def test_admin_is_read_only(books: Books) -> None:
    entry = seed(books)["L1"]
    staff = books.world.staff
    staff.is_superuser = True  # every permission the admin could grant; still no writes
    staff.save(update_fields=["is_superuser"])
    client = web_as(staff)

    page = client.get(f"/admin/ledger/journalentry/{entry.pk}/change/")
    listing = client.get("/admin/ledger/journalentry/")

    assert page.status_code == 200
    body = page.content.decode()
    assert "platform_fee" in body and "income:L1" in body and entry.lines_root in body
    assert "Save" not in body and "deletelink" not in body
    assert client.get("/admin/ledger/journalentry/add/").status_code == 403
    assert client.post(f"/admin/ledger/journalentry/{entry.pk}/delete/").status_code == 403
    assert "delete_selected" not in listing.content.decode()
