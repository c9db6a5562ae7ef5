"""`make load`'s people: creators and agency staff browsing Fenrun while an import runs.

Run by bench/load/run.py (which seeds, starts gunicorn, the worker and the import, then reads
the record this file writes); on its own:

    FENRUN_LOAD_PEOPLE=.run/load/people.json FENRUN_LOAD_RECORD=.run/load/requests.csv \\
        .venv/bin/locust -f bench/load/locustfile.py --headless -u 220 -r 1 -t 10m --host http://127.0.0.1:8765

As behind the TLS proxy the production settings expect (README, Production stack): every
request says X-Forwarded-Proto: https (so the secure cookies and HTTPS-only CSRF checks apply)
and X-Forwarded-For: an address of its own per person (FENRUN_TRUSTED_PROXY_COUNT=1), so that
allauth's login limit of 30 a minute per address counts each person, not the load generator.

* A creator signs in through allauth's form (email and password; creators need no second
  factor), then browses: the home, their income list, the next page of it (its "Older" link),
  one line's breakdown, their statements and one statement. A think time of 2–8 s between pages
  (FENRUN_LOAD_WAIT="2,8"), a person reading what they opened.
* Agency staff: managers sign in through the form; owners must use TOTP, so they arrive with the
  session run.py wrote server-side (force_login's way). They browse the console (a redirect to
  the roster), the roster and a page of it, a creator's page, the imports and the running
  import's page, the agency's income list, one creator's lines, and the revenue report.

Every page is requested without following redirects: a redirect where a page was asked for (to
the login, to MFA enrolment) is an error, as is any status but 200 or a page without what it
should show. Each request is also written to FENRUN_LOAD_RECORD (CSV: start, name, ms, bytes,
error) for run.py's report, whose windows and percentiles are exact, not locust's buckets.
"""

from __future__ import annotations

import csv
import html
import itertools
import json
import os
import random
import re
import time
from http.cookiejar import Cookie, DefaultCookiePolicy
from pathlib import Path
from typing import Any, ClassVar

import gevent
from locust import FastHttpUser, between, events, task
from locust.exception import StopUser

PEOPLE: dict[str, Any] = json.loads(Path(os.environ["FENRUN_LOAD_PEOPLE"]).read_text())
RECORD = Path(os.environ.get("FENRUN_LOAD_RECORD", ".run/load/requests.csv"))
WAIT = [float(part) for part in os.environ.get("FENRUN_LOAD_WAIT", "2,8").split(",")]

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
LINE = re.compile(rf'href="/income/lines/({UUID})/"')
OLDER = re.compile(r'<a href="([^"]*)" rel="next">')
STATEMENT = re.compile(rf'href="/statements/({UUID})/"')
IMPORT = re.compile(rf'href="/income/imports/({UUID})/"')

_addresses = itertools.count(1)
_creators = itertools.count()
_managers = itertools.count()
_owners = itertools.count()
_rows: list[tuple[float, str, float, int, str]] = []


@events.request.add_listener
def _record(
    request_type: str, name: str, response_time: float, response_length: int, exception: Any, **kwargs: Any
) -> None:
    _rows.append(
        (
            kwargs.get("start_time") or time.time(),
            name,
            response_time,
            response_length or 0,
            "" if exception is None else str(exception)[:200].replace("\n", " "),
        )
    )


@events.quitting.add_listener
def _write(**_kwargs: Any) -> None:
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    with RECORD.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["start", "name", "ms", "bytes", "error"])
        writer.writerows(sorted(_rows))


class _BehindTheProxy(DefaultCookiePolicy):
    """The TLS proxy is left out: its HTTPS is loopback's HTTP here, so the production settings'
    secure cookies (session, CSRF) must be sent over plain HTTP, as the proxy would forward them."""

    def return_ok_secure(self, cookie: Cookie, request: Any) -> bool:
        return True


def _session_cookie(key: str, host: str) -> Cookie:
    domain = host.split("://", 1)[1].split(":", 1)[0]
    return Cookie(
        0, "sessionid", key, None, False, domain, False, False, "/", True, True, None, False, None, None, {}
    )


