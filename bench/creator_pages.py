"""Creator pages at scale (issue 14): the creator's home and income list with 10,000 creators and
10 million postings, server time over 200 requests each.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fenrun_bench_portal \\
        .venv/bin/python bench/creator_pages.py --creators 10000 --lines 1000000 --postings 10000000

Setup (not timed; the database's name must contain "bench": it is dropped and migrated): one
agency and C creators with their accounts, representations and an active contract each
(bench/income_pipeline.py's setup), then set-based INSERT … SELECT generate_series as
bench/ledger_post.py's latency mode does, with the app's triggers disabled while filling:
* L income lines, L / C per creator, spread over the last 24 months of the agency's calendar
  (sources and platforms rotating; gross 1.00–999.99), each recognised: an allocation under the
  contract's rule set (5 % platform fee and 70/30 on live gifts, 60/40 on the rest), in the
  creator's version order, pointing at its own journal entry;
* journal entries of 4 postings each (income clearing, platform fee, the creator's payable,
  agency revenue) up to P postings: one per line, the rest generated like the ledger bench's
  (not a valid chain: dummy hashes), then the running and monthly balances rebuilt from all
  postings by one GROUP BY (what the upserts maintain);
* one published statement per creator for last month (unpaid: the home's next payment reads its
  lateness, the only read that touches postings), then VACUUM ANALYZE.

Timed: N requests of each page through Django's test Client, each for another random creator
signed in beforehand (not timed): GET / (the creator's home), GET /income/ (their lines with
shares, the totals of all of them) and GET /income/?month=<last month>. Server time is the
client's call: middleware, views, every query, template rendering. Prints p50, p95 and max, and
the queries per request (the same for every creator, whatever their number of lines).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fenrun_bench_portal")

MONTHS = 24
SOURCES = ["live_gifts", "platform_revenue_share", "ecommerce_commission", "other"]
PLATFORMS = ["douyin", "kuaishou", "bilibili"]


def _month_back(today: datetime.date, back: int) -> datetime.date:
    year, month = today.year, today.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime.date(year, month, 1)


def step(label: str, began: float) -> float:
    now = time.perf_counter()
    print(f"  {label:58s} {now - began:7.1f} s", flush=True)
    return now


def seed(creators: int, lines: int, postings: int) -> tuple[object, datetime.date]:
    from django.db import connection
    from income_pipeline import RULES, fresh_database, setup

    from apps.agencies.time import agency_today
    from apps.ledger.services import canonical_json

    began = time.perf_counter()
    fresh_database()
    agency = setup(creators)
    began = step(f"migrate, {creators:,} creators with contracts (setup)", began)
    today = agency_today(agency)
    first_month = _month_back(today, MONTHS - 1)
    per_creator = max(1, lines // creators)
    lines = per_creator * creators
    # A line's entry has 3 postings when it has no platform fee (not a gift: sources rotate, one
    # line in four is a gift), a generated entry 4: enough entries for `postings` in all.
    gifts = creators * ((per_creator + len(SOURCES) - 1) // len(SOURCES))
    entries = max(lines, lines + (postings - (lines * 3 + gifts)) // 4)
    sha = hashlib.sha256(canonical_json(RULES).encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TEMP TABLE bench_creator AS
            SELECT (row_number() OVER (ORDER BY c.id) - 1)::int AS n, c.id AS creator_id, v.id AS version_id
            FROM creators_creator c
            JOIN contracts_contract k ON k.creator_id = c.id
            JOIN contracts_contractversion v ON v.contract_id = k.id
            WHERE k.agency_id = %s
            """,
            [agency.pk],
        )
        cursor.execute("ALTER TABLE bench_creator ADD PRIMARY KEY (n)")
        # Accounts: the agency's three and one payable per creator.
        cursor.execute(
            """
            INSERT INTO ledger_account (public_id, agency_id, creator_id, purpose, key, currency, created_at)
            SELECT gen_random_uuid(), %s, NULL, p, k, 'CNY', now()
            FROM (VALUES ('income_clearing', ''), ('deduction', 'platform_fee'), ('agency_revenue', '')) AS a(p, k)
            UNION ALL
            SELECT gen_random_uuid(), %s, creator_id, 'creator_payable', '', 'CNY', now() FROM bench_creator
            """,
            [agency.pk, agency.pk],
        )
        cursor.execute(
            "SELECT purpose, id FROM ledger_account WHERE agency_id = %s AND creator_id IS NULL", [agency.pk]
        )
        account = dict(cursor.fetchall())
        cursor.execute("ALTER TABLE bench_creator ADD COLUMN payable_id bigint")
        cursor.execute(
            """
            UPDATE bench_creator b SET payable_id = a.id FROM ledger_account a
            WHERE a.agency_id = %s AND a.creator_id = b.creator_id AND a.purpose = 'creator_payable'
            """,
            [agency.pk],
        )
        cursor.execute(
            "INSERT INTO recognition_rulesetsnapshot (sha256, document, created_at) VALUES (%s, %s, now()) RETURNING id",
            [sha, json.dumps(RULES)],
        )
        snapshot_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO recognition_recognitionbatch (agency_id, cause, engine_version, line_count, created_at)"
            " VALUES (%s, 'bench', 1, %s, now()) RETURNING id",
            [agency.pk, lines],
        )
        batch_id = cursor.fetchone()[0]
        began = step("accounts, rule set snapshot, batch", began)

        for table in (
            "income_incomeline",
            "recognition_lineallocation",
            "ledger_journalentry",
            "ledger_posting",
        ):
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        # Line i: creator n = i % C, its k-th line (k = i / C): month k % 24 of the window, a day
        # within it (never after today), source and platform rotating, gross 1.00-999.99.
        cursor.execute(
            """
            CREATE TEMP TABLE bench_line AS
            SELECT i, (i %% %(c)s)::int AS n, (i / %(c)s)::int AS k,
                   (100 + (i * 7919) %% 99900)::bigint AS gross,
                   (%(sources)s::text[])[(1 + (i / %(c)s) %% 4)::int] AS source,
                   (%(platforms)s::text[])[(1 + (i / %(c)s / 4) %% 3)::int] AS platform,
                   least(
                       (%(first)s::date + make_interval(months => ((i / %(c)s) %% %(months)s)::int))::date
                           + ((i / %(c)s) * 7 %% 27)::int,
                       %(today)s::date
                   ) AS day
            FROM generate_series(0::bigint, %(lines)s - 1) AS i
            """,
            {
                "c": creators,
                "sources": SOURCES,
                "platforms": PLATFORMS,
                "first": first_month,
                "months": MONTHS,
                "today": today,
                "lines": lines,
            },
        )
        cursor.execute(
            """
            ALTER TABLE bench_line ADD COLUMN fee bigint, ADD COLUMN creator_share bigint, ADD COLUMN agency_share bigint
            """
        )
        # The rule set's arithmetic, half up: gifts 5 % fee then 70/30 (no month passes the tier
        # of 10,000.00 here), the rest 60/40.
        cursor.execute(
            """
            UPDATE bench_line SET
                fee = CASE WHEN source = 'live_gifts' THEN (gross * 5 + 50) / 100 ELSE 0 END,
                creator_share = CASE WHEN source = 'live_gifts'
                    THEN ((gross - (gross * 5 + 50) / 100) * 70 + 50) / 100 ELSE (gross * 60 + 50) / 100 END
            """
        )
        cursor.execute("UPDATE bench_line SET agency_share = gross - fee - creator_share")
        began = step(f"{lines:,} lines planned ({per_creator} per creator over {MONTHS} months)", began)

        cursor.execute(
            """
            INSERT INTO ledger_journalentry (public_id, agency_id, creator_id, seq, prev_hash, hash,
                idempotency_key, request_sha256, kind, cause_reference, reason, memo, effective_date,
                posted_at, lines_root, line_count)
            SELECT gen_random_uuid(), %(agency)s, b.creator_id, e + 1, repeat('0', 64),
                   md5(e::text) || md5((-e)::text), 'fill:' || e, repeat('0', 64), 'income_line', '', '', '',
                   coalesce(l.day, %(first)s::date + ((e / %(c)s) %% (%(days)s))), now(), '', 1
            FROM generate_series(0, %(entries)s - 1) AS e
            JOIN bench_creator b ON b.n = e %% %(c)s
            LEFT JOIN bench_line l ON l.i = e
            """,
            {
                "agency": agency.pk,
                "first": first_month,
                "c": creators,
                "days": (today - first_month).days + 1,
                "entries": entries,
            },
        )
        began = step(f"{entries:,} journal entries", began)
        # Postings: line i's entry is seq i + 1 (its amounts); the other entries get a fixed split.
        cursor.execute(
            """
            INSERT INTO ledger_posting (entry_id, account_id, line_no, amount_minor, currency)
            SELECT e.id, v.account_id, v.line_no, v.amount, 'CNY'
            FROM ledger_journalentry e
            JOIN bench_creator b ON b.creator_id = e.creator_id
            LEFT JOIN bench_line l ON l.i = e.seq - 1
            CROSS JOIN LATERAL (VALUES
                (0, %(clearing)s::bigint, coalesce(l.gross, 100000)),
                (1, %(fee)s::bigint, -coalesce(l.fee, 5000)),
                (2, b.payable_id, -coalesce(l.creator_share, 66500)),
                (3, %(revenue)s::bigint, -coalesce(l.agency_share, 28500))
            ) AS v(line_no, account_id, amount)
            WHERE e.agency_id = %(agency)s AND v.amount <> 0
            """,
            {
                "clearing": account["income_clearing"],
                "fee": account["deduction"],
                "revenue": account["agency_revenue"],
                "agency": agency.pk,
            },
        )
        began = step("their postings", began)
        cursor.execute(
            """
            INSERT INTO income_incomeline (public_id, agency_id, creator_id, platform_account_id, platform,
                account_id, external_id, source, gross_minor, currency, occurred_at, order_ref, refund_of_id,
                adjusts_id, description, metadata, statement_import_id, row_number, status, exception_reason,
                exception_detail, dismiss_reason, resolved_by_id, created_at, updated_at)
            SELECT gen_random_uuid(), %(agency)s, b.creator_id, NULL, l.platform, 'bench_' || l.n,
                   'L-' || l.i, l.source, l.gross, 'CNY',
                   (l.day + time '12:00') AT TIME ZONE 'Asia/Shanghai', '', NULL, NULL, '',
                   '{"bench": true}'::jsonb, NULL, NULL, 'matched', '', '', '', NULL, now(), now()
            FROM bench_line l JOIN bench_creator b ON b.n = l.n
            ORDER BY l.i
            """,
            {"agency": agency.pk},
        )
        began = step(f"{lines:,} income lines", began)
        cursor.execute(
            """
            INSERT INTO recognition_lineallocation (line_id, agency_id, creator_id, batch_id,
                contract_version_id, ordinal, entry_id, rule_set_id, engine_version, rule_index, currency,
                gross_minor, expenses_claimed_minor, advance_before_minor, amounts_minor,
                original_gross_minor, original_currency, fx_rate, fx_source, fx_date, refund_of_line_id,
                effective_date)
            SELECT x.id, %(agency)s, b.creator_id, %(batch)s, b.version_id,
                   (row_number() OVER (PARTITION BY b.n ORDER BY l.day, l.i) - 1)::int, e.id, %(snapshot)s, 1,
                   CASE WHEN l.source = 'live_gifts' THEN 0 ELSE 1 END, 'CNY', l.gross, 0, 0,
                   CASE WHEN l.source = 'live_gifts'
                       THEN ARRAY[l.fee, l.creator_share, l.agency_share, 0]
                       ELSE ARRAY[l.creator_share, l.agency_share, 0] END,
                   NULL, '', NULL, '', NULL, NULL, l.day
            FROM bench_line l
            JOIN bench_creator b ON b.n = l.n
            JOIN income_incomeline x ON x.agency_id = %(agency)s AND x.platform = l.platform
                AND x.external_id = 'L-' || l.i
            JOIN ledger_journalentry e ON e.agency_id = %(agency)s AND e.seq = l.i + 1
            """,
            {"agency": agency.pk, "batch": batch_id, "snapshot": snapshot_id},
        )
        began = step(f"{lines:,} allocations", began)
        for table in (
            "income_incomeline",
            "recognition_lineallocation",
            "ledger_journalentry",
            "ledger_posting",
        ):
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
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
        cursor.execute(
            "INSERT INTO ledger_ledgerhead (agency_id, last_seq, last_hash, updated_at)"
            " VALUES (%s, %s, repeat('0', 64), now())"
            " ON CONFLICT (agency_id) DO UPDATE SET last_seq = EXCLUDED.last_seq",
            [agency.pk, entries],
        )
        began = step("balances rebuilt from the postings (GROUP BY)", began)
        last_month = _month_back(today, 1)
        last_day = today.replace(day=1) - datetime.timedelta(days=1)
        cursor.execute(
            """
            INSERT INTO statements_statement (public_id, agency_id, creator_id, period, currency, number,
                status, corrects_id, contract_version_id, opening_minor, gross_minor, deductions_minor,
                expenses_minor, others_share_minor, recouped_minor, income_share_minor,
                guarantee_top_up_minor, late_interest_minor, tax_minor, payouts_minor, adjustments_minor,
                closing_minor, line_count, statement_due, payment_due, late_interest_percent,
                ledger_head_seq, ledger_head_hash, content_sha256, pdf, pdf_sha256, created_at,
                created_by_id, published_at, published_by_id)
            SELECT gen_random_uuid(), %(agency)s, b.creator_id, %(period)s, 'CNY', b.n + 1, 'published', NULL,
                   b.version_id, 0, 0, 0, 0, 0, 0, 100000, 0, 0, 0, 0, 0, 100000, 1,
                   %(last)s::date + 15, %(last)s::date + 30, 0, %(entries)s, repeat('0', 64), repeat('0', 64),
                   '', '', now(), NULL, now(), NULL
            FROM bench_creator b
            """,
            {
                "agency": agency.pk,
                "period": f"{last_month.year:04d}-{last_month.month:02d}",
                "last": last_day,
                "entries": entries,
            },
        )
        began = step("one published statement per creator for last month", began)
        for table in (
            "income_incomeline",
            "recognition_lineallocation",
            "ledger_journalentry",
            "ledger_posting",
            "ledger_account",
            "ledger_accountbalance",
            "ledger_accountperiodbalance",
            "statements_statement",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("SELECT count(*) FROM ledger_posting")
        print(f"  {cursor.fetchone()[0]:,} postings in the ledger", flush=True)
        step("VACUUM ANALYZE", began)
    return agency, today


def measure(requests: int, today: datetime.date, sample_seed: int = 14) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.creators.models import Creator

    users = list(Creator.objects.order_by("pk").values_list("user_id", flat=True))
    rng = random.Random(sample_seed)
    chosen = rng.sample(users, min(requests, len(users)))
    last_month = _month_back(today, 1)
    pages = {
        "home  GET /": "/",
        "list  GET /income/": "/income/",
        f"month GET /income/?month={last_month:%Y-%m}": f"/income/?month={last_month:%Y-%m}",
    }
    from apps.accounts.models import User

    # One request first, not counted: the process's first page compiles templates and URL patterns.
    warm = Client()
    warm.force_login(User.objects.get(pk=chosen[0]))
    for url in pages.values():
        warm.get(url)
    clients = []
    for user_id in chosen:
        client = Client()
        client.force_login(User.objects.get(pk=user_id))
        session = client.session
        session["fenrun_mfa_ok"] = time.time()
        session.save()
        clients.append(client)
    # Two rounds over the same creators: the first reads their rows from disk or the OS cache
    # (each creator's lines, allocations and postings are scattered among everyone's), the
    # second from PostgreSQL's buffers, as a creator who comes back finds them.
    for round_name in ("first visit (cold)", "second visit (warm)"):
        timings: dict[str, list[float]] = {label: [] for label in pages}
        queries: dict[str, set[int]] = {label: set() for label in pages}
        for index, client in enumerate(clients):
            for label, url in pages.items():
                began = time.perf_counter()
                response = client.get(url)
                timings[label].append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, (url, response.status_code)
                if index % 20 == 0:  # counted on another request: recording queries costs time
                    with CaptureQueriesContext(connection) as captured:
                        client.get(url)
                    queries[label].add(len(captured))
        print(f"server time over {len(clients)} requests each (a different creator each time), {round_name}:")
        for label, values in timings.items():
            values.sort()
            p95 = values[max(0, int(len(values) * 0.95) - 1)]
            counts = sorted(queries[label])
            print(
                f"  {label:40s} p50 {statistics.median(values):6.1f} ms  p95 {p95:6.1f} ms"
                f"  max {values[-1]:6.1f} ms  queries {counts[0] if len(counts) == 1 else counts}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--creators", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--postings", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--sample-seed", type=int, default=14, help="which creators are sampled")
    parser.add_argument(
        "--measure-only", action="store_true", help="time the pages on the database an earlier run seeded"
    )
    args = parser.parse_args()

    import django

    django.setup()
    if args.measure_only:
        from apps.agencies.models import Agency
        from apps.agencies.time import agency_today

        today = agency_today(Agency.objects.get(name="Bench MCN"))
    else:
        print(f"seed: {args.creators:,} creators, {args.lines:,} lines, {args.postings:,} postings")
        _agency, today = seed(args.creators, args.lines, args.postings)
    measure(args.requests, today, args.sample_seed)


if __name__ == "__main__":
    main()
