"""The statement import pipeline: stage → chunks → recognise, each step one transaction.

Steps (`statement_import_step`, run by the `income.statement_import_step` task, each step
enqueuing the next after its commit):

1. *Stage* (status queued → running): stream the file through its adapter, validate every row
   in Python and COPY the good rows into StagedLine (a batch at a time: neither the file nor its
   rows are ever held whole), the bad ones into ImportRowError. The bytes are read twice: once
   for their SHA-256 and a strict decode of all of them (detect.inspect: UTF-8, else GB18030),
   once to parse. A valid row whose key the agency has recorded with the same amount and
   currency is counted as a duplicate and not staged (overlapping exports; one probe of the
   unique key per row, per batch); with another amount it is staged, to become an adjustment.
   A file that cannot be read at all (encoding, header, not a workbook) is poison: the import
   fails with that message and no retry.
2. *Chunk i* (CHUNK_SIZE file rows): set-based SQL inserts the chunk's lines with
   INSERT … SELECT … ON CONFLICT (agency, platform, external_id) DO NOTHING, maps account ids
   to the agency's creators, turns re-issued rows with another amount into adjustment lines,
   checks refunds against what is left of their originals (a refund whose original is not
   recorded yet waits for it, and the chunk that records an original decides the refunds that
   waited: _attach_waiting_refunds; chunks of one agency take turns for this under an advisory
   lock, whichever import they belong to: _lock_agency_chunks), reconciles (brand deals through
   apps.deals when installed) and adds the counts. The ImportChunk(import, i) marker commits
   with all of it: a chunk re-run after a crash finds the marker and does nothing, a crash
   before the commit leaves nothing behind. Chunks with no staged row are marked done without
   a step of their own. Look-ups by business key are LATERAL … LIMIT 1 probes of the unique
   index, so that old statistics of the just-filled line table cannot turn them into scans.
3. *Recognise*: matched lines of the import, RECOGNITION_BATCH at a time, through
   income_recognize_batch; then status done and the staged rows go.

Every step locks the import row first, so two workers handed the same import (a re-delivered
message, or `statement_import_resume_stalled` re-enqueuing an import whose worker died) take
turns and the second finds the work done. All-or-nothing imports run every chunk in one
transaction and roll it back when any row is refused.

The same file again. StatementImport.content_sha256 holds the SHA-256 of the uploaded bytes.
When the agency has a finished (DONE) import of the same bytes read as the same format, every
row of that import that is not one of its ImportRowError rows made a line, an adjustment or
was a duplicate then, so its key is recorded now: income lines are never deleted (no service,
admin or cascade removes one: every foreign key of a line is PROTECT) and their key never
changes. Those rows are counted as duplicates without being parsed, and only the rows that
failed then (row-level and chunk-level errors, e.g. a refund larger than what was left)
are parsed, staged and processed again, normally; the import's message tells the user. This
holds whichever earlier import is taken, so the latest is (its error rows are the fewest); an
import of the same bytes by another agency, a FAILED one, or one read as another format is
never used. All-or-nothing is kept as it is: the rows recorded before are duplicates (not
refusals) on either path, and if a retried row still fails the whole import is refused and
imports nothing, exactly what the row-by-row path would do. One difference from re-reading
every row: a recorded row that today's validation would refuse is a duplicate, not an error;
it is recorded, which is what a duplicate says.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import IO, Any, cast
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import UploadedFile
from django.db import DataError, IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.agencies.models import Agency
from apps.agencies.time import agency_local_datetime, agency_zone
from apps.common.exceptions import ApplicationError
from apps.common.models import OutboxMessage
from apps.common.money import to_decimal_string
from apps.common.outbox import outbox_is_current, outbox_latest, outbox_resend, outbox_send
from apps.common.tenancy import require_agency_role
from apps.income import routing
from apps.income.hooks import brand_deal_reconciler, recognition_enqueuer
from apps.income.importers import detect
from apps.income.importers.canonical import CanonicalRow, RawRow, validate_row
from apps.income.models import (
    CHUNK_SIZE,
    ImportChunk,
    ImportRowError,
    IncomeLine,
    StagedLine,
    StatementImport,
)
from apps.income.selectors import statement_import_outbox_key
from apps.income.services import INCOME_ROLES, income_line_mark

ImportStatus = StatementImport.Status
LineStatus = IncomeLine.Status
Reason = IncomeLine.ExceptionReason

logger = logging.getLogger(__name__)

RECOGNITION_BATCH = 20_000
# The most an agency's lines of one currency may add up to (the sum of |gross|, minor units):
# 10^17, e.g. ¥1,000,000,000,000,000.00. Every ledger account of the agency in that currency
# (the income clearing account gets every line's gross; a creator's payable, revenue and
# deductions get parts of it) moves at most that much in its balance and its month's debits and
# credits, so the bigints of the balance upsert (2^63 ≈ 9.2 × 10^18) keep a factor of 92 for FX
# conversion into the contract's currency. Rows past it are row errors at staging (checked
# in Python as the rows are copied, with one sum per currency of what the agency has recorded).
MAX_AGENCY_TOTAL_MINOR = 10**17
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
_COPY_BATCH = 20_000
# Row errors kept for people per staging (every problem of these first rows with errors); the
# rest are counted and summarised in one line, so a million bad rows cost no more memory, and
# no more ImportRowError rows, than a thousand (three million did: 6.5 GB).
MAX_REPORTED_ERROR_ROWS = 1_000

# The task that runs one step (apps/income/tasks.py), by name: the outbox publishes it.
STEP_TASK = "income.statement_import_step"
# No step committed for this long, nobody holding the import, its message sent as long ago:
# the step is re-sent (statement_import_resume_stalled; beat looks every few seconds).
STALLED_AFTER = timedelta(seconds=6)


class _RowErrors(list[tuple[int, str, str]]):
    """(row, column, reason) of the first MAX_REPORTED_ERROR_ROWS rows with errors; `row_count`
    counts every row with errors. A row's errors arrive together (rows come in file order)."""

    def __init__(self) -> None:
        super().__init__()
        self.row_count = 0
        self.omitted_rows = 0
        self.first_omitted_row = 0
        self._last_row: int | None = None

    def append(self, error: tuple[int, str, str]) -> None:
        if error[0] != self._last_row:
            self._last_row = error[0]
            self.row_count += 1
            if self.row_count > MAX_REPORTED_ERROR_ROWS:
                self.omitted_rows += 1
                self.first_omitted_row = self.first_omitted_row or error[0]
        if self.row_count <= MAX_REPORTED_ERROR_ROWS:
            super().append(error)

    def extend(self, errors: Iterable[tuple[int, str, str]]) -> None:
        for error in errors:
            self.append(error)

    def records(self, import_id: int) -> Iterator[ImportRowError]:
        for row, column, reason in self:
            yield ImportRowError(statement_import_id=import_id, row_number=row, column=column, reason=reason)
        if self.omitted_rows:
            yield ImportRowError(
                statement_import_id=import_id,
                row_number=self.first_omitted_row,
                column="",
                reason=_("and %(count)s more rows with errors") % {"count": self.omitted_rows},
            )


