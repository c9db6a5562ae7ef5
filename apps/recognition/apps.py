from collections.abc import Mapping

from django.apps import AppConfig


def agencies_with_recognised_lines() -> Mapping[int, str]:
    """Agencies with allocated lines: each must have a ledger (verify_ledger checks it)."""
    from django.db.models import Count

    from apps.recognition.models import LineAllocation

    rows = (
        LineAllocation.objects.values("agency_id")
        .annotate(lines=Count("line_id"))
        .values_list("agency_id", "lines")
        .order_by()
    )
    return {
        agency_id: f"{lines} recognised income line{'' if lines == 1 else 's'}" for agency_id, lines in rows
    }


class RecognitionConfig(AppConfig):
    name = "apps.recognition"
    label = "recognition"
    verbose_name = "Recognition"

    def ready(self) -> None:
        # The ledger imports nothing of recognition: recognition tells it which agencies must have
        # a ledger, what else to verify, and which of its tables are append-only.
        from apps.income.hooks import register_recognition_enqueuer, register_share_reader
        from apps.income.pipeline import register_recognition_step
        from apps.income.selectors import register_line_split
        from apps.ledger.roles import register_append_only
        from apps.ledger.verification import register_agency_check, register_expected_ledgers
        from apps.recognition.models import EntryCover, LineAllocation, RuleSetSnapshot, StateCheckpoint
        from apps.recognition.selectors import line_split
        from apps.recognition.services import recognize_import_lines
        from apps.recognition.shares import line_shares
        from apps.recognition.tasks import income_recognize_pending_agency
        from apps.recognition.verification import recognition_verify_agency

        register_expected_ledgers(agencies_with_recognised_lines)
        register_agency_check(recognition_verify_agency)
        register_append_only(LineAllocation, EntryCover, RuleSetSnapshot, StateCheckpoint)
        register_recognition_step(recognize_import_lines)
        register_recognition_enqueuer(income_recognize_pending_agency.delay)
        register_line_split(line_split)
        register_share_reader(line_shares)
