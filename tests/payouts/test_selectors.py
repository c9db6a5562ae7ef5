"""Who sees which payouts: an agency's members its own, a creator their own items only; and
preparation is set-based (its query count does not grow with the number of creators)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.payouts.selectors import (
    payout_batch_get_for_actor,
    payout_batch_list_for_actor,
    payout_item_list_for_actor,
    payout_items_of_batch,
    payout_items_of_creator,
)
from apps.payouts.services import payout_batch_prepare
from tests.factories import Role, agency_with_owner, member
from tests.payouts.conftest import Payouts

pytestmark = pytest.mark.django_db


def test_members_see_their_agencys_batches_and_creators_only_their_own_items(payouts: Payouts) -> None:
    from apps.agencies.services import representation_open
    from apps.common.exceptions import NotFound

    world = payouts.world
    # Agency B also represents Creator A2: it must still not see A2's items at agency A.
    representation_open(
        agency=world.agency_b, creator=world.creator_a2, started_on=world.creator_a2.created_at.date()
    )
    payouts.owe(world.creator_a, 500_000, key="a")
    payouts.owe(world.creator_a2, 500_000, key="a2")
    batch = payout_batch_prepare(agency=payouts.agency, actor=world.finance_a)

    assert list(payout_batch_list_for_actor(actor=world.viewer_a)) == [batch]
    assert payout_batch_get_for_actor(actor=world.manager_a, public_id=batch.public_id) == batch
    assert payout_items_of_batch(actor=world.viewer_a, batch=batch).count() == 2
    for outsider in (world.owner_b, world.creator_a.user):
        assert not payout_batch_list_for_actor(actor=outsider).exists()
        assert not payout_items_of_batch(actor=outsider, batch=batch).exists()
        with pytest.raises(NotFound):
            payout_batch_get_for_actor(actor=outsider, public_id=batch.public_id)
    mine = list(payout_item_list_for_actor(actor=world.creator_a.user))
    assert [item.creator for item in mine] == [world.creator_a]
    assert not payout_items_of_creator(actor=world.creator_a.user, creator=world.creator_a2).exists()
    assert not payout_item_list_for_actor(actor=world.owner_b).exists()
    assert payout_items_of_creator(actor=world.finance_a, creator=world.creator_a2).count() == 1


def test_preparing_for_many_creators_takes_a_fixed_number_of_queries(
    payouts: Payouts, django_assert_max_num_queries: Any
) -> None:
    agency = agency_with_owner(name="Big Agency")
    finance = member(agency, Role.FINANCE)
    from tests.factories import creator_for

    for number in range(60):
        creator = creator_for(agency=agency, name=f"Creator {number}")
        payouts.owe(creator, 100_000 + number, key=f"c{number}", agency=agency)

    with django_assert_max_num_queries(11):
        batch = payout_batch_prepare(agency=agency, actor=finance)

    assert batch.item_count == 60
