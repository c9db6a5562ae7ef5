"""manage.py db_roles_grant --role NAME [--password-env VAR]: make NAME the app's restricted role.

Run by the owner of the tables after `migrate` (docker-compose's migrate service, `make run`,
CI); idempotent. What the role may do is described in apps/ledger/roles.py. It lives in the
ledger app because the ledger decides which of its tables are append-only; every other table
gets plain DML.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.ledger.roles import RoleError, database_app_role_grant


class Command(BaseCommand):
    help = (
        "Create or update the database role the app (web, worker, beat) connects as: DML on the "
        "ordinary tables, SELECT/INSERT on the ledger's append-only tables, no TRUNCATE, ALTER or "
        "DROP. Run as the owner of the tables after migrate; safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", required=True, help="the application's role, e.g. fenrun_app")
        parser.add_argument(
            "--password-env",
            metavar="VARIABLE",
            help="name of an environment variable holding the role's login password (kept off "
            "the command line); empty or unset keeps the role's password as it is",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = None
        if options["password_env"]:
            password = os.environ.get(options["password_env"], "") or None
        try:
            report = database_app_role_grant(role=options["role"], password=password)
        except RoleError as error:
            raise CommandError(str(error)) from None
        verb = "created" if report.created else "updated"
        self.stdout.write(
            f"Role {report.role} {verb}: SELECT, INSERT, UPDATE, DELETE on the {report.tables} tables "
            "but the ledger's, which it holds as follows (no TRUNCATE, ALTER or DROP anywhere):"
        )
        for rights in report.ledger:
            self.stdout.write(f"  {rights.table}: {', '.join(rights.rights)}")