class _AllOrNothingRefused(Exception):
    def __init__(self, errors: _RowErrors) -> None:
        super().__init__("rows refused")
        self.errors = errors


# --- creating ---------------------------------------------------------------------------------


def statement_import_create(
    *,
    agency: Agency,
    actor: Any,
    file: UploadedFile,
    format: str = StatementImport.Format.AUTO,
    is_all_or_nothing: bool = False,
    enqueue: bool = True,
) -> StatementImport:
    """Store the uploaded file and queue its import (enqueued after commit)."""
    require_agency_role(actor, agency, INCOME_ROLES)
    if format not in StatementImport.Format.values:
        raise ApplicationError(_("Unknown statement format %(format)r.") % {"format": format}, code="invalid")
    if not file.size:
        raise ApplicationError(_("The file is empty."), code="statement_empty")
    if file.size > MAX_UPLOAD_BYTES:
        raise ApplicationError(_("The file is larger than 200 MB."), code="statement_too_large")
    with transaction.atomic():
        statement_import = StatementImport.objects.create(
            agency=agency,
            file=file,
            original_name=(file.name or "")[:255],
            format=format,
            is_all_or_nothing=is_all_or_nothing,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        if enqueue:
            _enqueue_after_commit(statement_import.pk, agency_id=agency.pk)
    return statement_import


def _enqueue_after_commit(import_id: int, *, agency_id: int) -> None:
    """The import's next step, due in this transaction: the transactional outbox publishes it
    after commit and again until the broker takes it, so a broker outage after a step commits
    delays the import and never fails or strands it. The agency id routes the step to its
    agency's queue (config/routing.py, docs/scaling.md)."""
    outbox_send(
        task=STEP_TASK,
        kwargs={"import_id": import_id, "agency_id": agency_id},
        key=statement_import_outbox_key(import_id),
        fenced=True,
    )


# --- the step ---------------------------------------------------------------------------------


def statement_import_step(*, import_id: int, enqueue: bool = True, outbox_id: int | None = None) -> bool:
    """Do the next piece of one import; True when more remain (and, with `enqueue`, queued).

    `outbox_id`: the message that asked for this step. A copy of a message that a later step
    superseded (redelivered after a worker died, re-sent by the stalled sweep, published twice
    by the outbox) does nothing, so duplicates never fork the import into two chains of steps."""
    try:
        with transaction.atomic():
            # of=("self",): the import's row only. Joined in, the agency's row was locked too,
            # for the whole step, so the agency's deal edits (which lock the deal, and used to
            # lock the agency as well) waited for a staging step and timed out.
            # skip_locked: a locked row is a step running now, on a live worker (PostgreSQL
            # drops a dead worker's lock with its connection); that step publishes the next,
            # so this copy returns at once instead of holding a worker until it commits.
            statement_import = (
                StatementImport.objects.select_for_update(no_key=True, of=("self",), skip_locked=True)
                .select_related("agency")
                .filter(pk=import_id)
                .first()
            )
            if statement_import is None or statement_import.is_finished:
                return False
            if not outbox_is_current(key=statement_import_outbox_key(import_id), message_id=outbox_id):
                return False
            statement_import.attempts = min(statement_import.attempts + 1, 32_000)
            if statement_import.status == ImportStatus.QUEUED:
                more = _stage(statement_import)
            elif statement_import.is_all_or_nothing:
                more = _all_chunks(statement_import)
            else:
                more = _next_chunk_or_recognition(statement_import)
            statement_import.save()
            if more and enqueue:
                _enqueue_after_commit(import_id, agency_id=statement_import.agency_id)
            return more
    except _AllOrNothingRefused as refused:
        with transaction.atomic():
            ImportRowError.objects.bulk_create(refused.errors.records(import_id))
            StatementImport.objects.filter(pk=import_id).update(
                error_count=refused.errors.row_count,
                rows_done=0,
                imported_count=0,
                duplicate_count=0,
                adjustment_count=0,
                exception_count=0,
            )
        statement_import_fail(
            import_id=import_id,
            message=_("%(count)s rows were refused; nothing was imported (all or nothing).")
            % {"count": refused.errors.row_count},
        )
        return False
    except ApplicationError as error:
        # Poison input: the same file will fail the same way, so no retry, a clear message.
        statement_import_fail(import_id=import_id, message=error.message)
        return False
    except (DataError, IntegrityError, ProgrammingError):
        # A row the validation let through and the database refused: a bug, never the user's
        # to read in PostgreSQL's words. Logged with the details; the step rolled back whole.
        logger.exception("statement import %s: the database refused a step", import_id)
        statement_import_fail(
            import_id=import_id,
            message=_(
                "The import stopped on an unexpected error and imported nothing of this step;"
                " the team has been told (import %(id)s)."
            )
            % {"id": import_id},
        )
        return False


def statement_import_fail(*, import_id: int, message: str) -> None:
    """The terminal failed state, with a message for people. Staged rows are dropped."""
    with transaction.atomic():
        StagedLine.objects.filter(statement_import_id=import_id).delete()
        failed = (
            StatementImport.objects.filter(pk=import_id)
            .exclude(status=ImportStatus.DONE)
            .update(status=ImportStatus.FAILED, message=message[:2000], finished_at=timezone.now())
        )
        if failed:
            # Its committed chunks' matched lines were its own steps' to recognise: the periodic
            # sweep takes them over (those already recognised leave the queue at once).
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO income_recognitionqueue (line_id, agency_id, queued_at)"
                    " SELECT id, agency_id, now() FROM income_incomeline"
                    " WHERE statement_import_id = %s AND status = 'matched' ON CONFLICT DO NOTHING",
                    [import_id],
                )


def statement_import_run(*, statement_import: StatementImport) -> StatementImport:
    """Run every step here and now (the management command and eager tests)."""
    while statement_import_step(import_id=statement_import.pk, enqueue=False):
        pass
    statement_import.refresh_from_db()
    return statement_import


