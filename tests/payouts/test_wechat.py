"""WeChat Pay merchant transfers: the creator gives their openid (and AppID) on their own page, the
agency sees it masked, the export writes one transfer bill per payout in the API's field names
(fen, the scene and its report infos, the real name exactly from 2,000.00, refused without one),
and WeChat Pay's results mark items paid or failed, a failed one's money back in the balance."""

from __future__ import annotations

import datetime
import io
import json
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.common.exceptions import ApplicationError
from apps.payouts.details import payout_details_set
from apps.payouts.exports import payout_batch_export, payout_results_import
from apps.payouts.models import PayoutBatch, PayoutDetails, PayoutItem
from apps.payouts.rails import ExportLine
from apps.payouts.rails.wechat import WeChatRail, transfer_remark
from apps.payouts.services import payout_batch_approve, payout_batch_prepare
from tests.conftest import api_as, web_as
from tests.factories import PASSWORD
from tests.payouts.conftest import Payouts, Purpose

pytestmark = pytest.mark.django_db

APPID = "wxd930ea5d5a258f4f"
OPENID_A = "o-MYE42l80oelYMDE34nYD456Xoy"
OPENID_A2 = "oLmDv6zHcB6rxK6VCsZmEqPiyT2a"
OPENID_NO_NAME = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


def _wechat(creator, openid: str, *, real_name: str = "") -> PayoutDetails:  # type: ignore[no-untyped-def]
    details = payout_details_set(
        creator=creator,
        actor=creator.user,
        method="wechat",
        real_name=real_name,
        account=openid,
        wechat_appid=APPID,
    )
    PayoutDetails.objects.filter(pk=details.pk).update(changed_at=timezone.now() - datetime.timedelta(days=2))
    return details


