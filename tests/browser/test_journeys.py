"""Issue 14's "Done when", in a real Chromium: the agency's and the creator's journeys through the
real pages, in English and in Chinese, on a desktop and on a 375-px phone.

The agency's owner invites a creator by email from the console; the creator follows the mailed
link, signs up and confirms; the owner drafts a contract on the pages and sends it, the creator
signs it (the agency countersigns); the owner uploads last month's statement: the creator joined
today, so last month's line waits in the exceptions queue and is assigned by hand, today's line
matches on its own; the creator reads both on the home page and in the income list and opens
one line's breakdown, then disputes it and the owner answers, both with the keyboard alone; the
creator downloads the evidence bundle and its own script checks it offline; the owner closes last
month and reads the reports.

Every step keeps a screenshot (.ci/artifacts/screenshots/, CI's artifacts), passes axe-core with
no serious violation and, on the phone, does not scroll sideways (tests/browser/journey_support.py).
The seed is an agency with its owner, nothing else; everything after that goes through the pages.
"""

from __future__ import annotations

import base64
import datetime
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone

from apps.contracts.services import contract_templates_install_builtin
from tests.browser.journey_support import Journey, choose_language, launch_with_cjk_font, tab_to
from tests.conftest import totp_for_browser
from tests.evidence.conftest import follow_readme
from tests.factories import PASSWORD, UserFactory, agency_with_owner
from tests.invitations.conftest import mailed_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a-long-new-password-42"
CREATOR_EMAIL = "xiaoli@example.test"
ACCOUNT_ID = "dy_xiaoli"
BUNDLE_OK = "OK: every split recomputed and every hash verified."
HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"

# What a person reads on the pages, in each language (the catalogue's words, not our own).
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "creators": "Creators",
        "invite": "Invite a creator",
        "invites_you": "Starlight invites you",
        "template": "Exclusive management",
        "sent": "Sent to the creator for signature.",
        "signed": "Signed.",
        "imports": "Statement imports",
        "queue": "Exceptions queue",
        "breakdown": "Figure by figure",
        "clause": "Everything else",
        "version": "version 1",
        "open_dispute": "Open a dispute",
        "dispute": "Dispute",
        "answered": "Answered",
        "evidence": "Evidence",
        "closed": "is closed",
        "reports": "Reports",
        "by_creator": "By creator",
    },
    "zh-hans": {
        "creators": "创作者",
        "invite": "邀请创作者",
        "invites_you": "Starlight 邀请你",
        "template": "独家经纪合同",
        "sent": "已发送给创作者签署。",
        "signed": "已签署。",
        "imports": "对账单导入",
        "queue": "异常队列",
        "breakdown": "逐项明细",
        "clause": "其他收入",
        "version": "第1版",
        "open_dispute": "提出异议",
        "dispute": "异议",
        "answered": "已答复",
        "evidence": "证据",
        "closed": "已结账",
        "reports": "报表",
        "by_creator": "按创作者",
    },
}


def _last_month(today: datetime.date) -> tuple[datetime.date, str]:
    first = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    return first, first.strftime("%Y-%m")


def _statement(last_month_first: datetime.date, today: datetime.date) -> bytes:
    """Last month's gifts (the creator was not represented yet: the queue) and today's (matched).
    The exclusive template gives the creator 60 % of everything but brand deals."""
    earlier = f"{last_month_first:%Y-%m}-15T20:00:00+08:00"
    now = f"{today:%Y-%m-%d}T00:00:00+08:00"
    rows = [
        f"J-1,{earlier},douyin,{ACCOUNT_ID},live_gifts,1000.00,CNY,,,直播礼物 live gifts",
        f"J-2,{now},douyin,{ACCOUNT_ID},live_gifts,500.00,CNY,,,今天的礼物 today's gifts",
    ]
    return (HEADER + "\n".join(rows) + "\n").encode()


def _sign_in(page: Any, email: str, password: str, secret: str | None = None) -> None:
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    if secret:
        page.wait_for_selector("input[name=code]")
        page.fill("input[name=code]", totp_for_browser(secret))
        page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url and "/2fa/authenticate" not in url)


def _reauthenticate(page: Any, password: str) -> None:
    page.wait_for_url("**/accounts/reauthenticate/**")
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")


def _main(page: Any) -> str:
    return page.locator("main").inner_text()


@dataclass
class Walk:
    """The two people's browsers and what the steps share."""

    journey: Journey
    office: Any  # the agency owner's page
    phone: Any  # the creator's page
    language: str
    words: dict[str, str]
    base_url: str
    tmp_path: Path
    owner: Any
    secret: str
    today: datetime.date
    month_first: datetime.date
    month: str


