"""Who may write on a dispute of creator A at agency A: each role of the shared world, each action.
Who can see the dispute but may not act gets 403 with the reason; everyone else 404; nothing
changes for either."""

from __future__ import annotations

from typing import Any

import pytest

from apps.disputes.models import Dispute, DisputeMessage
from apps.disputes.services import dispute_open
from tests.conftest import World, api_as
from tests.deals.conftest import line
from tests.test_tenancy_matrix_all import EVERYONE, _actor

pytestmark = pytest.mark.django_db

# action -> {actor: expected status}; absent actors expect 404.
EXPECTED = {
    "messages": {"owner_a": 201, "manager_a": 201, "finance_a": 201, "viewer_a": 403, "creator_a": 201},
    "resolve": {"owner_a": 200, "manager_a": 200, "finance_a": 200, "viewer_a": 403, "creator_a": 403},
    "reject": {"owner_a": 200, "manager_a": 200, "finance_a": 200, "viewer_a": 403, "creator_a": 403},
}
BODIES = {"messages": {"message": "A word"}, "resolve": {"note": "Done"}, "reject": {"note": "No"}}


def _fresh(world: World) -> Dispute:
    return dispute_open(
        actor=world.creator_a.user, income_line=line(world.agency_a, world.creator_a), message="Wrong share"
    )


@pytest.mark.parametrize("action", list(EXPECTED))
def test_each_role_may_only_what_it_may(world: World, action: str) -> None:
    failures = []
    for name in EVERYONE:
        dispute = _fresh(world)
        messages = DisputeMessage.objects.filter(dispute=dispute).count()
        response = api_as(_actor(world, name)).post(
            f"/api/v1/disputes/{dispute.public_id}/{action}/", BODIES[action], format="json"
        )
        want = EXPECTED[action].get(name, 404)
        if response.status_code != want:
            failures.append(f"{name} {action}: {response.status_code}, expected {want}")
        dispute.refresh_from_db()
        if want >= 400 and (dispute.state != "open" or dispute.messages.count() != messages):
            failures.append(f"{name} {action} changed the dispute")
        if want == 403 and not response.json()["detail"]:
            failures.append(f"{name} {action}: a 403 without a reason")
        if dispute.state == "open" and want < 400 and action != "messages":
            failures.append(f"{name} {action}: still open")
        Dispute.objects.filter(pk=dispute.pk).update(state="rejected", closed_at=dispute.opened_at)
    assert not failures, "\n".join(failures)


def test_the_creators_list_holds_only_their_own(world: World) -> None:
    mine = _fresh(world)
    other = dispute_open(
        actor=world.creator_b.user, income_line=line(world.agency_b, world.creator_b), message="Mine"
    )
    listed: dict[str, Any] = {
        name: {
            row["public_id"] for row in api_as(_actor(world, name)).get("/api/v1/disputes/").json()["results"]
        }
        for name in ("creator_a", "creator_b", "owner_a", "owner_b", "viewer_a", "loner")
    }
    assert listed == {
        "creator_a": {str(mine.public_id)},
        "creator_b": {str(other.public_id)},
        "owner_a": {str(mine.public_id)},
        "owner_b": {str(other.public_id)},
        "viewer_a": {str(mine.public_id)},
        "loner": set(),
    }
