"""`make load`: creators and agency staff browsing Fenrun under gunicorn while a real worker imports.

    make load                                   # seed, then 200 creators, 20 staff, 300 s, a 100,000-line import
    make load LOAD_ARGS="--reuse --million"     # the same data again, a 1,000,000-line import
    make load LOAD_ARGS="--ci"                  # CI's bounded run: 20 people, 20 s, 10,000 lines
    make load LOAD_ARGS="--reuse --workers 3 --threads 1"   # another server model on the same data

What runs, all on loopback (DATABASE_URL's server, REDIS_URL or redis://127.0.0.1:6379/11):
1. bench/load/seed.py in its own database (the name must contain "bench": it is dropped and
   migrated): bench/creator_pages.py's seed (10,000 creators, 1,000,000 recognised lines,
   3,500,000 postings, a statement each) and the people who sign in; the result is kept as
   <name>_template, and --reuse restores the database from it instead of seeding, so every run
   starts from the same data;
2. the production settings (config.settings.production, unmodified: every knob is an
   environment variable, --env adds more) and the production server command (Dockerfile,
   docker-compose.yml), bound to 127.0.0.1 with this run's --workers/--threads/--worker-class;
   a Celery worker (compose's command: --concurrency 2) and beat;
3. locust, headless (bench/load/locustfile.py): the creators and staff sign in (each login
   through the form pays PBKDF2 as in production; --signed-in gives everyone a session
   written server-side instead), then browse;
4. once everyone is signed in, an import of bench/generate_statement.py's statement
   (--import-lines rows for the seeded creators' accounts, its ids made unique to the run so
   every row is new), created as the upload creates it and run by the worker; the people
   browse for --duration seconds from that upload;
5. the report (--report, default .run/load/report.md, and stdout): per page requests, errors,
   req/s, p50/p95/p99/max over the window in which everyone was signed in and the import ran
   (the figure the goal is about), the logins on their own, the whole run, the import's
   progress, and where the CPU went: the load average, the machine's busy time, the CPU of
   gunicorn, the worker, this database's PostgreSQL backends and locust, and what of the busy
   time none of these account for (others' work on a shared machine).

The process exits 1 when a request failed or the import failed (--ci relies on it), else 0
(whatever the latencies: they are figures to read, not a pass mark, on a shared machine).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import json
import math
import os
import random
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
RUN = ROOT / ".run" / "load"
VENV = ROOT / ".venv" / "bin"
TICKS = os.sysconf("SC_CLK_TCK")

FULL_SEED = {"creators": 10_000, "lines": 1_000_000, "postings": 3_500_000}
CI_SEED = {"creators": 1_000, "lines": 20_000, "postings": 60_000}


# --- processes and CPU ----------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a live process, from /proc/<pid>/stat."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _processes() -> dict[int, tuple[int, float, str]]:
    found: dict[int, tuple[int, float, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None:
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[int(entry.name)] = (stat[0], stat[1], command)
    return found


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


@dataclass
class CpuMeter:
    """CPU seconds per group of processes over the run: each process's growth while it was seen
    (sampled every 2 s; a backend that lived less than a sample is missed, hence the ≈)."""

    roots: dict[str, int]
    database: str
    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, tuple[str, float]] = field(default_factory=dict)
    machine: list[tuple[float, float, float, str]] = field(default_factory=list)
    history: list[tuple[float, dict[str, float]]] = field(default_factory=list)

    def sample(self) -> None:
        processes = self._grouped()
        is_first = not self.machine
        for pid, (group, cpu) in processes.items():
            # Present at the first sample: counted from there; born later: from its start.
            self.first.setdefault(pid, cpu if is_first else 0.0)
            self.last[pid] = (group, cpu)
        busy, total = _machine_busy()
        now = time.time()
        self.machine.append((now, busy, total, Path("/proc/loadavg").read_text().split(" ", 1)[0]))
        self.history.append((now, self.seconds()))

    def _nearest(self, moment: float) -> int:
        """The index of the last sample at or before `moment` (the first one if none)."""
        index = 0
        for position, (at, *_rest) in enumerate(self.machine):
            if at <= moment:
                index = position
        return index

    def machine_over(self, t0: float, t1: float) -> tuple[float, float, list[float]]:
        """(busy, total) CPU seconds of the machine and the 1-minute load averages seen."""
        first, last = self._nearest(t0), self._nearest(t1)
        last = max(last, min(first + 1, len(self.machine) - 1))
        loads = [float(m[3]) for m in self.machine[first : last + 1]]
        return (
            self.machine[last][1] - self.machine[first][1],
            self.machine[last][2] - self.machine[first][2],
            loads,
        )

    def cpu_over(self, t0: float, t1: float) -> dict[str, float]:
        first, last = self._nearest(t0), self._nearest(t1)
        last = max(last, min(first + 1, len(self.history) - 1))
        before, after = self.history[first][1], self.history[last][1]
        return {group: after[group] - before.get(group, 0.0) for group in after}

    def _grouped(self) -> dict[int, tuple[str, float]]:
        processes = _processes()
        children: dict[int, list[int]] = {}
        for pid, (parent, _cpu, _command) in processes.items():
            children.setdefault(parent, []).append(pid)
        grouped: dict[int, tuple[str, float]] = {}
        for group, root in self.roots.items():
            stack = [root]
            while stack:
                pid = stack.pop()
                if pid in processes:
                    grouped[pid] = (group, processes[pid][1])
                stack.extend(children.get(pid, []))
        marker = f" {self.database} "
        for pid, (_parent, cpu, command) in processes.items():
            if command.startswith("postgres: ") and marker in command:
                grouped[pid] = ("postgresql (this database)", cpu)
        return grouped

    def seconds(self) -> dict[str, float]:
        spent: dict[str, float] = {}
        for pid, (group, cpu) in self.last.items():
            spent[group] = spent.get(group, 0.0) + cpu - self.first.get(pid, 0.0)
        return spent


def _start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(process: subprocess.Popen[bytes], *, grace: float = 20.0) -> None:
    """SIGTERM to the process's group (gunicorn's and Celery's warm shutdown), SIGKILL to
    whatever of the group is left after `grace` seconds (a pool child must not outlive the run:
    it would take the next run's tasks)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _wait_http(url: str, *, seconds: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}) before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer in {seconds:.0f} s")


def _wait_log(log: Path, text: str, *, seconds: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{log.name}: the process exited ({process.returncode}); see {log}")
        if text in log.read_text(errors="replace"):
            return
        time.sleep(0.3)
    raise SystemExit(f"{log.name}: no {text!r} in {seconds:.0f} s")


def _static_current() -> bool:
    """collectstatic's manifest is newer than every static source (it takes half a minute here)."""
    manifest = ROOT / "staticfiles" / "staticfiles.json"
    if not manifest.exists():
        return False
    written = manifest.stat().st_mtime
    sources = [ROOT / "static", *(ROOT / "apps").glob("*/static")]
    return all(path.stat().st_mtime < written for folder in sources for path in folder.rglob("*"))


def _wait_logins(log: Path, count: int, *, seconds: float, process: subprocess.Popen[bytes]) -> None:
    """Until gunicorn's access log shows `count` successful logins (allauth answers 302)."""
    deadline = time.monotonic() + seconds
    seen = 0
    with log.open("rb") as handle:
        while seen < count:
            if process.poll() is not None:
                raise SystemExit(
                    f"locust exited ({process.returncode}) after {seen} logins; see .run/load/locust.log"
                )
            if time.monotonic() > deadline:
                raise SystemExit(f"{seen} of {count} logins in {seconds:.0f} s; see .run/load/gunicorn.log")
            chunk = handle.read()
            seen += chunk.count(b'"POST /accounts/login/ HTTP/1.1" 302')
            time.sleep(1.0)


def _maintenance(database_url: str) -> tuple[object, str]:
    """A connection to the server's `postgres` database, and the name of DATABASE_URL's."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(database_url)
    connection = psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True)
    return connection, parts.path.lstrip("/")


def _template_keep(database_url: str) -> None:
    """A copy of the seeded database, <name>_template, for --reuse: every run starts from the same
    data (an import adds its lines to the ledger for good, and the pages read them)."""
    connection, name = _maintenance(database_url)
    with connection:  # type: ignore[attr-defined]
        connection.execute(f'DROP DATABASE IF EXISTS "{name}_template"')  # type: ignore[attr-defined]
        connection.execute(f'CREATE DATABASE "{name}_template" TEMPLATE "{name}"')  # type: ignore[attr-defined]


def _database_restore(database_url: str) -> None:
    connection, name = _maintenance(database_url)
    with connection:  # type: ignore[attr-defined]
        found = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [f"{name}_template"]
        ).fetchone()  # type: ignore[attr-defined]
        if not found:
            raise SystemExit(
                f"no {name}_template to reuse: run once without --reuse (it seeds and keeps one)"
            )
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{name}_template"')  # type: ignore[attr-defined]


# --- the data -------------------------------------------------------------------------------------


def _statement(lines: int, creators: int, tag: str) -> Path:
    """bench/generate_statement.py's file (kept in bench/out/), with ids unique to this run."""
    source = ROOT / "bench" / "out" / f"load-statement-{lines}-{creators}.csv"
    if not source.exists():
        subprocess.run(
            [
                sys.executable,
                "bench/generate_statement.py",
                "--lines",
                str(lines),
                "--creators",
                str(creators),
                "--out",
                str(source),
            ],
            cwd=ROOT,
            check=True,
        )
    target = RUN / f"import-{tag}.csv"
    with source.open(encoding="utf-8") as reading, target.open("w", encoding="utf-8", newline="") as writing:
        writing.write(next(reading))
        for row in reading:  # only external_id and refund_of hold "B-<n>"
            writing.write(row.replace("B-", f"{tag}-"))
    return target


def _people(*, secret_key: str, creator_users: int, is_signed_in: bool) -> dict[str, object]:
    """Who signs in and how: the seed's creators and managers by password through the form, the
    owners (their role needs TOTP) by a session written here, signed with the server's secret
    key; with `is_signed_in`, everyone by such a session (no login burst)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from seed import PASSWORD, creator_email

    from apps.accounts.models import User
    from apps.agencies.models import Agency, Membership
    from apps.agencies.roster import ROSTER_PAGE_SIZE
    from apps.creators.models import Creator

    assert secret_key == settings.SECRET_KEY

    def person(user: User, *, with_session: bool) -> dict[str, str]:
        if not with_session:
            return {"email": user.email}
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return {"email": user.email, "session": str(session.session_key)}

    agency = Agency.objects.get(name="Bench MCN")
    staff = Membership.objects.filter(agency=agency, user__email__startswith="load-").select_related("user")
    creator_users = User.objects.filter(email__in=[creator_email(i) for i in range(creator_users)])
    represented = Creator.objects.filter(representations__agency=agency)
    sample = list(represented.values_list("public_id", flat=True))
    return {
        "password": PASSWORD,
        "creators": [person(user, with_session=is_signed_in) for user in creator_users.order_by("pk")],
        "managers": [
            person(m.user, with_session=is_signed_in)
            for m in staff.filter(role=Membership.Role.MANAGER).order_by("user__email")
        ],
        "owners": [
            person(m.user, with_session=True)
            for m in staff.filter(role=Membership.Role.OWNER).order_by("user__email")
        ],
        "agency": str(agency.public_id),
        "roster_sample": [str(p) for p in random.Random(16).sample(sample, min(200, len(sample)))],
        "roster_pages": max(2, math.ceil(len(sample) / ROSTER_PAGE_SIZE)),
    }


def _end_leftover_imports() -> list[int]:
    """An import an earlier run left unfinished would resume beside this run's: end it."""
    from apps.income.models import StatementImport
    from apps.income.pipeline import statement_import_fail

    left = list(StatementImport.objects.filter(status__in=["queued", "running"]).values_list("pk", flat=True))
    for import_id in left:
        statement_import_fail(import_id=import_id, message="make load: left unfinished by an earlier run")
    return left


def _import_create(path: Path) -> int:
    from django.core.files.uploadedfile import UploadedFile

    from apps.agencies.models import Agency, Membership
    from apps.income.pipeline import statement_import_create

    agency = Agency.objects.get(name="Bench MCN")
    owner = Membership.objects.filter(agency=agency, role="owner", user__email__startswith="load-").first()
    assert owner is not None, "no load owner: seed with bench/load/seed.py"
    with path.open("rb") as handle:
        created = statement_import_create(
            agency=agency,
            actor=owner.user,
            file=UploadedFile(handle, name=path.name, size=path.stat().st_size),
        )
    return created.pk


def _import_state(import_id: int) -> dict[str, object]:
    from django.db import close_old_connections

    from apps.income.models import StatementImport

    close_old_connections()
    row = StatementImport.objects.values(
        "status",
        "rows_total",
        "rows_done",
        "imported_count",
        "error_count",
        "started_at",
        "finished_at",
        "message",
    ).get(pk=import_id)
    return row


# --- the report -----------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    return values[max(0, math.ceil(q * len(values)) - 1)]


def _table(rows: list[tuple[float, str, float, int, str]], seconds: float) -> list[str]:
    by_page: dict[str, list[tuple[float, str]]] = {}
    for _start_at, name, ms, _size, error in rows:
        by_page.setdefault(name, []).append((ms, error))
    out = [
        "| page | requests | errors | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    everything: list[tuple[float, str]] = []
    for name in sorted(by_page):
        values = by_page[name]
        everything.extend(values)
        out.append(_row(name, values, seconds))
    if everything:
        out.append(_row("**all pages**", everything, seconds))
    return out


def _row(name: str, values: list[tuple[float, str]], seconds: float) -> str:
    times = sorted(ms for ms, _error in values)
    errors = sum(1 for _ms, error in values if error)
    return (
        f"| {name} | {len(times):,} | {errors} | {len(times) / seconds:.1f} | {statistics.median(times):.0f} | "
        f"{_percentile(times, 0.95):.0f} | {_percentile(times, 0.99):.0f} | {times[-1]:.0f} |"
    )


def _phase(label: str, since: float) -> float:
    now = time.time()
    print(f"  {label:60s} {now - since:6.1f} s", flush=True)
    return now


def _when(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.UTC).strftime("%H:%M:%S")


def _report(
    *,
    args: argparse.Namespace,
    rows: list[tuple[float, str, float, int, str]],
    meter: CpuMeter,
    samples: list[tuple[float, dict[str, object]]],
    state: dict[str, object],
    times: dict[str, float],
    server_command: list[str],
    loadavg_before: list[str],
    left: list[int],
    import_id: int,
    owners: int,
) -> list[str]:
    """The report's lines: the windows' tables, the logins, the CPU, the import."""
    locust_began, locust_ended = times["locust_began"], times["locust_ended"]
    logins = [r for r in rows if r[1].startswith("login")]
    pages = [r for r in rows if not r[1].startswith("login")]
    signed_in = max((r[0] + r[2] / 1000 for r in logins), default=locust_began)
    finished_at = state["finished_at"]
    # From the upload on (as the agency sees it: "queued", then staging), not its first commit.
    import_from = times["import_created"]
    import_to = finished_at.timestamp() if isinstance(finished_at, datetime.datetime) else math.inf
    # The goal's window: everyone signed in (the logins' PBKDF2 is over) and the import running.
    steady_from, steady_to = max(signed_in, import_from), min(locust_ended, import_to)
    if steady_to - steady_from < 1:  # the import ended before the last login (a small import)
        steady_from, steady_to = signed_in, locust_ended
        steady_title = "Everyone signed in (the import had ended: no import in this window)"
    else:
        steady_title = "Everyone signed in and the import running"

    def done_at(moment: float) -> int:
        before = [sample for at, sample in samples if at <= moment]
        return int(before[-1]["rows_done"]) if before else 0  # type: ignore[call-overload]

    def window(
        title: str, t0: float, t1: float, chosen: list[tuple[float, str, float, int, str]]
    ) -> list[str]:
        seconds = max(t1 - t0, 1e-9)
        inside = [r for r in chosen if t0 <= r[0] <= t1]
        busy, total, loads = meter.machine_over(t0, t1)
        cpu = meter.cpu_over(t0, t1)
        rows_done = done_at(t1) - done_at(t0)
        spent = ", ".join(f"{group} {value / seconds:.2f}" for group, value in sorted(cpu.items()))
        others = (busy - sum(cpu.values())) / seconds
        web, database = cpu.get("gunicorn", 0.0), cpu.get("postgresql (this database)", 0.0)
        return [
            f"## {title}: {_when(t0)}–{_when(t1)} UTC ({seconds:.0f} s)",
            "",
            *_table(inside, seconds),
            "",
            f"Load average {min(loads):.1f}–{max(loads):.1f}; the machine busy {busy / max(total, 1e-9) * 100:.0f} % "
            f"of {os.cpu_count()} CPUs. CPUs used on average: {spent}; the rest of the machine "
            f"(others' work, short-lived backends) {others:.2f}. Import rows done: {rows_done:,} "
            f"({rows_done / seconds:,.0f} rows/s). "
            + (
                f"CPU per page: {web * 1000 / len(inside):.0f} ms of gunicorn and "
                f"{database * 1000 / len(inside):.0f} ms of PostgreSQL (all of this database's backends, "
                "the import's too)."
                if inside
                else ""
            ),
            "",
        ]

    server = " ".join(["gunicorn", *server_command[1:]])
    errors = [r for r in rows if r[4]]
    lines = [
        f"# make load: {args.label or ' '.join(server_command[3:])}",
        "",
        f"{_when(times['began'])} UTC, {os.cpu_count()} CPUs, load average before {' '.join(loadavg_before)}. "
        f"Server: `{server}`"
        + (f" with {' '.join(args.env)}" if args.env else "")
        + ", config.settings.production. "
        "Worker: `"
        + (f"nice -n {args.worker_nice} " if args.worker_nice else "")
        + "celery -A config worker --concurrency 2` and beat.",
        f"Data: {args.creators:,} creators, {args.lines:,} lines and {args.postings:,} postings"
        f"{' (reused)' if args.reuse else ''}. People: {args.users} creators and {args.staff} agency staff "
        + (
            "(everyone by a session written server-side: --signed-in), "
            if args.signed_in
            else f"({owners} owners by a session written server-side, the rest by the login form), "
        )
        + f"think time {args.wait} s, "
        f"spawned at {args.spawn_rate}/s. Import: {args.import_lines:,} rows.",
        "",
        *window(steady_title, steady_from, steady_to, pages),
        *(
            window("Logins (allauth's form, PBKDF2 at 1,500,000 iterations)", locust_began, signed_in, logins)
            if logins
            else []
        ),
        *window("The whole run, ramp and logins included", locust_began, locust_ended, pages),
        f"## The import (import {import_id})",
        "",
        f"Status {state['status']}: {state['rows_done']:,} of {state['rows_total']:,} rows done, "
        f"{state['imported_count']:,} imported, {state['error_count']} row errors"
        + (
            f"; {import_to - import_from:.0f} s from its first step to its end"
            if import_to < math.inf
            else ""
        )
        + (f". {state['message']}" if state["message"] else ".")
        + (f" Ended {len(left)} import(s) an earlier run left unfinished." if left else ""),
        "",
        f"Errors: {len(errors)}"
        + ("" if not errors else ": " + "; ".join(sorted({f"{r[1]}: {r[4]}" for r in errors})[:10])),
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="no seed: restore the database from the template the last seed kept",
    )
    parser.add_argument(
        "--ci",
        action="store_true",
        help="bounded: 1,000 creators seeded, 16 creators + 4 staff, "
        "20 s, a 10,000-line import; fails on any error",
    )
    parser.add_argument("--creators", type=int, help="creators seeded (10,000; --ci 1,000)")
    parser.add_argument("--lines", type=int, help="recognised lines seeded (1,000,000; --ci 20,000)")
    parser.add_argument("--postings", type=int, help="postings seeded (3,500,000; --ci 60,000)")
    parser.add_argument(
        "--signed-in",
        action="store_true",
        help="everyone arrives with a session written server-side: no login burst (quicker comparisons)",
    )
    parser.add_argument("--users", type=int, default=200, help="creators browsing")
    parser.add_argument(
        "--staff", type=int, default=20, help="agency staff browsing (5 owners, the rest managers)"
    )
    parser.add_argument(
        "--duration", type=float, default=300.0, help="seconds of browsing after the last login"
    )
    parser.add_argument(
        "--spawn-rate", type=float, default=1.0, help="people starting (and signing in) per second"
    )
    parser.add_argument("--wait", default="2,8", help="think time between a person's pages, min,max seconds")
    parser.add_argument(
        "--import-lines", type=int, default=100_000, help="rows of the statement imported meanwhile"
    )
    parser.add_argument("--million", action="store_true", help="--import-lines 1000000")
    parser.add_argument(
        "--after",
        choices=["wait", "stop"],
        default="stop",
        help="after the load: wait for the import to finish (its total time), or stop it",
    )
    # The defaults are the production command's (Dockerfile, docker-compose.yml; README, Production
    # stack): gthread, 2 workers of 8 threads. --workers 3 --threads 1 is the sync model it replaced.
    parser.add_argument("--workers", type=int, default=2, help="gunicorn --workers")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn --threads (>1: the gthread worker)")
    parser.add_argument(
        "--worker-class", default="", help="gunicorn --worker-class (gthread with --threads > 1)"
    )
    parser.add_argument("--gunicorn", default="", help="more gunicorn arguments, as one string")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="more environment for gunicorn and the worker (e.g. DATABASE_CONN_MAX_AGE=0)",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        help="run the Celery worker under `nice -n N` (the import yields the CPU to the pages)",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--label", default="", help="a name for this configuration in the report")
    parser.add_argument("--report", type=Path, default=RUN / "report.md")
    args = parser.parse_args()
    # Stopped (a terminal's Ctrl-C, a kill, CI's timeout): the finally below still stops the
    # server, the worker and locust, which run in their own sessions.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    seed_size = CI_SEED if args.ci else FULL_SEED
    for key in seed_size:
        if getattr(args, key) is None:
            setattr(args, key, seed_size[key])
    if args.ci:
        args.users, args.staff, args.duration, args.import_lines = 16, 4, 20.0, 10_000
        args.spawn_rate = max(args.spawn_rate, 4.0)
    if args.million:
        args.import_lines = 1_000_000
    people_total = args.users + args.staff
    owners = min(5, args.staff)

    database_url = os.environ.get("DATABASE_URL", "")
    if args.ci:
        # Its own database (and template): the bounded run must not replace the full seed.
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(database_url)
        database_url = urlunsplit(parts._replace(path=f"{parts.path}_ci"))
        os.environ["DATABASE_URL"] = database_url
    database = database_url.rsplit("/", 1)[-1].split("?", 1)[0]
    if "bench" not in database:
        raise SystemExit(f"DATABASE_URL must name a database whose name contains 'bench' (not {database!r})")
    RUN.mkdir(parents=True, exist_ok=True)
    (RUN / "media").mkdir(exist_ok=True)
    key_file = RUN / "secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": key_file.read_text().strip(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_MEDIA_ROOT": str(RUN / "media"),
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/11",
        # Behind the TLS proxy (README, Security): one proxy appends the client's address.
        "FENRUN_TRUSTED_PROXY_COUNT": "1",
        "DJANGO_SECURE_SSL_REDIRECT": "true",
        "PYTHONUNBUFFERED": "1",
    }
    for item in args.env:
        name, _, value = item.partition("=")
        env[name] = value
    began = time.time()
    loadavg_before = Path("/proc/loadavg").read_text().split()[:3]

    if args.reuse:
        _database_restore(database_url)
        # A template seeded before the latest migrations (an index, a cache table) catches up.
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
            check=True,
        )
    else:
        seed_env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
        seed_command = [sys.executable, "bench/load/seed.py", "--creators", str(args.creators)]
        seed_command += ["--lines", str(args.lines), "--postings", str(args.postings)]
        seed_command += ["--creator-users", str(args.users), "--owners", str(owners)]
        seed_command += ["--managers", str(max(0, args.staff - owners))]
        subprocess.run(seed_command, cwd=ROOT, env=seed_env, check=True)
        _template_keep(database_url)
    tick = _phase("the database restored from its template" if args.reuse else "seed", began)
    # The uploads of earlier runs: their imports went with the database they were restored over.
    shutil.rmtree(RUN / "media" / "income", ignore_errors=True)
    for earlier in RUN.glob("import-*.csv"):
        earlier.unlink()
    # WhiteNoise's manifest storage serves what collectstatic wrote (the Dockerfile runs it at build).
    if not _static_current():
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True
        )
        tick = _phase("collectstatic", tick)
    os.environ.update(env)
    import django

    django.setup()
    left = _end_leftover_imports()
    people = _people(
        secret_key=env["DJANGO_SECRET_KEY"], creator_users=args.users, is_signed_in=args.signed_in
    )
    if len(people["creators"]) < args.users or len(people["managers"]) + len(people["owners"]) < args.staff:  # type: ignore[arg-type]
        raise SystemExit("the seeded people are fewer than asked for: run without --reuse")
    people_file = RUN / "people.json"
    people_file.write_text(json.dumps(people))
    tag = f"L{int(began)}"
    statement = _statement(args.import_lines, args.creators, tag)

    server_command = [
        str(VENV / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{args.port}",
        "--workers",
        str(args.workers),
        "--access-logfile",
        "-",
    ]
    # Not in the production command: gunicorn's control socket in ~/.gunicorn is one per
    # machine, and another gunicorn may run beside this one here.
    isolation = ["--control-socket", str(RUN / "gunicorn.ctl")]
    worker_class = args.worker_class or ("gthread" if args.threads > 1 else "")
    if worker_class:
        server_command += ["--worker-class", worker_class]
    if args.threads > 1:
        server_command += ["--threads", str(args.threads)]
    server_command += shlex.split(args.gunicorn)
    worker_command = [str(VENV / "celery"), "-A", "config", "worker", "-l", "INFO", "--concurrency", "2"]
    if args.worker_nice:
        worker_command = ["nice", "-n", str(args.worker_nice), *worker_command]
    beat_command = [
        str(VENV / "celery"),
        "-A",
        "config",
        "beat",
        "-l",
        "INFO",
        "-s",
        str(RUN / "celerybeat-schedule"),
    ]
    server = _start([*server_command, *isolation], RUN / "gunicorn.log", env)
    worker = _start(worker_command, RUN / "worker.log", env)
    beat = _start(beat_command, RUN / "beat.log", env)
    locust: subprocess.Popen[bytes] | None = None
    meter = CpuMeter(
        roots={"gunicorn": server.pid, "celery worker": worker.pid, "celery beat": beat.pid},
        database=database,
    )
    samples: list[tuple[float, dict[str, object]]] = []
    stop_sampling = threading.Event()
    try:
        _wait_http(f"http://127.0.0.1:{args.port}/health/", seconds=60, process=server)
        _wait_log(RUN / "worker.log", " ready.", seconds=90, process=worker)
        tick = _phase("people, statement, gunicorn and the worker up", tick)
        record = RUN / "requests.csv"
        record.unlink(missing_ok=True)
        locust_env = {
            **os.environ,
            "FENRUN_LOAD_PEOPLE": str(people_file),
            "FENRUN_LOAD_RECORD": str(record),
            "FENRUN_LOAD_CREATORS": str(args.users),
            "FENRUN_LOAD_STAFF": str(args.staff),
            "FENRUN_LOAD_WAIT": args.wait,
        }
        # No -t: this script ends the run `duration` seconds after the import started.
        locust_command = [str(VENV / "locust"), "-f", "bench/load/locustfile.py", "--headless"]
        locust_command += ["-u", str(people_total), "-r", str(args.spawn_rate)]
        locust_command += [
            "--host",
            f"http://127.0.0.1:{args.port}",
            "--only-summary",
            "--stop-timeout",
            "10",
        ]
        locust_command += ["--loglevel", "WARNING"]
        print(
            f"{people_total} people start ({args.spawn_rate}/s) against {' '.join(server_command[1:])}",
            flush=True,
        )
        locust_began = time.time()
        locust = _start(locust_command, RUN / "locust.log", locust_env)
        meter.roots["locust"] = locust.pid
        meter.sample()
        import_id = 0

        def sample_loop() -> None:
            while not stop_sampling.wait(2.0):
                meter.sample()
                if import_id:
                    samples.append((time.time(), _import_state(import_id)))

        sampler = threading.Thread(target=sample_loop, daemon=True)
        sampler.start()
        # The import starts once everyone is signed in: 200 logins' PBKDF2 are a burst of their
        # own (reported apart), and the goal is about people browsing while the import runs.
        if args.signed_in:
            time.sleep(people_total / args.spawn_rate + 5)
            tick = _phase(f"{people_total} people started, signed in already", tick)
        else:
            form_logins = args.users + max(0, args.staff - owners)
            _wait_logins(RUN / "gunicorn.log", form_logins, seconds=60 + people_total * 3.0, process=locust)
            tick = _phase(f"{form_logins} logins through the form", tick)
        import_created = time.time()
        import_id = _import_create(statement)
        print(
            f"import {import_id}: {args.import_lines:,} rows; browsing for {args.duration:.0f} s", flush=True
        )
        try:
            locust.wait(args.duration)
        except subprocess.TimeoutExpired:
            locust.send_signal(signal.SIGTERM)  # locust stops its users and writes the record
            locust.wait(60)
        locust_ended = time.time()
        tick = _phase("browsing while the import ran", tick)
        stop_sampling.set()
        sampler.join()
        meter.sample()
        state = _import_state(import_id)
        if args.after == "wait" and state["status"] in ("queued", "running"):
            print("load done; waiting for the import to finish", flush=True)
            deadline = time.monotonic() + 3600
            while state["status"] in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(2)
                state = _import_state(import_id)
            tick = _phase("the import's end", tick)
    finally:
        stop_sampling.set()
        for process in (locust, beat, worker, server):
            if process is not None:
                _stop(process)

    rows = []
    with record.open() as handle:
        for row in csv.DictReader(handle):
            rows.append((float(row["start"]), row["name"], float(row["ms"]), int(row["bytes"]), row["error"]))
    lines = _report(
        args=args,
        rows=rows,
        meter=meter,
        samples=samples,
        state=state,
        times={
            "began": began,
            "locust_began": locust_began,
            "locust_ended": locust_ended,
            "import_created": import_created,
        },
        server_command=server_command,
        loadavg_before=loadavg_before,
        left=left,
        import_id=import_id,
        owners=owners,
    )
    text = "\n".join(lines) + "\n"
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text)
    print(text)
    print(f"(report written to {args.report}; raw requests in {record})")
    errors = sum(1 for r in rows if r[4])
    return 1 if errors or state["status"] == "failed" else 0


if __name__ == "__main__":
    sys.exit(main())
