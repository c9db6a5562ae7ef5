"""Beat tasks: the sweep expires, activates and ends what is due, and running it twice changes nothing."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from apps.contracts.models import ContractVersion
from apps.contracts.services import contract_amendment_draft
from apps.contracts.tasks import contract_reminders_send_task, contract_versions_sweep
from tests.contracts.conftest import active_contract, draft, send, sign_both

pytestmark = pytest.mark.django_db
Status = ContractVersion.Status


@pytest.fixture(autouse=True)
def eager(settings):
    from config.celery_app import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_sweep_expires_activates_and_ends_idempotently(world, django_capture_on_commit_callbacks) -> None:
    expiring = send(world, draft(world, creator=world.creator_a2, platforms=["bilibili"]))
    ContractVersion.objects.filter(pk=expiring.pk).update(
        offer_expires_at=timezone.now() - datetime.timedelta(hours=1)
    )
    ended = active_contract(world, end_date=datetime.date(2026, 6, 30), platforms=["douyin"])

    with django_capture_on_commit_callbacks(execute=True):
        counts = contract_versions_sweep()
    assert counts == {"expire": 1, "activate": 0, "end": 1}
    expiring.refresh_from_db()
    ended.refresh_from_db()
    assert (expiring.status, ended.status) == (Status.OFFER_EXPIRED, Status.ENDED)

    with django_capture_on_commit_callbacks(execute=True):
        assert contract_versions_sweep() == {"expire": 0, "activate": 0, "end": 0}


def test_sweep_activates_a_signed_amendment_when_its_date_comes(
    world, django_capture_on_commit_callbacks
) -> None:
    original = active_contract(world)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    amendment = send(
        world,
        contract_amendment_draft(contract=original.contract, actor=world.manager_a, effective_from=tomorrow),
    )
    amendment = sign_both(world, amendment)
    assert amendment.status == Status.SIGNED
    with django_capture_on_commit_callbacks(execute=True):
        assert contract_versions_sweep()["activate"] == 0  # not yet
    from unittest import mock

    with (
        mock.patch("apps.contracts.services._today", return_value=tomorrow),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert contract_versions_sweep()["activate"] == 1
    amendment.refresh_from_db()
    original.refresh_from_db()
    assert (amendment.status, original.status) == (Status.ACTIVE, Status.SUPERSEDED)


def test_reminder_task_is_idempotent(world) -> None:
    version = send(world, draft(world))
    ContractVersion.objects.filter(pk=version.pk).update(sent_at=timezone.now() - datetime.timedelta(days=5))
    assert contract_reminders_send_task() == 1
    assert contract_reminders_send_task() == 0


def test_one_reminder_that_cannot_be_mailed_stops_no_other(world, caplog) -> None:
    """A creator's address stored with a line break (before validation existed) makes Django
    refuse the mail. That reminder is logged and tried again next run; the others are sent
    once, and never again because of it."""
    from django.core import mail

    from apps.accounts.models import User

    bad = send(world, draft(world, creator=world.creator_a, platforms=["douyin"]))
    good = send(world, draft(world, creator=world.creator_a2, platforms=["bilibili"]))
    assert bad.pk < good.pk  # the bad one is reached first
    ContractVersion.objects.filter(pk__in=[bad.pk, good.pk]).update(
        sent_at=timezone.now() - datetime.timedelta(days=5)
    )
    User.objects.filter(pk=world.creator_a.user_id).update(
        email="creator.a@example.test\nBcc: x@example.test"
    )
    mail.outbox.clear()

    contract_reminders_send_task()

    to_good = [message for message in mail.outbox if world.creator_a2.user.email in message.to]
    assert len(to_good) == 1
    assert any(
        f"version {bad.pk}" in record.getMessage() for record in caplog.records if record.levelname == "ERROR"
    )
    mail.outbox.clear()

    contract_reminders_send_task()

    assert not [message for message in mail.outbox if world.creator_a2.user.email in message.to]