@pytest.fixture(scope="module")
def journey_browser(browser: Any, tmp_path_factory: Any) -> Any:
    instance = launch_with_cjk_font(browser, tmp_path_factory.mktemp("fonts"))
    yield instance
    instance.close()


@pytest.fixture
def starlight(db: Any) -> Any:
    """An agency and its owner (with an authenticator: owners must use one). A new secret per run
    of the test, so that no code is ever one allauth saw already."""
    contract_templates_install_builtin()  # transactional tests flush the migration's rows
    owner = UserFactory.create(email="owner@starlight.test", name="Wang Fang")
    agency_with_owner(name="Starlight", owner=owner)
    secret = base64.b32encode(os.urandom(10)).decode()
    TOTP.activate(owner, secret)
    return owner, secret


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_agency_and_the_creator_from_invitation_to_reports(
    starlight: Any,
    journey_browser: Any,
    live_server: Any,
    celery_eager: Any,
    tmp_path: Path,
    language: str,
    viewport: str,
) -> None:
    owner, secret = starlight
    journey = Journey("agency-and-creator", language, viewport)
    today = timezone.localdate()
    month_first, month = _last_month(today)
    agency_context = journey.context(journey_browser, live_server.url)
    creator_context = journey.context(journey_browser, live_server.url)
    walk = Walk(
        journey=journey,
        office=agency_context.new_page(),
        phone=creator_context.new_page(),
        language=language,
        words=WORDS[language],
        base_url=live_server.url,
        tmp_path=tmp_path,
        owner=owner,
        secret=secret,
        today=today,
        month_first=month_first,
        month=month,
    )
    with journey.keep_pages_on_failure(agency=walk.office, creator=walk.phone):
        for step in (
            _invite,
            _sign_up,
            _draft_and_send,
            _sign,
            _import_and_settle,
            _read_income,
            _dispute,
            _evidence,
            _close_and_report,
        ):
            step(walk)
    agency_context.close()
    creator_context.close()


def _invite(walk: Walk) -> None:
    """The owner signs in, in their language, and invites the creator by email from the console."""
    office, words, journey = walk.office, walk.words, walk.journey
    office.goto("/accounts/login/")
    choose_language(office, walk.language)
    journey.step(office, "agency sign in")
    _sign_in(office, walk.owner.email, PASSWORD, walk.secret)
    office.goto("/agency/")
    assert words["creators"] in office.locator("h1").inner_text()
    journey.step(office, "agency roster empty")
    office.click("#invite-link")
    assert words["invite"] in office.locator("h1").inner_text()
    office.check("input[name=channel][value=email]")
    office.fill("input[name=email]", CREATOR_EMAIL)
    office.fill("input[name=name]", "Xiao Li")
    office.select_option("select[name=accounts-0-platform]", "douyin")
    office.fill("input[name=accounts-0-account_id]", ACCOUNT_ID)
    office.fill("input[name=accounts-0-handle]", "@xiaoli")
    journey.step(office, "agency invite form")
    office.click("#invite-form button[type=submit]")
    office.wait_for_selector("#open-invitations")
    assert CREATOR_EMAIL in office.locator("#open-invitations").inner_text()
    journey.step(office, "agency invitation sent")


def _sign_up(walk: Walk) -> None:
    """The creator follows the mailed link in a browser of their own, signs up and confirms."""
    phone, words, journey = walk.phone, walk.words, walk.journey
    phone.goto(mailed_link(CREATOR_EMAIL))
    choose_language(phone, walk.language)
    assert words["invites_you"] in phone.locator("h1").inner_text()
    journey.step(phone, "creator invitation")
    phone.click("#signup-link")
    phone.fill("input[name=email]", CREATOR_EMAIL)
    phone.fill("input[name=password1]", NEW_PASSWORD)
    phone.fill("input[name=password2]", NEW_PASSWORD)
    journey.step(phone, "creator sign up")
    phone.click("main form button[type=submit]")
    phone.wait_for_selector("#accept-form")
    assert ACCOUNT_ID in phone.locator("#accept-form").inner_text()
    phone.fill("input[name=legal_name]", "李晓")
    journey.step(phone, "creator confirms")
    phone.click("#accept-form button[type=submit]")
    phone.wait_for_url(f"{walk.base_url}/")
    journey.step(phone, "creator home represented")


