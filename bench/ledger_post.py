"""Ledger bench: the bulk posting path against plain COPY, and balance reads at 10M postings.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fenrun_bench_ledger \
        .venv/bin/python bench/ledger_post.py post --entries 1000000 --batch 10000
    DATABASE_URL=... .venv/bin/python bench/ledger_post.py latency --postings 10000000

`post` splits `--entries` income lines with the engine (4 postings each: income clearing,
platform fee, creator payable, agency revenue), prepares their drafts (not timed: that is the
engine's and recognition's work) and times `ledger_post_many` batch by batch. Then it dumps the
rows it wrote and times plain COPY of exactly those rows into the same tables, in the same
batches: (a) with the tables as they are (indexes, foreign keys, the deferred balance triggers),
(b) with the ledger's own triggers disabled (indexes and foreign keys kept) — the physical limit.

`latency` tops the ledger up to `--postings` postings with set-based INSERT … SELECT (the ledger's
triggers disabled while it does, balances rebuilt by one GROUP BY afterwards: generated data, not
a valid chain), then times a creator's balances and monthly totals through the selector.

The database named by DATABASE_URL must contain "bench": the script truncates the ledger tables.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fenrun_bench_ledger")

RULES = {
    "version": 1,
    "currency": "CNY",
    "timezone": "Asia/Shanghai",
    "parties": ["creator", "agency"],
    "rules": [
        {
            "id": "all",
            "label": "All income",
            "deductions": [{"id": "platform_fee", "label": "Platform fee", "percent": "5"}],
            "split": {"creator": "70", "agency": "30"},
        }
    ],
}
LEDGER_TABLES = "ledger_posting, ledger_journalentry, ledger_accountbalance, ledger_accountperiodbalance, ledger_ledgerhead"


def _create_database() -> None:
    import psycopg

    url = os.environ["DATABASE_URL"]
    # urlsplit, not rsplit("/"): the embedded server's URL ends with ?host=/path/to/socket.
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit(
            f"refusing to run against {name!r}: the bench truncates ledger tables; use a *bench* database"
        )
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')


def _setup() -> None:
    _create_database()
    # A bench database is disposable: the ledger refuses TRUNCATE otherwise (ledger migration 0010).
    os.environ["PGOPTIONS"] = f"{os.environ.get('PGOPTIONS', '')} -c fenrun.allow_ledger_truncate=on".strip()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _world(creators: int):  # type: ignore[no-untyped-def]
    from apps.accounts.models import User
    from apps.agencies.models import Agency
    from apps.agencies.services import agency_create
    from apps.creators.models import Creator
    from apps.creators.services import creator_create

    agency = Agency.objects.filter(name="Bench MCN").first()
    if agency is None:
        owner = User.objects.create_user("bench-owner@example.test", "bench-password-1")
        agency = agency_create(owner=owner, name="Bench MCN", legal_name="Bench MCN Ltd.")
    people = list(Creator.objects.filter(display_name__startswith="bench creator ").order_by("pk"))
    for number in range(len(people), creators):
        user = User.objects.create_user(f"bench-creator-{number}@example.test", "bench-password-1")
        people.append(creator_create(user=user, display_name=f"bench creator {number}", legal_name="x"))
    return agency, people[:creators]


def _truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {LEDGER_TABLES} CASCADE")  # income lines point at entries


def command_post(entries: int, batch: int, creators: int) -> None:
    from django.db import connection

    from apps.ledger.services import AccountResolver, EntryDraft, PostingSpec, ledger_post_many
    from apps.recognition.postings import allocation_moves
    from apps.splits.engine import Evaluator, Line, parse_rule_set

    agency, people = _world(creators)
    _truncate()
    rule_set = parse_rule_set(RULES)
    evaluators = {creator.pk: Evaluator(rule_set) for creator in people}
    accounts = AccountResolver(agency=agency, currency="CNY")
    zone = ZoneInfo("Asia/Shanghai")
    start = datetime.datetime(2026, 1, 1, tzinfo=zone)
    rng = random.Random(7)

    prepare_seconds = post_seconds = 0.0
    posted = postings = 0
    line_number = 0
    while posted < entries:
        size = min(batch, entries - posted)
        began = time.perf_counter()
        drafts = []
        for _ in range(size):
            line_number += 1
            creator = people[line_number % len(people)]
            line = Line(
                id=f"L{line_number}",
                source="live",
                platform="douyin",
                gross=rng.randint(10_000, 5_000_000),
                occurred_at=start + datetime.timedelta(seconds=line_number * 20),
                currency="CNY",
            )
            # One entry per engine result, as recognition posted before issue 12 (it now posts one
            # per batch, creator, version and month): the ledger's own bulk path under load.
            result = evaluators[creator.pk].evaluate(line)
            assert result.rule is not None
            moves = allocation_moves(
                rule_set=rule_set,
                rule_index=result.rule.index,
                gross=result.gross,
                amounts=(*result.deductions, *result.payable, result.recouped),
                creator_id=creator.pk,
            )
            drafts.append(
                EntryDraft(
                    idempotency_key=f"income:{line_number}",
                    kind="income_line",
                    effective_date=line.occurred_at.date(),
                    postings=[
                        PostingSpec(account=accounts(*key), amount_minor=amount) for key, amount in moves
                    ],
                    creator_id=creator.pk,
                )
            )
        middle = time.perf_counter()
        ledger_post_many(agency=agency, drafts=drafts)
        done = time.perf_counter()
        prepare_seconds += middle - began
        post_seconds += done - middle
        posted += size
        postings += sum(len(draft.postings) for draft in drafts)
        if posted % (batch * 20) == 0 or posted == entries:
            print(f"  posted {posted:,} entries, {postings:,} postings in {post_seconds:.1f} s", flush=True)
    ours = postings / post_seconds
    print(
        f"ledger_post_many: {posted:,} entries, {postings:,} postings in {post_seconds:.1f} s = {ours:,.0f} postings/s"
    )
    print(f"  (drafts prepared by the engine in {prepare_seconds:.1f} s, not counted)")

    # Plain COPY of exactly these rows, same batches, same tables.
    entry_columns = [c.column for c in _model("JournalEntry")._meta.local_fields]
    posting_columns = [c.column for c in _model("Posting")._meta.local_fields]
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as folder:
        entries_file, postings_file = Path(folder, "entries.copy"), Path(folder, "postings.copy")
        with connection.cursor() as cursor:
            raw = cursor.cursor
            for path, table, columns, order in (
                (entries_file, "ledger_journalentry", entry_columns, "id"),
                (postings_file, "ledger_posting", posting_columns, "entry_id, line_no"),
            ):
                with (
                    path.open("wb") as out,
                    raw.copy(
                        f"COPY (SELECT {', '.join(columns)} FROM {table} ORDER BY {order}) TO STDOUT"
                    ) as copy,
                ):
                    for chunk in copy:
                        out.write(chunk)
        results = {}
        for label, disable in (("COPY, tables as they are", False), ("COPY, ledger triggers disabled", True)):
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE ledger_posting, ledger_journalentry CASCADE")
                if disable:
                    cursor.execute("ALTER TABLE ledger_journalentry DISABLE TRIGGER USER")
                    cursor.execute("ALTER TABLE ledger_posting DISABLE TRIGGER USER")
            seconds = _copy_batches(entries_file, postings_file, entry_columns, posting_columns, batch)
            if disable:
                with connection.cursor() as cursor:
                    cursor.execute("ALTER TABLE ledger_journalentry ENABLE TRIGGER USER")
                    cursor.execute("ALTER TABLE ledger_posting ENABLE TRIGGER USER")
            results[label] = postings / seconds
            print(f"{label}: {postings:,} postings in {seconds:.1f} s = {results[label]:,.0f} postings/s")
    for label, rate in results.items():
        print(f"ratio ledger_post_many / ({label}) = {ours / rate:.2f}")


def _model(name: str):  # type: ignore[no-untyped-def]
    from django.apps import apps

    return apps.get_model("ledger", name)


def _copy_batches(
    entries_file: Path, postings_file: Path, entry_columns: list[str], posting_columns: list[str], batch: int
) -> float:
    """COPY the dumped rows back, `batch` entries (and their postings) per committed transaction."""
    from django.db import connection, transaction

    # Every entry has exactly 4 postings here, so batches of lines line up.
    seconds = 0.0
    with entries_file.open("rb") as entry_lines, postings_file.open("rb") as posting_lines:
        while True:
            entry_chunk = b"".join(line for _, line in zip(range(batch), entry_lines, strict=False))
            if not entry_chunk:
                return seconds
            posting_chunk = b"".join(line for _, line in zip(range(batch * 4), posting_lines, strict=False))
            began = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                raw = cursor.cursor
                with raw.copy(f"COPY ledger_journalentry ({', '.join(entry_columns)}) FROM STDIN") as copy:
                    copy.write(entry_chunk)
                with raw.copy(f"COPY ledger_posting ({', '.join(posting_columns)}) FROM STDIN") as copy:
                    copy.write(posting_chunk)
            seconds += time.perf_counter() - began


def command_latency(target: int, creators: int, samples: int) -> None:
    from django.db import connection

    from apps.ledger.models import Account
    from apps.ledger.selectors import creator_balances
    from apps.ledger.services import AccountResolver

    agency, people = _world(creators)
    accounts = AccountResolver(agency=agency, currency="CNY")
    clearing = accounts(Account.Purpose.INCOME_CLEARING).pk
    fee = accounts(Account.Purpose.DEDUCTION, "platform_fee").pk
    revenue = accounts(Account.Purpose.AGENCY_REVENUE).pk
    payables = [accounts(Account.Purpose.CREATOR_PAYABLE, "", creator.pk).pk for creator in people]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_posting")
        have = cursor.fetchone()[0]
        missing_entries = max(0, (target - have) // 4)
        print(
            f"{have:,} postings present; generating {missing_entries:,} entries ({missing_entries * 4:,} postings)"
        )
        if missing_entries:
            began = time.perf_counter()
            cursor.execute("ALTER TABLE ledger_journalentry DISABLE TRIGGER USER")
            cursor.execute("ALTER TABLE ledger_posting DISABLE TRIGGER USER")
            cursor.execute(
                "SELECT coalesce(max(seq), 0) FROM ledger_journalentry WHERE agency_id = %s", [agency.pk]
            )
            first_seq = cursor.fetchone()[0] + 1
            cursor.execute(
                "CREATE TEMP TABLE bench_payable (n int PRIMARY KEY, account_id bigint, creator_id bigint)"
            )
            cursor.execute(
                "INSERT INTO bench_payable SELECT * FROM unnest(%s::int[], %s::bigint[], %s::bigint[])",
                [list(range(len(people))), payables, [creator.pk for creator in people]],
            )
            cursor.execute(
                """
                INSERT INTO ledger_journalentry (public_id, agency_id, creator_id, seq, prev_hash, hash,
                    idempotency_key, request_sha256, kind, cause_reference, reason, memo, effective_date,
                    posted_at, rule_id)
                SELECT gen_random_uuid(), %s, p.creator_id, %s + i, repeat('0', 64),
                       md5(i::text) || md5((-i)::text), 'fill:' || i, repeat('0', 64), 'income_line', '', '', '',
                       date '2026-01-01' + (i %% 730), now(), 'all'
                FROM generate_series(0, %s - 1) AS i JOIN bench_payable p ON p.n = i %% %s
                """,
                [agency.pk, first_seq, missing_entries, len(people)],
            )
            cursor.execute(
                """
                INSERT INTO ledger_posting (entry_id, account_id, line_no, amount_minor, currency)
                SELECT e.id, v.account_id, v.line_no, v.amount, 'CNY'
                FROM ledger_journalentry e
                JOIN bench_payable p ON p.creator_id = e.creator_id
                CROSS JOIN LATERAL (VALUES (0, %s::bigint, 100000::bigint), (1, %s::bigint, -5000::bigint),
                                           (2, p.account_id, -66500::bigint), (3, %s::bigint, -28500::bigint))
                    AS v(line_no, account_id, amount)
                WHERE e.idempotency_key LIKE 'fill:%%'
                """,
                [clearing, fee, revenue],
            )
            cursor.execute("ALTER TABLE ledger_journalentry ENABLE TRIGGER USER")
            cursor.execute("ALTER TABLE ledger_posting ENABLE TRIGGER USER")
            # Balances rebuilt from all postings by one GROUP BY (what the upserts maintain incrementally).
            cursor.execute("TRUNCATE ledger_accountbalance, ledger_accountperiodbalance")
            cursor.execute(
                """
                INSERT INTO ledger_accountbalance (account_id, currency, balance_minor, posting_count)
                SELECT account_id, min(currency), sum(amount_minor), count(*) FROM ledger_posting GROUP BY account_id
                """
            )
            cursor.execute(
                """
                INSERT INTO ledger_accountperiodbalance (account_id, period, currency, debit_minor, credit_minor, net_minor)
                SELECT p.account_id, to_char(e.effective_date, 'YYYY-MM'), min(p.currency),
                       coalesce(sum(p.amount_minor) FILTER (WHERE p.amount_minor > 0), 0),
                       coalesce(-sum(p.amount_minor) FILTER (WHERE p.amount_minor < 0), 0), sum(p.amount_minor)
                FROM ledger_posting p JOIN ledger_journalentry e ON e.id = p.entry_id
                GROUP BY p.account_id, to_char(e.effective_date, 'YYYY-MM')
                """
            )
            print(f"  generated in {time.perf_counter() - began:.1f} s")
        cursor.execute("VACUUM ANALYZE ledger_accountbalance")
        cursor.execute("VACUUM ANALYZE ledger_accountperiodbalance")
        cursor.execute("SELECT count(*) FROM ledger_posting")
        print(f"{cursor.fetchone()[0]:,} postings in the ledger")

    rng = random.Random(11)
    timings = []
    for _ in range(samples):
        creator = rng.choice(people)
        began = time.perf_counter()
        result = creator_balances(creator_id=creator.pk, period="2026-03")
        timings.append((time.perf_counter() - began) * 1000)
        assert result["balances"] and result["period"], "a creator with postings must have balances"
    timings.sort()
    print(
        f"creator_balances (balance + March totals, 2 queries, through the ORM) over {samples} calls: "
        f"p50 {statistics.median(timings):.2f} ms, p95 {timings[int(samples * 0.95)]:.2f} ms, "
        f"max {timings[-1]:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    post = sub.add_parser("post")
    post.add_argument("--entries", type=int, default=1_000_000)
    post.add_argument("--batch", type=int, default=10_000)
    post.add_argument("--creators", type=int, default=200)
    latency = sub.add_parser("latency")
    latency.add_argument("--postings", type=int, default=10_000_000)
    latency.add_argument("--creators", type=int, default=200)
    latency.add_argument("--samples", type=int, default=1000)
    arguments = parser.parse_args()
    _setup()
    if arguments.command == "post":
        command_post(arguments.entries, arguments.batch, arguments.creators)
    else:
        command_latency(arguments.postings, arguments.creators, arguments.samples)


if __name__ == "__main__":
    main()
