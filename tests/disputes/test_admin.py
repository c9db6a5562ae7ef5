"""Staff read disputes in admin, with the correction's ledger entry as a link; nothing changes there."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.urls import reverse

from apps.disputes.models import Dispute, DisputeAttachment, DisputeMessage
from apps.disputes.services import dispute_resolve
from tests.disputes.conftest import open_dispute

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(line_world: Any) -> Client:
    staff = line_world.staff
    TOTP.activate(staff, "JBSWY3DPEHPK3PXP")
    staff.is_superuser = True
    staff.save()
    client = Client()
    client.force_login(staff)
    return client


def test_a_resolved_dispute_reads_in_admin_and_cannot_be_changed(
    line_world: Any, staff_client: Client
) -> None:
    dispute = open_dispute(line_world)
    dispute_resolve(dispute=dispute, actor=line_world.finance_a, note="Corrected.", correction_minor=100_00)
    dispute.refresh_from_db()

    page = staff_client.get(reverse("admin:disputes_dispute_change", args=[dispute.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html
    entry_url = reverse("admin:ledger_journalentry_change", args=[dispute.correction_entry_id])
    assert entry_url in html and "¥100.00" in html
    for model in (Dispute, DisputeMessage, DisputeAttachment):
        meta = model._meta
        assert (
            staff_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")).status_code
            == 200
        )
        assert staff_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add")).status_code == 403
    deleted = staff_client.post(reverse("admin:disputes_dispute_delete", args=[dispute.pk]), {"post": "yes"})
    assert deleted.status_code == 403
    assert Dispute.objects.filter(pk=dispute.pk, state="resolved", correction_minor=100_00).exists()