def statement_import_resume_stalled(*, older_than: timedelta = STALLED_AFTER) -> list[int]:
    """Re-send the current step of imports whose worker died; returns their ids.

    Stalled: unfinished, no step committed for `older_than`, its current step message
    published at least that long ago (one still due is the outbox relay's), and no step
    running on it now. "Running" is the step's own heartbeat: its transaction holds the
    import's row lock, which PostgreSQL releases the moment the worker's connection dies, so a
    killed worker's import is found here within seconds, never while a live step works on it.
    Re-sending is safe: a copy of a step that another copy did is a no-op (the outbox id)."""
    now = timezone.now()
    candidates = list(
        StatementImport.objects.filter(
            status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING), updated_at__lt=now - older_than
        ).values_list("pk", "agency_id")
    )
    resumed = []
    for import_id, agency_id in candidates:
        with transaction.atomic():
            free = (
                StatementImport.objects.select_for_update(no_key=True, skip_locked=True)
                .filter(pk=import_id, status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING))
                .values_list("pk", flat=True)
                .first()
            )
            if free is None:
                continue  # a step is running, or the import finished meanwhile
            latest = outbox_latest(key=statement_import_outbox_key(import_id))
            if latest is None:
                _enqueue_after_commit(import_id, agency_id=agency_id)  # queued before the outbox
            elif latest.published_at is None or latest.published_at > now - older_than:
                continue  # not yet published (the relay's), or just re-sent: give it time
            else:
                OutboxMessage.objects.filter(pk=latest.pk).update(published_at=now)
                outbox_resend(message_id=latest.pk)
            resumed.append(import_id)
    return resumed


# --- 1. stage -----------------------------------------------------------------------------------


@contextmanager
def _upload(statement_import: StatementImport) -> Iterator[IO[bytes]]:
    """The uploaded file, opened for reading. Staging reads it twice (see detect): each time a
    new handle from the storage, which any storage gives (reopening a closed File does not)."""
    # cast: statement_import_create always stores the file, so its name is set.
    stream = statement_import.file.storage.open(cast(str, statement_import.file.name), "rb")
    try:
        yield cast(IO[bytes], stream)
    finally:
        stream.close()


def _stage(statement_import: StatementImport) -> bool:
    facts = detect.inspect(partial(_upload, statement_import))
    # The agency: a file no built-in adapter knows may be one of its import templates'.
    chosen = detect.resolve_format(facts, statement_import.format, agency_id=statement_import.agency_id)
    zone = agency_zone(statement_import.agency)
    earlier = _same_file_imported_before(statement_import, sha256=facts.sha256, chosen=chosen)
    retried: frozenset[int] | None = None
    if earlier is not None:
        retried = frozenset(
            ImportRowError.objects.filter(statement_import=earlier).values_list("row_number", flat=True)
        )
    errors = _RowErrors()
    last_row, staged, skipped = 1, 0, 0
    if retried is None or retried:
        # An agency's first import has nothing recorded to look up.
        has_lines = IncomeLine.objects.filter(agency_id=statement_import.agency_id).exists()
        with _upload(statement_import) as stream:
            rows = detect.read_rows(
                stream, facts, chosen, only_rows=retried, statement_import=statement_import
            )
            last_row, staged, skipped = _copy_staged(
                statement_import.pk,
                _validated(rows, zone, errors),
                recorded_of=statement_import.agency_id if has_lines else None,
                totals=_AgencyTotals(statement_import.agency_id, has_lines=has_lines),
                errors=errors,
            )
    if statement_import.is_all_or_nothing and errors:
        raise _AllOrNothingRefused(errors)
    ImportRowError.objects.bulk_create(errors.records(statement_import.pk))
    # A file whose every row an adapter skipped as not income (a Buyin export with only unsettled
    # orders) is done with nothing to record, its skipped rows listed: not an empty file.
    skipped_rows = (statement_import.detection or {}).get("skipped_count", 0)
    if earlier is None and last_row < 2 and not errors and not skipped_rows:
        raise ApplicationError(_("The file has a header but no rows."), code="statement_empty")
    data_rows = earlier.rows_total if earlier is not None else max(last_row - 1, 0)
    statement_import.format = chosen
    statement_import.encoding = facts.encoding
    statement_import.content_sha256 = facts.sha256
    statement_import.status = ImportStatus.RUNNING
    statement_import.started_at = timezone.now()
    statement_import.rows_total = data_rows
    statement_import.chunk_count = (data_rows + CHUNK_SIZE - 1) // CHUNK_SIZE
    statement_import.error_count = errors.row_count
    statement_import.duplicate_count = skipped
    if earlier is not None:
        _note_reimport(statement_import, earlier, retried=len(retried or ()))
    if not staged:
        # Every row was recorded before or refused: no chunk and nothing to recognise.
        statement_import.status = ImportStatus.DONE
        statement_import.rows_done = data_rows
        statement_import.finished_at = timezone.now()
        return False
    # The staging table has just been filled: with the statistics of its last analysis (often
    # empty) every chunk's plan assumes one staged row. A sample, cheap; last in the step
    # because ANALYZE's lock, held to the commit, makes another import's staging wait here.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE income_stagedline")
    return True


def _same_file_imported_before(
    statement_import: StatementImport, *, sha256: str, chosen: str
) -> StatementImport | None:
    """The agency's latest finished import of the same bytes read as the same format: every
    row of it that is not one of its row errors has its key recorded (lines are never deleted)."""
    return (
        StatementImport.objects.filter(
            agency_id=statement_import.agency_id,
            content_sha256=sha256,
            format=chosen,
            status=ImportStatus.DONE,
            # With more rows in error, not every one was recorded (_RowErrors): read it all.
            error_count__lte=MAX_REPORTED_ERROR_ROWS,
        )
        .exclude(pk=statement_import.pk)
        .order_by("-finished_at", "-pk")
        .first()
    )


def _note_reimport(statement_import: StatementImport, earlier: StatementImport, *, retried: int) -> None:
    """Count the earlier import's recorded rows as duplicates, and say why to the user."""
    # Rows that made a line, a duplicate or an adjustment then are all recorded now; skipped
    # rows (blank lines, YouTube's total) made nothing then and count nowhere now either.
    recorded = earlier.imported_count + earlier.duplicate_count + earlier.adjustment_count
    statement_import.duplicate_count += recorded
    when = agency_local_datetime(statement_import.agency, earlier.created_at)
    names = {
        "name": earlier.original_name,
        "date": when.strftime("%Y-%m-%d %H:%M"),
        "recorded": recorded,
        "retried": retried,
    }
    if retried:
        message = _(
            "This file was imported before (%(name)s, import of %(date)s). Rows already recorded:"
            " %(recorded)s; rows that failed then, checked again: %(retried)s."
        )
    else:
        message = _(
            "This file was imported before (%(name)s, import of %(date)s). Rows already recorded:"
            " %(recorded)s (all of them)."
        )
    statement_import.message = message % names


