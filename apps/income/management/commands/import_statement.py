"""manage.py import_statement FILE --agency PUBLIC_ID [--format ...] [--all-or-nothing]

Runs the same pipeline as the web and the API, synchronously, and prints the counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.management.base import BaseCommand, CommandError

from apps.agencies.models import Agency
from apps.common.exceptions import ApplicationError
from apps.income.models import StatementImport
from apps.income.pipeline import statement_import_create, statement_import_run


class Command(BaseCommand):
    help = "Import an income statement for an agency and print the counts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--agency", required=True, help="the agency's public id")
        parser.add_argument("--format", default="auto", choices=StatementImport.Format.values)
        parser.add_argument("--all-or-nothing", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        try:
            agency = Agency.objects.get(public_id=options["agency"])
        except (Agency.DoesNotExist, ValueError, ValidationError):
            # ValidationError: Django's answer to a malformed UUID.
            raise CommandError(f"No agency with public id {options['agency']}") from None
        owner = agency.memberships.filter(role="owner", is_active=True).select_related("user").first()
        if owner is None:
            raise CommandError("The agency has no active owner to import on behalf of.")
        # Streamed from disk into storage (never read whole: statements reach hundreds of MB).
        with path.open("rb") as handle:
            try:
                statement_import = statement_import_create(
                    agency=agency,
                    actor=owner.user,
                    file=UploadedFile(handle, name=path.name, size=path.stat().st_size),
                    format=options["format"],
                    is_all_or_nothing=options["all_or_nothing"],
                    enqueue=False,
                )
            except ApplicationError as error:
                raise CommandError(error.message) from None
        done = statement_import_run(statement_import=statement_import)
        self.stdout.write(
            f"{done.status}: {done.rows_total} rows, {done.imported_count} imported, "
            f"{done.duplicate_count} duplicates, {done.adjustment_count} adjustments, "
            f"{done.exception_count} in the queue, {done.error_count} rows refused"
            f" (import {done.public_id})"
        )
        for row_error in done.row_errors.all()[:50]:
            self.stdout.write(f"  row {row_error.row_number} {row_error.column}: {row_error.reason}")
        if done.message:
            self.stdout.write(done.message)
        if done.status == StatementImport.Status.FAILED:
            raise CommandError("The import failed.")
