"""python manage.py simulate_withholding VECTOR.json — the withholding computation on a vector."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from apps.payouts.withholding import WithholdingError, simulate


class Command(BaseCommand):
    help = (
        "Read a withholding vector (method: none, per_payment or cumulative; payments: month and "
        "amount; expect is ignored) and print each month's computation and the total tax as JSON."
    )

    # A pure computation: it needs neither the database nor the URLconf that system checks load.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path of the JSON vector, or - for standard input")

    @no_translations  # a command's messages are the same on every machine: the English source
    def handle(self, *args: Any, file: str, **options: Any) -> None:
        vector = _read(file)
        try:
            result = simulate(vector)
        except WithholdingError as error:
            raise CommandError(f"{file}: {error}") from None
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))


def _read(file: str) -> Any:
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as error:
        raise CommandError(f"{file}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{file}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(
            f"{file}: malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise CommandError(f"{file}: JSON nested too deeply") from None
