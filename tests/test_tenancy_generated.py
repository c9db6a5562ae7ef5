"""The generated tenancy matrix, fast (issue 16): every route of the URL conf, its path parameters
filled with another tenant's objects (tests/route_matrix.py), GET by the outsiders.

`make attack` runs the whole matrix (every role, writes too, the admin and allauth families);
this is the part `make test` runs so that a new route without a tenancy check, or one whose
parameters nobody taught the matrix to fill, fails CI.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import route_matrix

pytestmark = pytest.mark.django_db

FAST_ROLES = ["creator_2", "owner_b", "creator_b", "loner", "staff", "anonymous"]


@pytest.fixture
def attack_world(settings: Any, tmp_path: Any) -> route_matrix.AttackWorld:
    settings.MEDIA_ROOT = str(tmp_path)
    return route_matrix.build_world()


def test_every_route_is_filled_or_listed() -> None:
    all_routes = route_matrix.routes()
    assert len(all_routes) > 200  # the walk reached the includes
    assert route_matrix.unlisted_routes(all_routes) == [], (
        "routes whose path parameters no rule of tests/route_matrix.py fills: add a RULES entry"
        " (the object kind) or an EXCLUDED entry with its reason"
    )


def test_the_schema_and_the_url_conf_name_the_same_api() -> None:
    problems = route_matrix.schema_mismatches(route_matrix.routes(), route_matrix.schema_operations())
    assert problems == []


def test_a_route_the_matrix_cannot_fill_is_reported() -> None:
    new = route_matrix.Route("widgets/<uuid:widget>/", "widgets:detail", "apps.widgets.views.detail")
    assert route_matrix.unlisted_routes([new]) == ["widgets/<uuid:widget>/"]


def test_outsiders_reach_nothing_of_another_tenant(attack_world: route_matrix.AttackWorld) -> None:
    assert attack_world.missing == {}, attack_world.missing
    outcome = route_matrix.run(attack_world, roles=FAST_ROLES, writes=False, families=False)
    assert outcome.unfilled == {}, outcome.unfilled
    assert outcome.checked > 1000
    assert outcome.findings == [], "\n".join(outcome.findings[:50])


def test_the_matrix_sees_a_leak(attack_world: route_matrix.AttackWorld) -> None:
    """A matrix that cannot fail is no check: agency A's own owner, posing as agency B's, reads
    agency A's objects, and every such read is a finding."""
    attack_world.users["owner_b"] = attack_world.users["owner_a"]
    outcome = route_matrix.run(
        attack_world,
        roles=["owner_b"],
        writes=False,
        families=False,
        only=lambda p: p.startswith("api/v1/deals/"),
    )
    leaks = [f for f in outcome.findings if "agency A's object" in f]
    assert any("/api/v1/deals/" in f for f in leaks), outcome.findings
