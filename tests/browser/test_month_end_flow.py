"""Month end in a real Chromium, through the real pages (issue 13's "Done when"): finance closes
November 2026, drafts and publishes its statements; the creator, on a phone and in Chinese, opens
the statement and downloads its PDF (both languages) and CSV; finance A prepares a payout batch,
finance B approves it (password and authenticator code again), the bank file is exported, and a
result file marks one payout failed, whose money is back in the creator's balance.

The month is over (the real date is in December), so it can be closed; the seed goes through the
services the other tests use (contracts signed, a file imported), nothing is written to tables.
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.core.management import call_command
from pypdf import PdfReader

from apps.agencies.services import membership_set
from apps.income.models import StatementImport
from apps.ledger.models import Account, AccountBalance
from apps.ledger.services import ledger_account_get_or_create
from apps.statements.csv_export import COLUMNS
from tests.conftest import totp_for_browser
from tests.factories import PASSWORD, Role, UserFactory
from tests.income.conftest import run_import, sign_contract
from tests.payouts.conftest import give_payout_details

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MONTH = "2026-11"
SECRET_A = "JBSWY3DPEHPK3PXP"
SECRET_B = "KRSXG5CTMVRXEZLU"
HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
# Creator A (douyin, the built-in contract's "everything else" 60 %): 10,000.00 of gifts → 6,000.00.
# Creator A2 (bilibili, SIMPLE_RULES 60 %): 5,000.00 of gifts → 3,000.00.
ROWS = (
    "N-1,2026-11-05T20:00:00+08:00,douyin,dy_a,live_gifts,10000.00,CNY,,,十一月直播礼物",
    "N-2,2026-11-12T20:00:00+08:00,bilibili,bl_a2,live_gifts,5000.00,CNY,,,November live gifts",
)


def _owed(world: Any, creator: Any) -> int:
    """What the agency owes the creator, in fen (the creator payable balance, shown positive)."""
    account = ledger_account_get_or_create(
        agency=world.agency_a, purpose=Account.Purpose.CREATOR_PAYABLE, currency="CNY", creator=creator
    )
    row = AccountBalance.objects.filter(account=account).first()
    return -(row.balance_minor if row is not None else 0)


def _fresh_code(secret: str, used: set[str]) -> str:
    """The authenticator's current code, waiting for the next 30-second window when this one was
    used already (allauth refuses a code a second time, as it should)."""
    while (code := totp_for_browser(secret)) in used:
        time.sleep(1)
    used.add(code)
    return code


def _context(browser: Any, live_server: Any, *, locale: str = "en-US", phone: bool = False) -> Any:
    viewport = {"width": 412, "height": 915} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(
        base_url=live_server.url, viewport=viewport, locale=locale, accept_downloads=True
    )
    context.set_default_timeout(20_000)
    return context


def _sign_in(page: Any, user: Any, secret: str | None, used: set[str]) -> None:
    """conftest's login_as, but remembering the code it gave: finance B types a code again to
    approve, and it must be a new one."""
    page.goto("/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    if secret:
        page.wait_for_selector("input[name=code]")
        page.fill("input[name=code]", _fresh_code(secret, used))
        page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url and "/2fa/authenticate" not in url)


@pytest.fixture
def november(world: Any) -> Any:
    from tests.contracts.conftest import active_contract

    active_contract(world)  # creator A: douyin and bilibili
    sign_contract(world, world.creator_a2, ["bilibili"])
    done = run_import(world, "november.csv", (HEADER + "\n".join(ROWS) + "\n").encode())
    assert done.status == StatementImport.Status.DONE, done.message
    for creator in (world.creator_a, world.creator_a2):
        give_payout_details(creator)  # 48 hours old: past the 24-hour hold
    TOTP.activate(world.finance_a, SECRET_A)
    world.finance_b = UserFactory.create(email="finance.b@example.test", name="Finance B")
    membership_set(agency=world.agency_a, user=world.finance_b, role=Role.FINANCE)
    TOTP.activate(world.finance_b, SECRET_B)
    return world


def test_month_end_from_close_to_a_failed_payout(
    november: Any, browser: Any, live_server: Any, celery_eager: Any, tmp_path: Any
) -> None:
    world = november
    used: set[str] = set()
    agency = world.agency_a.public_id

    # --- finance A closes November ------------------------------------------------------------
    finance = _context(browser, live_server)
    page = finance.new_page()
    _sign_in(page, world.finance_a, SECRET_A, used)
    page.goto("/periods/")
    row = page.locator(f"#periods tr[data-period='{MONTH}']")
    assert "Open" in row.locator(".period-status").inner_text()
    row.get_by_role("link", name="Preview and close").click()
    assert page.locator("#count-recognised").inner_text() == "2"
    page.check("#close-form input[name=confirm]")
    page.click("#close-form button[type=submit]")
    page.wait_for_selector("#closed-summary")
    assert f"{MONTH} is closed" in page.locator("main").inner_text()
    assert world.finance_a.email in page.locator("#closed-summary").inner_text()

    # --- finance A drafts, reviews and publishes the month's statements -----------------------
    page.goto(f"/statements/?agency={agency}&period={MONTH}")
    page.click("#draft-form button[type=submit]")
    page.wait_for_selector("text=Statements drafted: 2.")
    table = page.locator("#statements").inner_text()
    assert "Creator A" in table and "Creator A2" in table and "¥6,000.00" in table and "¥3,000.00" in table
    page.locator("#statements tr", has_text="Creator A2").get_by_role("link").click()  # review a draft
    assert "Draft statement" in page.locator("h1").inner_text()
    assert "N-2" in page.locator("#lines").inner_text()
    page.go_back()
    page.click("#publish-month-form button[type=submit]")
    page.wait_for_selector("text=Statements published: 2.")
    assert "draft" not in page.locator("#statements tbody").inner_text().lower()

    # --- the creator, on a phone and in Chinese, opens the statement and downloads both files ---
    creator_context = _context(browser, live_server, locale="zh-CN", phone=True)
    phone = creator_context.new_page()
    _sign_in(phone, world.creator_a.user, None, used)
    phone.goto("/statements/")
    own = phone.locator("#own-statements")
    assert "我的对账单" in own.inner_text() and MONTH in own.inner_text()
    number = own.locator("td.row-label a").inner_text().strip()
    own.locator("td.row-label a").click()
    heading = phone.locator("h1").inner_text()
    assert f"对账单第 {number} 号" in heading, heading
    assert "期末余额" in phone.locator("#figures").inner_text()
    assert "¥6,000.00" in phone.locator("#figures tr[data-figure='closing']").inner_text()
    pdf_link = phone.locator("#pdf-link")
    assert "中英文" in pdf_link.inner_text()
    with phone.expect_download() as pdf_download:
        pdf_link.click()
    pdf_path = tmp_path / "statement.pdf"
    pdf_download.value.save_as(pdf_path)
    reader = PdfReader(str(pdf_path))
    text = "\n".join(page_.extract_text() for page_ in reader.pages)
    assert "Closing balance" in text and "期末余额" in text, text[:500]
    assert number in text and "6,000.00" in text
    with phone.expect_download() as csv_download:
        phone.click("#csv-link")
    csv_path = tmp_path / "statement.csv"
    csv_download.value.save_as(csv_path)
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS
    assert rows[0][:10] == HEADER.strip().split(",")  # the canonical ten, in the spec's order
    assert [r[0] for r in rows[1:]] == ["N-1"] and rows[1][9] == "十一月直播礼物" and rows[1][10] == "6000.00"
    creator_context.close()

    # --- finance A prepares a payout batch (payment day today) --------------------------------
    owed_before = {creator.pk: _owed(world, creator) for creator in (world.creator_a, world.creator_a2)}
    assert owed_before == {world.creator_a.pk: 6_000_00, world.creator_a2.pk: 3_000_00}
    page.goto("/payouts/")
    page.click("#prepare-form button[type=submit]")
    page.wait_for_selector("text=Batch prepared: 2 payouts.")
    batch_url = page.url
    assert page.locator("#batch-status").inner_text() == "Prepared"
    assert "You prepared this batch" in page.locator("#four-eyes").inner_text()
    assert page.locator("#approve-form").count() == 0
    items = page.locator("#items").inner_text()
    assert "Creator A" in items and "Creator A2" in items

    # --- finance B signs in with their code and approves it (password, then code, again) ------
    approver_context = _context(browser, live_server)
    approver = approver_context.new_page()
    _sign_in(approver, world.finance_b, SECRET_B, used)
    approver.goto(batch_url)
    approver.click("#approve-form button[type=submit]")
    approver.wait_for_url("**/accounts/reauthenticate/**")
    approver.fill("input[name=password]", PASSWORD)
    approver.click("button[type=submit]")
    approver.wait_for_url("**/accounts/2fa/reauthenticate/**")
    approver.fill("input[name=code]", _fresh_code(SECRET_B, used))
    approver.click("button[type=submit]")
    approver.wait_for_url(batch_url)
    assert "Approved: the payouts are in flight" in approver.locator("main").inner_text()
    assert approver.locator("#batch-status").inner_text() == "Approved"
    approver_context.close()

    # --- finance A exports the bank file ------------------------------------------------------
    page.goto(batch_url)
    page.select_option("#export-form select[name=rail]", "bank_csv")
    with page.expect_download() as bank_download:
        page.click("#export-form button[type=submit]")
    bank_path = tmp_path / "bank.csv"
    bank_download.value.save_as(bank_path)
    bank_rows = list(csv.DictReader(io.StringIO(bank_path.read_text(encoding="utf-8-sig"))))
    assert len(bank_rows) == 2
    by_name = {row["收款户名"]: row for row in bank_rows}
    assert set(by_name) == {world.creator_a.legal_name, world.creator_a2.legal_name}
    page.goto(batch_url)
    assert page.locator("#batch-status").inner_text() == "Exported"

    # --- the bank's result: creator A paid, creator A2 failed ---------------------------------
    paid, failed = by_name[world.creator_a.legal_name], by_name[world.creator_a2.legal_name]
    result = tmp_path / "result.csv"
    result.write_text(
        "item_reference,status,reference,reason,amount\n"
        f"{paid['商户流水号'].lstrip(chr(39))},paid,BANK-0001,,{paid['金额']}\n"
        f"{failed['商户流水号'].lstrip(chr(39))},failed,,账户已冻结 account frozen,{failed['金额']}\n",
        encoding="utf-8",
    )
    page.select_option("#results-form select[name=rail]", "bank_csv")
    page.set_input_files("#results-form input[type=file]", str(result))
    page.click("#results-form button[type=submit]")
    page.wait_for_selector("#outcomes")
    outcomes = page.locator("#outcomes").inner_text()
    assert "0 rows were refused" in outcomes and "Paid out" in outcomes and "Failed" in outcomes
    a2_row = page.locator("#items tr", has_text="Creator A2").inner_text()
    assert "Failed" in a2_row and "account frozen" in a2_row
    a_row = page.locator("#items tbody tr").filter(has_not_text="Creator A2").inner_text()
    assert "Paid out" in a_row and "BANK-0001" in a_row
    assert page.locator("#batch-status").inner_text() == "Settled"
    finance.close()

    # The failed payout's money (net and tax) is back in creator A2's balance; A was paid.
    assert _owed(world, world.creator_a2) == owed_before[world.creator_a2.pk]
    assert _owed(world, world.creator_a) == 0
    call_command("verify_ledger")
