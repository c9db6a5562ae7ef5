"""The demo seed gives every demo creator an active, signed contract, once."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.contracts.models import ContractVersion
from apps.contracts.selectors import contract_version_in_force
from apps.creators.models import Creator
from apps.demo.seed import demo_seed

pytestmark = pytest.mark.django_db


def test_demo_seed_signs_one_contract_per_creator_idempotently() -> None:
    demo_seed()
    demo_seed()
    creators = Creator.objects.all()
    assert (
        ContractVersion.objects.filter(status=ContractVersion.Status.ACTIVE).count() == creators.count() == 3
    )
    for creator in creators:
        platform = creator.platform_accounts.first().platform
        version = contract_version_in_force(creator=creator, platform=platform, at=timezone.now())
        assert version is not None and version.signatures.count() == 2
