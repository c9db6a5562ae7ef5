"""`make attack` (issue 16): the tenancy matrix, a schema-driven API fuzz against the live server,
the importer fuzzer and idempotency races; a report in .run/attack/report.md, exit 1 on any finding.

    make attack                      # the full run
    make attack ATTACK_ARGS=--ci     # bounded (CI)
    # or directly, on a database whose name contains "attack" (it is dropped and migrated):
    DATABASE_URL=postgres://…/fenrun_attack .venv/bin/python bench/attack/run.py [--ci]

What runs, in order:
1. The database dropped and migrated, `seed_demo`'s world plus one object of every kind and a
   second agency (tests/route_matrix.py build_world).
2. The tenancy matrix generated from the URL conf and the OpenAPI schema (tests/route_matrix.py):
   every route × every role × another tenant's objects, in this process through Django's test
   client (the whole middleware stack; a view's exception is caught with its traceback).
3. The importer fuzzer (bench/attack/fuzz.py): every sample statement clean, then damaged
   (truncated, re-encoded, BOMs, CR/CRLF, NULs, Excel's 4.77835E+18, full-width digits, a huge
   cell, random bytes into every adapter) through the upload service and the pipeline.
4. A live server (gunicorn, gthread, on a free loopback port, the test settings on this
   database) and a real Celery worker: the idempotency races (20 threads, one Idempotency-Key,
   one upload; the same key with another body; 20 threads with no key), concurrent partial
   refunds of one line (50 uploads, 20 with --ci: never more than the original recorded), then
   a damaged file uploaded through the API and imported by the worker, then (full run) a file
   past the upload limit.
5. The API fuzz against the live schema (bench/attack/schema_fuzz.py): schemathesis (checks
   not_a_server_error, status_code_conformance, content_type_conformance,
   response_schema_conformance) for two callers, then this suite's own generator, which also
   checks that agency B's owner never gets agency A's data.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(HERE), str(ROOT / "bench")]
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
os.environ.pop("FENRUN_TEST_DATABASE_NAME", None)
VENV = ROOT / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen[bytes] | None, *, grace: float = 20.0) -> None:
    """SIGTERM to the process's group, SIGKILL to what is left after `grace` seconds."""
    if process is None:
        return
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait_http(url: str, process: subprocess.Popen[bytes], *, seconds: float) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def wait_log(log: Path, text: str, process: subprocess.Popen[bytes], *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{log.name}: exited with {process.returncode}")
        if text in log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise SystemExit(f"{log.name}: {text!r} not seen within {seconds:.0f} s")


# --- the live parts -------------------------------------------------------------------------------


class Live:
    def __init__(self, base: str, tokens: dict[str, str], world: Any) -> None:
        self.base, self.tokens, self.world = base, tokens, world

    def headers(self, role: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **extra}


def _statement(tag: str, rows: int) -> bytes:
    header = (
        "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
    )
    body = "".join(
        f"{tag}-{n},2026-11-{1 + n % 28:02d}T10:00:00+08:00,douyin,dy_88231,live_gifts,{10 + n}.{n % 100:02d},CNY,,,\n"
        for n in range(rows)
    )
    return (header + body).encode()


def _post_upload(live: Live, data: bytes, name: str, key: str | None) -> tuple[int, dict[str, str], bytes]:
    import requests

    headers = live.headers("manager_a", **({"Idempotency-Key": key} if key else {}))
    response = requests.post(
        f"{live.base}/api/v1/income/imports/",
        headers=headers,
        data={"agency": live.world.agency_a.objects["agency"]},
        files={"file": (name, data, "text/csv")},
        timeout=120,
    )
    return response.status_code, dict(response.headers), response.content


def _in_threads(count: int, call: Any) -> list[Any]:
    results: list[Any] = [None] * count
    barrier = threading.Barrier(count)

    def one(index: int) -> None:
        barrier.wait()
        try:
            results[index] = call(index)
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _wait_imports(public_ids: list[str], *, seconds: float) -> dict[str, Any]:
    from django.db import close_old_connections

    from apps.income.models import StatementImport

    deadline = time.monotonic() + seconds
    while True:
        close_old_connections()
        rows = {str(i.public_id): i for i in StatementImport.objects.filter(public_id__in=public_ids)}
        if all(r.status in ("done", "failed") for r in rows.values()) or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def races(live: Live, *, threads: int, findings: list[str]) -> dict[str, Any]:
    """20 threads, one key; the key with another body; 20 threads without a key."""
    from django.db.models import Count, Sum

    from apps.income.models import IncomeLine, StatementImport

    results: dict[str, Any] = {}
    tag = f"RACE{int(time.time())}"
    data = _statement(tag, 12)
    key = str(uuid.uuid4())
    before = StatementImport.objects.count()
    started = time.monotonic()
    answers = _in_threads(threads, lambda _i: _post_upload(live, data, f"{tag}.csv", key))
    seconds = time.monotonic() - started
    errors = [a for a in answers if isinstance(a, Exception)]
    statuses = [a[0] for a in answers if not isinstance(a, Exception)]
    replayed = [
        a for a in answers if not isinstance(a, Exception) and a[1].get("Idempotent-Replayed") == "true"
    ]
    created = StatementImport.objects.count() - before
    bodies = {a[2] for a in answers if not isinstance(a, Exception) and a[0] == 202}
    in_progress = [a for a in answers if not isinstance(a, Exception) and a[0] == 409]
    results["one key"] = {
        "threads": threads,
        "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
        "replayed": len(replayed),
        "imports created": created,
        "distinct 202 bodies": len(bodies),
        "409 (still running)": len(in_progress),
        "seconds": round(seconds, 2),
        "errors": [repr(e)[:200] for e in errors],
    }
    if errors or created != 1 or len(bodies) != 1 or any(s >= 500 for s in statuses):
        findings.append(f"race, one key: {results['one key']}")
    if len(replayed) + len(in_progress) != threads - 1:
        findings.append(
            f"race, one key: {len(replayed)} replays + {len(in_progress)} 409s, expected {threads - 1}"
        )
    # The same key with another body.
    status, headers, body = _post_upload(live, _statement(tag + "X", 3), f"{tag}.csv", key)
    problem = json.loads(body or b"{}") if status == 409 else {}
    results["same key, other body"] = {
        "status": status,
        "code": problem.get("code"),
        "type": headers.get("Content-Type"),
    }
    if status != 409 or problem.get("code") != "idempotency_key_reused":
        findings.append(f"race, same key with another body: {status} {body[:200]!r}")
    # 20 threads, no key: 20 imports, each line once.
    tag2 = tag + "N"
    data2 = _statement(tag2, 12)
    before = StatementImport.objects.count()
    started = time.monotonic()
    answers = _in_threads(threads, lambda _i: _post_upload(live, data2, f"{tag2}.csv", None))
    ids = [json.loads(a[2])["public_id"] for a in answers if not isinstance(a, Exception) and a[0] == 202]
    finished = _wait_imports(ids, seconds=240)
    lines = IncomeLine.objects.filter(external_id__startswith=f"{tag2}-").exclude(status="duplicate")
    money = lines.aggregate(n=Count("id"), total=Sum("gross_minor"))
    expected_total = sum((10 + n) * 100 + n % 100 for n in range(12))
    doubled = (
        IncomeLine.objects.filter(external_id__startswith=f"{tag2}-")
        .exclude(status="duplicate")
        .values("external_id")
        .annotate(c=Count("id"))
        .filter(c__gt=1)
        .count()
    )
    results["no key"] = {
        "threads": threads,
        "imports created": StatementImport.objects.count() - before,
        "202s": len(ids),
        "done": sum(1 for r in finished.values() if r.status == "done"),
        "lines": money["n"],
        "total (fen)": money["total"],
        "expected total (fen)": expected_total,
        "ids recorded twice": doubled,
        "seconds to all done": round(time.monotonic() - started, 1),
    }
    if len(ids) != threads or money["n"] != 12 or money["total"] != expected_total or doubled:
        findings.append(f"race, no key: {results['no key']}")
    if any(r.status != "done" for r in finished.values()):
        findings.append(f"race, no key: imports not done: {[r.status for r in finished.values()]}")
    return results


def refund_race(live: Live, *, threads: int, findings: list[str]) -> dict[str, Any]:
    """An original of 100.00 recorded, then `threads` uploads at once, each one partial refund of
    10.00 of it (500.00 asked of 100.00 with 50): at most ten are accepted, together never more
    than the original; the others are refused on their row (or wait, never recorded as money)."""
    from django.db.models import Count, Sum

    from apps.income.models import IncomeLine

    tag = f"RF{int(time.time())}"
    header = (
        "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
    )
    original = f"{header}{tag}-orig,2026-11-02T10:00:00+08:00,douyin,dy_88231,live_gifts,100.00,CNY,,,\n"
    status, _h, body = _post_upload(live, original.encode(), f"{tag}-orig.csv", None)
    if status != 202:
        findings.append(f"refund race: the original's upload answered {status}")
        return {}
    _wait_imports([json.loads(body)["public_id"]], seconds=60)

    def refund(index: int) -> tuple[int, dict[str, str], bytes]:
        row = f"{tag}-r{index},2026-11-20T10:00:00+08:00,douyin,dy_88231,live_gifts,-10.00,CNY,,{tag}-orig,\n"
        return _post_upload(live, (header + row).encode(), f"{tag}-r{index}.csv", None)

    started = time.monotonic()
    answers = _in_threads(threads, refund)
    ids = [json.loads(a[2])["public_id"] for a in answers if not isinstance(a, Exception) and a[0] == 202]
    finished = _wait_imports(ids, seconds=300)
    refunds = IncomeLine.objects.filter(
        external_id__startswith=f"{tag}-r", refund_of__external_id=f"{tag}-orig"
    )
    money = refunds.aggregate(n=Count("id"), total=Sum("gross_minor"))
    others = IncomeLine.objects.filter(external_id__startswith=f"{tag}-r", refund_of__isnull=True)
    out = {
        "threads": threads,
        "202s": len(ids),
        "imports done": sum(1 for r in finished.values() if r.status == "done"),
        "refunds recorded against the original": money["n"],
        "their total (fen)": money["total"],
        "original (fen)": 10_000,
        "refund rows refused": sum(r.error_count for r in finished.values()),
        "refund lines not matched (waiting or queued)": others.count(),
        "seconds to all done": round(time.monotonic() - started, 1),
    }
    if len(ids) != threads or any(r.status != "done" for r in finished.values()):
        findings.append(f"refund race: {out}")
    if (money["total"] or 0) < -10_000 or money["n"] > 10:
        findings.append(f"refund race: refunds exceed their original: {out}")
    return out


def live_import(live: Live, *, findings: list[str], huge: bool) -> dict[str, Any]:
    """A damaged file (Excel-rounded ids, CRLF, a BOM) uploaded through the API and imported by
    the real worker: the fine rows imported, the rounded ones error rows, nothing new from them."""
    from apps.income.models import IncomeLine, StatementImport

    tag = f"LIVE{int(time.time())}"
    rows = [
        f"{tag}-1,2026-11-03T10:00:00+08:00,douyin,dy_88231,live_gifts,12.50,CNY,,,",
        "6.95355E+18,2026-11-03T10:00:00+08:00,douyin,dy_88231,live_gifts,99.00,CNY,,,",
        f"{tag}-2,2026-11-04T10:00:00+08:00,douyin,dy_88231,live_gifts,１２．００,CNY,,,",
        f"{tag}-3,2026-11-05T10:00:00+08:00,douyin,dy_88231,live_gifts,7.00,CNY,,,a\0b",
        f"{tag}-4,2026-11-06T10:00:00+08:00,douyin,dy_88231,live_gifts,8.00,CNY,,,",
    ]
    header = (
        "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description"
    )
    data = ("\ufeff" + "\r\n".join([header, *rows]) + "\r\n").encode()
    status, _headers, body = _post_upload(live, data, f"{tag}.csv", None)
    out: dict[str, Any] = {"upload status": status}
    if status != 202:
        findings.append(f"live import: upload answered {status} {body[:200]!r}")
        return out
    public_id = json.loads(body)["public_id"]
    started = time.monotonic()
    row = _wait_imports([public_id], seconds=120)[public_id]
    out.update(
        status=row.status,
        imported=row.imported_count,
        errors=row.error_count,
        seconds=round(time.monotonic() - started, 1),
        worker="a real celery worker (prefork)",
    )
    got = sorted(IncomeLine.objects.filter(statement_import=row).values_list("external_id", flat=True))
    out["lines"] = got
    wanted = {f"{tag}-1", f"{tag}-4"}
    if row.status != "done" or not wanted <= set(got) or any("E+" in g for g in got):
        findings.append(f"live import: {out}")
    if row.error_count < 1:
        findings.append(f"live import: the rounded id was not an error row: {out}")
    out["refused rows"] = [
        (e.row_number, e.column, e.reason[:90])
        for e in StatementImport.objects.get(pk=row.pk).row_errors.all()
    ]
    if huge:
        import requests

        size = 201 * 1024 * 1024
        started = time.monotonic()
        try:
            response = requests.post(
                f"{live.base}/api/v1/income/imports/",
                headers=live.headers("manager_a"),
                data={"agency": live.world.agency_a.objects["agency"]},
                files={"file": ("huge.csv", b"x" * size, "text/csv")},
                timeout=300,
            )
            out["past the limit (201 MB)"] = {
                "status": response.status_code,
                "body": response.text[:160],
                "seconds": round(time.monotonic() - started, 1),
            }
            if response.status_code >= 500 or response.status_code < 400:
                findings.append(f"live import, 201 MB: {response.status_code} {response.text[:160]}")
        except requests.RequestException as error:
            out["past the limit (201 MB)"] = {"error": repr(error)[:200]}
            findings.append(f"live import, 201 MB: the connection failed: {error!r}"[:300])
    return out


# --- the report -----------------------------------------------------------------------------------


def report(
    path: Path, sections: dict[str, Any], findings: list[str], started: float, args: argparse.Namespace
) -> str:
    lines = [
        "# make attack",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, {'--ci' if args.ci else 'full'},"
        f" {time.time() - started:.0f} s in all. Command: `{' '.join(sys.argv)}`.",
        "",
        f"**Findings: {len(findings)}**" + ("" if findings else " (no 5xx, no leak, no traceback)"),
        "",
    ]
    lines += [f"- {f}" for f in findings[:200]]
    for title, body in sections.items():
        lines += ["", f"## {title}", ""]
        if isinstance(body, str):
            lines.append(body)
        else:
            lines += ["```", json.dumps(body, indent=2, ensure_ascii=False, default=str)[:60000], "```"]
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ci", action="store_true", help="bounded (about two minutes on 2 cores)")
    parser.add_argument("--out", type=Path, default=ROOT / ".run" / "attack")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--examples", type=int, help="API fuzz: requests per operation and role (full 12, --ci 2)"
    )
    parser.add_argument("--threads", type=int, default=20, help="idempotency races: threads")
    parser.add_argument("--st-examples", type=int, help="schemathesis --max-examples (full 50, --ci 5)")
    parser.add_argument(
        "--st-time",
        type=int,
        help="schemathesis --max-time per caller, s (full 180 for 2 callers, --ci 30 for 1)",
    )
    parser.add_argument(
        "--refunds", type=int, help="concurrent partial refunds of one original (full 50, --ci 20)"
    )
    parser.add_argument("--huge-mb", type=int, help="fuzzer: the huge cell, MB (full 50, --ci 5)")
    parser.add_argument("--skip", action="append", default=[], choices=["matrix", "fuzz", "live", "api"])
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    examples = args.examples or (2 if args.ci else 12)
    huge_mb = args.huge_mb if args.huge_mb is not None else (5 if args.ci else 50)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    media = out / "media"
    media.mkdir(exist_ok=True)
    os.environ["DJANGO_MEDIA_ROOT"] = str(media)
    # Its own Redis database, emptied first: the broker's default database holds what other runs
    # left in it (CI's roles step publishes contract mails there with no worker to take them), and
    # this suite's worker would run those tasks against its database and log their tracebacks.
    from urllib.parse import urlsplit

    import redis

    broker = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))._replace(path="/13").geturl()
    os.environ["REDIS_URL"] = broker
    redis.Redis.from_url(broker).flushdb()
    started = time.time()
    sections: dict[str, Any] = {}
    findings: list[str] = []
    tracebacks: list[str] = []
    timings: dict[str, float] = {}

    import django

    django.setup()
    from django.conf import settings

    name = settings.DATABASES["default"]["NAME"]
    if "attack" not in name:
        raise SystemExit(f"refusing to drop {name!r}: the database's name must contain 'attack'")
    from income_pipeline import fresh_database

    tick = time.monotonic()
    fresh_database(marker="attack")
    timings["database migrated"] = time.monotonic() - tick
    from django.db import connection

    connection.close()

    from tests import route_matrix

    tick = time.monotonic()
    world = route_matrix.build_world()
    timings["world built"] = time.monotonic() - tick
    if world.missing:
        findings += [f"world: no {kind}: {why}" for kind, why in world.missing.items()]

    # 2. The matrix.
    if "matrix" not in args.skip:
        all_routes = route_matrix.routes()
        unlisted = route_matrix.unlisted_routes(all_routes)
        findings += [f"matrix: a route no rule fills and nothing lists: {p}" for p in unlisted]
        findings += [
            f"matrix: {p}"
            for p in route_matrix.schema_mismatches(all_routes, route_matrix.schema_operations())
        ]
        tick = time.monotonic()
        roles = (
            ["owner_a", "creator_2", "owner_b", "finance_b", "creator_b", "loner", "staff", "anonymous"]
            if args.ci
            else route_matrix.ROLES
        )
        outcome = route_matrix.run(world, roles=roles, writes=True, families=not args.ci)
        timings["matrix"] = time.monotonic() - tick
        findings += [f"matrix: {f}" for f in outcome.findings]
        tracebacks += outcome.tracebacks
        sections["Tenancy matrix"] = {
            "routes in the URL conf": len(all_routes),
            "routes requested": outcome.routes,
            "roles": outcome.roles,
            "requests": outcome.checked,
            "seconds": round(outcome.seconds, 1),
            "answers": dict(sorted(outcome.by_status.items())),
            "answers per role": {r: dict(sorted(s.items())) for r, s in outcome.by_role.items()},
            "excluded families": route_matrix.EXCLUDED_FAMILIES,
            "excluded routes": route_matrix.EXCLUDED,
            "routes probed with junk (no object of the kind)": outcome.unfilled,
        }

    # 3. The importer fuzzer, in this process.
    if "fuzz" not in args.skip:
        import fuzz

        from apps.accounts.models import User

        agency = __import__("apps.agencies.models", fromlist=["Agency"]).Agency.objects.get(
            public_id=world.agency_a.objects["agency"]
        )
        manager = User.objects.get(pk=world.users["manager_a"].pk)
        tick = time.monotonic()
        fuzzed = fuzz.run(agency=agency, actor=manager, seed=args.seed, huge_bytes=huge_mb * 1_000_000)
        timings["importer fuzz"] = time.monotonic() - tick
        findings += [f"fuzz: {f}" for f in fuzzed.findings]
        tracebacks += fuzzed.tracebacks
        verdicts: dict[str, int] = {}
        for o in fuzzed.outcomes:
            verdicts[o.verdict] = verdicts.get(o.verdict, 0) + 1
        table = [
            "| case | outcome | new | duplicates | errors | s | message |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        table += [
            f"| {o.case} | {o.verdict} | {o.imported} | {o.duplicates} | {o.errors} | {o.seconds:.2f} | {o.detail[:90].replace('|', '/')} |"
            for o in fuzzed.outcomes
        ]
        sections["Importer fuzz"] = (
            f"{len(fuzzed.outcomes)} cases in {fuzzed.seconds:.1f} s: {verdicts}.\n\nClean samples: "
            + "; ".join(f"{k}: {v}" for k, v in fuzzed.baselines.items())
            + "\n\n"
            + "\n".join(table)
        )

    # 4 and 5. The live server and a real worker.
    server = worker = None
    if not {"live", "api"} <= set(args.skip):
        from apps.accounts.services import access_token_create

        port = free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        server = start(
            [str(VENV / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--worker-class", "gthread", "--threads", "8", "--timeout", "120",
             "--control-socket", str(out / "gunicorn.ctl"), "--access-logfile", "-"],
            out / "gunicorn.log",
            env,
        )  # fmt: skip
        worker = start(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "INFO", "--concurrency", "2",
             "-n", f"attack{port}@%h", "--without-gossip", "--without-mingle", "--pool", "prefork"],
            out / "worker.log",
            env,
        )  # fmt: skip
        try:
            tick = time.monotonic()
            wait_http(f"http://127.0.0.1:{port}/health/", server, seconds=60)
            wait_log(out / "worker.log", " ready.", worker, seconds=90)
            timings["server and worker up"] = time.monotonic() - tick
            tokens = {
                role: access_token_create(user=world.users[role], name=f"attack {role}")[1]
                for role in ("manager_a", "creator_1", "owner_b", "manager_b", "creator_b")
            }
            live = Live(f"http://127.0.0.1:{port}", tokens, world)
            if "live" not in args.skip:
                tick = time.monotonic()
                sections["Idempotency races (live server)"] = races(
                    live, threads=args.threads, findings=findings
                )
                timings["races"] = time.monotonic() - tick
                tick = time.monotonic()
                sections["Concurrent partial refunds (live server)"] = refund_race(
                    live, threads=args.refunds or (20 if args.ci else 50), findings=findings
                )
                timings["refund race"] = time.monotonic() - tick
                tick = time.monotonic()
                sections["A damaged file through the API and the worker"] = live_import(
                    live, findings=findings, huge=not args.ci
                )
                timings["live import"] = time.monotonic() - tick
            if "api" not in args.skip:
                import schema_fuzz

                tick = time.monotonic()
                st = schema_fuzz.run_schemathesis(
                    live,
                    out=out,
                    examples=args.st_examples or (5 if args.ci else 50),
                    seed=args.seed,
                    max_time=args.st_time or (30 if args.ci else 180),
                    # Not the own fuzz's callers: the API throttles per user (600/min).
                    callers=("manager_b",) if args.ci else ("manager_b", "creator_b"),
                )
                timings["schemathesis"] = time.monotonic() - tick
                findings += [f"schemathesis: {f}" for f in st["failures"]]
                sections["schemathesis against the live schema"] = st
                tick = time.monotonic()
                api = schema_fuzz.run(live, examples=examples, seed=args.seed)
                timings["API fuzz"] = time.monotonic() - tick
                findings += [f"api: {f}" for f in api.findings]
                sections["API fuzz against the live schema"] = api.summary()
        finally:
            stop(server)
            stop(worker, grace=30)
        log = (out / "gunicorn.log").read_text(errors="replace")
        if "Traceback" in log:
            findings.append("live server: a traceback in .run/attack/gunicorn.log")
            tracebacks.append(log[log.index("Traceback") :][:8000])
        wlog = (out / "worker.log").read_text(errors="replace")
        if "Traceback" in wlog:
            findings.append("worker: a traceback in .run/attack/worker.log")
            tracebacks.append(wlog[wlog.index("Traceback") :][:8000])

    sections["Timings (s)"] = {k: round(v, 1) for k, v in timings.items()}
    if tracebacks:
        (out / "tracebacks.txt").write_text("\n\n".join(tracebacks))
        sections["Tracebacks"] = f"{len(tracebacks)} in {out / 'tracebacks.txt'}"
    text = report(out / "report.md", sections, findings, started, args)
    print(text[:20000])
    print(f"attack: {len(findings)} finding(s); report in {out / 'report.md'}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
