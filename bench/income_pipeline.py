"""Income bench: a canonical statement through the whole pipeline, end to end, then again.

    .venv/bin/python bench/generate_statement.py --lines 1000000 --creators 10000 --out bench/out/statement.csv
    DATABASE_URL="postgresql://postgres:@/fenrun_bench_income?host=$PWD/.run/pgdata" \
        .venv/bin/python bench/income_pipeline.py bench/out/statement.csv --creators 10000

Setup (not timed): a fresh database (its name must contain "bench"; it is dropped and migrated),
one agency, C creators with their Douyin accounts, representations and an active contract each
(rows inserted in bulk; the rule set: platform fee 5 %, 70/30 with a tier above 10,000.00 a
month at 80/20, and 60/40 for everything else).

Timed: the import exactly as a worker runs it (statement_import_step until done): stage (parse,
validate, COPY into staging), chunks (dedupe with INSERT … ON CONFLICT, account match,
reconciliation), recognition (contract lookup, engine, ledger_post_many with COPY, balance
upserts); then 1,000 creators' balances read. Then the same file again (every line a duplicate,
zero new postings: the same-bytes short cut), the same rows in other bytes (the per-row
duplicate path of overlapping exports), and plain COPY of the postings the first run wrote
into a copy of the posting table with its indexes, for the ratio. Prints lines/s per phase, and RSS (now and peak)
after each part.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

SETUP_BATCH = 1_000
RULES = {
    "version": 1,
    "currency": "CNY",
    "timezone": "Asia/Shanghai",
    "parties": ["creator", "agency"],
    "rules": [
        {
            "id": "gifts",
            "label": "Live gifts",
            "match": {"sources": ["live_gifts"]},
            "deductions": [{"id": "platform_fee", "label": "Platform fee", "percent": "5"}],
            "split": {"creator": "70", "agency": "30"},
            "tiers": [{"above": "10000.00", "split": {"creator": "80", "agency": "20"}}],
        },
        {"id": "other", "label": "Everything else", "split": {"creator": "60", "agency": "40"}},
    ],
}


def rss_mb() -> float:
    """Peak RSS of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """RSS now (Linux), to tell which phase set the peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_report() -> str:
    return f"RSS {current_rss_mb():.0f} MB now, peak {rss_mb():.0f} MB"


def fresh_database(marker: str = "bench") -> None:
    """Drop, create and migrate the configured database; refused unless its name contains
    `marker` (bench/chaos.py passes "chaos")."""
    from django.conf import settings

    name = settings.DATABASES["default"]["NAME"]
    if marker not in name:
        raise SystemExit(f"refusing to drop {name!r}: the database's name must contain {marker!r}")
    from django.db import connection

    # Django's own maintenance connection: the same server, socket and credentials as the app.
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0", "--skip-checks"], cwd=ROOT, check=True, env=os.environ
    )


def setup(creators: int, tag: str = "") -> object:
    """One agency with `creators` creators; `tag` keeps a second agency's users and accounts apart
    (emails bench<tag><i>@…, accounts bench_dy_<tag><i>), for bench/recognition_1m.py --agencies-at-once."""
    import datetime

    from django.db.backends.postgresql.psycopg_any import DateRange

    from apps.accounts.models import User
    from apps.agencies.models import Representation
    from apps.agencies.services import agency_create
    from apps.contracts.models import Contract, ContractCoverage, ContractTemplate, ContractVersion
    from apps.creators.models import Creator, PlatformAccount

    owner = User.objects.create(email=f"bench-owner{tag}@example.test", password="!")  # noqa: S106 (an unusable password: nobody signs in)
    agency = agency_create(owner=owner, name=f"Bench MCN {tag}".strip(), legal_name=f"Bench MCN {tag} Ltd.")
    template = ContractTemplate.objects.filter(agency__isnull=True).first()
    start = datetime.date(2026, 1, 1)
    end = datetime.date(2027, 12, 31)
    # In batches: 10,000 creators' model instances at once (users, creators, contracts, versions
    # with their rule set, coverage) held ~150 MB of the bench's peak RSS.
    for low in range(0, creators, SETUP_BATCH):
        numbers = range(low, min(low + SETUP_BATCH, creators))
        users = User.objects.bulk_create(
            [User(email=f"bench{tag}{i}@example.test", password="!") for i in numbers]  # noqa: S106
        )
        people = Creator.objects.bulk_create(
            [
                Creator(user=user, display_name=f"Creator {tag}{i}", legal_name=f"Creator {tag}{i}")
                for i, user in zip(numbers, users, strict=True)
            ]
        )
        PlatformAccount.objects.bulk_create(
            [
                # Confirmed, as the creator's own registration is: only a confirmed account routes.
                PlatformAccount(
                    creator=c,
                    platform="douyin",
                    account_id=f"bench_dy_{tag}{i}",
                    status=PlatformAccount.Status.CONFIRMED,
                )
                for i, c in zip(numbers, people, strict=True)
            ]
        )
        Representation.objects.bulk_create(
            [Representation(agency=agency, creator=c, started_on=start) for c in people]
        )
        contracts = Contract.objects.bulk_create(
            [
                Contract(agency=agency, creator=c, template=template, title="Bench", created_by=owner)
                for c in people
            ]
        )
        versions = ContractVersion.objects.bulk_create(
            [
                ContractVersion(
                    contract=contract,
                    number=1,
                    status="active",
                    language="en",
                    start_date=start,
                    end_date=end,
                    effective_from=start,
                    platforms=["douyin"],
                    exclusivity="exclusive",
                    creative_control="joint",
                    rule_set=RULES,
                    document_sha256="0" * 64,
                    created_by=owner,
                )
                for contract in contracts
            ]
        )
        ContractCoverage.objects.bulk_create(
            [
                ContractCoverage(
                    version=version,
                    agency=agency,
                    creator=contract.creator,
                    platform="douyin",
                    during=DateRange(start, end + datetime.timedelta(days=1)),
                )
                for version, contract in zip(versions, contracts, strict=True)
            ]
        )
        del users, people, contracts, versions
    # What autovacuum does to tables of a live system: without it the planner still believes
    # the representations table is empty and every chunk's account match scans all of them.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return agency


def run_import(agency: object, path: Path) -> tuple[object, dict[str, float]]:
    from django.core.files.uploadedfile import UploadedFile

    from apps.income.models import StatementImport
    from apps.income.pipeline import statement_import_create, statement_import_step

    owner = agency.memberships.get(role="owner").user  # type: ignore[attr-defined]
    phases = {"stage": 0.0, "chunks (dedupe, match)": 0.0, "recognise (engine, ledger, balances)": 0.0}
    started = time.perf_counter()
    # The file streamed into storage, as Django's upload handlers hand a large upload over (a
    # temporary file), not read into this process whole.
    with path.open("rb") as handle:
        statement_import = statement_import_create(
            agency=agency,
            actor=owner,
            file=UploadedFile(handle, name=path.name, size=path.stat().st_size),
            enqueue=False,
        )
    phases["upload"] = time.perf_counter() - started
    more = True
    while more:
        before = StatementImport.objects.values_list("status", "chunk_count").get(pk=statement_import.pk)
        done_chunks = statement_import.chunks.count()
        tick = time.perf_counter()
        more = statement_import_step(import_id=statement_import.pk, enqueue=False)
        spent = time.perf_counter() - tick
        if before[0] == "queued":
            phases["stage"] += spent
        elif done_chunks < before[1]:
            phases["chunks (dedupe, match)"] += spent
        else:
            phases["recognise (engine, ledger, balances)"] += spent
    phases["total"] = time.perf_counter() - started
    statement_import.refresh_from_db()
    return statement_import, phases


def _query_timer(threshold: float) -> object:
    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        tick = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - tick
            if spent >= threshold:
                print(f"    query {spent:6.2f} s: {' '.join(sql.split())[:160]}", flush=True)

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("statement", type=Path)
    parser.add_argument("--creators", type=int, default=10_000)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the first import here")
    parser.add_argument("--slow-queries", type=float, help="print first-import queries slower than this (s)")
    args = parser.parse_args()

    import django

    django.setup()
    fresh_database()
    from django.db import connection

    from apps.ledger.models import JournalEntry, Posting
    from apps.ledger.selectors import creator_balances

    agency = setup(args.creators)
    print(f"setup: {args.creators} creators with active contracts; {rss_report()}", flush=True)

    if args.slow_queries is not None:
        connection.execute_wrappers.append(_query_timer(args.slow_queries))
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        first, phases = profiler.runcall(run_import, agency, args.statement)
        profiler.dump_stats(args.profile)
    else:
        first, phases = run_import(agency, args.statement)
    connection.execute_wrappers.clear()
    lines = first.rows_total
    entries = JournalEntry.objects.count()
    postings = Posting.objects.count()
    tick = time.perf_counter()
    creator_ids = list(agency.representations.values_list("creator_id", flat=True)[:1000])  # type: ignore[attr-defined]
    for creator_id in creator_ids:
        creator_balances(creator_id=creator_id, period="2026-11")
    balances = time.perf_counter() - tick
    total = phases["total"] + balances
    print(f"first import: {first.status} {lines:,} rows, {first.imported_count:,} imported, {first.error_count} errors, "
          f"{first.exception_count} in the queue; {entries:,} entries, {postings:,} postings")  # fmt: skip
    for name, seconds in phases.items():
        print(f"  {name:40s} {seconds:8.2f} s")
    print(f"  {'balances of 1,000 creators':40s} {balances:8.2f} s")
    print(f"end to end: {lines / total:,.0f} lines/s ({total:.1f} s); {rss_report()}", flush=True)

    again, again_phases = run_import(agency, args.statement)
    new_postings = Posting.objects.count() - postings
    print(f"re-import: {again.duplicate_count:,} duplicates, {again.imported_count} imported, {again.error_count} errors, "
          f"{new_postings} new postings; {lines / again_phases['total']:,.0f} lines/s ({again_phases['total']:.2f} s: "
          f"stage {again_phases['stage']:.2f} s, chunks {again_phases['chunks (dedupe, match)']:.2f} s); {rss_report()}")  # fmt: skip
    print(f"  message: {again.message}", flush=True)

    # The same rows in other bytes (one more blank line at the end), as overlapping exports
    # are: no short cut, every row parsed, validated and found recorded by key.
    with tempfile.TemporaryDirectory() as folder:
        variant = Path(folder) / f"overlapping-{args.statement.name}"
        with args.statement.open("rb") as source, variant.open("wb") as target:
            while block := source.read(1 << 20):
                target.write(block)
            target.write(b"\n")
        overlap, overlap_phases = run_import(agency, variant)
    new_postings = Posting.objects.count() - postings
    print(f"overlapping export (same rows, other bytes): {overlap.duplicate_count:,} duplicates, "
          f"{overlap.imported_count} imported, {new_postings} new postings; "
          f"{lines / overlap_phases['total']:,.0f} lines/s ({overlap_phases['total']:.2f} s: "
          f"stage {overlap_phases['stage']:.2f} s, chunks {overlap_phases['chunks (dedupe, match)']:.2f} s); "
          f"{rss_report()}", flush=True)  # fmt: skip

    with connection.cursor() as cursor, tempfile.TemporaryFile() as spool:
        cursor.execute("DROP TABLE IF EXISTS bench_posting")
        cursor.execute("CREATE TABLE bench_posting (LIKE ledger_posting INCLUDING ALL)")
        raw = cursor.cursor
        # Spooled to a temporary file, not a string: 3.3 million postings held as text raised
        # the bench's peak RSS from 683 to 784 MB at 1M lines.
        with raw.copy(
            "COPY ledger_posting (entry_id, account_id, line_no, amount_minor, currency) TO STDOUT"
        ) as copy:
            for chunk in copy:
                spool.write(chunk)
        spool.seek(0)
        tick = time.perf_counter()
        with raw.copy(
            "COPY bench_posting (entry_id, account_id, line_no, amount_minor, currency) FROM STDIN"
        ) as copy:
            while block := spool.read(1 << 20):
                copy.write(block)
        plain = time.perf_counter() - tick
        cursor.execute("DROP TABLE bench_posting")
    copy_rate = lines / plain
    print(f"plain COPY of the same {postings:,} postings into an indexed table: {plain:.2f} s = {copy_rate:,.0f} lines/s; "
          f"pipeline / COPY = {lines / total / copy_rate:.2f}; {rss_report()}")  # fmt: skip


if __name__ == "__main__":
    main()
