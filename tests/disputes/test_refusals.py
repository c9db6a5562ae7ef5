"""Each refusal is a clear 4xx with a sentence a person understands, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.disputes.models import Dispute, DisputeAttachment, DisputeMessage
from apps.disputes.services import MAX_FILE_BYTES, dispute_answer, dispute_resolve
from apps.ledger.models import JournalEntry
from tests.conftest import api_as, web_as
from tests.disputes.conftest import open_dispute, payable

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int, int]:
    return (
        Dispute.objects.count(),
        DisputeMessage.objects.count(),
        DisputeAttachment.objects.count(),
        JournalEntry.objects.count(),
    )


def test_a_creator_of_another_agency_cannot_see_or_touch_it(line_world: Any) -> None:
    world = line_world
    dispute = open_dispute(world)
    before = _counts()
    attachment = DisputeAttachment.objects.get()
    for outsider in (world.creator_b.user, world.creator_a2.user, world.owner_b, world.loner.user):
        api = api_as(outsider)
        assert api.get(f"/api/v1/disputes/{dispute.public_id}/").status_code == 404
        assert str(dispute.public_id) not in str(api.get("/api/v1/disputes/").json())
        assert (
            api.post(f"/api/v1/disputes/{dispute.public_id}/messages/", {"message": "hi"}).status_code == 404
        )
        assert api.get(f"/api/v1/disputes/files/{attachment.public_id}/").status_code == 404
        web = web_as(outsider)
        assert web.get(f"/disputes/{dispute.public_id}/").status_code == 404
        assert web.get(f"/disputes/files/{attachment.public_id}/").status_code == 404
        # Nor can they open one about creator A's line: for them it does not exist.
        assert web.get(f"/disputes/open/line/{world.line.public_id}/").status_code == 404
        created = api.post(
            "/api/v1/disputes/", {"income_line": str(world.line.public_id), "message": "mine?"}, format="json"
        )
        assert created.status_code == 404
    assert _counts() == before


def test_a_viewer_reads_but_cannot_answer(line_world: Any) -> None:
    world = line_world
    dispute = open_dispute(world)
    before = _counts()

    page = web_as(world.viewer_a).get(f"/disputes/{dispute.public_id}/")
    assert page.status_code == 200 and 'id="message-form"' not in page.content.decode()
    refused = api_as(world.viewer_a).post(
        f"/api/v1/disputes/{dispute.public_id}/messages/", {"message": "We will look."}, format="json"
    )
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Your role (viewer) cannot do this in Agency A."
    on_page = web_as(world.viewer_a).post(
        f"/disputes/{dispute.public_id}/answer/", {"message": "We will look."}
    )
    assert on_page.status_code == 403
    assert "Your role (viewer) cannot do this in Agency A." in on_page.content.decode()
    for action in ("resolve", "reject"):
        assert (
            api_as(world.viewer_a)
            .post(f"/api/v1/disputes/{dispute.public_id}/{action}/", {"note": "no"}, format="json")
            .status_code
            == 403
        )
    dispute.refresh_from_db()
    assert dispute.state == "open"
    assert _counts() == before


def test_resolving_a_resolved_dispute_is_a_conflict_and_posts_nothing_twice(line_world: Any) -> None:
    world = line_world
    dispute = open_dispute(world)
    dispute_resolve(dispute=dispute, actor=world.finance_a, note="Corrected.", correction_minor=100_00)
    before = _counts()

    again = api_as(world.finance_a).post(
        f"/api/v1/disputes/{dispute.public_id}/resolve/",
        {"note": "Again.", "amount": "100.00"},
        format="json",
    )
    assert again.status_code == 409
    assert again.json()["detail"] == (
        "This dispute is already resolved; nothing was changed. Open a new dispute to raise it again."
    )
    on_page = web_as(world.finance_a).post(f"/disputes/{dispute.public_id}/reject/", {"note": "No."})
    assert on_page.status_code == 409
    assert "already resolved" in on_page.content.decode()
    reply = api_as(world.creator_a.user).post(
        f"/api/v1/disputes/{dispute.public_id}/messages/", {"message": "Thanks"}, format="json"
    )
    assert reply.status_code == 409
    assert _counts() == before
    assert payable(world.creator_a) == 600_00 + 100_00


def test_a_file_over_10_mb_is_refused_and_nothing_is_stored(line_world: Any) -> None:
    world = line_world
    big = SimpleUploadedFile(
        "bank.pdf", b"%PDF-1.7\n" + b"0" * MAX_FILE_BYTES, content_type="application/pdf"
    )
    before = _counts()

    refused = api_as(world.creator_a.user).post(
        "/api/v1/disputes/",
        {"income_line": str(world.line.public_id), "message": "See the file.", "files": [big]},
        format="multipart",
    )
    assert refused.status_code == 400
    assert refused.json()["detail"] == "bank.pdf is larger than 10 MB."
    big.seek(0)
    on_page = web_as(world.creator_a.user).post(
        f"/disputes/open/line/{world.line.public_id}/", {"message": "See the file.", "attachments": [big]}
    )
    assert on_page.status_code == 400
    assert "bank.pdf is larger than 10 MB." in on_page.content.decode()
    assert _counts() == before


def test_a_file_that_is_not_a_pdf_or_image_is_refused(line_world: Any) -> None:
    world = line_world
    page = SimpleUploadedFile(
        "evidence.pdf", b"<html><script>alert(1)</script>", content_type="application/pdf"
    )
    before = _counts()
    refused = api_as(world.creator_a.user).post(
        "/api/v1/disputes/",
        {"income_line": str(world.line.public_id), "message": "See the file.", "files": [page]},
        format="multipart",
    )
    assert refused.status_code == 400
    assert refused.json()["detail"] == "evidence.pdf is not a PDF, JPG or PNG file."
    assert _counts() == before


@pytest.mark.parametrize("message", ["", "   \n  "])
def test_an_empty_message_is_refused(line_world: Any, message: str) -> None:
    world = line_world
    before = _counts()
    opened = api_as(world.creator_a.user).post(
        "/api/v1/disputes/", {"income_line": str(world.line.public_id), "message": message}, format="json"
    )
    assert opened.status_code == 400
    assert opened.json()["detail"] == "Say what is wrong."
    on_page = web_as(world.creator_a.user).post(
        f"/disputes/open/line/{world.line.public_id}/", {"message": message}
    )
    assert on_page.status_code == 400
    assert _counts() == before

    dispute = open_dispute(world)
    before = _counts()
    answer = api_as(world.manager_a).post(
        f"/api/v1/disputes/{dispute.public_id}/messages/", {"message": message}, format="json"
    )
    assert answer.status_code == 400 and answer.json()["detail"] == "Write the answer."
    on_page = web_as(world.manager_a).post(f"/disputes/{dispute.public_id}/answer/", {"message": message})
    assert on_page.status_code == 400
    assert _counts() == before
    dispute.refresh_from_db()
    assert dispute.state == "open"


def test_only_owners_and_finance_resolve_with_money(line_world: Any) -> None:
    world = line_world
    dispute = open_dispute(world)
    before = _counts()
    refused = api_as(world.manager_a).post(
        f"/api/v1/disputes/{dispute.public_id}/resolve/", {"note": "Paid.", "amount": "10.00"}, format="json"
    )
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Your role (manager) cannot do this in Agency A."
    assert _counts() == before
    assert payable(world.creator_a) == 600_00


@pytest.mark.parametrize(
    ("amount", "detail"),
    [
        ("1.234", "'1.234' has more decimals than CNY allows (2)"),
        ("lots", "'lots' is not a decimal amount"),
        ("0.00", "A correction of zero changes nothing: leave the amount empty to resolve without money."),
        ("9" * 40, "'999999999999999999999999'… is larger than any amount Fenrun accepts"),
    ],
)
def test_a_bad_correction_amount_is_refused(line_world: Any, amount: str, detail: str) -> None:
    world = line_world
    dispute = open_dispute(world)
    before = _counts()
    refused = api_as(world.finance_a).post(
        f"/api/v1/disputes/{dispute.public_id}/resolve/",
        {"note": "Corrected.", "amount": amount},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["detail"] == detail
    on_page = web_as(world.finance_a).post(
        f"/disputes/{dispute.public_id}/resolve/", {"note": "Corrected.", "amount": amount}
    )
    assert on_page.status_code == 400
    assert _counts() == before
    dispute.refresh_from_db()
    assert dispute.state == "open"


def test_the_agency_cannot_open_a_dispute_or_reply_for_the_creator(line_world: Any) -> None:
    world = line_world
    before = _counts()
    opened = api_as(world.owner_a).post(
        "/api/v1/disputes/",
        {"income_line": str(world.line.public_id), "message": "On their behalf"},
        format="json",
    )
    assert opened.status_code == 403
    assert opened.json()["detail"] == "Only the creator it belongs to can open a dispute about it."
    assert web_as(world.owner_a).get(f"/disputes/open/line/{world.line.public_id}/").status_code == 403
    assert _counts() == before

    dispute = open_dispute(world)
    dispute_answer(dispute=dispute, actor=world.manager_a, message="Answered.")
    before = _counts()
    reply = web_as(world.manager_a).post(
        f"/disputes/{dispute.public_id}/reply/", {"message": "As the creator"}
    )
    assert reply.status_code == 403
    # And the creator cannot answer or resolve their own dispute.
    for action, data in (("answer", {"message": "Self-answer"}), ("resolve", {"note": "Self"})):
        assert (
            web_as(world.creator_a.user).post(f"/disputes/{dispute.public_id}/{action}/", data).status_code
            == 403
        )
    assert _counts() == before
    dispute.refresh_from_db()
    assert dispute.state == "answered"


def test_one_dispute_at_a_time_about_a_line(line_world: Any) -> None:
    world = line_world
    first = open_dispute(world)
    before = _counts()
    second = api_as(world.creator_a.user).post(
        "/api/v1/disputes/", {"income_line": str(world.line.public_id), "message": "Again"}, format="json"
    )
    assert second.status_code == 409
    assert second.json()["dispute"] == str(first.public_id)
    # The page takes the creator to the open one instead of a second form.
    page = web_as(world.creator_a.user).get(f"/disputes/open/line/{world.line.public_id}/")
    assert page.status_code == 302 and page["Location"] == f"/disputes/{first.public_id}/"
    assert _counts() == before

    dispute_resolve(dispute=first, actor=world.manager_a, note="Explained.")
    again = api_as(world.creator_a.user).post(
        "/api/v1/disputes/",
        {"income_line": str(world.line.public_id), "message": "New question"},
        format="json",
    )
    assert again.status_code == 201


def test_bad_list_filters_are_400_not_500(line_world: Any) -> None:
    api = api_as(line_world.owner_a)
    assert api.get("/api/v1/disputes/", {"state": "closed"}).status_code == 400
    assert api.get("/api/v1/disputes/", {"overdue": "maybe"}).status_code == 400
    assert api.get("/api/v1/disputes/", {"agency": "not-a-uuid"}).status_code == 400
    assert web_as(line_world.owner_a).get("/disputes/agency/", {"state": "closed"}).status_code == 400
    assert api.get("/api/v1/disputes/not-a-uuid/").status_code == 404