def _draft_and_send(walk: Walk) -> None:
    """The owner drafts the contract on the pages (template, start, terms) and sends it."""
    office, words, journey = walk.office, walk.words, walk.journey
    office.goto("/contracts/new/")
    office.select_option("select[name=creator]", label="Xiao Li")
    office.select_option("select[name=template]", label=words["template"])
    office.fill("input[name=start_date]", walk.month_first.isoformat())
    journey.step(office, "agency new contract")
    office.click("main form button[type=submit]")
    office.wait_for_url("**/edit/")
    journey.step(office, "agency contract terms")
    office.click("#terms-form button[type=submit]")
    office.wait_for_selector("#send")
    office.click("#send")
    office.get_by_text(words["sent"]).wait_for()
    journey.step(office, "agency contract sent")


def _sign(walk: Walk) -> None:
    """The creator opens the offer from the home page and signs it; the agency countersigns."""
    office, phone, words, journey = walk.office, walk.phone, walk.words, walk.journey
    phone.goto("/")
    phone.locator("#offer-waiting a[role=button]").click()
    phone.wait_for_selector("#sign")
    journey.step(phone, "creator reads the offer")
    phone.check("#sign input[name=agree]")
    phone.click("#sign-button")
    _reauthenticate(phone, NEW_PASSWORD)
    phone.wait_for_url("**/contracts/v/**")
    assert words["signed"] in _main(phone)
    journey.step(phone, "creator signed")

    # The agency countersigns on the same page.
    office.reload()
    office.check("#sign input[name=agree]")
    office.click("#sign-button")
    _reauthenticate(office, PASSWORD)
    office.wait_for_url("**/contracts/v/**")
    assert words["signed"] in _main(office)


def _import_and_settle(walk: Walk) -> None:
    """The owner uploads last month's statement, opens its lines and assigns the queued one."""
    office, words, journey = walk.office, walk.words, walk.journey
    office.goto("/income/imports/")
    assert words["imports"] in office.locator("h1").inner_text()
    statement = walk.tmp_path / f"starlight-{walk.month}.csv"
    statement.write_bytes(_statement(walk.month_first, walk.today))
    office.set_input_files("#upload-form input[type=file]", str(statement))
    journey.step(office, "agency import form")
    office.click("#upload-form button[type=submit]")
    office.wait_for_selector("#import-progress[data-status=done]")
    assert office.locator("[data-count=imported]").inner_text() == "2"
    assert office.locator("[data-count=exceptions]").inner_text() == "1"
    journey.step(office, "agency import done")
    office.locator("#import-links a").first.click()
    office.wait_for_selector("#income-lines")
    assert office.locator("#income-lines tbody tr").count() == 2
    journey.step(office, "agency import lines")
    office.go_back()
    office.locator("#import-links a").nth(1).click()  # "1 line waits in the exceptions queue"
    office.wait_for_selector("#income-lines")
    assert office.locator("#income-lines tbody tr").count() == 1
    journey.step(office, "agency import queued lines")
    office.locator("header nav a", has_text=words["queue"]).click()
    assert words["queue"] in office.locator("h1").inner_text()
    row = office.locator("#queue tr[data-line=J-1]")
    journey.step(office, "agency queue")
    row.locator("form.assign-creator select[name=creator]").select_option(label="Xiao Li")
    row.locator("form.assign-creator button[type=submit]").click()
    office.wait_for_selector("#queue tr[data-line=J-1][data-state=resolved]")
    journey.step(office, "agency queue line assigned")


def _read_income(walk: Walk) -> None:
    """The creator reads the income on the home page and in the list, and one line's breakdown."""
    phone, words, journey = walk.phone, walk.words, walk.journey
    phone.goto("/")
    assert "¥900.00" in phone.locator("#owed-now").inner_text()  # 60 % of 1,500.00
    assert "¥300.00" in phone.locator("#this-month").inner_text()  # 60 % of today's 500.00
    journey.step(phone, "creator home with income")
    phone.goto("/income/")
    lines = phone.locator("#income-lines").inner_text()
    assert "¥600.00" in lines and "¥300.00" in lines
    journey.step(phone, "creator income list")
    phone.locator("#income-lines tbody tr", has_text="¥1,000.00").locator("a").first.click()
    phone.wait_for_selector("#breakdown")
    assert words["breakdown"] in phone.locator("#breakdown-title").inner_text()
    clause = phone.locator("#breakdown-clause").inner_text()
    assert words["clause"] in clause and words["version"] in clause, clause
    assert "¥600.00" in phone.locator("#breakdown-figures").inner_text()
    journey.step(phone, "creator line breakdown")