def _validated(
    rows: Iterator[RawRow], zone: ZoneInfo, errors: list[tuple[int, str, str]]
) -> Iterator[CanonicalRow | int]:
    """Good rows; a bad row's problems go to `errors` and only its number comes out (progress)."""
    for raw in rows:
        result = validate_row(raw, zone)
        if isinstance(result, list):
            errors.extend((raw.row_number, column, reason) for column, reason in result)
            yield raw.row_number
        else:
            yield result


_STAGED_COPY = (
    "COPY income_stagedline (statement_import_id, row_number, external_id, platform, account_id,"
    " source, gross_minor, currency, occurred_at, order_ref, refund_of, description, metadata)"
    " FROM STDIN"
)


# The batch's rows whose key is recorded with the same amount and currency: duplicates, which
# need no staging (the chunk would only find them recorded). A probe of the unique key per row.
_RECORDED_SQL = """
    SELECT t.row_number
    FROM unnest(%(rows)s::int[], %(platforms)s::text[], %(ids)s::text[], %(gross)s::bigint[],
                %(currencies)s::text[]) AS t(row_number, platform, external_id, gross_minor, currency)
    JOIN LATERAL (
        SELECT o.gross_minor, o.currency
        FROM income_incomeline o
        WHERE o.agency_id = %(agency)s AND o.platform = t.platform AND o.external_id = t.external_id
        LIMIT 1
    ) line ON true
    WHERE line.gross_minor = t.gross_minor AND line.currency = t.currency
"""


class _AgencyTotals:
    """The running sum of |gross| per currency of the agency's lines, recorded and staged: a
    row that would take it past MAX_AGENCY_TOTAL_MINOR is refused (see there). What is
    recorded is summed once per currency, when the import first meets it."""

    def __init__(self, agency_id: int, *, has_lines: bool) -> None:
        self.agency_id = agency_id
        self.has_lines = has_lines
        self.totals: dict[str, int] = {}

    def _recorded(self, currency: str) -> int:
        if not self.has_lines:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COALESCE(sum(abs(gross_minor)), 0) FROM income_incomeline"
                " WHERE agency_id = %s AND currency = %s",
                [self.agency_id, currency],
            )
            return int(cursor.fetchone()[0])

    def refusal(self, gross_minor: int, currency: str) -> str | None:
        """None and the row counted, or why the row is refused (and it is not counted)."""
        total = self.totals.get(currency)
        if total is None:
            total = self._recorded(currency)
        if total + abs(gross_minor) > MAX_AGENCY_TOTAL_MINOR:
            self.totals[currency] = total
            return _(
                "With what the agency has recorded in %(currency)s, this amount would take its"
                " total past %(limit)s %(currency)s, the most the ledger holds for one account."
            ) % {"currency": currency, "limit": to_decimal_string(MAX_AGENCY_TOTAL_MINOR, currency)}
        self.totals[currency] = total + abs(gross_minor)
        return None


def _copy_staged(
    import_id: int,
    rows: Iterable[CanonicalRow | int],
    *,
    recorded_of: int | None,
    totals: _AgencyTotals,
    errors: list[tuple[int, str, str]],
) -> tuple[int, int, int]:
    """COPY the good rows into StagedLine in batches, as they are parsed (only a batch is ever
    held); returns the last row number seen, how many rows were staged, and how many were
    not because agency `recorded_of` has their key recorded with the same amount already.
    Rows that would take the agency's total past the ledger's bound go to `errors`."""
    last_row = 1
    count = 0
    skipped = 0
    batch: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        raw = cursor.cursor

        def flush() -> None:
            nonlocal count, skipped
            if recorded_of is not None:
                # Overlapping exports: a row recorded with the same amount is a duplicate
                # whatever the chunk would find. Another amount is staged: it is an adjustment.
                cursor.execute(
                    _RECORDED_SQL,
                    {
                        "agency": recorded_of,
                        "rows": [values[1] for values in batch],
                        "platforms": [values[3] for values in batch],
                        "ids": [values[2] for values in batch],
                        "gross": [values[6] for values in batch],
                        "currencies": [values[7] for values in batch],
                    },
                )
                recorded = {row_number for (row_number,) in cursor.fetchall()}
                if recorded:
                    batch[:] = [values for values in batch if values[1] not in recorded]
                    skipped += len(recorded)
            # After the duplicates are gone (they add nothing): a cheap dict update per row.
            kept = []
            for values in batch:
                refusal = totals.refusal(values[6], values[7])
                if refusal is None:
                    kept.append(values)
                else:
                    errors.append((values[1], "gross", refusal))
            if len(kept) < len(batch):
                batch[:] = kept
            count += len(batch)
            # write_row: psycopg's C dumpers escape and format each value (faster than building
            # the COPY text in Python: 0.8 s of str.translate per 100,000 rows).
            with raw.copy(_STAGED_COPY) as copy:
                for values in batch:
                    copy.write_row(values)
            batch.clear()

        for row in rows:
            if isinstance(row, int):
                last_row = row
                continue
            last_row = row.row_number
            batch.append(
                (
                    import_id,
                    row.row_number,
                    row.external_id,
                    row.platform,
                    row.account_id,
                    row.source,
                    row.gross_minor,
                    row.currency,
                    row.occurred_at,
                    row.order_ref,
                    row.refund_of,
                    row.description,
                    json.dumps(row.metadata, ensure_ascii=False) if row.metadata else "{}",
                )
            )
            if len(batch) == _COPY_BATCH:
                flush()
        if batch:
            flush()
    return last_row, count, skipped


# --- 2. chunks ------------------------------------------------------------------------------------


@dataclass
class ChunkOutcome:
    inserted: int = 0
    duplicates: int = 0
    adjustments: int = 0
    exceptions: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    line_ids: list[int] = field(default_factory=list)


def _next_chunk_or_recognition(statement_import: StatementImport) -> bool:
    done = set(ImportChunk.objects.filter(statement_import=statement_import).values_list("index", flat=True))
    pending = [index for index in range(statement_import.chunk_count) if index not in done]
    index = _next_staged_chunk(statement_import, pending[0]) if pending else None
    # Chunks without a staged row (a re-import retries only the rows that failed, and refused
    # rows are never staged) are done at once instead of costing a step each.
    ImportChunk.objects.bulk_create(
        ImportChunk(statement_import=statement_import, index=empty)
        for empty in pending
        if index is None or empty < index
    )
    if index is not None:
        outcome = _process_chunk(statement_import, index)
        ImportRowError.objects.bulk_create(
            ImportRowError(statement_import=statement_import, row_number=row, column=column, reason=reason)
            for row, column, reason in outcome.errors
        )
        _add_counts(statement_import, index, outcome)
        ImportChunk.objects.create(statement_import=statement_import, index=index)
        return True
    return _recognise_step(statement_import)


