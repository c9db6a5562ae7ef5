"""Recognition's use cases, by name: recognise lines, close a month, and the lock they share."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from apps.agencies.models import Agency
from apps.income.models import IncomeLine
from apps.income.services import income_recognition_lock
from apps.recognition.batch import RecognitionOutcome, recognize_batch, register_expense_book
from apps.recognition.models import LineAllocation
from apps.recognition.period_close import period_close

LineStatus = IncomeLine.Status


def _pending(lines):  # type: ignore[no-untyped-def]
    return lines.filter(status=LineStatus.MATCHED).exclude(
        Exists(LineAllocation.objects.filter(line_id=OuterRef("pk")))
    )


def agencies_pending() -> list[int]:
    """Ids of the agencies with matched lines waiting for recognition."""
    waiting = _pending(IncomeLine.objects.filter(agency=OuterRef("pk")))
    return list(Agency.objects.filter(Exists(waiting)).order_by("pk").values_list("pk", flat=True))


def recognize_pending(*, agency: Agency, batch_size: int = 20_000) -> RecognitionOutcome:
    """Recognise every matched line of the agency (lines resolved by hand, late deal matches)."""
    total = RecognitionOutcome()
    while True:
        ids = list(
            _pending(IncomeLine.objects.filter(agency=agency))
            .order_by("occurred_at", "pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return total
        outcome = recognize_batch(agency=agency, line_ids=ids, cause="pending")
        total.recognised += outcome.recognised
        total.exceptions += outcome.exceptions
        if outcome.recognised + outcome.exceptions == 0:
            return total


def recognize_import_lines(*, agency: Agency, line_ids: list[int], cause: str) -> int:
    """An import step's lines (the income pipeline chose them); returns how many went to the queue."""
    return recognize_batch(agency=agency, line_ids=line_ids, cause=cause).exceptions


__all__ = [
    "RecognitionOutcome",
    "agencies_pending",
    "income_recognition_lock",
    "period_close",
    "recognize_batch",
    "recognize_import_lines",
    "recognize_pending",
    "register_expense_book",
]