def _dispute(walk: Walk) -> None:
    """The creator disputes the line and the owner answers, both with the keyboard alone (Tab to
    each control, type, Enter); the creator reads the answer."""
    office, phone, words, journey = walk.office, walk.phone, walk.words, walk.journey
    tab_to(phone, "#open-dispute")
    with phone.expect_navigation():
        phone.keyboard.press("Enter")
    assert words["open_dispute"] in phone.locator("h1").inner_text()
    tab_to(phone, "#open-dispute textarea[name=message]")
    phone.keyboard.type("这笔礼物应该是 1,200.00 — the platform shows 1,200.00.")
    journey.step(phone, "creator dispute form")
    tab_to(phone, "#open-dispute button[type=submit]")
    with phone.expect_navigation():
        phone.keyboard.press("Enter")
    phone.wait_for_selector("#dispute-thread")
    assert "1,200.00" in phone.locator("#dispute-thread").inner_text()
    journey.step(phone, "creator dispute opened")
    dispute_url = phone.url

    office.goto("/disputes/agency/")
    journey.step(office, "agency disputes")
    office.goto(dispute_url)
    assert words["dispute"] in office.locator("h1").inner_text()
    tab_to(office, "#message-form textarea[name=message]")
    office.keyboard.type("The platform's statement says 1,000.00: attached.")
    tab_to(office, "#message-form button[type=submit]")
    with office.expect_navigation():
        office.keyboard.press("Enter")
    office.wait_for_selector("#dispute-thread article[data-side=agency]")
    assert words["answered"] in office.locator("#dispute-state").inner_text()
    journey.step(office, "agency answered")

    phone.goto(dispute_url)
    assert "1,000.00: attached" in phone.locator("#dispute-thread").inner_text()
    journey.step(phone, "creator reads the answer")


def _evidence(walk: Walk) -> None:
    """The creator downloads the evidence bundle and checks it offline with its own script."""
    phone, words, journey = walk.phone, walk.words, walk.journey
    phone.goto("/evidence/")
    assert words["evidence"] in phone.locator("h1").inner_text()
    journey.step(phone, "creator evidence")
    download = _bundle_download(phone)
    bundle = walk.tmp_path / (download.suggested_filename or "bundle.zip")
    download.save_as(bundle)
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
    assert any(name.endswith("README.md") for name in names), names
    assert any(name.endswith("verify_bundle.py") for name in names), names
    folder = walk.tmp_path / "offline"
    folder.mkdir()
    result, _ = follow_readme(bundle.read_bytes(), bundle.name, folder)  # sys.executable -I, no project
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith(BUNDLE_OK), result.stdout + result.stderr


def _bundle_download(page: Any) -> Any:
    """Press the page's button and take the bundle: the answer is the ZIP itself when the bundle
    is built while the request waits, or a page whose link downloads it when it is prepared in
    the background (ready at once here: Celery runs eagerly). Whichever comes, without waiting
    for the other to time out."""
    downloads: list[Any] = []
    page.on("download", lambda download: downloads.append(download))
    page.click("#evidence-agencies button[type=submit]")
    link = page.locator("main a[download]")
    for _ in range(200):
        if downloads:
            return downloads[0]
        if link.count():
            with page.expect_download() as download:
                link.first.click()
            return download.value
        page.wait_for_timeout(100)
    raise AssertionError(f"no bundle to download after pressing the button: {page.url}")


def _close_and_report(walk: Walk) -> None:
    """The owner closes last month and reads the reports, by creator."""
    office, words, journey = walk.office, walk.words, walk.journey
    office.goto("/periods/")
    office.locator(f"#periods tr[data-period='{walk.month}'] a").last.click()
    assert office.locator("#count-recognised").inner_text() == "1"
    journey.step(office, "agency month preview")
    office.check("#close-form input[name=confirm]")
    office.click("#close-form button[type=submit]")
    office.wait_for_selector("#closed-summary")
    assert words["closed"] in _main(office)
    journey.step(office, "agency month closed")

    office.goto(f"/reports/?from={walk.month}&to={walk.today:%Y-%m}")
    assert words["reports"] in office.locator("h1").inner_text()
    journey.step(office, "agency reports")
    office.locator("#report-tabs a", has_text=words["by_creator"]).click()
    office.wait_for_url("**group=creator**")
    creator_row = office.locator("#report-rows tbody tr", has_text="Xiao Li").inner_text()
    assert "¥1,500.00" in creator_row and "¥900.00" in creator_row and "¥600.00" in creator_row, creator_row
    journey.step(office, "agency reports by creator")