def _all_chunks(statement_import: StatementImport) -> bool:
    """All-or-nothing: every chunk in this one transaction, rolled back if a row is refused."""
    if ImportChunk.objects.filter(statement_import=statement_import).exists():
        return _recognise_step(statement_import)
    errors = _RowErrors()
    outcomes = []
    index = _next_staged_chunk(statement_import, 0)
    while index is not None:
        outcome = _process_chunk(statement_import, index)
        errors.extend(outcome.errors)
        outcomes.append((index, outcome))
        index = _next_staged_chunk(statement_import, index + 1)
    if errors:
        raise _AllOrNothingRefused(errors)
    for index, outcome in outcomes:
        _add_counts(statement_import, index, outcome)
    ImportChunk.objects.bulk_create(
        ImportChunk(statement_import=statement_import, index=index)
        for index in range(statement_import.chunk_count)
    )
    return True


def _next_staged_chunk(statement_import: StatementImport, first: int) -> int | None:
    """The first chunk from `first` on that has a staged row (one index seek), or None."""
    row = (
        StagedLine.objects.filter(statement_import=statement_import, row_number__gte=2 + first * CHUNK_SIZE)
        .order_by("row_number")
        .values_list("row_number", flat=True)
        .first()
    )
    return None if row is None else (row - 2) // CHUNK_SIZE


def _add_counts(statement_import: StatementImport, index: int, outcome: ChunkOutcome) -> None:
    statement_import.rows_done = min(statement_import.rows_total, (index + 1) * CHUNK_SIZE)
    statement_import.imported_count += outcome.inserted
    statement_import.duplicate_count += outcome.duplicates
    statement_import.adjustment_count += outcome.adjustments
    statement_import.exception_count += outcome.exceptions
    statement_import.error_count += len({row for row, _column, _reason in outcome.errors})


def _insert_sql(*, refunds: bool, waiting: bool = False) -> str:
    """INSERT … SELECT of a chunk's staged rows: ordinary rows, the accepted refunds, or the
    refunds whose original is not recorded yet (`waiting`: held as exceptions refund_waiting,
    the original's key in metadata "refund_of", see _attach_waiting_refunds).

    Statements apart rather than one with a flag: joined to the refunded original, the ordinary
    rows' statement let PostgreSQL fold `refund_of = ''` into the join and probe the unique
    index by (agency, external_id = '') for every row, i.e. walk all of the agency's lines
    (0.7 ms a row and growing: 3.5 → 11 s per 5,000-row chunk at 100k lines).
    """
    original = (
        """LEFT JOIN income_incomeline original
        ON original.agency_id = %(agency)s AND original.platform = s.platform
       AND original.external_id = s.refund_of"""
        if refunds and not waiting
        else ""
    )
    rows = "s.refund_of <> '' AND s.row_number = ANY(%(accepted)s)" if refunds else "s.refund_of = ''"
    refund_of = "original.id" if refunds and not waiting else "NULL::bigint"
    metadata = "s.metadata || jsonb_build_object('refund_of', s.refund_of)" if waiting else "s.metadata"
    # Lines of a known creator that are not brand deals need no reconciliation: matched at
    # once, which saves an UPDATE of every row (a third of a chunk's time). A waiting refund is
    # held whoever its creator is (its outcome depends on its original first).
    status = (
        "'exception', 'refund_waiting', replace(%(waiting_detail)s, '{refund_of}', s.refund_of)"
        if waiting
        else f"""CASE WHEN account.id IS NULL THEN 'exception' WHEN s.source <> 'brand_deal' THEN 'matched'
             ELSE 'imported' END,
        CASE WHEN account.id IS NULL THEN 'unknown_account' ELSE '' END,
        CASE WHEN account.id IS NULL THEN {routing.UNROUTED_DETAIL_SQL} ELSE '' END"""
    )
    return f"""
    INSERT INTO income_incomeline (
        public_id, agency_id, creator_id, platform_account_id, platform, account_id, external_id,
        source, gross_minor, currency, occurred_at, order_ref, refund_of_id, adjusts_id, description,
        metadata, statement_import_id, row_number, status, exception_reason, exception_detail,
        dismiss_reason, created_at, updated_at
    )
    SELECT fenrun_uuid7(), %(agency)s, account.creator_id, account.id, s.platform, s.account_id,
        s.external_id, s.source, s.gross_minor, s.currency, s.occurred_at, s.order_ref,
        {refund_of}, NULL,
        s.description, {metadata}, s.statement_import_id, s.row_number,
        {status},
        '', now(), now()
    FROM income_stagedline s
    -- A confirmed account of a creator this agency represents on the row's day, else NULL (the
    -- queue): apps/income/routing.py. Confirmed (platform, account_id) is unique, so a plain join.
    {routing.ACCOUNT_JOIN_SQL}
    {original}
    WHERE s.statement_import_id = %(import)s AND s.row_number >= %(low)s AND s.row_number < %(high)s
      AND {rows}
    ORDER BY s.row_number
    ON CONFLICT (agency_id, platform, external_id) DO NOTHING
    RETURNING id, status
"""  # noqa: S608 (two constant fragments of this function, never input, are interpolated)


_ORDINARY_INSERT_SQL = _insert_sql(refunds=False)
_REFUND_INSERT_SQL = _insert_sql(refunds=True)
_WAITING_REFUND_INSERT_SQL = _insert_sql(refunds=True, waiting=True)

# pg_advisory_xact_lock(namespace, agency id): one chunk of an agency at a time, whichever
# import it belongs to (income_recognition_lock is 0x1C0E). See _lock_agency_chunks.
_CHUNK_LOCK_NAMESPACE = 0x1C0F


