"""Staff audit through Django admin: every changelist of Fenrun's models opens, read-only where
it must be, without a query per row."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tests.conftest import World
from tests.contracts.conftest import draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(world: World) -> Client:
    TOTP.activate(world.staff, "JBSWY3DPEHPK3PXP")
    world.staff.is_superuser = True
    world.staff.save()
    client = Client()
    client.force_login(world.staff)
    return client


def _fenrun_models() -> list[type]:
    return [model for model in admin.site._registry if model.__module__.startswith("apps.")]


def test_every_changelist_opens_with_a_bounded_number_of_queries(
    world: World, staff_client: Client, django_assert_max_num_queries
) -> None:
    for _ in range(3):
        draft(world)
    for model in _fenrun_models():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        with django_assert_max_num_queries(20):
            response = staff_client.get(url)
        assert response.status_code == 200, url


def test_the_audit_trail_of_contracts_cannot_be_edited_in_admin(world: World, staff_client: Client) -> None:
    version = draft(world)
    change = staff_client.get(reverse("admin:contracts_contractversion_change", args=[version.pk]))
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    assert staff_client.get(reverse("admin:contracts_contractversion_add")).status_code == 403