def _bills(content: bytes) -> list[dict]:
    lines = content.decode("utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture
def batch(payouts: Payouts) -> PayoutBatch:
    """Creator A: net 4,200.00 (a real name is needed); A2: net 300.00; "No Name": net 2,560.00
    and no real name given. All three paid by WeChat Pay."""
    world = payouts.world
    no_name = payouts.new_creator("No Name")
    _wechat(world.creator_a, OPENID_A, real_name="张三")
    _wechat(world.creator_a2, OPENID_A2, real_name="李四")
    _wechat(no_name, OPENID_NO_NAME)
    payouts.owe(world.creator_a, 500_000, key="a")  # tax 800.00 → net 4,200.00
    payouts.owe(world.creator_a2, 30_000, key="a2")  # no tax → net 300.00
    payouts.owe(no_name, 300_000, key="no-name")  # tax 440.00 → net 2,560.00
    prepared = payout_batch_prepare(agency=payouts.agency, actor=world.finance_a)
    return payout_batch_approve(batch=prepared, actor=payouts.finance_b)


def _item(batch: PayoutBatch, creator) -> PayoutItem:  # type: ignore[no-untyped-def]
    return batch.items.get(creator=creator)


# --- export ---------------------------------------------------------------------------------------


def test_the_export_writes_one_transfer_bill_per_payout(payouts: Payouts, batch: PayoutBatch) -> None:
    world = payouts.world

    export = payout_batch_export(batch=batch, actor=world.finance_a, rail_name="wechat")

    assert export.file.filename.endswith("-wechat.jsonl")
    bills = {bill["openid"]: bill for bill in _bills(export.file.content)}
    assert set(bills) == {OPENID_A, OPENID_A2}
    a, a2 = bills[OPENID_A], bills[OPENID_A2]
    item_a = _item(batch, world.creator_a)
    assert a == {
        "appid": APPID,
        "out_bill_no": item_a.public_id.hex,  # letters and digits only, as WeChat Pay wants
        "transfer_scene_id": "1005",
        "openid": OPENID_A,
        "user_name": "张三",  # 4,200.00 >= 2,000.00: the real name is in the bill
        "transfer_amount": 420_000,  # fen, an integer
        "transfer_remark": f"{payouts.agency.name} {batch.period}",
        "user_recv_perception": "劳务报酬",
        "transfer_scene_report_infos": [
            {"info_type": "岗位类型", "info_content": "主播"},
            {"info_type": "报酬说明", "info_content": f"{batch.period}收益分成"},
        ],
    }
    assert "user_name" not in a2  # 300.00: under 2,000.00, no name leaves
    assert a2["transfer_amount"] == 30_000 and isinstance(a2["transfer_amount"], int)
    assert PayoutBatch.objects.get(pk=batch.pk).status == PayoutBatch.Status.EXPORTED


def test_a_payout_from_2000_without_a_real_name_is_refused_with_a_sentence(
    payouts: Payouts, batch: PayoutBatch
) -> None:
    export = payout_batch_export(batch=batch, actor=payouts.world.finance_a, rail_name="wechat")

    assert export.exported == 2
    assert [left.creator_name for left in export.left_out] == ["No Name"]
    why = export.left_out[0].why
    assert "real name" in why and "2,000.00" in why and "2560.00" in why
    assert OPENID_NO_NAME.encode() not in export.file.content
    # Refused, not failed: the money stays in flight until the name is given or finance fails it.
    no_name = PayoutItem.objects.get(creator__display_name="No Name")
    assert no_name.status == PayoutItem.Status.APPROVED


def test_the_real_name_is_in_a_bill_exactly_from_2000() -> None:
    batch = PayoutBatch(period="2026-12", public_id=uuid.uuid4())

    def line(amount: int, name: str = "王五") -> ExportLine:
        return ExportLine(str(uuid.uuid4()), name, OPENID_A, "", "", amount, "Agency 2026-12", APPID)

    bills = _bills(WeChatRail().export(batch, [line(199_999), line(200_000)]).content)

    assert ["user_name" in bill for bill in bills] == [False, True]
    assert bills[1]["user_name"] == "王五"
    rail = WeChatRail()
    assert rail.refusal(line(199_999, name="")) == ""
    assert "real name" in rail.refusal(line(200_000, name=""))
    assert "Nothing to transfer" in rail.refusal(line(0))


def test_a_long_remark_is_cut_to_32_characters_keeping_the_month() -> None:
    memo = "北京某某某某文化传媒有限公司上海分公司第二事业部达人经纪中心 2026-03"
    remark = transfer_remark(memo, "2026-03")
    assert len(remark) == 32 and remark.endswith("… 2026-03") and remark.startswith("北京某某")
    assert transfer_remark("短名 2026-03", "2026-03") == "短名 2026-03"


def test_the_transfer_scene_comes_from_settings(settings) -> None:
    settings.PAYOUTS_WECHAT_TRANSFER = {
        "transfer_scene_id": "1000",
        "user_recv_perception": "现金奖励",
        "report_infos": [("活动名称", "创作者激励"), ("奖励说明", "{period}激励金")],
    }
    batch = PayoutBatch(period="2026-12", public_id=uuid.uuid4())
    line = ExportLine(str(uuid.uuid4()), "", OPENID_A, "", "", 5_000, "memo", APPID)

    [bill] = _bills(WeChatRail().export(batch, [line]).content)

    assert (bill["transfer_scene_id"], bill["user_recv_perception"]) == ("1000", "现金奖励")
    assert bill["transfer_scene_report_infos"][1] == {
        "info_type": "奖励说明",
        "info_content": "2026-12激励金",
    }
    settings.PAYOUTS_WECHAT_TRANSFER = {"report_infos": [("岗位类型", "主" * 33)]}
    with pytest.raises(ImproperlyConfigured, match="at most 32"):
        WeChatRail().export(batch, [line])


def test_the_api_exports_the_bills_and_counts_the_refused(payouts: Payouts, batch: PayoutBatch) -> None:
    response = api_as(payouts.world.finance_a).post(
        f"/api/v1/payouts/batches/{batch.public_id}/export/", {"rail": "wechat"}, format="json"
    )
    assert response.status_code == 200
    assert response["X-Fenrun-Left-Out"] == "1"
    assert response["Content-Type"].startswith("application/x-ndjson")
    assert len(_bills(response.content)) == 2


def test_a_creator_paid_by_bank_is_left_out_of_the_wechat_file(payouts: Payouts) -> None:
    world = payouts.world
    _wechat(world.creator_a2, OPENID_A2)
    payouts.owe(world.creator_a, 30_000, key="a")  # bank details (the fixture's helper)
    payouts.owe(world.creator_a2, 30_000, key="a2")
    batch = payout_batch_approve(
        batch=payout_batch_prepare(agency=payouts.agency, actor=world.finance_a), actor=payouts.finance_b
    )

    export = payout_batch_export(batch=batch, actor=world.finance_a, rail_name="wechat")

    assert [bill["openid"] for bill in _bills(export.file.content)] == [OPENID_A2]
    assert [(left.creator_name, left.why) for left in export.left_out] == [
        ("Creator A", "Paid by Bank account: export it with that rail.")
    ]


# --- masking and the creator's page ------------------------------------------------------------------


def test_the_agency_sees_the_openid_masked_on_the_page_and_in_the_api(
    payouts: Payouts, batch: PayoutBatch
) -> None:
    page = web_as(payouts.finance_b).get(f"/payouts/{batch.public_id}/").content.decode()
    assert OPENID_A not in page
    assert "o-MY****6Xoy" in page and "WeChat Pay" in page and "张*" in page

    items = api_as(payouts.finance_b).get(f"/api/v1/payouts/batches/{batch.public_id}/items/").json()
    details = {row["creator_name"]: row["details"] for row in items["results"]}
    assert details["Creator A"]["account"] == "o-MY****6Xoy"
    assert details["Creator A"]["method"] == "wechat" and details["Creator A"]["wechat_appid"] == APPID
    assert details["No Name"]["real_name"] == ""
    assert OPENID_A not in json.dumps(items)


def _details_post(client, **changes: str):  # type: ignore[no-untyped-def]
    data = {
        "method": "wechat",
        "real_name": "",
        "account": OPENID_A,
        "bank_name": "",
        "bank_branch": "",
        "wechat_appid": APPID,
    }
    data.update(changes)
    return client.post("/payouts/details/change/", data)


def test_a_creator_chooses_wechat_pay_on_their_details_page(payouts: Payouts) -> None:
    creator = payouts.world.creator_a
    client = web_as(creator.user)
    assert 'value="wechat"' in client.get("/payouts/details/").content.decode()

    first = _details_post(client)
    assert first.status_code == 302 and first["Location"].startswith("/accounts/reauthenticate/")
    saved = client.post(first["Location"], {"password": PASSWORD})  # allauth replays the POST

    assert saved.status_code == 302 and saved["Location"] == "/payouts/details/"
    details = PayoutDetails.objects.get(creator=creator)
    assert (details.method, details.account, details.wechat_appid, details.real_name) == (
        "wechat",
        OPENID_A,
        APPID,
        "",
    )
    page = client.get("/payouts/details/").content.decode()
    assert "WeChat Pay" in page and "o-MY****6Xoy" in page and APPID in page
    assert 'id="wechat-no-name"' in page  # told that 2,000.00 or more needs the name

    with_name = _details_post(client, real_name="张三")
    assert with_name.status_code == 302
    assert PayoutDetails.objects.get(creator=creator).real_name == "张三"
    assert 'id="wechat-no-name"' not in client.get("/payouts/details/").content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"wechat_appid": "wx123"}, "wechat_appid", "wx followed by 16"),
        ({"wechat_appid": ""}, "wechat_appid", "wx followed by 16"),
        ({"account": "not an openid!"}, "account", "openid"),
        ({"method": "alipay", "account": "13812345678"}, "real_name", "real name"),
    ],
)
def test_bad_wechat_details_are_shown_next_to_the_field(
    payouts: Payouts, changes: dict, field: str, words: str
) -> None:
    client = web_as(payouts.world.creator_a.user)
    first = _details_post(client)
    client.post(first["Location"], {"password": PASSWORD})
    before = PayoutDetails.objects.get(creator=payouts.world.creator_a)

    response = _details_post(client, **changes)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert words in " ".join(errors[field])
    assert PayoutDetails.objects.get(pk=before.pk).changed_at == before.changed_at  # unchanged


