"""Month end at scale: close the month, draft and publish its statements, render their PDFs on
real Celery workers, prepare and approve a payout batch for every creator owed enough.

Issue 13's speed item: "closing a month for 10,000 creators with 1,000,000 recognised lines:
statements drafted, PDFs rendered by Celery workers, a payout batch of 10,000 items prepared and
exported. Record each step's time and per-item cost." Run from the repository root on a database
whose name contains "bench" (dropped and migrated; bench/income_pipeline.py's setup: one agency,
C creators with active contracts), with REDIS_URL for the workers' broker:

    .venv/bin/python bench/generate_statement.py --lines 100000 --creators 10000 --out bench/out/statement-100k.csv
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fenrun_bench_month REDIS_URL=redis://127.0.0.1:6379/11 \\
        .venv/bin/python bench/month_end.py bench/out/statement-100k.csv --creators 10000 --pdfs 200 --workers 2

Timed, each on its own: the import (not part of month end, printed for scale), period_close of
2026-11, statements_draft, statements_publish_month (numbers, content hashes, frozen rows; the
PDF and notice tasks go to the broker), then N of the enqueued PDF tasks rendered by W real
`celery worker` processes (per-PDF cost and PDFs/s; the rest are purged: rendering 10,000 PDFs
here would take most of an hour and says nothing more per item), payout_batch_prepare as of
today (one item per creator owed 100.00 after tax) and payout_batch_approve by a second finance
member (the tax and approval entries). Each step calls the app's own service, as a page does.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

PERIOD = "2026-11"  # bench/generate_statement.py writes November 2026


def give_payout_details(agency) -> None:  # type: ignore[no-untyped-def]
    """Every creator's bank details, given two days ago (past the 24-hour hold); not timed."""
    import datetime

    from django.utils import timezone

    from apps.creators.models import Creator
    from apps.payouts.models import PayoutDetails

    given = timezone.now() - datetime.timedelta(days=2)
    PayoutDetails.objects.bulk_create(
        PayoutDetails(
            creator=creator,
            method="bank",
            real_name=creator.legal_name or creator.display_name,
            bank_name="中国工商银行",
            bank_branch="北京朝阳支行",
            account=f"62220212345{creator.pk:08d}",
            changed_at=given,
            changed_by_id=creator.user_id,
        )
        for creator in Creator.objects.filter(representations__agency=agency).only(
            "pk", "legal_name", "display_name", "user_id"
        )
    )


def timed(label: str, count: int, unit: str, work):  # type: ignore[no-untyped-def]
    tick = time.perf_counter()
    result = work()
    spent = time.perf_counter() - tick
    per = f"{spent / count * 1000:.2f} ms per {unit}" if count else "nothing to do"
    print(f"  {label:44s} {spent:8.2f} s  ({count:,} {unit}s, {per})", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("statement", type=Path)
    parser.add_argument("--creators", type=int, default=10_000)
    parser.add_argument("--pdfs", type=int, default=200, help="PDF tasks rendered by the workers (0: none)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    import django

    django.setup()
    from income_pipeline import fresh_database, run_import, setup
    from recognition_1m import start_worker, stop_worker

    from apps.accounts.models import User
    from apps.agencies.services import membership_set
    from apps.agencies.time import agency_today
    from apps.payouts.exports import payout_batch_export
    from apps.payouts.models import PayoutItem
    from apps.payouts.services import payout_batch_approve, payout_batch_prepare
    from apps.recognition.period_close import period_close
    from apps.statements.models import Statement
    from apps.statements.services import statements_draft, statements_publish_month
    from config.celery_app import app

    fresh_database()
    agency = setup(args.creators)
    owner = agency.memberships.get(role="owner").user  # type: ignore[attr-defined]
    finance = User.objects.create(email="bench-finance@example.test", password="!")  # noqa: S106 (unusable)
    membership_set(agency=agency, user=finance, role="finance", actor=owner)
    imported, phases = run_import(agency, args.statement)
    print(f"import: {imported.rows_total:,} lines in {phases['total']:.1f} s (not month end; for scale)")
    give_payout_details(agency)
    app.control.purge()  # nothing of the import is waiting; the publish's tasks are counted below

    print(f"month end of {PERIOD}, {args.creators:,} creators:")
    timed(
        "period_close",
        args.creators,
        "creator",
        lambda: period_close(agency=agency, period=PERIOD, actor=owner),
    )
    drafted = timed(
        "statements_draft",
        args.creators,
        "creator",
        lambda: statements_draft(agency=agency, period=PERIOD, actor=owner),
    )
    published = timed(
        "statements_publish_month (PDFs enqueued)",
        drafted,
        "statement",
        lambda: statements_publish_month(agency=agency, period=PERIOD, actor=owner),
    )
    print(f"  {published:,} statements published, numbers 1–{published:,}")

    if args.pdfs:
        # Keep the first N PDF tasks: purge, then enqueue N again (the task is idempotent).
        from apps.statements.tasks import statement_pdf_render_task

        app.control.purge()
        ids = list(
            Statement.objects.filter(agency=agency)
            .order_by("number")
            .values_list("pk", flat=True)[: args.pdfs]
        )
        workers = [start_worker(f"bench-pdf-{index}") for index in range(args.workers)]
        try:
            tick = time.perf_counter()
            results = [statement_pdf_render_task.delay(statement_id=pk) for pk in ids]
            for result in results:
                result.get(timeout=600)
            spent = time.perf_counter() - tick
        finally:
            for worker in workers:
                stop_worker(worker)
        rendered = Statement.objects.filter(pk__in=ids).exclude(pdf_sha256="").count()
        print(
            f"  {'PDFs on ' + str(args.workers) + ' workers':44s} {spent:8.2f} s  ({rendered:,} PDFs, "
            f"{spent / max(rendered, 1) * 1000:.0f} ms each wall, {rendered / spent:.1f} PDFs/s; "
            f"all {published:,} at this rate: {published / (rendered / spent) / 60:.1f} min)"
        )

    today = agency_today(agency)
    batch = timed(
        "payout_batch_prepare",
        args.creators,
        "creator",
        lambda: payout_batch_prepare(agency=agency, actor=owner, as_of=today),
    )
    items = PayoutItem.objects.filter(batch=batch).count()
    timed(
        "payout_batch_approve (tax + approval entries)",
        items,
        "item",
        lambda: payout_batch_approve(batch=batch, actor=finance),
    )
    print(f"  {items:,} payout items approved")
    for rail in ("bank_xlsx", "bank_csv"):  # every creator here is paid by bank
        export = timed(
            f"payout_batch_export, {rail}",
            items,
            "item",
            lambda rail=rail: payout_batch_export(batch=batch, actor=finance, rail_name=rail),
        )
        print(
            f"  {rail}: {export.exported:,} items, {len(export.file.content):,} bytes ({export.file.filename})"
        )
    app.control.purge()


if __name__ == "__main__":
    main()
