"""Payout pages: batches for owner/finance, approval by another person after re-authentication
(and the authenticator code when they have one), export, paid/failed by hand and by result file,
masked details for the agency, the creator's own details page."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.core import mail
from django.test import Client

from apps.payouts.models import PayoutBatch, PayoutDetails, PayoutItem
from apps.payouts.services import payout_batch_approve, payout_batch_mark_exported, payout_batch_prepare
from tests.conftest import totp_now, web_as
from tests.factories import PASSWORD
from tests.payouts.conftest import Payouts, Purpose

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXP"


def _prepared(payouts: Payouts) -> PayoutBatch:
    world = payouts.world
    payouts.owe(world.creator_a, 500_000, key="a")
    payouts.owe(world.creator_a2, 20_000, key="a2")
    return payout_batch_prepare(agency=payouts.agency, actor=world.finance_a)


def _reauthenticate(client: Client, location: str, **fields: str) -> object:
    """Answer allauth's re-authentication page the way a person would; allauth replays the POST."""
    return client.post(location, fields)


# --- list, prepare --------------------------------------------------------------------------------


def test_finance_prepares_a_batch_from_the_page(payouts: Payouts) -> None:
    payouts.owe(payouts.world.creator_a, 500_000, key="a")
    client = web_as(payouts.world.finance_a)
    page = client.get("/payouts/").content.decode()
    assert 'id="prepare-form"' in page

    response = client.post("/payouts/prepare/", {"agency": str(payouts.agency.public_id), "as_of": ""})

    batch = PayoutBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/payouts/{batch.public_id}/"
    page = client.get(response["Location"]).content.decode()
    assert "Creator A" in page and "¥4,200.00" in page and "¥800.00" in page
    # The tax with its computation: per payment, expense 1000.00, taxable 4000.00, rate 20.
    assert "Per payment" in page and "4000.00" in page and "<dt>rate</dt><dd>20</dd>" in page
    assert 'class="stack-on-phone"' in page


def test_nothing_to_pay_is_a_message_not_a_batch(payouts: Payouts) -> None:
    client = web_as(payouts.world.finance_a)
    response = client.post("/payouts/prepare/", {"agency": str(payouts.agency.public_id)}, follow=True)
    assert "nothing to pay" in response.content.decode()
    assert not PayoutBatch.objects.exists()


def test_a_manager_sees_batches_but_cannot_prepare(payouts: Payouts) -> None:
    _prepared(payouts)
    client = web_as(payouts.world.manager_a)
    page = client.get("/payouts/").content.decode()
    assert 'id="prepare-form"' not in page and 'data-batch="' in page
    response = client.post("/payouts/prepare/", {"agency": str(payouts.agency.public_id)})
    assert response.status_code == 403


def test_another_agency_gets_404(payouts: Payouts) -> None:
    batch = _prepared(payouts)
    client = web_as(payouts.world.owner_b)
    assert client.get(f"/payouts/{batch.public_id}/").status_code == 404
    assert client.post(f"/payouts/{batch.public_id}/approve/").status_code == 404


def test_the_nav_links_payouts_for_finance_and_details_for_creators(payouts: Payouts) -> None:
    assert 'href="/payouts/"' in web_as(payouts.world.finance_a).get("/payouts/").content.decode()
    creator_page = web_as(payouts.world.creator_a.user).get("/payouts/details/").content.decode()
    assert 'href="/payouts/details/"' in creator_page and "My payout details" in creator_page
    assert 'href="/payouts/"' not in web_as(payouts.world.manager_a).get("/contracts/").content.decode()


def test_the_agency_sees_details_masked(payouts: Payouts) -> None:
    batch = _prepared(payouts)
    PayoutDetails.objects.filter(creator=payouts.world.creator_a).update(real_name="张三丰")
    page = web_as(payouts.finance_b).get(f"/payouts/{batch.public_id}/").content.decode()
    account = PayoutDetails.objects.get(creator=payouts.world.creator_a).account
    assert account not in page and f"{account[:4]} **** **** {account[-4:]}" in page
    assert "张三丰" not in page and "张**" in page


# --- approval: four eyes, re-authentication, MFA -----------------------------------------------------


