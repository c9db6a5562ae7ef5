"""Hypothesis: for any batches of balanced entries, balances sum to zero per currency and equal the postings."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.ledger.models import Account, AccountBalance, AccountPeriodBalance, Posting
from apps.ledger.services import EntryDraft, PostingSpec, ledger_account_get_or_create, ledger_post_many
from tests.ledger.conftest import DAY, Kind

pytestmark = pytest.mark.django_db
_keys = itertools.count()

amounts = st.integers(min_value=-(10**12), max_value=10**12).filter(lambda amount: amount != 0)
entry_shape = st.lists(st.tuples(st.integers(min_value=0, max_value=5), amounts), min_size=1, max_size=5)


def _accounts(world: Any) -> list[Account]:
    purposes = [Account.Purpose.BANK, Account.Purpose.INCOME_CLEARING, Account.Purpose.AGENCY_REVENUE]
    return [
        ledger_account_get_or_create(agency=world.agency_a, purpose=purpose, currency=currency)
        for currency in ("CNY", "USD")
        for purpose in purposes
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(entry_shape, min_size=1, max_size=8), bulk=st.booleans(), day=st.integers(1, 60))
def test_balances_are_zero_sum_per_currency_and_equal_the_postings(
    world: Any, batch: list[list[tuple[int, int]]], bulk: bool, day: int
) -> None:
    accounts = _accounts(world)
    drafts = []
    for shape in batch:
        postings = [PostingSpec(accounts[index], amount) for index, amount in shape]
        # Balance each currency on its bank account (index 0 for CNY, 3 for USD).
        for currency, bank in (("CNY", accounts[0]), ("USD", accounts[3])):
            total = sum(
                spec.amount_minor
                for spec in postings
                if accounts[accounts.index(spec.account)].currency == currency
            )
            if total:
                postings.append(PostingSpec(bank, -total))
        if len(postings) < 2:
            continue  # a lone posting that balanced itself cannot exist (it is non-zero)
        drafts.append(
            EntryDraft(
                idempotency_key=f"prop-{next(_keys)}",
                kind=Kind.MANUAL_ADJUSTMENT,
                reason="property test",
                author_id=world.owner_a.pk,
                effective_date=DAY.replace(month=1 + day % 12, day=1 + day % 28),
                postings=postings,
            )
        )

    ledger_post_many(agency=world.agency_a, drafts=drafts, bulk=bulk)

    per_currency: dict[str, int] = defaultdict(int)
    for balance in AccountBalance.objects.all():
        per_currency[balance.currency] += balance.balance_minor
        posted = Posting.objects.filter(account_id=balance.account_id).aggregate(total=Sum("amount_minor"))[
            "total"
        ]
        assert balance.balance_minor == posted
        months = AccountPeriodBalance.objects.filter(account_id=balance.account_id).aggregate(
            total=Sum("net_minor")
        )
        assert months["total"] == posted
    assert all(total == 0 for total in per_currency.values())
