"""What each page `make load` browses costs the server (issue 16): wall time, queries, time in SQL,
this process's CPU and PostgreSQL's, one page at a time, on make load's data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fenrun_pages_bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/load/seed.py --creators 10000 --lines 1000000 --postings 3500000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fenrun_pages_bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/load_pages.py --requests 40

The database is bench/load/seed.py's (not dropped here: this script only reads it, and creates
one import, queued, for the import's page if the agency has none). The pages are those of
bench/load/locustfile.py, in its order, each reached as a person reaches it (the older page by
the income list's "Older" link, a line and a statement by the links of the lists before them):
a creator's home, income list, its older page, a line's breakdown, statements, a statement; an
agency member's console (a redirect), roster, another roster page, a creator, imports, an
import's page, the agency's income list, one creator's lines, the revenue report.

Each page is served N times through Django's test Client (middleware, view, every query,
template), each time to another person signed in beforehand (not timed): creators among the
seed's first 200, the agency's load-manager and load-owner staff. Two rounds over the same
people; the second is reported (the first warms PostgreSQL's buffers and this process, as a
person browsing for minutes finds them; --rounds 1 reports a first visit).

Per page: queries (every request's), p50 / p95 wall ms, mean SQL ms (time inside the database
driver's execute, fetches included) and Python ms (the rest), and the CPU per request: this
process's (the web server's share) and this connection's PostgreSQL backend's (from
/proc/<pid>/stat, summed over the round: 10-ms ticks, so per request only as a mean), their sum
being what a page costs the machine. `--profile NAME` prints cProfile's top functions for the
pages whose name contains NAME; `--only NAME` serves only those.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "load"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fenrun_pages_bench")

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
LINE = re.compile(rf'href="/income/lines/({UUID})/"')
OLDER = re.compile(r'<a href="([^"]*)" rel="next">')
STATEMENT = re.compile(rf'href="/statements/({UUID})/"')
IMPORT = re.compile(rf'href="/income/imports/({UUID})/"')
TICK = os.sysconf("SC_CLK_TCK")


def _backend_cpu(pid: int) -> float:
    """utime + stime of a local PostgreSQL backend, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Person:
    client: Any
    memory: dict[str, str] = field(default_factory=dict)  # what their earlier pages linked to


@dataclass
class Page:
    name: str
    who: str  # "creator" or "staff"
    url: Callable[[Person], str]
    status: int = 200
    expect: str = ""
    remember: Callable[[Person, str], None] | None = None


