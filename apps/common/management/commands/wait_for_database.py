"""Wait until the database answers, or fail with one clear line (used by `make run` and compose)."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connection


class Command(BaseCommand):
    help = "Wait for the configured database to accept connections."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds to keep trying")

    def handle(self, *args: object, timeout: float, **options: object) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                connection.ensure_connection()
                return
            except OperationalError as error:
                if time.monotonic() >= deadline:
                    settings_dict = connection.settings_dict
                    where = (
                        settings_dict.get("HOST")
                        or settings_dict.get("OPTIONS", {}).get("host")
                        or "local socket"
                    )
                    reason = (
                        str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    )
                    raise CommandError(
                        f"Cannot reach the database {settings_dict['NAME']!r} at {where}: {reason}"
                    ) from None
                time.sleep(0.5)
