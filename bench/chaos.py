"""make chaos: faults in the middle of real imports; nothing lost, nothing doubled, the same ledger.

    make chaos                                  # 5 kills, Redis stopped for 30 s, a poison row
    make chaos CHAOS_ARGS="--kills 200"         # the documented full run
    make chaos CHAOS_ARGS="--kills 5 --redis-outage 10 --restart-postgres"   # CI (.ci/run)

    # or directly, on a database whose name contains "chaos" (it is dropped and migrated):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fenrun_chaos .venv/bin/python bench/chaos.py --kills 20

What runs: the database dropped and migrated (bench/income_pipeline.py's fresh_database); a
redis-server of this script's own on a free port (`--save "" --appendonly no`: a restart comes
back empty, as a Redis without persistence does), started and stopped here; real `celery worker`
processes (prefork, concurrency 1, config.settings.test on this database) and a real `celery
beat`, which sends the app's own CELERY_BEAT_SCHEDULE (the outbox relay every 2 s, the stalled
step sweep every 2 s, …) to the workers as production's beat does. Logs go to the run folder.

One statement (bench/generate_statement.py: --lines over --creators, fixed seed) is imported
once per run, each run on a NEW AGENCY of the same database (bench/income_pipeline.py's setup
with a tag: its creators' accounts are bench_dy_<tag><i>, and the statement is rewritten with
them by recognition_1m.write_variant, the same external ids and amounts). One database for
every run is faster than one per run (no migrate in between) and closer to a live system, whose
tables hold other agencies' rows; the digest is computed per agency with the tag taken out.

1. undisturbed: the import, its phase times (stage, chunks, recognition) and the ledger digest;
2. --kills N: per run, the import started, the worker SIGKILLed (its whole process group) at a
   seeded moment — a phase drawn among stage, chunks and recognition, then a point within the
   undisturbed run's duration of that phase — a new worker started after a seeded delay
   (--restart-delay), recovery timed from the kill to the next committed step of that import
   (StatementImport.updated_at, rows_done or lines_recognised moving), then the import waited
   for; a kill that came too late (the import finished) is counted apart and drawn again;
3. --redis-outage S: Redis stopped for S seconds once the import is under way, then started
   again, empty; the outbox relay and the stalled sweep must bring the import back;
4. --restart-postgres (off by default: it restarts the server everyone on this machine uses):
   --postgres-restart-command run during recognition;
5. a poison row (a NUL byte, which PostgreSQL cannot store) in the middle of the statement: it
   must be one row error of its row and everything else imported.

After every run: the import done; its ledger digest equal to the undisturbed one (SHA-256 over
business keys and content, never ids: lines, allocations, entries and their postings, postings
summed per account, balances and monthly balances per account; each part compared, so a
mismatch says which); `manage.py verify_ledger --agency` exit status 0; 0 lost (as many lines as
the undisturbed run), 0 doubled (one allocation per line, the entries' line counts adding up to
the lines). Printed: recovery median, p95 and max, kills, digest equality and verify results; a
JSON report in the run folder. Exit status 1 on any loss, doubling, mismatch, failed verify or
import that did not finish.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
# The workers and beat are started with this process's environment: they must agree with it.
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
os.environ.pop("FENRUN_TEST_DATABASE_NAME", None)  # the test settings would redirect the workers

PHASES = ("stage", "chunks", "recognition")
POLL = 0.1  # seconds between two reads of the import's row
DEFAULT_PG_RESTART = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main restart"


class ChaosFailure(Exception):
    """A run that did not end as it must (an import that failed or never finished)."""


# --- processes: redis-server, celery worker, celery beat ------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Redis:
    """This run's own redis-server, without persistence: a restart comes back empty."""

    def __init__(self, port: int, folder: Path) -> None:
        self.port, self.folder = port, folder
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"redis-server exited with {self.process.returncode} (see {self.folder}/redis.log)"
                )
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    return
            time.sleep(0.1)
        raise SystemExit(f"redis-server on port {self.port} did not answer within 20 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # --save "": nothing written, the data is gone
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class Celery:
    """A `celery worker` or `celery beat` process in its own process group, logging to a file."""

    def __init__(self, kind: str, name: str, folder: Path, concurrency: int = 1) -> None:
        self.name, self.log = name, folder / f"{name}.log"
        if kind == "worker":
            # As tests/integration/conftest.py starts one: prefork, every configured queue.
            command = ["worker", "-l", "INFO", "--concurrency", str(concurrency), "-n", f"{name}@%h",
                       "--without-gossip", "--without-mingle", "--pool", "prefork"]  # fmt: skip
        else:
            command = ["beat", "-l", "INFO", "-s", str(folder / "beat-schedule")]
        self.started = time.monotonic()
        with self.log.open("wb") as log:  # a new file: ready_after reads it
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", *command],
                cwd=ROOT,
                env=os.environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def ready_after(self) -> float | None:
        """Seconds from the start to the worker's "ready." line, once it has been logged."""
        if not hasattr(self, "_ready"):
            if " ready." not in self.log.read_text(errors="replace"):
                return None
            self._ready = time.monotonic() - self.started
        return self._ready

    def wait_ready(self, timeout: float = 60) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise SystemExit(f"{self.name} exited with {self.process.returncode} (see {self.log})")
            if (ready := self.ready_after()) is not None:
                return ready
            time.sleep(0.1)
        raise SystemExit(f"{self.name} was not ready within {timeout:.0f} s (see {self.log})")

    def kill(self) -> None:
        """SIGKILL, the worker and its pool children at once: no shutdown, no ack, no rollback sent."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.alive:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


# --- the database, read through outages -----------------------------------------------------------


def db[T](read: Callable[[], T], *, patience: float = 180) -> T:
    """`read()`, again on a new connection while PostgreSQL is restarting (--restart-postgres)."""
    from django.db import InterfaceError, OperationalError, connection

    deadline = time.monotonic() + patience
    while True:
        try:
            return read()
        except (OperationalError, InterfaceError):
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@dataclass(frozen=True)
class Progress:
    status: str
    rows_total: int
    rows_done: int
    lines_recognised: int
    updated_at: datetime

    @property
    def phase(self) -> str:
        if self.status == "queued":
            return "stage"
        if self.rows_done < self.rows_total:
            return "chunks"
        return "recognition"

    def moved_since(self, other: Progress) -> bool:
        """A step committed: every step saves the import's row (updated_at) in its transaction."""
        return (self.updated_at, self.rows_done, self.lines_recognised, self.status) != (
            other.updated_at,
            other.rows_done,
            other.lines_recognised,
            other.status,
        )


def progress(import_id: int) -> Progress:
    from apps.income.models import StatementImport

    row = db(
        lambda: StatementImport.objects.values_list(
            "status", "rows_total", "rows_done", "lines_recognised", "updated_at"
        ).get(pk=import_id)
    )
    return Progress(*row)


def latest_publish(import_id: int) -> datetime | None:
    """When the import's current step message was last published (the stalled sweep re-sends it)."""
    from apps.common.outbox import outbox_latest
    from apps.income.selectors import statement_import_outbox_key

    message = db(lambda: outbox_latest(key=statement_import_outbox_key(import_id)))
    return None if message is None else message.published_at


# --- the ledger digest ------------------------------------------------------------------------------


def _sha(rows: Iterator[tuple[Any, ...]] | list[tuple[Any, ...]]) -> str:
    digest = hashlib.sha256()
    for row in sorted(rows, key=repr):
        digest.update(json.dumps(row, default=str, separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def ledger_digest(agency: Any, tag: str) -> dict[str, str]:
    """SHA-256 per part of one agency's books, over business keys and content, never ids.

    A creator is named by its Douyin account without the agency's tag (bench_dy_<tag>17 →
    bench_dy_17), so two agencies that imported the same statement have equal digests."""
    from django.db.models import Count, Sum

    from apps.agencies.models import Representation
    from apps.creators.models import PlatformAccount
    from apps.income.models import IncomeLine
    from apps.ledger.models import AccountBalance, AccountPeriodBalance, JournalEntry, Posting
    from apps.recognition.models import LineAllocation

    def plain(account_id: str) -> str:
        return account_id.replace(f"bench_dy_{tag}", "bench_dy_", 1)

    creators = Representation.objects.filter(agency=agency).values("creator_id")
    creator = {
        creator_id: plain(account_id)
        for creator_id, account_id in PlatformAccount.objects.filter(creator_id__in=creators).values_list(
            "creator_id", "account_id"
        )
    }
    creator[None] = ""
    lines = [
        (platform, plain(account), external_id, source, gross, currency, occurred, status, reason, creator[who],
         refund_of or "")
        for platform, account, external_id, source, gross, currency, occurred, status, reason, who, refund_of
        in IncomeLine.objects.filter(agency=agency).values_list(
            "platform", "account_id", "external_id", "source", "gross_minor", "currency", "occurred_at", "status",
            "exception_reason", "creator_id", "refund_of__external_id",
        ).iterator(chunk_size=10_000)
    ]  # fmt: skip
    allocations = [
        (row[0], row[1], creator[row[2]], *row[3:])
        for row in LineAllocation.objects.filter(agency=agency).values_list(
            "line__platform", "line__external_id", "creator_id", "contract_version__number", "ordinal",
            "rule_index", "engine_version", "currency", "gross_minor", "amounts_minor",
            "expenses_claimed_minor", "advance_before_minor", "original_gross_minor", "original_currency",
            "fx_rate", "effective_date",
        ).iterator(chunk_size=10_000)
    ]  # fmt: skip
    entry_head = {
        pk: (kind, creator[who], effective, count)
        for pk, kind, who, effective, count in JournalEntry.objects.filter(agency=agency).values_list(
            "pk", "kind", "creator_id", "effective_date", "line_count"
        )
    }
    entry_postings: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for entry_id, purpose, key, who, currency, amount in Posting.objects.filter(
        entry__agency=agency
    ).values_list(
        "entry_id", "account__purpose", "account__key", "account__creator_id", "currency", "amount_minor"
    ):
        entry_postings[entry_id].append((purpose, key, creator[who], currency, amount))
    entries = [(*head, sorted(entry_postings[pk])) for pk, head in entry_head.items()]
    per_account = [
        (purpose, key, creator[who], currency, total, count)
        for purpose, key, who, currency, total, count in Posting.objects.filter(entry__agency=agency)
        .values_list("account__purpose", "account__key", "account__creator_id", "currency")
        .annotate(total=Sum("amount_minor"), count=Count("pk"))
    ]
    balances = [
        (purpose, key, creator[who], currency, balance, count)
        for purpose, key, who, currency, balance, count in AccountBalance.objects.filter(
            account__agency=agency
        ).values_list(
            "account__purpose",
            "account__key",
            "account__creator_id",
            "currency",
            "balance_minor",
            "posting_count",
        )
    ]
    monthly = [
        (purpose, key, creator[who], *rest)
        for purpose, key, who, *rest in AccountPeriodBalance.objects.filter(account__agency=agency).values_list(
            "account__purpose", "account__key", "account__creator_id", "period", "currency", "debit_minor",
            "credit_minor", "net_minor",
        )
    ]  # fmt: skip
    parts = {
        "lines": _sha(lines),
        "allocations": _sha(allocations),
        "entries": _sha(entries),
        "postings per account": _sha(per_account),
        "balances": _sha(balances),
        "monthly balances": _sha(monthly),
    }
    parts["ledger"] = hashlib.sha256("".join(parts.values()).encode()).hexdigest()
    return parts


def counts(agency: Any) -> dict[str, int]:
    """What "lost" and "doubled" are measured by."""
    from django.db.models import Sum

    from apps.income.models import IncomeLine
    from apps.ledger.models import JournalEntry
    from apps.recognition.models import LineAllocation

    lines = IncomeLine.objects.filter(agency=agency)
    return {
        "lines": lines.count(),
        "distinct keys": lines.values("platform", "external_id").distinct().count(),
        "lines without allocation": lines.filter(allocation__isnull=True).count(),
        "allocations": LineAllocation.objects.filter(agency=agency).count(),
        "entries' line_count": JournalEntry.objects.filter(agency=agency).aggregate(n=Sum("line_count"))["n"]
        or 0,
    }


def verify_ledger(agency: Any, log: Path) -> subprocess.Popen[bytes]:
    """`manage.py verify_ledger --agency` in a child process (its exit status is the verdict),
    started and left running: it reads while the next run goes on, which only waits meanwhile."""
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", "verify_ledger", "--agency", str(agency.public_id)],
            cwd=ROOT,
            env=os.environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


# --- a run: one agency, one import ------------------------------------------------------------------


@dataclass
class Run:
    name: str
    tag: str
    rows: int = 0  # the statement's good rows
    setup_seconds: float = 0.0  # the agency and its statement (not part of the import)
    check_seconds: float = 0.0  # counts, digest and verify_ledger
    import_id: int = 0
    status: str = ""
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    steps: list[tuple[str, float]] = field(default_factory=list)  # (phase, seconds) per committed step
    counts: dict[str, int] = field(default_factory=dict)
    error_count: int = 0
    digest: dict[str, str] = field(default_factory=dict)
    mismatched: list[str] = field(default_factory=list)
    verify_status: int | None = None
    problems: list[str] = field(default_factory=list)
    fault: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


class Chaos:
    def __init__(self, args: argparse.Namespace, folder: Path, redis: Redis) -> None:
        self.args, self.folder, self.redis = args, folder, redis
        self.rng = random.Random(args.seed)
        self.workers = 0
        self.worker: Celery | None = None
        self.beat: Celery | None = None
        self.baseline: Run | None = None
        self.runs: list[Run] = []
        self.verifying: list[tuple[Run, subprocess.Popen[bytes]]] = []
        self.current: tuple[Run, Any] = (Run(name="", tag=""), None)

    # processes

    def start_worker(self, *, wait: bool = True) -> Celery:
        self.workers += 1
        self.worker = Celery("worker", f"chaos-worker-{self.workers}", self.folder, self.args.concurrency)
        if wait:
            self.worker.wait_ready()
        return self.worker

    def start_beat(self) -> None:
        for old in self.folder.glob("beat-schedule*"):  # an earlier run's, in the same --out folder
            old.unlink()
        self.beat = Celery("beat", "chaos-beat", self.folder)

    def stop_all(self) -> None:
        for process in (self.worker, self.beat):
            if process is not None:
                process.stop()

    def collect_verifies(self, *, wait: bool) -> None:
        for run, process in list(self.verifying):
            if wait:
                process.wait()
            if process.poll() is None:
                continue
            self.verifying.remove((run, process))
            run.verify_status = process.returncode
            if run.verify_status != 0:
                run.problems.append(f"verify_ledger exited {run.verify_status} (verify_ledger/{run.tag}.log)")
                print(f"  {run.name}: verify_ledger exited {run.verify_status}", flush=True)

    # one import

    def prepare(self, name: str, tag: str, *, poison_at: int | None = None) -> tuple[Run, Any, Path]:
        """A new agency (tag: its creators' accounts) and the statement rewritten for it."""
        from income_pipeline import setup
        from recognition_1m import write_variant

        self.collect_verifies(wait=False)
        tick = time.monotonic()
        agency = setup(self.args.creators, tag)
        path = self.folder / f"statement-{tag.rstrip('_')}.csv"
        rows = write_variant(self.args.statement, path, account_tag=tag)
        if poison_at is not None:
            insert_poison_row(path, poison_at, account=f"bench_dy_{tag}0")
        run = Run(name=name, tag=tag, rows=rows, setup_seconds=round(time.monotonic() - tick, 2))
        self.current = (run, agency)
        return run, agency, path

    def guarded(self, scenario: Callable[..., Any], *args: Any) -> Any:
        """A scenario whose import went wrong before its end (failed, a worker that died) is a
        failed run in the report, and the suite goes on with the next."""
        try:
            return scenario(*args)
        except ChaosFailure as failure:
            run, agency = self.current
            run.problems.append(str(failure))
            print(f"  {run.name}: FAILED: {failure}", flush=True)
            if run not in self.runs:
                self.check(run, agency)
                self.runs.append(run)
            if self.worker is None or not self.worker.alive:
                self.start_worker()
            return True

    def start_import(self, run: Run, agency: Any, path: Path) -> float:
        from django.core.files.uploadedfile import UploadedFile

        from apps.income.pipeline import statement_import_create

        owner = agency.memberships.get(role="owner").user
        with path.open("rb") as handle:
            statement_import = statement_import_create(
                agency=agency,
                actor=owner,
                file=UploadedFile(handle, name=path.name, size=path.stat().st_size),
            )
        run.import_id = statement_import.pk
        return time.monotonic()

    def wait_for(self, run: Run, until: Callable[[Progress], bool], *, what: str, timeout: float) -> Progress:
        deadline = time.monotonic() + timeout
        while True:
            state = progress(run.import_id)
            if until(state):
                return state
            if state.status in ("done", "failed"):
                raise ChaosFailure(f"the import ended {state.status} while waiting for {what}")
            if self.worker is not None and not self.worker.alive:
                raise ChaosFailure(f"{self.worker.name} exited with {self.worker.process.returncode}")
            if time.monotonic() > deadline:
                raise ChaosFailure(
                    f"no {what} within {timeout:.0f} s ({state.status} {state.rows_done}/{state.rows_total}, "
                    f"{state.lines_recognised} recognised)"
                )
            time.sleep(POLL)

    def wait_done(self, run: Run, started: float) -> None:
        """Until the import is done; times each committed step (and so each phase) as a reader
        sees them: the step's phase is the one the import was in before it committed."""
        before, since = progress(run.import_id), started
        while before.status not in ("done", "failed"):
            state = self.wait_for(run, lambda s, b=before: s.moved_since(b) or s.status in ("done", "failed"),
                                  what="the import's end", timeout=self.args.import_timeout)  # fmt: skip
            now = time.monotonic()
            run.steps.append((before.phase, round(now - since, 3)))
            run.phases[before.phase] = run.phases.get(before.phase, 0.0) + now - since
            before, since = state, now
        run.seconds = time.monotonic() - started
        run.status = before.status

    def check(self, run: Run, agency: Any) -> None:
        from apps.income.models import StatementImport

        tick = time.monotonic()
        statement_import = db(lambda: StatementImport.objects.get(pk=run.import_id))
        run.status, run.error_count = statement_import.status, statement_import.error_count
        if run.status != "done":
            run.problems.append(f"import {run.status}: {statement_import.message}")
        run.counts = db(lambda: counts(agency))
        run.digest = db(lambda: ledger_digest(agency, run.tag))
        self.verifying.append((run, verify_ledger(agency, self.folder / "verify_ledger" / f"{run.tag}.log")))
        run.check_seconds = round(time.monotonic() - tick, 2)
        c = run.counts
        if (
            c["allocations"] != c["lines"] - c["lines without allocation"]
            or c["entries' line_count"] != c["allocations"]
        ):
            run.problems.append(f"doubled or uncovered: {c}")
        if c["distinct keys"] != c["lines"]:
            run.problems.append(f"doubled lines: {c['lines']} lines, {c['distinct keys']} keys")
        base = self.baseline
        if base is None:
            return
        if c["lines"] < base.counts["lines"]:
            run.problems.append(
                f"lost: {base.counts['lines'] - c['lines']} lines ({c['lines']} of {base.counts['lines']})"
            )
        if c != base.counts:
            run.problems.append(f"counts differ from the undisturbed run: {c} against {base.counts}")
        run.mismatched = [part for part, value in run.digest.items() if base.digest.get(part) != value]
        if run.mismatched:
            run.problems.append(f"digest differs: {', '.join(run.mismatched)}")

    def finish(self, run: Run, agency: Any, started: float) -> Run:
        """Wait for the import, then check it; a run that failed is recorded, the suite goes on."""
        try:
            self.wait_done(run, started)
        except ChaosFailure as failure:
            run.problems.append(str(failure))
        self.check(run, agency)
        self.runs.append(run)
        verdict = "counts and digest OK" if run.ok else "FAILED: " + "; ".join(run.problems)
        print(f"  {run.name}: {run.status} in {run.seconds:.1f} s, {run.counts.get('lines', 0):,} lines, "
              f"digest {run.digest.get('ledger', '')[:16]} (setup {run.setup_seconds:.0f} s, checks "
              f"{run.check_seconds:.0f} s); {verdict}", flush=True)  # fmt: skip
        return run

    # the scenarios

    def undisturbed(self) -> None:
        run, agency, path = self.prepare("undisturbed", "u_")
        started = self.start_import(run, agency, path)
        self.wait_done(run, started)
        self.check(run, agency)
        self.collect_verifies(wait=True)
        self.runs.append(run)
        if run.counts["lines"] != run.rows or run.counts["lines without allocation"]:
            run.problems.append(f"{run.counts} from {run.rows} rows: every row must be a recognised line")
        print(f"  undisturbed: {run.status} in {run.seconds:.1f} s (stage {run.phases.get('stage', 0):.1f} s, "
              f"chunks {run.phases.get('chunks', 0):.1f} s, recognition {run.phases.get('recognition', 0):.1f} s), "
              f"{run.counts['lines']:,} lines, {run.counts['lines without allocation']} unallocated, digest "
              f"{run.digest['ledger']}, verify {run.verify_status}", flush=True)  # fmt: skip
        if not run.ok:
            raise SystemExit("the undisturbed run failed: " + "; ".join(run.problems))
        self.baseline = run

    def kills(self) -> None:
        landed = attempts = 0
        while landed < self.args.kills:
            attempts += 1
            if attempts > 2 * self.args.kills + 5:
                raise SystemExit(f"only {landed} of {self.args.kills} kills landed in {attempts - 1} imports")
            if self.guarded(self.kill_run, landed + 1, attempts):
                landed += 1

    def kill_run(self, number: int, attempt: int) -> bool:
        assert self.baseline is not None and self.worker is not None
        # The moment: a phase, one of its steps (as many as the undisturbed run had), a point
        # within that step's undisturbed duration after the step before it committed.
        phase = self.rng.choice(PHASES)
        durations = [seconds for step_phase, seconds in self.baseline.steps if step_phase == phase] or [0.0]
        step = self.rng.randrange(len(durations))
        into = self.rng.uniform(0.05, 0.95) * durations[step]
        delay = self.rng.uniform(*self.args.restart_delay)
        run, agency, path = self.prepare(f"kill {number}", f"k{attempt:03d}_")
        # Runs take about as long each, and a recovery ends on a tick of beat's sweep: without
        # a pause of a random part of its period, every kill would fall at the same point of
        # the sweep's cycle (the same recovery time, over and over).
        time.sleep(self.rng.uniform(0, sweep_period()))
        started = self.start_import(run, agency, path)
        self.wait_for(run, lambda s: reached(s, phase, step), what=f"{phase} step {step}",
                      timeout=self.args.import_timeout)  # fmt: skip
        time.sleep(into)
        before = progress(run.import_id)
        if before.status in ("done", "failed"):
            print(f"  (kill {number}: the import ended before the kill in {phase} step {step}; drawn again)",
                  flush=True)  # fmt: skip
            self.finish(run, agency, started)
            return False
        self.worker.kill()
        killed = time.monotonic()
        # A COMMIT the server had received before the kill lands within milliseconds; after
        # this pause, a change of the import's row is a step of the new worker's.
        time.sleep(0.2)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT now()")
            db_now = cursor.fetchone()[0]
        after = progress(run.import_id)  # any commit of the killed step is in (or never will be)
        published = latest_publish(run.import_id)
        new_worker: Celery | None = None
        resent = ready = recovery = None
        deadline = killed + self.args.import_timeout
        while recovery is None:
            now = time.monotonic()
            if new_worker is None and now >= killed + delay:
                new_worker = self.start_worker(wait=False)
            if new_worker is not None and ready is None and (up := new_worker.ready_after()) is not None:
                ready = new_worker.started + up - killed
            if resent is None and latest_publish(run.import_id) != published:
                resent = now - killed
            if progress(run.import_id).moved_since(after):
                recovery = time.monotonic() - killed
            elif now > deadline:
                run.problems.append(f"no step committed within {self.args.import_timeout:.0f} s of the kill")
                break
            else:
                time.sleep(POLL)
        run.fault = {
            "phase drawn": phase,
            "step drawn": step,
            "into step s": round(into, 2),
            "phase killed": after.phase,
            "since last commit s": round((db_now - after.updated_at).total_seconds(), 2),
            "restart delay s": round(delay, 2),
            "worker ready s": None if ready is None else round(ready, 2),
            "re-sent s": None if resent is None else round(resent, 2),
            "recovery s": None if recovery is None else round(recovery, 2),
        }
        if new_worker is not None and ready is None and new_worker.alive:
            with contextlib.suppress(SystemExit):
                new_worker.wait_ready()
        print(f"  kill {number}: {after.phase} ({after.rows_done}/{after.rows_total} rows, "
              f"{after.lines_recognised} recognised, last commit {run.fault['since last commit s']} s before), "
              f"new worker after {delay:.1f} s, ready at {run.fault['worker ready s']} s, step re-sent at "
              f"{run.fault['re-sent s']} s; recovery {run.fault['recovery s']} s", flush=True)  # fmt: skip
        self.finish(run, agency, started)
        return True

    def redis_outage(self) -> None:
        run, agency, path = self.prepare(f"Redis stopped for {self.args.redis_outage:.0f} s", "r_")
        started = self.start_import(run, agency, path)
        # The middle of the import: staging done and its first chunk committed.
        self.wait_for(run, lambda s: s.status == "running" and s.rows_done > 0, what="the first chunk",
                      timeout=self.args.import_timeout)  # fmt: skip
        at = progress(run.import_id)
        self.redis.stop()
        down = time.monotonic()
        time.sleep(self.args.redis_outage)
        during = progress(run.import_id)
        self.redis.start()
        up = time.monotonic()
        step_after = None
        while step_after is None and time.monotonic() < up + self.args.import_timeout:
            state = progress(run.import_id)
            if state.moved_since(during):
                step_after = time.monotonic() - up
            time.sleep(POLL)
        run.fault = {
            "stopped at": f"{at.phase} {at.rows_done}/{at.rows_total}",
            "outage s": round(up - down, 2),
            "steps during the outage": during.rows_done != at.rows_done or during.updated_at != at.updated_at,
            "next step after Redis was back s": None if step_after is None else round(step_after, 2),
            "worker alive": self.worker is not None and self.worker.alive,
            "beat alive": self.beat is not None and self.beat.alive,
        }
        print(f"  Redis stopped at {run.fault['stopped at']} for {run.fault['outage s']} s; next committed step "
              f"{run.fault['next step after Redis was back s']} s after it was back", flush=True)  # fmt: skip
        self.finish(run, agency, started)
        if not (run.fault["worker alive"] and run.fault["beat alive"]):
            run.problems.append(f"a process died in the outage: {run.fault}")

    def restart_postgres(self) -> None:
        assert self.baseline is not None
        run, agency, path = self.prepare("PostgreSQL restarted in recognition", "p_")
        started = self.start_import(run, agency, path)
        self.wait_for(
            run, lambda s: s.phase == "recognition", what="recognition", timeout=self.args.import_timeout
        )
        time.sleep(self.rng.uniform(0.1, 0.6) * self.baseline.phases.get("recognition", 0.0))
        self.collect_verifies(wait=True)  # a verify_ledger cut off by the restart is no verdict
        at = progress(run.import_id)
        tick = time.monotonic()
        # A shell: the default command finds the cluster's version with $(ls …), as .ci/run does.
        command = self.args.postgres_restart_command
        result = subprocess.run(command, shell=True, capture_output=True, text=True)  # noqa: S602
        run.fault = {
            "restarted at": f"{at.phase}, {at.lines_recognised} recognised",
            "command": self.args.postgres_restart_command,
            "exit status": result.returncode,
            "restart s": round(time.monotonic() - tick, 2),
        }
        print(f"  PostgreSQL restarted at {run.fault['restarted at']} ({run.fault['restart s']} s, "
              f"exit {result.returncode})", flush=True)  # fmt: skip
        if result.returncode != 0:
            run.problems.append(f"the restart command failed: {result.stderr.strip()[:500]}")
        self.finish(run, agency, started)

    def poison(self) -> None:
        from apps.income.models import ImportRowError

        assert self.baseline is not None
        row = self.baseline.counts["lines"] // 2 + 2  # the file's row number (the header is row 1)
        run, agency, path = self.prepare("a poison row", "x_", poison_at=row)
        started = self.start_import(run, agency, path)
        self.finish(run, agency, started)
        errors = list(
            ImportRowError.objects.filter(statement_import_id=run.import_id).values_list(
                "row_number", "column"
            )
        )
        run.fault = {"row": row, "row errors": errors}
        if run.error_count != 1 or {number for number, _column in errors} != {row}:
            run.problems.append(
                f"the poison row {row} should be the one row error: {run.error_count} errors, {errors}"
            )


def sweep_period() -> float:
    """Seconds between two of beat's stalled-import sweeps (config/settings/base.py)."""
    from django.conf import settings

    return float(settings.CELERY_BEAT_SCHEDULE["income-resume-stalled"]["schedule"])  # type: ignore[arg-type]


def reached(state: Progress, phase: str, step: int) -> bool:
    """Whether the import has committed the steps before `step` of `phase` (or ended)."""
    from apps.income.models import CHUNK_SIZE
    from apps.income.pipeline import RECOGNITION_BATCH

    if state.status in ("done", "failed") or phase == "stage":
        return True
    if phase == "chunks":
        return state.status == "running" and state.rows_done >= step * CHUNK_SIZE
    return state.phase == "recognition" and state.lines_recognised >= step * RECOGNITION_BATCH


def insert_poison_row(path: Path, row: int, *, account: str) -> None:
    """A row that validation refuses (a NUL byte: PostgreSQL cannot store one) as row `row`."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    poison = f"POISON-1,2026-11-15T12:00:00+08:00,douyin,{account},live_gifts,12.34,CNY,,,bad\x00byte\n"
    lines.insert(row - 1, poison)
    path.write_text("".join(lines), encoding="utf-8")


# --- the report -------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def report(chaos: Chaos, started: float) -> bool:
    runs = chaos.runs
    base = chaos.baseline
    kills = [run for run in runs if run.name.startswith("kill ")]
    recoveries = [run.fault["recovery s"] for run in kills if run.fault.get("recovery s") is not None]
    print("\n== make chaos ==")
    print(f"statement: {base.counts['lines'] if base else 0:,} lines, {chaos.args.creators:,} creators; "
          f"seed {chaos.args.seed}; {len(runs)} imports in {time.monotonic() - started:.0f} s")  # fmt: skip
    if base:
        print(f"undisturbed digest: {base.digest['ledger']}")
    if recoveries:
        print(f"kills: {len(kills)} landed ({sum(1 for r in kills if r.fault.get('phase killed') == 'stage')} in stage, "
              f"{sum(1 for r in kills if r.fault.get('phase killed') == 'chunks')} in chunks, "
              f"{sum(1 for r in kills if r.fault.get('phase killed') == 'recognition')} in recognition); "
              f"recovery median {statistics.median(recoveries):.1f} s, p95 {percentile(recoveries, 0.95):.1f} s, "
              f"max {max(recoveries):.1f} s")  # fmt: skip
        for label in ("since last commit s", "worker ready s", "re-sent s"):
            values = [run.fault[label] for run in kills if run.fault.get(label) is not None]
            if values:
                print(f"  {label[:-2]}: median {statistics.median(values):.1f} s, max {max(values):.1f} s")
    disturbed = [run for run in runs if run is not base]
    equal = sum(1 for run in disturbed if run.digest and not run.mismatched)
    verified = sum(1 for run in runs if run.verify_status == 0)
    lost = sum(max(0, base.counts["lines"] - run.counts.get("lines", 0)) for run in disturbed) if base else 0
    print(f"digest equal to the undisturbed run: {equal} of {len(disturbed)}; verify_ledger OK: {verified} of "
          f"{len(runs)}; lines lost: {lost}; failed runs: {sum(1 for run in runs if not run.ok)}")  # fmt: skip
    for run in runs:
        if not run.ok:
            print(f"  FAILED {run.name} (import {run.import_id}): {'; '.join(run.problems)}")
    summary = {
        "args": {k: str(v) for k, v in vars(chaos.args).items()},
        "recovery s": {
            "median": statistics.median(recoveries) if recoveries else None,
            "p95": percentile(recoveries, 0.95) if recoveries else None,
            "max": max(recoveries) if recoveries else None,
        },
        "runs": [{**asdict(run), "ok": run.ok} for run in runs],
    }
    path = chaos.folder / "chaos-report.json"
    path.write_text(json.dumps(summary, indent=2, default=str))
    print(f"report: {path}")
    return all(run.ok for run in runs)


# --- main -------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--kills", type=int, default=5, help="worker SIGKILLs, each in its own import (full run: 200)"
    )
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--creators", type=int, default=1_000)
    parser.add_argument("--statement", type=Path, help="a statement to use instead of generating one")
    parser.add_argument("--seed", type=int, default=16, help="draws the kill moments and restart delays")
    parser.add_argument("--restart-delay", type=float, nargs=2, default=(0.5, 3.0), metavar=("MIN", "MAX"),
                        help="seconds from a kill to the new worker's start, drawn between these")  # fmt: skip
    parser.add_argument("--redis-outage", type=float, default=30.0, help="seconds Redis stays down; 0: none")
    parser.add_argument("--restart-postgres", action="store_true",
                        help="restart PostgreSQL during recognition (never on a shared server)")  # fmt: skip
    parser.add_argument("--postgres-restart-command", default=DEFAULT_PG_RESTART)
    parser.add_argument("--no-poison", action="store_true")
    parser.add_argument("--concurrency", type=int, default=1, help="the worker's pool processes")
    parser.add_argument("--redis-port", type=int, default=0, help="this run's redis-server; 0: a free port")
    parser.add_argument("--import-timeout", type=float, default=600.0)
    parser.add_argument(
        "--out", type=Path, help="the run folder (logs, statements, report); default: a new one in bench/out"
    )
    args = parser.parse_args()

    began = time.monotonic()
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    folder = args.out or Path(tempfile.mkdtemp(prefix="chaos-", dir=ROOT / "bench" / "out"))
    folder.mkdir(parents=True, exist_ok=True)
    port = args.redis_port or free_port()
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    os.environ["DJANGO_MEDIA_ROOT"] = str(folder / "media")
    if args.statement is None:
        args.statement = folder / "statement.csv"
        subprocess.run([sys.executable, "bench/generate_statement.py", "--lines", str(args.lines), "--creators",
                        str(args.creators), "--out", str(args.statement)], cwd=ROOT, check=True)  # fmt: skip
    redis = Redis(port, folder)
    redis.start()
    chaos = Chaos(args, folder, redis)
    try:
        import django

        django.setup()
        from income_pipeline import fresh_database

        tick = time.monotonic()
        fresh_database(marker="chaos")
        print(f"chaos: database migrated in {time.monotonic() - tick:.0f} s; redis-server on port {port}; "
              f"logs in {folder}", flush=True)  # fmt: skip
        chaos.start_beat()
        chaos.start_worker()
        chaos.undisturbed()
        chaos.kills()
        if args.redis_outage > 0:
            chaos.guarded(chaos.redis_outage)
        if args.restart_postgres:
            chaos.guarded(chaos.restart_postgres)
        if not args.no_poison:
            chaos.guarded(chaos.poison)
    finally:
        chaos.collect_verifies(wait=True)
        chaos.stop_all()
        redis.stop()
    if not report(chaos, began):
        sys.exit(1)


if __name__ == "__main__":
    main()