def test_the_preparer_gets_a_403_page_that_says_why(payouts: Payouts) -> None:
    batch = _prepared(payouts)
    client = web_as(payouts.world.finance_a)
    assert "You prepared this batch" in client.get(f"/payouts/{batch.public_id}/").content.decode()

    response = client.post(f"/payouts/{batch.public_id}/approve/")

    assert response.status_code == 403
    assert "The person who prepared a batch cannot approve it" in response.content.decode()
    assert PayoutBatch.objects.get(pk=batch.pk).status == "prepared"


def test_approval_needs_reauthentication(payouts: Payouts) -> None:
    batch = _prepared(payouts)
    client = web_as(payouts.finance_b)  # signed in, but not re-authenticated: a stale login

    response = client.post(f"/payouts/{batch.public_id}/approve/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert PayoutBatch.objects.get(pk=batch.pk).status == "prepared"

    # The password again: allauth replays the approval.
    wrong = _reauthenticate(client, response["Location"], password="wrong")
    assert PayoutBatch.objects.get(pk=batch.pk).status == "prepared" and wrong.status_code == 200
    replayed = _reauthenticate(client, response["Location"], password=PASSWORD)
    assert replayed.status_code == 302 and replayed["Location"] == f"/payouts/{batch.public_id}/"
    assert PayoutBatch.objects.get(pk=batch.pk).status == "approved"
    assert payouts.owed(payouts.world.creator_a) == 0


def test_approval_asks_for_the_authenticator_code_when_the_user_has_one(payouts: Payouts) -> None:
    batch = _prepared(payouts)
    TOTP.activate(payouts.finance_b, SECRET)
    client = web_as(payouts.finance_b)

    first = client.post(f"/payouts/{batch.public_id}/approve/")
    assert first["Location"].startswith("/accounts/reauthenticate/")
    after_password = _reauthenticate(client, first["Location"], password=PASSWORD)

    # The password alone is not enough: the second factor, then the approval is replayed.
    assert after_password.status_code == 302
    assert after_password["Location"].startswith("/accounts/2fa/reauthenticate/")
    assert PayoutBatch.objects.get(pk=batch.pk).status == "prepared"
    approved = _reauthenticate(client, after_password["Location"], code=totp_now(SECRET))
    assert approved.status_code == 302 and approved["Location"] == f"/payouts/{batch.public_id}/"
    assert PayoutBatch.objects.get(pk=batch.pk).status == "approved"


# --- export, paid, failed, result file ----------------------------------------------------------------


def _approved(payouts: Payouts) -> PayoutBatch:
    batch = _prepared(payouts)
    return payout_batch_approve(batch=batch, actor=payouts.finance_b)


def test_export_downloads_the_file_and_marks_the_batch(payouts: Payouts) -> None:
    batch = _approved(payouts)
    client = web_as(payouts.world.finance_a)

    response = client.post(f"/payouts/{batch.public_id}/export/", {"rail": "bank_csv"})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="fenrun-payouts-')
    account = PayoutDetails.objects.get(creator=payouts.world.creator_a).account
    assert account in response.content.decode("utf-8-sig")  # the export is the one unmasked place
    assert PayoutBatch.objects.get(pk=batch.pk).status == "exported"
    assert client.post(f"/payouts/{batch.public_id}/export/", {"rail": "cash"}).status_code == 400


def test_mark_paid_and_failed_by_hand(payouts: Payouts) -> None:
    batch = _approved(payouts)
    payout_batch_mark_exported(batch=batch, actor=payouts.world.finance_a)
    a = batch.items.get(creator=payouts.world.creator_a)
    a2 = batch.items.get(creator=payouts.world.creator_a2)
    client = web_as(payouts.world.finance_a)

    client.post(f"/payouts/items/{a.public_id}/paid/", {"reference": "ICBC-77"})
    refused = client.post(f"/payouts/items/{a.public_id}/paid/", {"reference": "ICBC-78"}, follow=True)
    client.post(f"/payouts/items/{a2.public_id}/failed/", {"reason": "账户已注销"})

    assert "already paid" in refused.content.decode()
    a.refresh_from_db()
    a2.refresh_from_db()
    assert (a.status, a.reference, a2.status) == ("paid", "ICBC-77", "failed")
    assert payouts.owed(payouts.world.creator_a2) == 20_000
    assert payouts.balance(Purpose.PAYOUTS_IN_FLIGHT) == 0
    # A creator cannot settle their own payout.
    assert (
        web_as(payouts.world.creator_a.user).post(f"/payouts/items/{a.public_id}/failed/").status_code == 404
    )


def test_import_a_result_file_shows_each_rows_outcome(payouts: Payouts) -> None:
    batch = _approved(payouts)
    payout_batch_mark_exported(batch=batch, actor=payouts.world.finance_a)
    a = batch.items.get(creator=payouts.world.creator_a)
    content = (
        "item_reference,status,reference,reason,amount\r\n"
        f"{a.public_id},paid,ICBC-1,,4200.00\r\n"
        "00000000-0000-0000-0000-000000000000,paid,ICBC-2,,1.00\r\n"
    ).encode()
    upload = io.BytesIO(content)
    upload.name = "result.csv"

    response = web_as(payouts.world.finance_a).post(
        f"/payouts/{batch.public_id}/results/", {"rail": "bank_csv", "file": upload}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-row="2" class="outcome-paid"' in page and 'data-row="3" class="outcome-error"' in page
    assert "1 row was refused" in page
    assert PayoutItem.objects.get(pk=a.pk).status == "paid"


# --- the creator's details -----------------------------------------------------------------------------


def _details_post(client: Client, **changes: str) -> object:
    data = {
        "method": "alipay",
        "real_name": "李四",
        "account": "13812345678",
        "bank_name": "",
        "bank_branch": "",
    }
    data.update(changes)
    return client.post("/payouts/details/change/", data)


def test_the_creator_changes_details_after_reauthentication(
    payouts: Payouts, django_capture_on_commit_callbacks
) -> None:
    creator = payouts.world.creator_a
    client = web_as(creator.user)

    response = _details_post(client)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/")
    assert not PayoutDetails.objects.filter(creator=creator).exists()

    with django_capture_on_commit_callbacks(execute=True):
        with_password = _reauthenticate(client, response["Location"], password=PASSWORD)

    assert with_password.status_code == 302 and with_password["Location"] == "/payouts/details/"
    details = PayoutDetails.objects.get(creator=creator)
    assert (details.method, details.account, details.real_name) == ("alipay", "13812345678", "李四")
    assert [message.to for message in mail.outbox] == [[creator.user.email]]
    page = client.get("/payouts/details/").content.decode()
    assert "138****5678" in page and "Payouts are held until" in page


def test_bad_details_are_shown_next_to_the_field(payouts: Payouts) -> None:
    creator = payouts.world.creator_a
    client = web_as(creator.user)
    first = _details_post(client)
    _reauthenticate(client, first["Location"], password=PASSWORD)
    response = _details_post(client, method="bank", account="12-ab", bank_name="工行")
    assert response.status_code == 400
    assert "8 to 34 digits" in response.content.decode()


def test_only_the_creator_has_a_details_page(payouts: Payouts) -> None:
    assert web_as(payouts.world.finance_a).get("/payouts/details/").status_code == 404
    client = web_as(payouts.world.finance_a)
    response = client.post("/payouts/details/change/", {"method": "bank"})
    # Re-authentication first, then the same 404: an agency has no details of its own to change.
    if response.status_code == 302:
        query = urlencode({"next": "/payouts/details/change/"})
        response = client.post(f"/accounts/reauthenticate/?{query}", {"password": PASSWORD})
    assert response.status_code == 404
    assert not PayoutDetails.objects.filter(creator__user=payouts.world.finance_a).exists()


def test_pages_in_a_bounded_number_of_queries(payouts: Payouts, django_assert_max_num_queries) -> None:
    for number in range(5):
        payouts.owe(payouts.new_creator(f"More {number}"), 30_000, key=f"more{number}")
    batch = _prepared(payouts)
    assert batch.item_count == 7
    client = web_as(payouts.finance_b)
    with django_assert_max_num_queries(20):
        assert client.get(f"/payouts/{batch.public_id}/").status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get("/payouts/").status_code == 200