def _lock_agency_chunks(cursor: Any, agency_id: int) -> None:
    """Hold the agency's chunk lock until the step's transaction ends (re-entrant).

    Concurrent imports of one agency (overlapping files, two workers) decide a refund against
    lines the other import may be inserting: without the lock, a chunk's snapshot missed the
    other import's uncommitted original ("no earlier line", then the other import recorded it)
    and its uncommitted refunds (two chunks each accepting a refund that only one fits). Every
    chunk takes this lock before its first read, so under READ COMMITTED each of its statements
    sees every chunk of the agency that came before, committed; the chunk that inserts an
    original also attaches the refunds that waited for it, so no interleaving can strand one.
    Chunks of one agency queue (5,000 rows each); other agencies never wait. Taken
    after the import's row lock and before any line is written, and nothing that holds a line
    lock waits for it, so it adds no deadlock."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_CHUNK_LOCK_NAMESPACE, agency_id])


def _process_chunk(statement_import: StatementImport, index: int) -> ChunkOutcome:
    agency_id = statement_import.agency_id
    low = 2 + index * CHUNK_SIZE
    high = low + CHUNK_SIZE
    params = {"agency": agency_id, "import": statement_import.pk, "low": low, "high": high}
    outcome = ChunkOutcome()
    with connection.cursor() as cursor:
        _lock_agency_chunks(cursor, agency_id)
        if index == 1 and not statement_import.is_all_or_nothing:
            # After the import's first chunk committed: on statistics from before the agency had
            # lines, PostgreSQL took the agency's lines for one row and probed each staged row's
            # key through an agency-only index, filtering every line the agency has so far (a
            # new agency's chunks grew from 0.2 to 25–77 s each: bench/chaos.py). Once per
            # import; a sample of 30,000 rows.
            cursor.execute("ANALYZE income_incomeline")
        # Ordinary lines first, so that refunds later in the same chunk find their originals.
        cursor.execute(_ORDINARY_INSERT_SQL, params)
        inserted = cursor.fetchall()
        accepted, waiting, outcome.errors = _accepted_refunds(cursor, params)
        if accepted:
            cursor.execute(_REFUND_INSERT_SQL, {**params, "accepted": accepted})
            inserted += cursor.fetchall()
        if waiting:
            cursor.execute(
                _WAITING_REFUND_INSERT_SQL,
                {
                    **params,
                    "accepted": waiting,
                    "waiting_detail": _(
                        "Refunds %(id)s, which is not recorded yet: it is matched when that line"
                        " arrives in an import, or refused then if it does not fit."
                    )
                    % {"id": "{refund_of}"},
                },
            )
            inserted += cursor.fetchall()
        # After this chunk's originals: the refunds that waited for one of them (this import's
        # or another's) are decided now, under the same lock.
        attached = _attach_waiting_refunds(cursor, agency_id)
        outcome.inserted = len(inserted)
        # Only lines still "imported" (brand deals of a known creator) need reconciling: the
        # others were inserted matched or in the queue, and passing them all cost an UPDATE
        # with a 5,000-id IN list per chunk (a third of a chunk's time) that changed nothing.
        outcome.line_ids = [line_id for line_id, status in inserted if status == LineStatus.IMPORTED]
        outcome.exceptions = sum(1 for _id, status in inserted if status == LineStatus.EXCEPTION)
        outcome.duplicates, outcome.adjustments = _duplicates_and_reissues(cursor, params)
    outcome.exceptions += outcome.adjustments
    outcome.exceptions += reconcile_lines(agency_id=agency_id, line_ids=outcome.line_ids)
    # A waiting refund's counts stay its own import's (held, an exception then); a brand deal's
    # refund goes through its reconciliation now, like a freshly imported one.
    reconcile_lines(agency_id=agency_id, line_ids=attached)
    return outcome


def _accepted_refunds(
    cursor: Any, params: dict[str, Any]
) -> tuple[list[int], list[int], list[tuple[int, str, str]]]:
    """Row numbers of the chunk's new refunds that fit in what is left of their originals, of
    those whose original is not recorded (yet), and an error for each that does not fit (in row
    order, so two refunds share what is left). Under the agency's chunk lock, "what is left"
    counts every refund any import of the agency has recorded (_lock_agency_chunks)."""
    cursor.execute(
        """
        SELECT s.row_number, s.gross_minor, s.currency, s.refund_of, original.id,
               original.gross_minor, original.currency,
               (SELECT COALESCE(sum(r.gross_minor), 0)
                  FROM income_incomeline r WHERE r.refund_of_id = original.id AND r.status <> 'dismissed')
        FROM income_stagedline s
        -- LATERAL … LIMIT 1: one probe of the unique key per refund, whatever the statistics of
        -- the lines say. As plain joins, planned on a just-filled table's old statistics
        -- ("the agency has 10 lines"), both scanned all of the agency's lines once per refund
        -- (0.3 s a chunk at 20,000 lines, growing with the table).
        LEFT JOIN LATERAL (
            SELECT o.id, o.gross_minor, o.currency
            FROM income_incomeline o
            WHERE o.agency_id = %(agency)s AND o.platform = s.platform AND o.external_id = s.refund_of
            LIMIT 1
        ) original ON true
        LEFT JOIN LATERAL (
            SELECT 1 AS found FROM income_incomeline o
            WHERE o.agency_id = %(agency)s AND o.platform = s.platform AND o.external_id = s.external_id
            LIMIT 1
        ) seen ON true
        WHERE s.statement_import_id = %(import)s AND s.row_number >= %(low)s AND s.row_number < %(high)s
          AND s.refund_of <> '' AND seen.found IS NULL
        ORDER BY s.row_number
        """,
        params,
    )
    accepted: list[int] = []
    waiting: list[int] = []
    errors: list[tuple[int, str, str]] = []
    taken: dict[int, int] = defaultdict(int)
    for row, gross, currency, refund_of, original_id, original_gross, original_currency, refunded in cursor:
        if original_id is None:
            # Not "no earlier line": statements arrive in any order (a refund's file before its
            # original's, two overlapping files at once), so the refund is held until the
            # original arrives, and decided then (_attach_waiting_refunds).
            waiting.append(row)
            continue
        refusal = _refund_refusal(
            gross=gross,
            currency=currency,
            refund_of=refund_of,
            original_gross=original_gross,
            original_currency=original_currency,
            refunded=int(refunded) + taken[original_id],  # sum() of bigint comes back as numeric
        )
        if refusal is not None:
            errors.append((row, *refusal))
            continue
        taken[original_id] += gross
        accepted.append(row)
    return accepted, waiting, errors


def _refund_refusal(
    *, gross: int, currency: str, refund_of: str, original_gross: int, original_currency: str, refunded: int
) -> tuple[str, str] | None:
    """(column, reason) when a refund of `gross` does not fit its original (`refunded`: the
    refunds recorded of it so far, negative), else None."""
    if currency != original_currency:
        return "currency", _("A refund is in the currency of its original.")
    left = original_gross + refunded
    if -gross > left:
        return "gross", _("The refund is larger than what is left of %(id)s (%(left)s %(currency)s).") % {
            "id": refund_of,
            "left": to_decimal_string(max(left, 0), currency),
            "currency": currency,
        }
    return None


# The agency's waiting refunds whose original is recorded now, oldest first: a few lines, read
# through the partial index income_line_refund_waiting, each original by one probe of its key.
_WAITING_REFUNDS_SQL = """
    SELECT w.id, w.gross_minor, w.currency, w.metadata->>'refund_of', original.id,
           original.gross_minor, original.currency,
           (SELECT COALESCE(sum(r.gross_minor), 0)
              FROM income_incomeline r WHERE r.refund_of_id = original.id AND r.status <> 'dismissed')
    FROM income_incomeline w
    JOIN LATERAL (
        SELECT o.id, o.gross_minor, o.currency
        FROM income_incomeline o
        WHERE o.agency_id = %(agency)s AND o.platform = w.platform AND o.external_id = w.metadata->>'refund_of'
        LIMIT 1
    ) original ON true
    WHERE w.agency_id = %(agency)s AND w.exception_reason = 'refund_waiting' AND w.status = 'exception'
    ORDER BY w.occurred_at, w.id
