"""python manage.py simulate_split FILE.json — re-run the published algorithm on a vector."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from apps.common.commands import read_json_argument
from apps.splits.engine import InvalidDocument, run
from apps.splits.explain import error_text


class Command(BaseCommand):
    help = (
        "Read a vector-shaped JSON document (rules, lines, optional initial and close; expect is ignored) "
        "and print the split-rules result document as JSON. Exit 0 also for INVALID_RULES, which is a result."
    )

    # A pure computation: it needs neither the database nor the URLconf that system checks load.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path of the JSON document, or - for standard input")

    @no_translations  # a command's messages are the same on every machine: the English source
    def handle(self, *args: Any, file: str, **options: Any) -> None:
        document = read_json_argument(file)
        try:
            simulation = run(document)
        except InvalidDocument as error:
            raise CommandError(f"{file}: {error.path or '/'}: {error.message}") from None
        # stdout carries exactly the result document; the reasons, for a person, go to stderr.
        if simulation.invalid_rules is not None:
            self.stderr.write(
                f"INVALID_RULES at {simulation.invalid_rules.path}: {simulation.invalid_rules.message}"
            )
        for line_id, result in simulation.results.items():
            if result.error is not None:
                self.stderr.write(f"{line_id}: {result.error}: {error_text(result.trace[0])}")
        self.stdout.write(json.dumps(simulation.document, ensure_ascii=False, indent=2))