def test_the_database_refuses_wechat_details_without_an_appid_and_bank_details_without_a_name(
    payouts: Payouts,
) -> None:
    details = _wechat(payouts.world.creator_a, OPENID_A)
    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutDetails.objects.filter(pk=details.pk).update(wechat_appid="")
    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutDetails.objects.filter(pk=details.pk).update(account="o-MYE42l80oelYMDE34nYD456Xoy'; --")
    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutDetails.objects.filter(pk=details.pk).update(method="alipay", wechat_appid="")


# --- results --------------------------------------------------------------------------------------


def _jsonl(*bills: dict) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(bill, ensure_ascii=False) + "\n" for bill in bills).encode())


def test_wechat_pays_results_mark_one_item_paid_and_one_failed_with_its_money_back(
    payouts: Payouts, batch: PayoutBatch
) -> None:
    world = payouts.world
    payout_batch_export(batch=batch, actor=world.finance_a, rail_name="wechat")
    a, a2 = _item(batch, world.creator_a), _item(batch, world.creator_a2)
    no_name = PayoutItem.objects.get(creator__display_name="No Name")
    owed_before = payouts.owed(world.creator_a2)

    outcomes = payout_results_import(
        batch=batch,
        actor=world.finance_a,
        rail_name="wechat",
        file=_jsonl(
            {
                "out_bill_no": a.public_id.hex,
                "transfer_bill_no": "1330000071100999991182020050700019480001",
                "state": "SUCCESS",
                "transfer_amount": 420_000,
            },
            {
                "out_bill_no": a2.public_id.hex,
                "transfer_bill_no": "1330000071100999991182020050700019480002",
                "state": "FAIL",
                "fail_reason": "NAME_NOT_CORRECT",
                "transfer_amount": 30_000,
            },
            {"out_bill_no": no_name.public_id.hex, "state": "WAIT_USER_CONFIRM", "transfer_amount": 256_000},
            {"out_bill_no": a.public_id.hex, "state": "SUCCESS", "transfer_amount": 4200.0},
            "not a bill",  # type: ignore[arg-type]
        ),
    )

    assert [(outcome.row, outcome.outcome) for outcome in outcomes] == [
        (1, "paid"),
        (2, "failed"),
        (3, "error"),
        (4, "error"),
        (5, "error"),
    ]
    assert "has not finished" in outcomes[2].message and "WAIT_USER_CONFIRM" in outcomes[2].message
    assert "whole number of fen" in outcomes[3].message  # a float is not an amount
    assert "JSON object" in outcomes[4].message
    a.refresh_from_db()
    a2.refresh_from_db()
    no_name.refresh_from_db()
    assert (a.status, a.reference) == ("paid", "1330000071100999991182020050700019480001")
    assert (a2.status, a2.failure_reason) == ("failed", "NAME_NOT_CORRECT: 用户姓名校验失败")
    assert no_name.status == "approved"  # still in flight, nothing posted for it
    # The failed payout's gross (its net and its tax) is back in the creator's balance.
    assert payouts.owed(world.creator_a2) == owed_before + a2.gross_minor
    assert payouts.balance(Purpose.PAYOUTS_IN_FLIGHT) == -no_name.net_minor