"""

# A waiting refund that fits: what a refund row of its import would have become then.
_ATTACH_SQL = f"""
    UPDATE income_incomeline s
    SET refund_of_id = attach.original,
        status = CASE WHEN s.creator_id IS NULL THEN 'exception' WHEN s.source <> 'brand_deal' THEN 'matched'
                      ELSE 'imported' END,
        exception_reason = CASE WHEN s.creator_id IS NULL THEN 'unknown_account' ELSE '' END,
        exception_detail = CASE WHEN s.creator_id IS NULL THEN {routing.UNROUTED_DETAIL_SQL} ELSE '' END,
        updated_at = now()
    FROM unnest(%(ids)s::bigint[], %(originals)s::bigint[]) AS attach(id, original)
    WHERE s.id = attach.id AND s.status = 'exception' AND s.exception_reason = 'refund_waiting'
    RETURNING s.id, s.status
"""  # noqa: S608 (a constant fragment, never input, is interpolated)

# One that does not: refused, with the reason, on the line its import recorded.
_REFUSE_WAITING_SQL = """
    UPDATE income_incomeline s
    SET status = 'dismissed', exception_reason = '', exception_detail = '',
        dismiss_reason = refused.reason, updated_at = now()
    FROM unnest(%(ids)s::bigint[], %(reasons)s::text[]) AS refused(id, reason)
    WHERE s.id = refused.id AND s.status = 'exception' AND s.exception_reason = 'refund_waiting'
"""


def _attach_waiting_refunds(cursor: Any, agency_id: int) -> list[int]:
    """Decide the agency's waiting refunds whose original is recorded now (by this chunk or an
    earlier one); returns the ids of those that became imported brand-deal refunds, which need
    reconciling.

    Under the chunk lock, after this chunk's own refunds, oldest first: each takes what is left
    of its original as a refund row would (the same check, _refund_refusal). One that fits gets
    its original and the status its row would have had (matched; the recognition queue's
    trigger queues it, and recognition takes its original along if that is not recognised
    yet); one that does not is refused: dismissed, the reason (what was left) on the line, which
    its import's page lists among the lines it recorded. Never silently: a refund is matched,
    refused with a reason, or still waiting with one."""
    cursor.execute(_WAITING_REFUNDS_SQL, {"agency": agency_id})
    attach_ids: list[int] = []
    attach_originals: list[int] = []
    refused_ids: list[int] = []
    reasons: list[str] = []
    taken: dict[int, int] = defaultdict(int)
    for (
        line_id,
        gross,
        currency,
        refund_of,
        original_id,
        original_gross,
        original_currency,
        refunded,
    ) in cursor.fetchall():
        refusal = _refund_refusal(
            gross=gross,
            currency=currency,
            refund_of=refund_of,
            original_gross=original_gross,
            original_currency=original_currency,
            refunded=int(refunded) + taken[original_id],
        )
        if refusal is None:
            taken[original_id] += gross
            attach_ids.append(line_id)
            attach_originals.append(original_id)
        else:
            refused_ids.append(line_id)
            reasons.append(
                _("Refused when %(id)s arrived: %(reason)s") % {"id": refund_of, "reason": refusal[1]}
            )
    imported: list[int] = []
    if attach_ids:
        cursor.execute(_ATTACH_SQL, {"ids": attach_ids, "originals": attach_originals})
        statuses = cursor.fetchall()
        imported = [line_id for line_id, status in statuses if status == LineStatus.IMPORTED]
        enqueue = recognition_enqueuer()
        if enqueue is not None and any(status == LineStatus.MATCHED for _id, status in statuses):
            # The queue's trigger has them; a refund of a finished import is recognised now
            # rather than at the next periodic sweep (as a line settled by hand). A broker that
            # is down loses only this nudge: the sweep still finds the lines in the queue.
            transaction.on_commit(partial(enqueue, agency_id=agency_id), robust=True)
    if refused_ids:
        cursor.execute(_REFUSE_WAITING_SQL, {"ids": refused_ids, "reasons": reasons})
    return imported


def _duplicates_and_reissues(cursor: Any, params: dict[str, Any]) -> tuple[int, int]:
    """Count the chunk's rows already recorded, and record re-issues with another amount as
    adjustment lines of the difference (exception amount_changed): the first line is never
    overwritten, and the adjustment's own key makes a second re-import a duplicate too."""
    cursor.execute(
        """
        WITH seen AS (
            SELECT s.*, line.id AS line_id, line.creator_id AS line_creator, line.platform_account_id AS line_account,
                   line.gross_minor AS first_gross, line.currency AS first_currency
            FROM income_stagedline s
            -- A probe of the unique key per row (LATERAL … LIMIT 1), never a hash of all the
            -- agency's lines chosen on old statistics (see _accepted_refunds).
            JOIN LATERAL (
                SELECT o.id, o.creator_id, o.platform_account_id, o.gross_minor, o.currency,
                       o.statement_import_id, o.row_number
                FROM income_incomeline o
                WHERE o.agency_id = %(agency)s AND o.platform = s.platform AND o.external_id = s.external_id
                LIMIT 1
            ) line ON true
            WHERE s.statement_import_id = %(import)s AND s.row_number >= %(low)s AND s.row_number < %(high)s
              AND NOT (line.statement_import_id IS NOT DISTINCT FROM s.statement_import_id
                       AND line.row_number IS NOT DISTINCT FROM s.row_number)
        ), reissued AS (
            INSERT INTO income_incomeline (
                public_id, agency_id, creator_id, platform_account_id, platform, account_id, external_id,
                source, gross_minor, currency, occurred_at, order_ref, refund_of_id, adjusts_id, description,
                metadata, statement_import_id, row_number, status, exception_reason, exception_detail,
                dismiss_reason, created_at, updated_at
            )
            SELECT fenrun_uuid7(), %(agency)s, line_creator, line_account, platform, account_id,
                -- The adjustment's own key, within the column's 200 characters: a long key keeps
                -- its start and its md5 (so two long keys that start alike stay two).
                CASE WHEN length(external_id) + length('~reissue:' || gross_minor || currency) <= 200
                     THEN external_id || '~reissue:' || gross_minor || currency
                     ELSE left(external_id, 167 - length('~reissue:' || gross_minor || currency))
                          || '~' || md5(external_id) || '~reissue:' || gross_minor || currency
                END, source,
                CASE WHEN currency = first_currency THEN gross_minor - first_gross ELSE gross_minor END,
                currency, occurred_at, order_ref, NULL, line_id, description,
                metadata || jsonb_build_object('reissued_gross_minor', gross_minor,
                                               'first_gross_minor', first_gross, 'first_currency', first_currency),
                statement_import_id, row_number, 'exception', 'amount_changed',
                'Re-issued with ' || gross_minor || ' ' || currency || ' (minor units) instead of '
                    || first_gross || ' ' || first_currency || '; this line holds the difference.',
                '', now(), now()
            FROM seen
            WHERE gross_minor <> first_gross OR currency <> first_currency
            ON CONFLICT (agency_id, platform, external_id) DO NOTHING
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM seen), (SELECT count(*) FROM reissued)
        """,
        params,
    )
    seen, reissued = cursor.fetchone()
    return seen - reissued, reissued


