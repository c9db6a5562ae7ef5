"""python manage.py simulate_withholding VECTOR.json — the withholding computation on a vector."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from apps.common.commands import read_json_argument
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
        vector = read_json_argument(file)
        try:
            result = simulate(vector)
        except WithholdingError as error:
            raise CommandError(f"{file}: {error}") from None
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
