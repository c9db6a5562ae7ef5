"""What PostgreSQL alone costs to write what recognition writes: the floor under the pipeline.

Run it on a bench database that `bench/income_pipeline.py` has just filled (it reads that
import's journal entries, postings and income lines):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fenrun_bench_income \
        .venv/bin/python bench/write_floor.py --batches 5

For each batch of 20,000 recognised lines it writes, in one transaction and with no Python work
in between, exactly the rows recognition writes for them: the journal entries (the same row
text, new ids, sequence numbers and keys) and their postings by COPY, then the lines' UPDATE
(status, entry, period, note, time: not HOT, like recognition's), then `SET CONSTRAINTS ALL
IMMEDIATE` so that the deferred checks (balance per entry, foreign keys) run inside the timer,
then ROLLBACK so that the database is left as it was. No read, no engine, no hashing, no
balance or engine-state upsert: a lower bound for the recognition step on this machine and
database, to read the pipeline's own figure against.

With --write-once the lines are not UPDATEd but inserted again by COPY in their final state
(new ids and keys, already recognised, naming the new entries): the floor of a design that
evaluates each line before it writes it and writes it once. Adding the three COPYs (and leaving
out the deferred checks) gives what PostgreSQL needs just to store a line, its entry and its
postings.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def _dump(cursor: object, sql: str) -> str:
    buffer = io.StringIO()
    with cursor.copy(sql) as copy:  # type: ignore[attr-defined]
        for chunk in copy:
            buffer.write(bytes(chunk).decode())
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument(
        "--write-once",
        action="store_true",
        help="insert each batch's income lines by COPY in their final state (new ids and keys) instead of"
        " UPDATEing them: the floor of a design that writes every line exactly once",
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction

    from apps.ledger.services import _ENTRY_COLUMNS  # the columns the bulk path COPYs, in its order

    if "bench" not in settings.DATABASES["default"]["NAME"]:
        raise SystemExit("run it on a bench database (its name contains 'bench')")
    timings: dict[str, float] = {
        "entries COPY": 0.0,
        "postings COPY": 0.0,
        "lines COPY (final state)" if args.write_once else "lines UPDATE": 0.0,
        "deferred checks": 0.0,
    }
    lines_written = 0
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        cursor.execute("SELECT min(id), max(seq) FROM ledger_journalentry")
        first_id, last_seq = cursor.fetchone()
        cursor.execute(
            "SELECT string_agg(column_name, ', ' ORDER BY ordinal_position) FROM information_schema.columns"
            " WHERE table_name = 'income_incomeline'"
        )
        line_columns = cursor.fetchone()[0]
        if first_id is None:
            raise SystemExit("no journal entries: run bench/income_pipeline.py on this database first")
        for number in range(args.batches):
            low = first_id + number * args.batch
            high = low + args.batch
            with transaction.atomic():
                # Not timed: the rows as recognition would send them (new ids, seq and keys).
                cursor.execute("SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id'))")
                start = cursor.fetchone()[0]
                shift = start - low
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence('ledger_journalentry', 'id'), %s)",
                    [start + args.batch],
                )
                entries = _dump(
                    cursor,
                    f"""COPY (SELECT id + {shift}, gen_random_uuid(), agency_id, creator_id, seq + {last_seq},
                              prev_hash, hash, idempotency_key || ':floor', request_sha256, kind, cause_reference,
                              reason, author_id, memo, effective_date, posted_at, reverses_id, contract_version_id,
                              rule_id, rule_set_id, engine_line, engine_state, trace
                        FROM ledger_journalentry WHERE id >= {low} AND id < {high}) TO STDOUT""",
                )
                postings = _dump(
                    cursor,
                    f"""COPY (SELECT entry_id + {shift}, account_id, line_no, amount_minor, currency
                        FROM ledger_posting WHERE entry_id >= {low} AND entry_id < {high}) TO STDOUT""",
                )
                cursor.execute(
                    "SELECT id, ledger_entry_id FROM income_incomeline WHERE ledger_entry_id >= %s AND ledger_entry_id < %s",
                    [low, high],
                )
                pairs = cursor.fetchall()
                if not pairs:
                    break
                if args.write_once:
                    # The same rows with new ids, public ids and keys, already recognised: what a
                    # design that evaluates before it inserts would write, once.
                    replaced = {
                        "id": "nextval(pg_get_serial_sequence('income_incomeline', 'id'))",
                        "public_id": "gen_random_uuid()",
                        "external_id": "external_id || ':floor'",
                        "ledger_entry_id": f"ledger_entry_id + {shift}",
                        "refund_of_id": "NULL",
                        "adjusts_id": "NULL",
                    }
                    selected = ", ".join(replaced.get(name, name) for name in line_columns.split(", "))
                    lines = _dump(
                        cursor,
                        f"""COPY (SELECT {selected} FROM income_incomeline
                            WHERE ledger_entry_id >= {low} AND ledger_entry_id < {high}) TO STDOUT""",
                    )
                ids = "{" + ",".join(str(line_id) for line_id, _entry in pairs) + "}"
                entry_ids = "{" + ",".join(str(entry + shift) for _line, entry in pairs) + "}"

                tick = time.perf_counter()
                with cursor.copy(f"COPY ledger_journalentry ({_ENTRY_COLUMNS}) FROM STDIN") as copy:
                    copy.write(entries)
                timings["entries COPY"] += time.perf_counter() - tick
                tick = time.perf_counter()
                with cursor.copy(
                    "COPY ledger_posting (entry_id, account_id, line_no, amount_minor, currency) FROM STDIN"
                ) as copy:
                    copy.write(postings)
                timings["postings COPY"] += time.perf_counter() - tick
                tick = time.perf_counter()
                if args.write_once:
                    with cursor.copy(f"COPY income_incomeline ({line_columns}) FROM STDIN") as copy:
                        copy.write(lines)
                    timings["lines COPY (final state)"] += time.perf_counter() - tick
                else:
                    cursor.execute(
                        """UPDATE income_incomeline AS line
                           SET status = 'recognised', ledger_entry_id = data.entry_id, posted_period = '2026-11',
                               posting_note = '', recognised_at = now(), updated_at = now()
                           FROM unnest(%s::bigint[], %s::bigint[]) AS data(id, entry_id) WHERE line.id = data.id""",
                        [ids, entry_ids],
                    )
                    timings["lines UPDATE"] += time.perf_counter() - tick
                tick = time.perf_counter()
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                timings["deferred checks"] += time.perf_counter() - tick
                lines_written += len(pairs)
                transaction.set_rollback(True)
    total = sum(timings.values())
    written = "line inserts" if args.write_once else "line updates"
    print(f"write floor: {lines_written:,} lines' entries, postings and {written} in {total:.2f} s "
          f"= {lines_written / total:,.0f} lines/s (rolled back)")  # fmt: skip
    for name, seconds in timings.items():
        print(f"  {name:24s} {seconds:7.2f} s")


if __name__ == "__main__":
    main()
