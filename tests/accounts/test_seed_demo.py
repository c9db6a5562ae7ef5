from io import StringIO

import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.agencies.models import Agency, Membership
from apps.creators.models import Creator, PlatformAccount

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_prints_logins() -> None:
    first, second = StringIO(), StringIO()
    call_command("seed_demo", stdout=first)
    counts = (
        User.objects.count(),
        Agency.objects.count(),
        Membership.objects.count(),
        Creator.objects.count(),
        PlatformAccount.objects.count(),
    )
    call_command("seed_demo", stdout=second)
    assert counts == (
        User.objects.count(),
        Agency.objects.count(),
        Membership.objects.count(),
        Creator.objects.count(),
        PlatformAccount.objects.count(),
    )
    assert counts[1:] == (1, 4, 3, 3)
    assert {a.platform for a in PlatformAccount.objects.all()} == {"douyin", "bilibili", "youtube"}
    text = first.getvalue()
    assert "owner@demo.fenrun.local" in text and "TOTP secret:" in text
    assert text.count("TOTP secret:") == 3  # owner, finance, staff
    assert second.getvalue() == text


def test_seed_if_empty_leaves_existing_data_alone() -> None:
    call_command("seed_demo", stdout=StringIO())
    Agency.objects.update(name="Renamed by a person")
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "skipped" in out.getvalue()
    assert Agency.objects.get().name == "Renamed by a person"
