"""Payout batches end to end on real PostgreSQL: who is paid, how much tax, four eyes, every step
a ledger entry, and no balance paid twice (docs/payouts.md)."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.creators.services import creator_update
from apps.ledger.models import JournalEntry
from apps.payouts.models import PayoutBatch, PayoutItem
from apps.payouts.services import (
    payout_batch_approve,
    payout_batch_cancel,
    payout_batch_mark_exported,
    payout_batch_prepare,
    payout_item_mark_failed,
    payout_item_mark_paid,
    payout_item_record_invoice,
    tax_profile_set,
)
from tests.payouts.conftest import Payouts, Purpose

pytestmark = pytest.mark.django_db

Status = PayoutItem.Status


def _prepare(payouts: Payouts) -> PayoutBatch:
    return payout_batch_prepare(agency=payouts.agency, actor=payouts.world.finance_a)


def _items(batch: PayoutBatch) -> dict[str, PayoutItem]:
    return {item.creator.display_name: item for item in batch.items.select_related("creator")}


def _approved_and_exported(payouts: Payouts) -> PayoutBatch:
    batch = _prepare(payouts)
    payout_batch_approve(batch=batch, actor=payouts.finance_b)
    return payout_batch_mark_exported(batch=batch, actor=payouts.finance_b)


def _payout_entries(payouts: Payouts) -> int:
    return JournalEntry.objects.filter(agency=payouts.agency, idempotency_key__startswith="payout:").count()


# --- preparation -----------------------------------------------------------------------------------


def test_prepare_picks_only_creators_owed_at_least_100_after_tax(payouts: Payouts) -> None:
    world = payouts.world
    just_under = payouts.new_creator("Just Under")
    payouts.owe(world.creator_a, 500_000, key="a")  # 5,000.00
    payouts.owe(world.creator_a2, 10_000, key="a2")  # exactly 100.00: paid
    payouts.owe(just_under, 9_999, key="under")  # 99.99: waits for the next batch
    payouts.owe(world.creator_b, 500_000, key="b", agency=world.agency_b)  # another agency's creator

    batch = _prepare(payouts)

    items = _items(batch)
    assert set(items) == {"Creator A", "Creator A2"}
    # per_payment, 5,000.00: above 4,000.00 so expense 20 % = 1,000.00; taxable 4,000.00;
    # band "up to 20,000.00": 4,000.00 x 20 % = 800.00 tax; net 4,200.00.
    a = items["Creator A"]
    assert (a.gross_minor, a.tax_minor, a.net_minor, a.method) == (500_000, 80_000, 420_000, "per_payment")
    assert a.withholding["expense"] == "1000.00"
    assert a.withholding["taxable"] == "4000.00"
    assert a.withholding["rate"] == "20"
    assert a.withholding["tax"] == "800.00"
    # 100.00: at most 4,000.00 so expense 800.00; taxable max(100.00 - 800.00, 0) = 0; tax 0.00.
    a2 = items["Creator A2"]
    assert (a2.gross_minor, a2.tax_minor, a2.net_minor) == (10_000, 0, 10_000)
    assert (batch.item_count, batch.gross_minor, batch.tax_minor, batch.net_minor) == (
        2,
        510_000,
        80_000,
        430_000,
    )
    assert batch.status == PayoutBatch.Status.PREPARED
    # Preparing moves no money.
    assert payouts.owed(world.creator_a) == 500_000
    assert _payout_entries(payouts) == 0


def test_tax_follows_the_method_of_the_creator_at_the_agency(payouts: Payouts) -> None:
    world = payouts.world
    studio = payouts.new_creator("Studio")
    creator_update(creator=studio, actor=studio.user, creator_type="studio")
    cumulative = payouts.new_creator("Cumulative")
    tax_profile_set(agency=payouts.agency, actor=world.finance_a, creator=cumulative, method="cumulative")
    tax_profile_set(
        agency=payouts.agency,
        actor=world.owner_a,
        creator=world.creator_a,
        method="none",
        invoice_note="invoices as Creator A Studio (个体工商户)",
    )
    payouts.owe(studio, 500_000, key="studio")
    payouts.owe(cumulative, 2_500_000, key="cumulative")
    payouts.owe(world.creator_a, 500_000, key="a")

    items = _items(_prepare(payouts))

    # A studio or company invoices: `none` by default, 0.00 withheld on 5,000.00.
    assert (items["Studio"].method, items["Studio"].tax_minor, items["Studio"].net_minor) == (
        "none",
        0,
        500_000,
    )
    # An individual the agency set to `none` (they invoice as a 个体工商户): 0.00 as well.
    assert (items["Creator A"].method, items["Creator A"].tax_minor) == ("none", 0)
    # cumulative, the first payout of the year, 25,000.00: m = 1, ytd expense 20 % = 5,000.00,
    # allowance 5,000.00, ytd taxable 15,000.00, 3 % = 450.00, withheld before 0.00: tax 450.00.
    item = items["Cumulative"]
    assert (item.method, item.tax_minor, item.net_minor) == ("cumulative", 45_000, 2_455_000)
    assert item.withholding["months_counted"] == 1
    assert item.withholding["ytd_taxable"] == "15000.00"
    assert item.withholding["ytd_withheld"] == "450.00"


def test_a_second_payout_in_a_month_is_taxed_on_the_months_total(payouts: Payouts) -> None:
    creator = payouts.world.creator_a
    payouts.owe(creator, 500_000, key="first")
    first = _approved_and_exported(payouts)
    payout_item_mark_paid(item=first.items.get(), actor=payouts.finance_b, reference="BANK-1")
    payouts.owe(creator, 500_000, key="second")

    item = _prepare(payouts).items.get()

    # One 次 per month: 5,000.00 + 5,000.00 = 10,000.00; expense 2,000.00; taxable 8,000.00;
    # 20 % = 1,600.00 for the month, of which 800.00 was withheld on the first payout: 800.00.
    assert (item.gross_minor, item.tax_minor) == (500_000, 80_000)
    assert item.withholding["gross"] == "10000.00"
    assert item.withholding["tax"] == "1600.00"
    assert item.withholding["month_withheld_before"] == "800.00"


def test_nothing_to_pay_is_a_sentence_and_no_batch(payouts: Payouts) -> None:
    payouts.owe(payouts.world.creator_a, 9_999, key="small")
    with pytest.raises(ApplicationError, match=re.escape("¥100.00 without one) or more after tax")) as raised:
        _prepare(payouts)
    assert raised.value.code == "nothing_to_pay"
    assert not PayoutBatch.objects.exists()


# --- approval ---------------------------------------------------------------------------------------


def test_the_preparer_cannot_approve_and_nothing_changes(payouts: Payouts) -> None:
    payouts.owe(payouts.world.creator_a, 500_000, key="a")
    batch = _prepare(payouts)

    with pytest.raises(PermissionDenied, match="The person who prepared a batch cannot approve it") as raised:
        payout_batch_approve(batch=batch, actor=payouts.world.finance_a)

    assert raised.value.status == 403
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.PREPARED
    assert batch.items.get().status == Status.PREPARED
    assert _payout_entries(payouts) == 0
    assert payouts.owed(payouts.world.creator_a) == 500_000


def test_approval_by_another_finance_member_moves_gross_out_of_the_creators_balance(payouts: Payouts) -> None:
    world = payouts.world
    payouts.owe(world.creator_a, 500_000, key="a")
    payouts.owe(world.creator_a2, 20_000, key="a2")
    batch = _prepare(payouts)

    payout_batch_approve(batch=batch, actor=payouts.finance_b)

    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.APPROVED
    assert batch.approved_by == payouts.finance_b
    # Creator A's payable drops by the gross 5,000.00; the tax payable rises by 800.00; 4,200.00
    # plus Creator A2's 200.00 are in flight.
    assert payouts.owed(world.creator_a) == 0
    assert payouts.owed(world.creator_a2) == 0
    assert -payouts.balance(Purpose.TAX_WITHHOLDING_PAYABLE) == 80_000
    assert -payouts.balance(Purpose.PAYOUTS_IN_FLIGHT) == 420_000 + 20_000
    items = _items(batch)
    a = items["Creator A"]
    assert a.status == Status.APPROVED
    assert a.tax_entry is not None and a.tax_entry.idempotency_key == f"payout:{a.public_id}:tax"
    assert (
        a.approval_entry is not None and a.approval_entry.idempotency_key == f"payout:{a.public_id}:approved"
    )
    assert a.approval_entry.creator_id == world.creator_a.pk
    # No tax on 200.00, so no tax entry: an entry is never zero.
    assert items["Creator A2"].tax_entry is None
    assert _payout_entries(payouts) == 3


def test_a_payout_above_the_balance_at_approval_is_refused_naming_the_creator(payouts: Payouts) -> None:
    world = payouts.world
    payouts.owe(world.creator_a, 500_000, key="a")
    payouts.owe(world.creator_a2, 50_000, key="a2")
    batch = _prepare(payouts)
    payouts.clawback(world.creator_a2, 20_000, key="refund")  # a refund after preparation: 300.00 left

    with pytest.raises(
        ApplicationError, match=re.escape("Creator A2 is owed ¥300.00 now, less than the ¥500.00")
    ) as raised:
        payout_batch_approve(batch=batch, actor=payouts.finance_b)

    assert raised.value.status == 409
    assert raised.value.code == "payout_above_balance"
    # Nothing posted, for anyone: the batch is refused whole.
    assert _payout_entries(payouts) == 0
    assert payouts.owed(world.creator_a) == 500_000
    assert set(batch.items.values_list("status", flat=True)) == {Status.PREPARED}


def test_approving_twice_is_refused(payouts: Payouts) -> None:
    payouts.owe(payouts.world.creator_a, 500_000, key="a")
    batch = _prepare(payouts)
    payout_batch_approve(batch=batch, actor=payouts.finance_b)
    with pytest.raises(ApplicationError, match="already approved") as raised:
        payout_batch_approve(batch=batch, actor=payouts.world.owner_a)
    assert raised.value.status == 409
    assert _payout_entries(payouts) == 2


# --- two batches, one creator -----------------------------------------------------------------------


def test_a_second_batch_leaves_out_creators_of_an_open_batch(payouts: Payouts) -> None:
    world = payouts.world
    payouts.owe(world.creator_a, 500_000, key="a")
    first = _prepare(payouts)
    payouts.owe(world.creator_a2, 30_000, key="a2")

    second = _prepare(payouts)

    assert set(_items(second)) == {"Creator A2"}
    # Still left out once approved (in flight), even when new income arrives meanwhile.
    payout_batch_approve(batch=first, actor=payouts.finance_b)
    payouts.owe(world.creator_a, 40_000, key="a-more")
    with pytest.raises(ApplicationError) as raised:
        _prepare(payouts)
    assert raised.value.code == "nothing_to_pay"


def test_the_database_refuses_a_second_open_item_for_one_creator(payouts: Payouts) -> None:
    world = payouts.world
    payouts.owe(world.creator_a, 500_000, key="a")
    first = _prepare(payouts)
    other = PayoutBatch.objects.create(
        agency=payouts.agency,
        currency="CNY",
        as_of=first.as_of,
        period=first.period,
        threshold_minor=10_000,
        prepared_by=payouts.finance_b,
    )

    with (
        pytest.raises(IntegrityError, match="payout_item_one_open_per_creator"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO payouts_payoutitem (public_id, batch_id, agency_id, creator_id, currency,"
            " gross_minor, tax_minor, net_minor, method, period, withholding, invoice_reference,"
            " status, reference, failure_reason, created_at, updated_at)"
            " VALUES (gen_random_uuid(), %s, %s, %s, 'CNY', 500000, 0, 500000, 'none', %s, '{}', '',"
            " 'prepared', '', '', now(), now())",
            [other.pk, payouts.agency.pk, world.creator_a.pk, first.period],
        )


def test_the_database_refuses_what_the_services_never_do(payouts: Payouts) -> None:
    payouts.owe(payouts.world.creator_a, 500_000, key="a")
    batch = _approved_and_exported(payouts)
    item = batch.items.get()
    payout_item_mark_paid(item=item, actor=payouts.finance_b, reference="BANK-1")
    attempts = [
        (
            "UPDATE payouts_payoutitem SET status = 'approved' WHERE id = %s",
            "cannot go from paid to approved",
        ),
        (
            "UPDATE payouts_payoutitem SET gross_minor = 1, net_minor = 1, tax_minor = 0 WHERE id = %s",
            "cannot change",
        ),
        ("UPDATE payouts_payoutitem SET reference = 'OTHER' WHERE id = %s", "recorded once"),
        ("DELETE FROM payouts_payoutitem WHERE id = %s", "cannot be deleted"),
        (
            "UPDATE payouts_payoutbatch SET approved_by_id = prepared_by_id WHERE id = %s",
            "payout_batch_four_eyes",
        ),
    ]
    for sql, message in attempts:
        with (
            pytest.raises(IntegrityError, match=message),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [batch.pk if "payoutbatch" in sql else item.pk])


# --- paid, failed, cancelled ---------------------------------------------------------------------------


def test_an_item_is_paid_once_and_the_bank_posting_is_made_once(payouts: Payouts) -> None:
    payouts.owe(payouts.world.creator_a, 500_000, key="a")
    batch = _approved_and_exported(payouts)
    item = batch.items.get()

    payout_item_mark_paid(item=item, actor=payouts.finance_b, reference="ICBC-20260314-0001")
    with pytest.raises(ApplicationError, match="already paid") as raised:
        payout_item_mark_paid(item=item, actor=payouts.world.finance_a, reference="ICBC-20260314-0002")

    assert raised.value.status == 409
    item.refresh_from_db()
    assert item.status == Status.PAID
    assert item.reference == "ICBC-20260314-0001"
    assert JournalEntry.objects.filter(idempotency_key=f"payout:{item.public_id}:paid").count() == 1
    # The bank received 5,000.00 and paid out 4,200.00 once; nothing is left in flight.
    assert payouts.balance(Purpose.BANK) == 500_000 - 420_000
    assert payouts.balance(Purpose.PAYOUTS_IN_FLIGHT) == 0
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.CLOSED


def test_a_failed_payout_puts_the_money_and_its_tax_back_in_the_creators_balance(payouts: Payouts) -> None:
    creator = payouts.world.creator_a
    payouts.owe(creator, 500_000, key="a")
    batch = _approved_and_exported(payouts)
    item = batch.items.get()

    payout_item_mark_failed(item=item, actor=payouts.finance_b, reason="Account closed (账户已销户)")

    item.refresh_from_db()
    assert item.status == Status.FAILED
    assert item.failure_entry is not None and item.failure_entry.reverses_id == item.approval_entry_id
    assert item.tax_reversal_entry is not None and item.tax_reversal_entry.reverses_id == item.tax_entry_id
    assert payouts.owed(creator) == 500_000  # all of it, the tax included
    assert payouts.balance(Purpose.TAX_WITHHOLDING_PAYABLE) == 0
    assert payouts.balance(Purpose.PAYOUTS_IN_FLIGHT) == 0
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.CLOSED
    with pytest.raises(ApplicationError, match="already failed"):
        payout_item_mark_paid(item=item, actor=payouts.finance_b, reference="LATE")
    # The creator is free for the next batch, taxed again as the month's first payout.
    again = _prepare(payouts).items.get()
    assert (again.gross_minor, again.tax_minor) == (500_000, 80_000)


def test_marking_paid_waits_for_the_export(payouts: Payouts) -> None:
    payouts.owe(payouts.world.creator_a, 500_000, key="a")
    batch = _prepare(payouts)
    payout_batch_approve(batch=batch, actor=payouts.finance_b)
    with pytest.raises(ApplicationError, match="Export the batch"):
        payout_item_mark_paid(item=batch.items.get(), actor=payouts.finance_b, reference="X")
    with pytest.raises(ApplicationError, match="reference"):
        payout_item_mark_paid(item=batch.items.get(), actor=payouts.finance_b, reference="  ")


def test_cancel_before_approval_frees_the_creators_and_not_after(payouts: Payouts) -> None:
    payouts.owe(payouts.world.creator_a, 500_000, key="a")
    batch = _prepare(payouts)

    payout_batch_cancel(batch=batch, actor=payouts.world.owner_a, reason="wrong month")

    assert batch.items.get().status == Status.CANCELLED
    second = _prepare(payouts)
    payout_batch_approve(batch=second, actor=payouts.finance_b)
    with pytest.raises(ApplicationError, match="cannot be cancelled") as raised:
        payout_batch_cancel(batch=second, actor=payouts.world.owner_a)
    assert raised.value.status == 409


def test_an_invoice_is_recorded_only_against_a_payout_without_withholding(payouts: Payouts) -> None:
    world = payouts.world
    tax_profile_set(agency=payouts.agency, actor=world.finance_a, creator=world.creator_a, method="none")
    payouts.owe(world.creator_a, 500_000, key="a")
    payouts.owe(world.creator_a2, 500_000, key="a2")
    items = _items(_prepare(payouts))

    payout_item_record_invoice(
        item=items["Creator A"], actor=world.finance_a, invoice_reference="FP-2026-0042"
    )

    assert PayoutItem.objects.get(pk=items["Creator A"].pk).invoice_reference == "FP-2026-0042"
    with pytest.raises(ApplicationError, match="Only a payout without withholding"):
        payout_item_record_invoice(item=items["Creator A2"], actor=world.finance_a, invoice_reference="FP-1")


# --- roles -------------------------------------------------------------------------------------------


def test_managers_and_viewers_cannot_move_payouts_and_other_agencies_do_not_see_them(
    payouts: Payouts,
) -> None:
    world = payouts.world
    payouts.owe(world.creator_a, 500_000, key="a")
    for actor in (world.manager_a, world.viewer_a):
        with pytest.raises(PermissionDenied):
            payout_batch_prepare(agency=payouts.agency, actor=actor)
    with pytest.raises(NotFound):
        payout_batch_prepare(agency=payouts.agency, actor=world.owner_b)
    batch = _prepare(payouts)
    for actor in (world.manager_a, world.viewer_a):
        with pytest.raises(PermissionDenied):
            payout_batch_approve(batch=batch, actor=actor)
    with pytest.raises(NotFound):
        payout_batch_approve(batch=batch, actor=world.owner_b)
    with pytest.raises(NotFound):
        tax_profile_set(agency=payouts.agency, actor=world.finance_a, creator=world.creator_b, method="none")
    payout_batch_approve(batch=batch, actor=world.owner_a)  # the owner is another pair of eyes too
    payout_batch_mark_exported(batch=batch, actor=world.owner_a)
    item = batch.items.get()
    with pytest.raises(PermissionDenied):
        payout_item_mark_paid(item=item, actor=world.manager_a, reference="X")
    with pytest.raises(NotFound):
        payout_item_mark_failed(item=item, actor=world.owner_b, reason="X")
    assert JournalEntry.objects.filter(idempotency_key=f"payout:{item.public_id}:paid").count() == 0


# --- the whole cycle ---------------------------------------------------------------------------------


def test_verify_ledger_passes_after_a_full_cycle(payouts: Payouts) -> None:
    world = payouts.world
    payouts.owe(world.creator_a, 500_000, key="a")
    payouts.owe(world.creator_a2, 300_000, key="a2")
    batch = _approved_and_exported(payouts)
    items = _items(batch)
    payout_item_mark_paid(item=items["Creator A"], actor=world.finance_a, reference="ALIPAY-2026-1")
    payout_item_mark_failed(item=items["Creator A2"], actor=world.finance_a, reason="Name does not match")

    out = io.StringIO()
    call_command("verify_ledger", stdout=out, stderr=io.StringIO())

    assert "OK: " in out.getvalue()
    # 3,000.00 at most 4,000.00: expense 800.00, taxable 2,200.00, tax 440.00, all returned.
    assert payouts.owed(world.creator_a2) == 300_000
    assert payouts.owed(world.creator_a) == 0
    assert -payouts.balance(Purpose.TAX_WITHHOLDING_PAYABLE) == 80_000
    assert payouts.balance(Purpose.BANK) == 500_000 + 300_000 - 420_000


def test_a_batch_pays_in_the_current_month_and_is_approved_in_it(payouts: Payouts, monkeypatch) -> None:
    import datetime

    from apps.agencies.time import agency_today
    from apps.payouts import services

    payouts.owe(payouts.world.creator_a, 500_000, key="a")
    today = agency_today(payouts.agency)
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    with pytest.raises(ApplicationError, match="pays in the current month"):
        payout_batch_prepare(agency=payouts.agency, actor=payouts.world.finance_a, as_of=last_month)
    batch = _prepare(payouts)

    # The month turns before anyone approves: its tax was computed for the month that ended.
    next_month = (today.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    monkeypatch.setattr(services, "agency_today", lambda agency: next_month)
    with pytest.raises(ApplicationError, match="prepared for payments in") as raised:
        payout_batch_approve(batch=batch, actor=payouts.finance_b)

    assert raised.value.status == 409
    assert _payout_entries(payouts) == 0


def test_cumulative_tax_carries_the_years_earlier_payouts() -> None:
    from apps.payouts.services import _History, payout_tax_compute
    from apps.payouts.withholding import EarlierMonth

    # docs/withholding.md §6: January 25,000.00 withheld 450.00; February 25,000.00: m = 2, ytd
    # income 50,000.00, expense 10,000.00, allowance 10,000.00, taxable 30,000.00, 3 % = 900.00,
    # less 450.00 withheld before: 450.00. Last year's December does not count.
    history = _History(
        month_gross_minor=0,
        month_tax_minor=0,
        earlier=(
            EarlierMonth(month="2025-12", gross_fen=9_000_000, withheld_fen=900_000),
            EarlierMonth(month="2026-01", gross_fen=2_500_000, withheld_fen=45_000),
        ),
    )
    tax, document = payout_tax_compute(
        method="cumulative", period="2026-02", gross_minor=2_500_000, history=history
    )
    assert tax == 45_000
    assert (document["months_counted"], document["ytd_tax"], document["ytd_withheld"]) == (
        2,
        "900.00",
        "900.00",
    )
