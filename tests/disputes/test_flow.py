"""A dispute from start to end, as its two sides live it: on the pages and through the API."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.core import mail

from apps.agencies.time import agency_today
from apps.disputes.models import Dispute, DisputeMessage
from apps.ledger.models import JournalEntry
from tests.conftest import api_as, web_as
from tests.disputes.conftest import payable, pdf

pytestmark = pytest.mark.django_db


def _dispute_link(message: Any) -> str:
    match = re.search(r"https?://\S+/disputes/([0-9a-f-]{36})/", message.body)
    assert match, message.body
    return match.group(1)


def test_creator_opens_agency_answers_creator_replies_agency_resolves_with_money(
    line_world: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = line_world
    creator = web_as(world.creator_a.user)
    assert payable(world.creator_a) == 600_00

    # The creator finds the button on the line's page and opens a dispute with a file.
    line_page = creator.get(f"/income/lines/{world.line.public_id}/").content.decode()
    assert f"/disputes/open/line/{world.line.public_id}/" in line_page
    with django_capture_on_commit_callbacks(execute=True):
        opened = creator.post(
            f"/disputes/open/line/{world.line.public_id}/",
            {"message": "The contract says 70 % for gifts.", "attachments": [pdf()]},
        )
    assert opened.status_code == 302, opened.content.decode()
    dispute = Dispute.objects.get()
    assert opened["Location"] == f"/disputes/{dispute.public_id}/"
    assert dispute.state == "open"
    assert dispute.answer_due == agency_today(world.agency_a) + datetime.timedelta(days=15)
    # The agency's owner, manager and finance member are told, with the dispute's link.
    told = sorted(address for message in mail.outbox for address in message.to)
    assert told == sorted([world.owner_a.email, world.manager_a.email, world.finance_a.email])
    assert all(_dispute_link(message) == str(dispute.public_id) for message in mail.outbox)
    assert "Creator A opened a dispute with Agency A" in mail.outbox[0].subject

    # The manager sees it in the agency's list and answers.
    manager = web_as(world.manager_a)
    listing = manager.get("/disputes/agency/").content.decode()
    assert str(dispute.public_id) in listing and "Awaiting an answer" in listing
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answered = manager.post(
            f"/disputes/{dispute.public_id}/answer/", {"message": "Gifts are 60 % under clause 2."}
        )
    assert answered.status_code == 302
    dispute.refresh_from_db()
    assert dispute.state == "answered"
    [to_creator] = mail.outbox
    assert to_creator.to == [world.creator_a.user.email]
    assert "Agency A answered your dispute" in to_creator.subject
    assert _dispute_link(to_creator) == str(dispute.public_id)

    # The creator replies: the dispute is open again, the agency must answer again.
    with django_capture_on_commit_callbacks(execute=True):
        replied = creator.post(
            f"/disputes/{dispute.public_id}/reply/",
            {"message": "Clause 2 was changed in version 2.", "attachments": [pdf("v2.pdf")]},
        )
    assert replied.status_code == 302
    dispute.refresh_from_db()
    assert dispute.state == "open"

    # Finance resolves it with a correction of 100.00 in the creator's favour.
    mail.outbox.clear()
    finance = web_as(world.finance_a)
    with django_capture_on_commit_callbacks(execute=True):
        resolved = finance.post(
            f"/disputes/{dispute.public_id}/resolve/",
            {"note": "You are right: 70 % since version 2.", "amount": "100.00"},
        )
    assert resolved.status_code == 302, resolved.content.decode()
    dispute.refresh_from_db()
    assert dispute.state == "resolved"
    assert dispute.correction_minor == 100_00
    entry = JournalEntry.objects.get(pk=dispute.correction_entry_id)
    assert entry.kind == JournalEntry.Kind.MANUAL_ADJUSTMENT
    assert entry.cause_reference == f"dispute:{dispute.public_id}"
    assert entry.author == world.finance_a
    assert entry.reason == "You are right: 70 % since version 2."
    assert payable(world.creator_a) == 600_00 + 100_00
    assert "Agency A resolved your dispute" in mail.outbox[0].subject

    # Both sides read the whole thread, the correction and its entry.
    for client in (creator, finance):
        page = client.get(f"/disputes/{dispute.public_id}/").content.decode()
        assert page.count('class="dispute-message"') == 4
        assert f"ledger entry #{entry.seq} ({entry.public_id})" in page
        assert "¥100.00" in page
        assert "Clause 2 was changed in version 2." in page
    assert [m.kind for m in DisputeMessage.objects.order_by("id")] == [
        "opening",
        "answer",
        "reply",
        "resolution",
    ]
    # The files of the thread download as attachments to both sides.
    file_link = re.search(r'href="(/disputes/files/[0-9a-f-]{36}/)"', page)
    assert file_link
    for client in (creator, finance):
        download = client.get(file_link.group(1))
        assert download.status_code == 200
        assert download["Content-Disposition"].startswith("attachment;")
        assert download["X-Content-Type-Options"] == "nosniff"
        assert b"".join(download.streaming_content).startswith(b"%PDF-")
    # A closed dispute offers no more forms.
    assert 'id="resolve-form"' not in page and 'id="message-form"' not in page
    mine = creator.get("/disputes/mine/").content.decode()
    assert str(dispute.public_id) in mine and "Resolved" in mine


def test_the_same_flow_through_the_api(line_world: Any) -> None:
    world = line_world
    creator = api_as(world.creator_a.user)
    created = creator.post(
        "/api/v1/disputes/",
        {"income_line": str(world.line.public_id), "message": "Wrong share.", "files": [pdf()]},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "open" and body["is_overdue"] is False
    assert body["messages"][0]["attachments"][0]["name"] == "screenshot.pdf"
    public_id = body["public_id"]
    assert body["url"].endswith(f"/disputes/{public_id}/")

    listed = api_as(world.owner_a).get("/api/v1/disputes/", {"state": "open"}).json()
    assert listed["count"] == 1 and listed["results"][0]["public_id"] == public_id

    answered = api_as(world.manager_a).post(
        f"/api/v1/disputes/{public_id}/messages/", {"message": "It is 60 %."}, format="json"
    )
    assert answered.status_code == 201 and answered.json()["state"] == "answered"
    replied = creator.post(f"/api/v1/disputes/{public_id}/messages/", {"message": "See v2."}, format="json")
    assert replied.json()["state"] == "open"

    resolved = api_as(world.owner_a).post(
        f"/api/v1/disputes/{public_id}/resolve/", {"note": "Corrected.", "amount": "-50.00"}, format="json"
    )
    assert resolved.status_code == 200, resolved.content
    body = resolved.json()
    assert body["state"] == "resolved" and body["correction"] == "-50.00"
    entry = JournalEntry.objects.get(public_id=body["correction_entry"])
    assert body["correction_entry_seq"] == entry.seq
    assert payable(world.creator_a) == 600_00 - 50_00
    download = creator.get(f"/api/v1/disputes/files/{body['messages'][0]['attachments'][0]['public_id']}/")
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment;")


def test_resolving_without_money_posts_nothing(line_world: Any) -> None:
    world = line_world
    creator = api_as(world.creator_a.user)
    public_id = creator.post(
        "/api/v1/disputes/",
        {"income_line": str(world.line.public_id), "message": "Wrong date?"},
        format="json",
    ).json()["public_id"]
    entries = JournalEntry.objects.count()

    resolved = api_as(world.manager_a).post(
        f"/api/v1/disputes/{public_id}/resolve/", {"note": "The date is the platform's."}, format="json"
    )

    assert resolved.status_code == 200, resolved.content
    assert resolved.json()["correction"] is None and resolved.json()["correction_entry"] is None
    assert JournalEntry.objects.count() == entries
    assert payable(world.creator_a) == 600_00


def test_a_rejection_closes_the_dispute_with_its_reason(line_world: Any) -> None:
    world = line_world
    public_id = (
        api_as(world.creator_a.user)
        .post("/api/v1/disputes/", {"income_line": str(world.line.public_id), "message": "?"}, format="json")
        .json()["public_id"]
    )
    rejected = web_as(world.owner_a).post(
        f"/disputes/{public_id}/reject/", {"note": "The platform paid this."}
    )
    assert rejected.status_code == 302
    dispute = Dispute.objects.get(public_id=public_id)
    assert (dispute.state, dispute.resolution_note) == ("rejected", "The platform paid this.")
    assert dispute.closed_by == world.owner_a
    page = web_as(world.creator_a.user).get(f"/disputes/{public_id}/").content.decode()
    assert "The platform paid this." in page and "Rejected" in page


def test_the_emails_link_back_and_are_sent_once(line_world: Any) -> None:
    from apps.disputes.services import dispute_message_notify
    from tests.disputes.conftest import open_dispute

    dispute = open_dispute(line_world)
    opening = dispute.messages.get()

    sent = dispute_message_notify(message_id=opening.pk, base_url="https://fenrun.example/")

    assert sent == 3 and len(mail.outbox) == 3
    assert f"https://fenrun.example/disputes/{dispute.public_id}/" in mail.outbox[0].body
    assert "income line" in mail.outbox[0].body and "G-1" in mail.outbox[0].body
    assert dispute_message_notify(message_id=opening.pk, base_url="https://fenrun.example/") == 0
    assert len(mail.outbox) == 3