def test_a_result_csv_may_use_wechat_pays_columns_and_states(payouts: Payouts, batch: PayoutBatch) -> None:
    world = payouts.world
    payout_batch_export(batch=batch, actor=world.finance_a, rail_name="wechat")
    a, a2 = _item(batch, world.creator_a), _item(batch, world.creator_a2)
    text = (
        "out_bill_no,state,transfer_bill_no,fail_reason,transfer_amount\r\n"
        f"{a.public_id.hex},SUCCESS,1330000071100999991182020050700019480003,,420000\r\n"
        f"{a2.public_id.hex},CANCELLED,,,30000\r\n"
    )

    outcomes = payout_results_import(
        batch=batch, actor=world.finance_a, rail_name="wechat", file=io.BytesIO(text.encode())
    )

    assert [outcome.outcome for outcome in outcomes] == ["paid", "failed"]
    a2.refresh_from_db()
    assert a2.failure_reason == "WeChat Pay cancelled the transfer (CANCELLED)."


def test_the_common_result_csv_works_for_wechat_too(payouts: Payouts, batch: PayoutBatch) -> None:
    world = payouts.world
    payout_batch_export(batch=batch, actor=world.finance_a, rail_name="wechat")
    a = _item(batch, world.creator_a)
    text = f"item_reference,status,reference,reason,amount\r\n{a.public_id},paid,WX-1,,4200.00\r\n"

    outcomes = payout_results_import(
        batch=batch, actor=world.finance_a, rail_name="wechat", file=io.BytesIO(text.encode())
    )

    assert [outcome.outcome for outcome in outcomes] == ["paid"]


def test_an_empty_wechat_result_is_refused_whole(payouts: Payouts, batch: PayoutBatch) -> None:
    with pytest.raises(ApplicationError, match="empty"):
        payout_results_import(
            batch=batch, actor=payouts.world.finance_a, rail_name="wechat", file=io.BytesIO(b"")
        )
