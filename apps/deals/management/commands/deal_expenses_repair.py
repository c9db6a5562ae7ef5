"""manage.py deal_expenses_repair [--agency PUBLIC_ID]: deduct approved expenses the ledger missed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.agencies.models import Agency
from apps.deals.expenses import deal_expenses_repair


class Command(BaseCommand):
    help = (
        "Re-issue, with their expenses, the recognised payments of every deal whose approved expenses "
        "were not all deducted from its split (approvals made before expenses reached the split). "
        "Safe to run again: a deal whose expenses are all deducted is left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agency", help="public id of one agency")

    def handle(self, *args: Any, **options: Any) -> None:
        agency_id = None
        if options["agency"]:
            agency = Agency.objects.filter(public_id=options["agency"]).first()
            if agency is None:
                raise CommandError(f"No agency with public id {options['agency']}.")
            agency_id = agency.pk
        outcome = deal_expenses_repair(agency_id=agency_id)
        self.stdout.write(
            f"{outcome.deals} deals with approved expenses; {outcome.reissued} payments re-issued with them"
        )
        for refusal in outcome.refused:
            self.stderr.write(f"  NOT REPAIRED deal {refusal}")
        if outcome.refused:
            raise CommandError(f"{len(outcome.refused)} deals could not be repaired (see above).")
