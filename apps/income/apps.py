from collections.abc import Mapping

from django.apps import AppConfig


def agencies_with_recognised_lines() -> Mapping[int, str]:
    """Agencies with recognised income lines: each must have a ledger (verify_ledger checks it)."""
    from django.db.models import Count

    from apps.income.models import IncomeLine

    rows = (
        IncomeLine.objects.filter(status=IncomeLine.Status.RECOGNISED)
        .values("agency_id")
        .annotate(lines=Count("id"))
        .values_list("agency_id", "lines")
        .order_by()
    )
    return {
        agency_id: f"{lines} recognised income line{'' if lines == 1 else 's'}" for agency_id, lines in rows
    }


class IncomeConfig(AppConfig):
    name = "apps.income"
    label = "income"
    verbose_name = "Income"

    def ready(self) -> None:
        # The ledger imports nothing of income: income tells it which agencies must have a ledger.
        from apps.ledger.verification import register_expected_ledgers

        register_expected_ledgers(agencies_with_recognised_lines)
