"""Payout details are the creator's: only they change them, a change mails them and holds their
payouts for 24 hours, the agency reads them masked, and every version is kept."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from apps.common.exceptions import ApplicationError, PermissionDenied
from apps.payouts.details import mask_account, mask_name, masked, payout_details_set
from apps.payouts.models import PayoutDetails
from apps.payouts.services import payout_batch_prepare
from tests.payouts.conftest import Payouts, give_payout_details

pytestmark = pytest.mark.django_db


def _set(creator, actor=None, **changes):  # type: ignore[no-untyped-def]
    values = {
        "method": "bank",
        "real_name": "张三",
        "account": "6222 0212 3456 7891 234",
        "bank_name": "中国工商银行",
        "bank_branch": "北京朝阳支行",
    }
    values.update(changes)
    return payout_details_set(creator=creator, actor=actor or creator.user, **values)


def test_the_creator_sets_their_details_and_is_mailed(
    payouts: Payouts, django_capture_on_commit_callbacks
) -> None:
    creator = payouts.world.creator_a
    with django_capture_on_commit_callbacks(execute=True):
        details = _set(creator)

    assert (details.method, details.real_name, details.account) == ("bank", "张三", "6222021234567891234")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [creator.user.email]
    assert "held for 24 hours" in message.body
    # The mail shows the account masked: it may be read on a shared screen.
    assert "6222 **** **** 1234" in message.body and "6222021234567891234" not in message.body


def test_only_the_creator_changes_their_details(payouts: Payouts) -> None:
    world = payouts.world
    _set(world.creator_a)
    for person in (world.owner_a, world.finance_a, world.creator_a2.user, world.staff):
        with pytest.raises(PermissionDenied, match="Only the creator can change their payout details"):
            _set(world.creator_a, actor=person, account="6222000011112222333")
    assert PayoutDetails.objects.get(creator=world.creator_a).account == "6222021234567891234"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"account": "6222-abc"}, "account"),
        ({"account": "１２３４５６７８９０"}, "account"),  # full-width digits are not 0-9
        ({"bank_name": ""}, "bank_name"),
        ({"real_name": "  "}, "real_name"),
        ({"real_name": "张\x00三"}, "real_name"),
        ({"method": "alipay", "account": "not-an-account"}, "account"),
        ({"method": "cash"}, "method"),
    ],
)
def test_bad_details_are_refused_by_field(payouts: Payouts, changes: dict, field: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        _set(payouts.world.creator_a, **changes)
    assert refused.value.extra["field"] == field
    assert not PayoutDetails.objects.exists()


def test_a_real_name_starting_with_equals_is_stored_as_given(payouts: Payouts) -> None:
    details = _set(payouts.world.creator_a, real_name='=HYPERLINK("http://evil.test","x")')
    assert details.real_name == '=HYPERLINK("http://evil.test","x")'


def test_every_version_is_kept(payouts: Payouts) -> None:
    creator = payouts.world.creator_a
    _set(creator)
    _set(creator, method="alipay", account="13812345678", bank_name="", bank_branch="")
    events = PayoutDetails.pgh_event_model.objects.filter(pgh_obj__creator=creator).order_by("pgh_id")
    assert [event.account for event in events] == ["6222021234567891234", "13812345678"]


def test_the_agency_sees_them_masked() -> None:
    assert mask_account("6222021234567891234", method="bank") == "6222 **** **** 1234"
    assert mask_account("13812345678", method="alipay") == "138****5678"
    assert mask_account("anna@example.cn", method="alipay") == "a***@example.cn"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"


def test_masked_details_hide_the_name_and_account(payouts: Payouts) -> None:
    view = masked(_set(payouts.world.creator_a))
    assert (view.real_name, view.account, view.bank_name) == ("张*", "6222 **** **** 1234", "中国工商银行")
    assert view.held_until is not None  # just changed: held


# --- the 24-hour hold in preparation --------------------------------------------------------------


def test_preparation_leaves_out_creators_without_details_or_within_the_hold(payouts: Payouts) -> None:
    world = payouts.world
    payouts.owe(world.creator_a, 500_000, key="a")  # details two days old: paid
    payouts.owe(world.creator_a2, 500_000, key="a2")
    recent = payouts.new_creator("Recent")
    give_payout_details(recent, hours_ago=23)
    payouts.owe(recent, 500_000, key="recent")  # changed 23 hours ago: held
    nobody = payouts.new_creator("No Details")
    payouts.owe(nobody, 500_000, key="none")
    PayoutDetails.objects.filter(creator=nobody).delete()  # never gave any

    # The creator changes their details now: held again, whatever they were before.
    _set(world.creator_a2, account="6222999988887777666")

    batch = payout_batch_prepare(agency=payouts.agency, actor=world.finance_a)

    assert {item.creator.display_name for item in batch.items.select_related("creator")} == {"Creator A"}
    # The others wait with their balance untouched, for a batch after the hold.
    assert payouts.owed(recent) == payouts.owed(nobody) == payouts.owed(world.creator_a2) == 500_000


def test_after_the_hold_the_creator_is_paid_again(payouts: Payouts) -> None:
    creator = payouts.world.creator_a
    payouts.owe(creator, 500_000, key="a")
    _set(creator, account="6222999988887777666")
    with pytest.raises(ApplicationError, match="nothing to pay"):
        payout_batch_prepare(agency=payouts.agency, actor=payouts.world.finance_a)

    PayoutDetails.objects.filter(creator=creator).update(
        changed_at=timezone.now() - datetime.timedelta(hours=24, seconds=1)
    )
    batch = payout_batch_prepare(agency=payouts.agency, actor=payouts.world.finance_a)
    assert batch.items.get().creator == creator


def test_saving_the_same_details_again_starts_no_new_hold(payouts: Payouts) -> None:
    creator = payouts.world.creator_a
    first = _set(creator)
    PayoutDetails.objects.filter(pk=first.pk).update(changed_at=timezone.now() - datetime.timedelta(days=3))
    again = _set(creator)
    assert again.changed_at < timezone.now() - datetime.timedelta(days=2)


def test_admin_shows_details_masked_and_read_only(payouts: Payouts) -> None:
    from allauth.mfa.totp.internal.auth import TOTP
    from django.test import Client

    details = _set(payouts.world.creator_a)
    staff = payouts.world.staff
    TOTP.activate(staff, "JBSWY3DPEHPK3PXP")
    staff.is_superuser = True
    staff.save()
    client = Client()
    client.force_login(staff)

    listing = client.get("/admin/payouts/payoutdetails/").content.decode()
    page = client.get(f"/admin/payouts/payoutdetails/{details.pk}/change/")

    assert "6222 **** **** 1234" in listing and "6222021234567891234" not in listing
    assert page.status_code == 200 and "6222021234567891234" not in page.content.decode()
    assert (
        client.post(f"/admin/payouts/payoutdetails/{details.pk}/change/", {"account": "1"}).status_code == 403
    )