class Person(FastHttpUser):
    abstract = True
    wait_time = between(*WAIT)
    # The load generator must not be the bottleneck it measures: one connection per person.
    concurrency = 1
    network_timeout = 60.0
    connection_timeout = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        number = next(_addresses)
        self.default_headers = {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}",
            "Accept-Language": "en",
        }
        super().__init__(*args, **kwargs)
        self.client.cookiejar.set_policy(_BehindTheProxy())

    def page(self, url: str, name: str, *, expect: str = "", status: int = 200) -> str:
        """GET url, not following redirects; anything but `status` (and `expect` in the body) fails."""
        with self.client.get(url, name=name, allow_redirects=False, catch_response=True) as response:
            text = response.text or ""
            if response.status_code != status:
                where = response.headers.get("Location", "") if response.headers else ""
                response.failure(f"{response.status_code} {where}".strip())
            elif expect and expect not in text:
                response.failure(f"no {expect!r} in the page")
            else:
                response.success()
            return text

    def arrive(self, person: dict[str, str]) -> None:
        """Signed in by the session run.py wrote for this person, else through the login form."""
        if person.get("session"):
            self.client.cookiejar.set_cookie(_session_cookie(person["session"], self.host))
        else:
            self.sign_in(person["email"])

    def sign_in(self, email: str) -> None:
        """allauth's form, as a person fills it; one whose login fails (a timeout while the server
        is busy) tries again a few seconds later, and gives up after 10 tries."""
        for _attempt in range(10):
            if self._sign_in_once(email):
                return
            gevent.sleep(random.uniform(3, 8))
        raise StopUser()

    def _sign_in_once(self, email: str) -> bool:
        form = self.page("/accounts/login/", "login: form", expect="csrfmiddlewaretoken")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        if token is None:
            return False
        referer = f"https://{self.host.split('://', 1)[1]}/accounts/login/"
        with self.client.post(
            "/accounts/login/",
            data={"login": email, "password": PEOPLE["password"], "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": referer},
            name="login: POST (PBKDF2)",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            where = response.headers.get("Location", "") if response.headers else ""
            if response.status_code == 302 and where == "/":
                response.success()
                return True
            response.failure(f"login answered {response.status_code} {where}".strip())
            return False


class Creator(Person):
    fixed_count = int(os.environ.get("FENRUN_LOAD_CREATORS", "200"))
    lines: ClassVar[list[str]] = []

    def on_start(self) -> None:
        self.arrive(PEOPLE["creators"][next(_creators) % len(PEOPLE["creators"])])
        self.lines = []
        self.older = ""
        self.statements: list[str] = []

    @task(3)
    def home(self) -> None:
        self.page("/", "creator: home", expect='id="portal"')

    @task(3)
    def income(self) -> None:
        text = self.page("/income/", "creator: income list", expect="<table")
        self.lines = LINE.findall(text)
        older = OLDER.search(text)
        self.older = html.unescape(older.group(1)) if older else ""

    @task(2)
    def income_older(self) -> None:
        if not self.older:
            return self.income()
        text = self.page(f"/income/{self.older}", "creator: income, older page", expect="<table")
        self.lines = LINE.findall(text) or self.lines

    @task(2)
    def line(self) -> None:
        if not self.lines:
            return self.income()
        self.page(f"/income/lines/{random.choice(self.lines)}/", "creator: a line's breakdown", expect="<h1>")

    @task(1)
    def statements_list(self) -> None:
        text = self.page("/statements/", "creator: statements")
        self.statements = STATEMENT.findall(text)

    @task(1)
    def statement(self) -> None:
        if not self.statements:
            return self.statements_list()
        self.page(f"/statements/{random.choice(self.statements)}/", "creator: a statement")


class AgencyStaff(Person):
    fixed_count = int(os.environ.get("FENRUN_LOAD_STAFF", "20"))

    def on_start(self) -> None:
        self.agency = PEOPLE["agency"]
        self.creators = PEOPLE["roster_sample"]
        number = next(_owners)
        if number < len(PEOPLE["owners"]):
            self.arrive(PEOPLE["owners"][number])  # the session run.py wrote: TOTP cannot be typed here
        else:
            self.arrive(PEOPLE["managers"][next(_managers) % len(PEOPLE["managers"])])
        self.imports: list[str] = []

    @task(1)
    def console(self) -> None:
        self.page("/agency/", "agency: console (redirect)", status=302)

    @task(3)
    def roster(self) -> None:
        self.page(f"/agency/{self.agency}/creators/", "agency: roster", expect="<table")

    @task(1)
    def roster_page(self) -> None:
        page = random.randint(2, PEOPLE["roster_pages"])
        self.page(
            f"/agency/{self.agency}/creators/?page={page}", "agency: roster, another page", expect="<table"
        )

    @task(1)
    def creator(self) -> None:
        self.page(f"/agency/{self.agency}/creators/{random.choice(self.creators)}/", "agency: a creator")

    @task(2)
    def imports_list(self) -> None:
        text = self.page("/income/imports/", "agency: imports")
        self.imports = IMPORT.findall(text)

    @task(2)
    def running_import(self) -> None:
        if not self.imports:
            return self.imports_list()
        self.page(f"/income/imports/{self.imports[0]}/", "agency: an import's page")

    @task(3)
    def income(self) -> None:
        self.page("/income/", "agency: income list", expect="<table")

    @task(1)
    def income_of_creator(self) -> None:
        self.page(f"/income/?creator={random.choice(self.creators)}", "agency: one creator's lines")

    @task(2)
    def report(self) -> None:
        self.page("/reports/", "agency: revenue report")
