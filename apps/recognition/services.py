"""Recognition's use cases, by name: recognise lines, close a month, and the lock they share."""

from __future__ import annotations

from apps.agencies.models import Agency
from apps.income.selectors import (
    income_agencies_with_queued_lines,
    income_line_ids_matched_in_order,
    income_lines_queued_for_recognition,
)
from apps.income.services import income_recognition_lock, income_recognition_queue_remove
from apps.recognition.batch import RecognitionOutcome, allocated_among, recognize_batch, register_expense_book
from apps.recognition.period_close import period_close


def agencies_pending() -> list[int]:
    """Ids of the agencies with lines in income's recognition queue (lines matched after their
    import: by hand, by a confirmed account, a late deal, a new rate)."""
    return income_agencies_with_queued_lines()


def recognize_pending(*, agency: Agency, batch_size: int = 20_000) -> RecognitionOutcome:
    """Recognise the agency's queued lines, oldest first, and take the settled ones out of the
    queue: allocated, sent to the exception queue, or no longer matched. A line that stays
    pending (a transient error reaches the caller first) stays queued for the next sweep."""
    total = RecognitionOutcome()
    while True:
        ids = income_lines_queued_for_recognition(agency_id=agency.pk, limit=batch_size)
        if not ids:
            return total
        outcome = recognize_batch(agency=agency, line_ids=ids, cause="pending")
        total.recognised += outcome.recognised
        total.exceptions += outcome.exceptions
        still_pending = set(income_line_ids_matched_in_order(agency_id=agency.pk, line_ids=ids))
        still_pending -= allocated_among(ids)
        income_recognition_queue_remove(line_ids=[line_id for line_id in ids if line_id not in still_pending])
        if still_pending == set(ids):
            return total  # nothing settled: another sweep retries rather than loop here


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
