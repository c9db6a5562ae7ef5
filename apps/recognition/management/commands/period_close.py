"""manage.py period_close AGENCY YYYY-MM [--dry-run]: what closing the month will do, then the close.

AGENCY is the agency's public id or its exact name. The operator of the command closes the month
(no role: whoever runs manage.py is trusted with the database); the ClosedPeriod's closed_by
stays empty, which the pages show as "the operator (manage.py period_close)".
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.agencies.models import Agency
from apps.common.exceptions import ApplicationError
from apps.common.money import to_decimal_string
from apps.recognition.period_close import period_close
from apps.recognition.selectors import PeriodPreview, period_close_preview, period_top_up_list


def _agency(reference: str) -> Agency:
    try:
        by_id = Agency.objects.filter(public_id=uuid.UUID(reference)).first()
    except ValueError:
        by_id = None
    if by_id is not None:
        return by_id
    named = list(Agency.objects.filter(name=reference).order_by("pk")[:2])
    if len(named) == 1:
        return named[0]
    if named:
        raise CommandError(f"Several agencies are named {reference!r}: give the public id instead.")
    raise CommandError(f"No agency has the public id or the exact name {reference!r}.")


def preview_lines(preview: PeriodPreview) -> list[str]:
    """The preview as plain text, one fact a line (what the pages show)."""
    lines = [
        f"{preview.agency.name} {preview.period} ({preview.first_day} to {preview.last_day}, "
        f"{preview.agency.time_zone})",
        f"Lines of the month: {preview.line_count}; recognised {preview.recognised_count}; "
        f"imported, not matched {preview.imported_count}; matched, not recognised {preview.matched_count}; "
        f"in the exceptions queue {preview.exception_count}; dismissed {preview.dismissed_count}",
    ]
    lines += [f"  queue, {item.label}: {item.count}" for item in preview.exceptions_by_reason]
    for title, sample in (
        ("first imported", preview.imported_sample),
        ("first matched", preview.matched_sample),
        ("first queued", preview.exception_sample),
    ):
        if sample:
            lines.append(
                f"  {title}: " + ", ".join(f"{line.external_id} ({line.public_id})" for line in sample)
            )
    if preview.unsettled_count and not preview.is_closed:
        lines.append(preview.late_lines_note)
    if preview.running_import_count:
        lines.append(f"Imports still queued or running: {preview.running_import_count}")
        lines += [
            f"  {item.public_id} {item.original_name} ({item.status})" for item in preview.running_imports
        ]
    if preview.closed is not None:
        who = preview.closed.closed_by.email if preview.closed.closed_by else "the operator (manage.py)"
        lines.append(f"Closed on {preview.closed.closed_at:%Y-%m-%d %H:%M} by {who}.")
    else:
        lines.append(f"Guarantee top-ups to post: {len(preview.top_ups)}")
        lines += [
            f"  {item.creator_name} ({item.creator_public_id}), {item.version_label} ({item.version_public_id}), "
            f"{item.guarantee_key}: {to_decimal_string(item.amount_minor, item.currency)} {item.currency} "
            f"(guarantee {to_decimal_string(item.guarantee_minor, item.currency)}, "
            f"share {to_decimal_string(item.creator_total_minor, item.currency)})"
            for item in preview.top_ups
        ]
    return lines


class Command(BaseCommand):
    help = (
        "Close one month of an agency: print what the close will do (lines still unmatched or not "
        "recognised, guarantee top-ups), then post the top-ups and close it. --dry-run prints only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("agency", help="the agency's public id or exact name")
        parser.add_argument("period", help="the month, e.g. 2026-11 (the agency's time zone)")
        parser.add_argument("--dry-run", action="store_true", help="print the preview, close nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        agency = _agency(options["agency"])
        period = options["period"]
        try:
            preview = period_close_preview(agency=agency, period=period)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        for line in preview_lines(preview):
            self.stdout.write(line)
        if options["dry_run"]:
            if preview.refusals:
                raise CommandError("Closing now would be refused: " + " ".join(preview.refusals))
            self.stdout.write("Dry run: nothing was closed or posted.")
            return
        try:
            closed = period_close(agency=agency, period=period, actor=None)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        posted = period_top_up_list(agency=agency, period=closed.period)
        self.stdout.write(f"Closed {agency.name} {closed.period}. Guarantee top-ups posted: {len(posted)}")
        for item in posted:
            self.stdout.write(
                f"  {item.creator_name} ({item.creator_public_id}): "
                f"{to_decimal_string(item.amount_minor, item.currency)} {item.currency}, entry {item.entry_public_id}"
            )