def reconcile_lines(*, agency_id: int, line_ids: list[int]) -> int:
    """Match freshly imported lines; returns how many went to the queue.

    Lines with a creator that are not brand deals are matched at once. Brand deal payments go
    to apps.deals (deal_reconcile_lines marks them matched or exception) when that app is
    installed; without it, a payment naming an order is matched and one without goes to the
    queue as unmatched_deal.
    """
    if not line_ids:
        return 0
    lines = IncomeLine.objects.filter(pk__in=line_ids, status=LineStatus.IMPORTED)
    # Other imported lines (a creator, not a brand deal) were inserted as matched already.
    income_line_mark(lines_qs_or_ids=lines.exclude(source="brand_deal"), status=LineStatus.MATCHED)
    brand_ids = list(lines.filter(source="brand_deal").values_list("pk", flat=True))
    if brand_ids:
        deal_reconcile_lines = brand_deal_reconciler()  # apps.deals registers it (apps.py)
        if deal_reconcile_lines is not None:
            deal_reconcile_lines(agency=Agency.objects.get(pk=agency_id), line_ids=brand_ids)
        else:
            brand = IncomeLine.objects.filter(pk__in=brand_ids)
            income_line_mark(lines_qs_or_ids=brand.exclude(order_ref=""), status=LineStatus.MATCHED)
            income_line_mark(
                lines_qs_or_ids=brand.filter(order_ref=""),
                status=LineStatus.EXCEPTION,
                exception_reason=Reason.UNMATCHED_DEAL,
                detail="A brand deal payment without an order reference.",
            )
    if not brand_ids:
        return 0
    return IncomeLine.objects.filter(
        pk__in=brand_ids,
        status=LineStatus.EXCEPTION,
        exception_reason__in=[r for r in Reason.values if r != "unknown_account"],
    ).count()


# --- 3. recognition ---------------------------------------------------------------------------


# (agency, line ids, cause) -> exceptions: the recognition app registers it (apps/recognition/
# apps.py); income imports nothing above it and hands it the lines to recognise.
RecognitionStep = Callable[..., int]
_recognition_steps: dict[str, RecognitionStep] = {}


def register_recognition_step(step: RecognitionStep) -> None:
    _recognition_steps["step"] = step


def _recognise_step(statement_import: StatementImport) -> bool:
    """The import's next RECOGNITION_BATCH matched lines, after the last step's: a keyset on
    (creator, occurred_at, id) over the index income_line_import_order, saved on the import row
    in the step's transaction (a step re-run after a crash takes the same lines).

    By creator, then in time: the engine's state belongs to a contract version, and a version
    and the advances it recoups to one creator, so each creator's lines in time order are split
    exactly as in a global time order; and a batch then holds most of a creator's lines, so the
    ledger gets one entry per creator and month instead of one per creator, month and batch."""
    step = _recognition_steps.get("step")
    if statement_import.recognition_started_at is None:
        # The chunks have just added up to a million rows that autovacuum has not analysed yet:
        # with the old statistics PostgreSQL plans the batch's reads as if the table were
        # small (a nested loop over a sequential scan took 108 s for 20,000 lines at 100k).
        # Once per import, at its first recognition step; cheap (a sample of 30,000 rows).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE income_incomeline")
        statement_import.recognition_started_at = timezone.now()
    lines = IncomeLine.objects.filter(statement_import=statement_import, status=LineStatus.MATCHED)
    if statement_import.recognised_until_id is not None:
        # A row comparison (constant SQL, bound parameters): what the index is ordered by.
        lines = lines.extra(
            where=[
                "(income_incomeline.creator_id, income_incomeline.occurred_at, income_incomeline.id)"
                " > (%s, %s, %s)"
            ],
            params=[
                statement_import.recognised_until_creator_id,
                statement_import.recognised_until_at,
                statement_import.recognised_until_id,
            ],
        )
    batch = list(
        lines.order_by("creator_id", "occurred_at", "id").values_list("pk", "creator_id", "occurred_at")[
            :RECOGNITION_BATCH
        ]
    )
    if batch and step is not None:
        statement_import.exception_count += step(
            agency=statement_import.agency,
            line_ids=[line_id for line_id, _creator, _at in batch],
            cause=f"import:{statement_import.pk}",
        )
        (
            statement_import.recognised_until_id,
            statement_import.recognised_until_creator_id,
            statement_import.recognised_until_at,
        ) = batch[-1]
        statement_import.lines_recognised += len(batch)
        if len(batch) == RECOGNITION_BATCH:
            return True
    StagedLine.objects.filter(statement_import=statement_import).delete()
    statement_import.status = ImportStatus.DONE
    statement_import.rows_done = statement_import.rows_total
    statement_import.finished_at = timezone.now()
    return False
