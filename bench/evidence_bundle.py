"""The evidence bundle of a creator with 100,000 lines, built as the worker builds it (issue 14).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fenrun_bench_evidence \\
        .venv/bin/python bench/evidence_bundle.py --lines 100000

Setup (not timed; the database's name must contain "bench": it is dropped and migrated): one
agency and one creator with an active contract (bench/income_pipeline.py's setup: platform fee
5 %, 70/30 on gifts with a tier above 10,000.00 a month, 60/40 on the rest), and a canonical
statement of L lines for that creator (bench/generate_statement.py: November 2026, about 1 %
refunds) imported and recognised through the real pipeline (bench/income_pipeline.py's
run_import), so the chain, the allocations and the leaves are the real ones; the contract's
document rendered as sending it renders it (the setup leaves a dummy hash).

Timed, with Celery eager (the task runs in this process, as a worker would run it):
1. the creator asks (evidence_bundle_request): the fingerprint, the build row, then the task:
   the build in one REPEATABLE READ snapshot (the first one also renders the signed contract's
   PDF), the ZIP stored under MEDIA_ROOT with its SHA-256;
2. the creator asks again, nothing changed: the ready build handed back (the fingerprint only);
3. a line more, asked again: a second build (the PDF already rendered);
then the stored ZIP checked as its README says (verify_bundle.py, standard library only).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fenrun_bench_evidence")


def seed(lines: int, out: Path) -> None:
    from income_pipeline import fresh_database, run_import, setup

    began = time.perf_counter()
    fresh_database()
    agency = setup(1)
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "generate_statement.py"),
            "--lines",
            str(lines),
            "--creators",
            "1",
            "--out",
            str(out),
        ],
        check=True,
    )
    statement_import, _phases = run_import(agency, out)
    assert statement_import.status == "done", statement_import.message  # type: ignore[attr-defined]
    _real_document()
    print(
        f"  seed: {lines:,} lines imported and recognised in {time.perf_counter() - began:.0f} s", flush=True
    )


def _real_document() -> None:
    """The setup inserts its contract with a dummy document hash; render the version's document as
    sending it would, so the bundle's contract checks out like a real one (triggers off: a sent
    version's document is frozen, and this database is the bench's own)."""
    from django.db import connection

    from apps.contracts.models import ContractVersion
    from apps.contracts.rendering.document import render_document

    version = ContractVersion.objects.get()
    document = render_document(version)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE contracts_contractversion DISABLE TRIGGER USER")
        ContractVersion.objects.filter(pk=version.pk).update(
            document_html=document.html, document_text=document.text, document_sha256=document.sha256
        )
        cursor.execute("ALTER TABLE contracts_contractversion ENABLE TRIGGER USER")


def _ask(creator: object, agency: object) -> tuple[object, float]:
    from apps.evidence.services import evidence_bundle_request

    began = time.perf_counter()
    requested = evidence_bundle_request(creator=creator, agency=agency, actor=creator.user)  # type: ignore[attr-defined]
    build = requested.build
    build.refresh_from_db()
    return build, time.perf_counter() - began


def measure() -> None:
    from django.core.files.storage import default_storage
    from django.db import connection

    from apps.agencies.models import Agency
    from apps.creators.models import Creator
    from apps.income.models import IncomeLine
    from config.celery_app import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    agency = Agency.objects.get(name="Bench MCN")
    creator = Creator.objects.get()
    count = IncomeLine.objects.filter(agency=agency, creator=creator).count()
    print(f"a creator with {count:,} lines at one agency:")

    build, seconds = _ask(creator, agency)
    assert build.status == "ready", build.message  # type: ignore[attr-defined]
    print(
        f"  1. asked, built and stored (with the contract PDF)   {seconds:6.1f} s"
        f"  (the build itself {build.seconds:.1f} s; ZIP {build.size / 2**20:.1f} MiB)",  # type: ignore[attr-defined]
        flush=True,
    )
    again, seconds = _ask(creator, agency)
    assert again.pk == build.pk  # type: ignore[attr-defined]
    print(f"  2. asked again, nothing changed: handed back        {seconds * 1000:6.0f} ms", flush=True)
    with connection.cursor() as cursor:  # one more line (a copy of the last, another id): a new bundle
        cursor.execute(
            """
            INSERT INTO income_incomeline (public_id, agency_id, creator_id, platform_account_id, platform,
                account_id, external_id, source, gross_minor, currency, occurred_at, order_ref, refund_of_id,
                adjusts_id, description, metadata, statement_import_id, row_number, status, exception_reason,
                exception_detail, dismiss_reason, resolved_by_id, created_at, updated_at)
            SELECT gen_random_uuid(), agency_id, creator_id, NULL, platform, account_id, external_id || '-b',
                   source, gross_minor, currency, occurred_at, '', NULL, NULL, '', '{}', NULL, NULL,
                   'exception', 'no_contract', '', '', NULL, now(), now()
            FROM income_incomeline WHERE creator_id = %s ORDER BY id DESC LIMIT 1
            """,
            [creator.pk],
        )
    second, seconds = _ask(creator, agency)
    assert second.pk != build.pk and second.status == "ready"  # type: ignore[attr-defined]
    print(
        f"  3. a line more, asked again: built and stored         {seconds:6.1f} s"
        f"  (the build itself {second.seconds:.1f} s)",  # type: ignore[attr-defined]
        flush=True,
    )
    with tempfile.TemporaryDirectory() as folder, default_storage.open(second.file.name) as handle:  # type: ignore[attr-defined]
        zipfile.ZipFile(handle).extractall(folder)
        began = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-I", "verify_bundle.py"],
            cwd=folder,
            env={"PATH": os.environ.get("PATH", "")},
            capture_output=True,
            text=True,
            check=False,
        )
        spent = time.perf_counter() - began
    last = (result.stdout.strip().splitlines() or [""])[-1]
    label = f"verify_bundle.py (exit {result.returncode})"
    print(f"  {label:53s}{spent:6.1f} s  {last}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--measure-only", action="store_true", help="on the database an earlier run seeded")
    args = parser.parse_args()

    import django

    django.setup()
    if not args.measure_only:
        seed(args.lines, ROOT / "bench" / "out" / f"evidence-{args.lines}.csv")
    measure()


if __name__ == "__main__":
    main()
