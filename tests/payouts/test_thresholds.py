"""Each creator's payout threshold comes from their contract in force on the payment day: a batch
pays a creator whose net after tax reaches it, 100.00 for a creator without a contract; the
thresholds are joined into the one balance query (the query count does not grow with creators)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.agencies.time import agency_today
from apps.common.exceptions import ApplicationError
from apps.contracts.models import ContractVersion
from apps.payouts.models import PayoutBatch
from apps.payouts.services import DEFAULT_THRESHOLD_MINOR, payout_batch_cancel, payout_batch_prepare
from tests.contracts.conftest import active_contract
from tests.payouts.conftest import Payouts

pytestmark = pytest.mark.django_db


def _contract(payouts: Payouts, creator, threshold_minor: int, *, platforms=None, start=None, end=None):  # type: ignore[no-untyped-def]
    """A contract signed by both, in force from a month ago for a year unless told otherwise."""
    today = agency_today(payouts.agency)
    return active_contract(
        payouts.world,
        creator=creator,
        payout_threshold_minor=threshold_minor,
        platforms=platforms or ["douyin"],
        start_date=start or today - datetime.timedelta(days=30),
        end_date=end or today + datetime.timedelta(days=365),
    )


def _prepare(payouts: Payouts) -> PayoutBatch:
    return payout_batch_prepare(agency=payouts.agency, actor=payouts.world.finance_a)


def _paid(batch: PayoutBatch) -> dict[str, int]:
    return {item.creator.display_name: item.net_minor for item in batch.items.select_related("creator")}


def test_each_creator_is_paid_from_their_own_contracts_threshold(payouts: Payouts) -> None:
    world = payouts.world
    high, low = world.creator_a, world.creator_a2
    _contract(payouts, high, 100_000)  # 1,000.00
    _contract(payouts, low, 5_000, platforms=["bilibili"])  # 50.00: below the default
    no_contract = payouts.new_creator("No Contract")
    # Small amounts withhold no tax (per_payment: up to 800.00 is expense), so net = owed.
    payouts.owe(high, 80_000, key="high")  # 800.00 < 1,000.00: waits
    payouts.owe(low, 6_000, key="low")  # 60.00 >= 50.00: paid, though under 100.00
    payouts.owe(no_contract, 9_999, key="none")  # 99.99 < the default 100.00: waits

    batch = _prepare(payouts)

    assert _paid(batch) == {"Creator A2": 6_000}
    assert batch.threshold_minor == DEFAULT_THRESHOLD_MINOR  # the default, for creators without one
    assert payouts.owed(high) == 80_000  # untouched, for a later batch


def test_a_creator_above_their_contracts_threshold_is_paid(payouts: Payouts) -> None:
    world = payouts.world
    _contract(payouts, world.creator_a, 100_000)
    payouts.owe(world.creator_a, 100_000, key="a")  # 1,000.00 gross; tax 40.00 → net 960.00 < 1,000.00
    payouts.owe(world.creator_a2, 10_000, key="a2")  # no contract: 100.00, paid

    assert _paid(_prepare(payouts)) == {"Creator A2": 10_000}

    payout_batch_cancel(batch=PayoutBatch.objects.get(), actor=world.finance_a)
    payouts.owe(world.creator_a, 20_000, key="a-more")  # 1,200.00 gross; tax 80.00 → net 1,120.00
    assert _paid(_prepare(payouts)) == {"Creator A": 112_000, "Creator A2": 10_000}


def test_a_contract_not_in_force_on_the_payment_day_leaves_the_default(payouts: Payouts) -> None:
    world = payouts.world
    today = agency_today(payouts.agency)
    # Signed, but it starts next week: today the creator has no contract in force.
    _contract(payouts, world.creator_a, 100_000, start=today + datetime.timedelta(days=7))
    payouts.owe(world.creator_a, 20_000, key="a")  # 200.00 >= 100.00

    assert _paid(_prepare(payouts)) == {"Creator A": 20_000}


def test_a_contract_in_another_currency_does_not_set_the_threshold(payouts: Payouts) -> None:
    world = payouts.world
    version = _contract(payouts, world.creator_a, 5_000)
    # A version in USD: its 50.00 is dollars, not yuan, so the default applies.
    ContractVersion.objects.filter(pk=version.pk).update(status="draft")
    ContractVersion.objects.filter(pk=version.pk).update(currency="USD", status=version.status)
    payouts.owe(world.creator_a, 6_000, key="a")  # 60.00: enough for 50.00, not for 100.00

    with pytest.raises(ApplicationError, match="nothing to pay"):
        _prepare(payouts)


def test_with_two_contracts_in_force_the_lower_threshold_counts(payouts: Payouts) -> None:
    world = payouts.world
    _contract(payouts, world.creator_a, 100_000, platforms=["douyin"])
    _contract(payouts, world.creator_a, 20_000, platforms=["bilibili"])
    payouts.owe(world.creator_a, 30_000, key="a")  # 300.00: under 1,000.00, over 200.00

    assert _paid(_prepare(payouts)) == {"Creator A": 30_000}


def test_preparation_reads_every_threshold_in_the_same_queries(payouts: Payouts) -> None:
    world = payouts.world

    def prepare_counting() -> tuple[int, PayoutBatch]:
        with CaptureQueriesContext(connection) as queries:
            batch = _prepare(payouts)
        return len(queries), batch

    for index, creator in enumerate((world.creator_a, world.creator_a2)):
        _contract(payouts, creator, 5_000, platforms=["douyin" if index == 0 else "bilibili"])
        payouts.owe(creator, 20_000, key=f"first-{index}")
    payout_batch_cancel(batch=_prepare(payouts), actor=world.finance_a)  # warms the caches up
    few, batch = prepare_counting()
    assert batch.item_count == 2
    payout_batch_cancel(batch=batch, actor=world.finance_a)

    for index in range(4):
        creator = payouts.new_creator(f"More {index}")
        _contract(payouts, creator, 5_000)
        payouts.owe(creator, 20_000, key=f"more-{index}")
    many, batch = prepare_counting()
    assert batch.item_count == 6
    assert many == few