class SqlTimer:
    """connection.execute_wrapper: counts the queries and the time inside them."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - began
            self.count += 1


def _pages(agency: str, roster_pages: int, roster_sample: list[str], rng: random.Random) -> list[Page]:
    def remember_income(person: Person, text: str) -> None:
        lines = LINE.findall(text)
        if lines:
            person.memory["line"] = rng.choice(lines)
        older = OLDER.search(text)
        if older:
            import html

            person.memory["older"] = html.unescape(older.group(1))

    def remember_statements(person: Person, text: str) -> None:
        found = STATEMENT.findall(text)
        if found:
            person.memory["statement"] = rng.choice(found)

    def remember_imports(person: Person, text: str) -> None:
        found = IMPORT.findall(text)
        if found:
            person.memory["import"] = found[0]

    roster = f"/agency/{agency}/creators/"
    return [
        Page("creator: home", "creator", lambda p: "/", expect='id="portal"'),
        Page(
            "creator: income list", "creator", lambda p: "/income/", expect="<table", remember=remember_income
        ),
        Page(
            "creator: income, older page",
            "creator",
            lambda p: f"/income/{p.memory['older']}" if "older" in p.memory else "/income/",
            expect="<table",
        ),
        Page(
            "creator: a line's breakdown",
            "creator",
            lambda p: f"/income/lines/{p.memory['line']}/",
            expect="<h1>",
        ),
        Page("creator: statements", "creator", lambda p: "/statements/", remember=remember_statements),
        Page("creator: a statement", "creator", lambda p: f"/statements/{p.memory['statement']}/"),
        Page("agency: console (redirect)", "staff", lambda p: "/agency/", status=302),
        Page("agency: roster", "staff", lambda p: roster, expect="<table"),
        Page(
            "agency: roster, another page",
            "staff",
            lambda p: f"{roster}?page={rng.randint(2, roster_pages)}",
            expect="<table",
        ),
        Page("agency: a creator", "staff", lambda p: f"{roster}{rng.choice(roster_sample)}/"),
        Page("agency: imports", "staff", lambda p: "/income/imports/", remember=remember_imports),
        Page("agency: an import's page", "staff", lambda p: f"/income/imports/{p.memory['import']}/"),
        Page("agency: income list", "staff", lambda p: "/income/", expect="<table"),
        Page(
            "agency: one creator's lines", "staff", lambda p: f"/income/?creator={rng.choice(roster_sample)}"
        ),
        Page("agency: revenue report", "staff", lambda p: "/reports/"),
    ]


def _import_ensure(agency: Any) -> None:
    """One import for the imports list and the import's page: queued (no worker here), as the
    agency sees one before its worker starts."""
    import subprocess

    from django.core.files.uploadedfile import UploadedFile

    from apps.agencies.models import Membership
    from apps.income.models import StatementImport
    from apps.income.pipeline import statement_import_create

    if StatementImport.objects.filter(agency=agency).exists():
        return
    path = ROOT / "bench" / "out" / "load-pages-statement.csv"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "bench/generate_statement.py",
                "--lines",
                "2000",
                "--creators",
                "200",
                "--out",
                str(path),
            ],
            cwd=ROOT,
            check=True,
        )
    owner = Membership.objects.filter(agency=agency, role="owner", user__email__startswith="load-").first()
    assert owner is not None, "no load owner: seed with bench/load/seed.py"
    with path.open("rb") as handle:
        statement_import_create(
            agency=agency,
            actor=owner.user,
            file=UploadedFile(handle, name=path.name, size=path.stat().st_size),
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=40, help="people per page (each served once a round)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds over the same people; the last is reported"
    )
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--only", default="", help="serve only the pages whose name contains this")
    parser.add_argument("--profile", default="", help="cProfile the pages whose name contains this")
    parser.add_argument("--profile-lines", type=int, default=35)
    parser.add_argument(
        "--queries", default="", help="print one request's SQL for the pages whose name contains this"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from seed import creator_email

    from apps.accounts.models import User
    from apps.agencies.models import Agency, Membership
    from apps.agencies.roster import ROSTER_PAGE_SIZE
    from apps.creators.models import Creator

    rng = random.Random(args.seed)
    agency = Agency.objects.get(name="Bench MCN")
    _import_ensure(agency)
    represented = list(
        Creator.objects.filter(representations__agency=agency)
        .order_by("pk")
        .values_list("public_id", flat=True)
    )
    roster_sample = [str(p) for p in random.Random(16).sample(represented, min(200, len(represented)))]
    roster_pages = max(2, -(-len(represented) // ROSTER_PAGE_SIZE))
    creator_users = list(User.objects.filter(email__in=[creator_email(i) for i in range(200)]).order_by("pk"))
    staff_users = [
        m.user
        for m in Membership.objects.filter(agency=agency, user__email__startswith="load-")
        .select_related("user")
        .order_by("user__email")
    ]

    def sign_in(user: Any) -> Person:
        client = Client(headers={"accept-language": "en"})
        client.force_login(user)
        session = client.session
        session["fenrun_mfa_ok"] = time.time()  # the MFA check was made (renewed before each page)
        session.save()
        return Person(client)

    creators = [sign_in(u) for u in rng.sample(creator_users, min(args.requests, len(creator_users)))]
    staff = [sign_in(staff_users[i % len(staff_users)]) for i in range(args.requests)]
    pages = [
        page
        for page in _pages(str(agency.public_id), roster_pages, roster_sample, rng)
        if not args.only
        or args.only in page.name
        # a page that follows a link needs the page that shows it
        or (args.only and page.remember is not None)
    ]
    timer = SqlTimer()
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    # The process's first page compiles templates and URL patterns: served once, not counted.
    for page in pages:
        person = creators[0] if page.who == "creator" else staff[0]
        response = person.client.get(page.url(person))
        if page.remember is not None:
            page.remember(person, response.content.decode())

    print(
        f"{len(creators)} creators and {len(staff)} staff members, {args.rounds} rounds, the last reported;"
        f" agency {agency.name}: {len(represented):,} creators, roster pages {roster_pages}"
    )
    header = (
        f"{'page':34s} {'queries':>9s} {'p50 ms':>7s} {'p95 ms':>7s} {'mean':>6s} {'SQL':>6s} {'Python':>6s}"
        f" {'CPU web':>7s} {'CPU pg':>6s} {'CPU':>6s}"
    )
    for round_number in range(1, args.rounds + 1):
        last = round_number == args.rounds
        if last:
            print(header)
        totals = [0.0, 0.0]
        for page in pages:
            people = creators if page.who == "creator" else staff
            shown = not args.only or args.only in page.name
            profiler = cProfile.Profile() if (last and args.profile and args.profile in page.name) else None
            walls: list[float] = []
            sql: list[float] = []
            counts: set[int] = set()
            for person in people:  # the MFA check was made minutes ago, as for a person browsing
                session = person.client.session
                session["fenrun_mfa_ok"] = time.time()
                session.save()
            cpu_began, pg_began = time.process_time(), _backend_cpu(backend)
            for person in people:
                url = page.url(person)
                timer.count, timer.seconds = 0, 0.0
                with connection.execute_wrapper(timer):
                    if profiler is not None:
                        profiler.enable()
                    began = time.perf_counter()
                    response = person.client.get(url)
                    walls.append((time.perf_counter() - began) * 1000)
                    if profiler is not None:
                        profiler.disable()
                if response.status_code != page.status:
                    raise SystemExit(f"{page.name}: {url} answered {response.status_code}")
                text = response.content.decode()
                if page.expect and page.expect not in text:
                    raise SystemExit(f"{page.name}: no {page.expect!r} in {url}")
                if page.remember is not None:
                    page.remember(person, text)
                sql.append(timer.seconds * 1000)
                counts.add(timer.count)
            cpu = (time.process_time() - cpu_began) * 1000 / len(people)
            pg = (_backend_cpu(backend) - pg_began) * 1000 / len(people)
            if not (last and shown):
                continue
            totals[0] += cpu
            totals[1] += pg
            walls.sort()
            mean = statistics.fmean(walls)
            mean_sql = statistics.fmean(sql)
            queries = str(min(counts)) if len(counts) == 1 else f"{min(counts)}-{max(counts)}"
            print(
                f"{page.name:34s} {queries:>9s} {statistics.median(walls):7.1f}"
                f" {walls[max(0, int(len(walls) * 0.95) - 1)]:7.1f} {mean:6.1f} {mean_sql:6.1f}"
                f" {mean - mean_sql:6.1f} {cpu:7.1f} {pg:6.1f} {cpu + pg:6.1f}",
                flush=True,
            )
            if args.queries and args.queries in page.name:
                from django.test.utils import CaptureQueriesContext

                person = people[0]
                with CaptureQueriesContext(connection) as captured:
                    person.client.get(page.url(person))
                for query in captured.captured_queries:
                    print(f"  {query['time']:>6s} s  {query['sql'][:600]}")
            if profiler is not None:
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("cumulative").print_stats(args.profile_lines)
                stats.sort_stats("tottime").print_stats(args.profile_lines)
                print(out.getvalue())
        if last:
            print(
                f"{"sum of the pages' CPU (ms)":34s} {'':>9s} {'':>7s} {'':>7s} {'':>6s} {'':>6s} {'':>6s}"
                f" {totals[0]:7.1f} {totals[1]:6.1f} {totals[0] + totals[1]:6.1f}"
            )


if __name__ == "__main__":
    main()
