"""manage.py verify_ledger [--agency PUBLIC_ID] [--bundle FILE]: re-check the ledger, or compare a
creator's evidence bundle with the live ledger; non-zero exit on any mismatch.

The bundle check belongs to the app that builds bundles (apps/evidence registers it): the ledger
knows nothing of allocations, contracts or statements, only that a check of a file exists."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.agencies.models import Agency
from apps.ledger.verification import bundle_checks, ledger_verify


class Command(BaseCommand):
    help = (
        "Check every agency ledger (or one): the hash chain, that every entry balances, that stored "
        "balances equal the sum of postings, and every registered check of what the entries cover (each "
        "line allocation recomputed by the engine, each entry's Merkle root over its lines); "
        "an agency with entries, balances or recognised income but no ledger head fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agency", help="public id of one agency to check")
        parser.add_argument(
            "--bundle",
            metavar="FILE",
            help="an evidence bundle (ZIP) a creator downloaded: check that every entry hash, head and "
            "line allocation it holds is still what the live ledger says",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["bundle"]:
            self._bundle(options["bundle"])
            return
        agency = None
        if options["agency"]:
            agency = Agency.objects.filter(public_id=options["agency"]).first()
            if agency is None:
                raise CommandError(f"No agency with public id {options['agency']}.")
        reports = ledger_verify(agency=agency)
        failed = []
        for report in reports:
            self.stdout.write(
                f"{report.agency}: {report.entries} entries, {report.postings} postings, chain checked; "
                f"{_counted(report.checked)}{report.accounts} account balances and "
                f"{report.period_balances} monthly balances compared"
            )
            for problem in report.problems:
                self.stderr.write(f"  MISMATCH {problem}")
            if report.problems:
                failed.append(report)
        if not reports:
            self.stdout.write("No ledger to check.")
        if failed:
            first = failed[0]
            raise CommandError(
                f"ledger verification failed for {len(failed)} ledger(s), first {first.agency}: "
                f"{first.problems[0]}",
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(f"OK: {len(reports)} ledger(s) verified"))

    def _bundle(self, path: str) -> None:
        checks = bundle_checks()
        if not checks:
            raise CommandError("No app registered a bundle check (is apps.evidence installed?).")
        problems: list[str] = []
        for check in checks:
            counted, found = check(path)
            self.stdout.write(f"{path}: {_counted(counted).rstrip('; ') or 'nothing compared'}")
            problems.extend(found)
        for problem in problems:
            self.stderr.write(f"  MISMATCH {problem}")
        if problems:
            raise CommandError(
                f"the bundle does not match the live ledger ({len(problems)} problem(s)), first: {problems[0]}",
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(f"OK: the bundle {path} matches the live ledger"))


def _counted(checked: dict[str, int]) -> str:
    return "".join(f"{number} {what}; " for what, number in sorted(checked.items()))
