"""Income: statement imports, the income lines they yield, and what recognition needs.

Design
------
* A StatementImport is one uploaded file. A worker stages its rows (parsed and validated in
  Python, COPYed into StagedLine), then processes them in chunks of CHUNK_SIZE rows; each chunk
  commits its lines, its row errors, its counts and its ImportChunk marker together, so a chunk
  re-run after a crash finds its marker and does nothing (the business key is (import, index)).
* An IncomeLine is unique per (agency, platform, external_id): that key is the idempotency of
  the whole pipeline. Lines are inserted with INSERT ... ON CONFLICT DO NOTHING, so the same
  row in any later file is a duplicate, never a second line.
* A re-issued row (same key, different amount or currency) never overwrites the first line: it
  becomes an *adjustment* line of the difference, in the exceptions queue with reason
  amount_changed, until a person assigns or dismisses it (see services.py).
* Money is integer minor units. A line keeps the statement's amount and currency for ever.
* Lines are facts, written once: recognition (apps/recognition) never updates a line; a
  recognised line has an allocation there (amounts, conversion, contract version, entry), and
  `IncomeLine.state` reads it.
"""

from __future__ import annotations

import uuid

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.common.catalog import Platform, Source
from apps.common.ids import uuid7
from apps.common.validators import EARLIEST_MOMENT, LATEST_MOMENT_EXCLUSIVE

CHUNK_SIZE = 5_000


STEP_LABELS = {
    # The first step reads, checks and stages the whole file in one transaction: until it
    # commits, the import looks queued to everyone else.
    "queued": _("Queued: the file is read and checked first"),
    "matching": _("Matching rows to creators, deals and earlier lines"),
    "recognising": _("Splitting the lines and recording them in the ledger"),
    "done": _("Done"),
    "failed": _("Failed"),
}


# Created by a person; each status change (queued → running → done / failed) is an event, not the
# progress counters a running import updates every batch.
@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(condition=pghistory.AnyChange("status")))
class StatementImport(models.Model):
    class Format(models.TextChoices):
        AUTO = "auto", _("Detect")
        CANONICAL = "canonical", _("Canonical CSV")
        XLSX = "xlsx", _("Excel (canonical header)")
        YOUTUBE = "youtube", _("YouTube revenue report")
        DOUYIN = "douyin", _("Douyin settlement bill")
        # The adapters of real platform exports (apps/income/importers/, docs/platform-exports.md).
        YT_STUDIO = "yt_studio", _("YouTube Studio export")
        YT_REPORTING = "yt_reporting", _("YouTube reporting revenue report")
        DOUDIAN_SETTLE = "doudian_settle", _("Douyin Shop settlement bill")
        DOUDIAN_FUNDS = "doudian_funds", _("Douyin Shop fund flow")
        BUYIN_ORDERS = "buyin_orders", _("Buyin order and commission export")
        TAOBAO_UNION = "taobao_union", _("Taobao Union order report")
        # Read with one of the agency's import templates (apps/importmaps, docs/import-templates.md).
        TEMPLATE = "template", _("Import template")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="statement_imports")
    file = models.FileField(upload_to="income/imports/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True, default="")
    format = models.CharField(max_length=16, choices=Format.choices, default=Format.AUTO)
    encoding = models.CharField(max_length=16, blank=True, default="")
    # SHA-256 of the uploaded bytes (hex), computed while staging: the same file imported again
    # by the same agency takes the re-import short cut (see apps/income/pipeline.py).
    content_sha256 = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    is_all_or_nothing = models.BooleanField(_("all or nothing"), default=False)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    imported_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    adjustment_count = models.PositiveIntegerField(default=0)
    exception_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, default="")
    # The platform account an export that names none is for (a YouTube Studio export, a 抖店
    # bill), chosen at upload and checked against the agency's creators' accounts.
    platform_account = models.ForeignKey(
        "creators.PlatformAccount", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The month ("2026-11") an export covers when its rows carry no date (a per-video Studio table).
    statement_period = models.CharField(max_length=7, blank=True, default="")
    # Which adapter read the file and why, and the rows it skipped (notes, totals) or warned
    # about, apart from the row errors: {"format", "label", "reason", "header_row", "columns",
    # "skipped": [{"row", "reason"}], "skipped_count", "warnings": [{"row", "message"}], "warning_count"}.
    detection = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set by the first recognition step (which ANALYZEs the lines the chunks just added).
    recognition_started_at = models.DateTimeField(null=True, blank=True)
    # Lines handed to recognition by the import's own steps so far: the progress bar's last part.
    lines_recognised = models.PositiveIntegerField(default=0)
    # The last line handed to recognition (its (creator, occurred_at, id)): the next step starts
    # after it (apps/income/pipeline.py, _recognise_step).
    recognised_until_creator_id = models.BigIntegerField(null=True, blank=True)
    recognised_until_at = models.DateTimeField(null=True, blank=True)
    recognised_until_id = models.BigIntegerField(null=True, blank=True)
    # Touched by every committed step: statement_import_resume_stalled reads it as a heartbeat.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The re-import short cut's look-up: an earlier import of the same bytes by the agency.
            models.Index(fields=["agency", "content_sha256"], name="income_import_agency_sha256"),
        ]

    def __str__(self) -> str:
        return f"import {self.public_id} ({self.status})"

    @property
    def progress_percent(self) -> int:
        """Reading the file is the first tenth, matching rows the next four tenths, splitting
        them into the ledger the last half (at a million rows recognition is about half the time): the bar
        never sits at 100 % while recognition still runs."""
        if self.status == self.Status.DONE:
            return 100
        step = self.step
        if step == "queued":
            return 0
        if step == "matching":
            return 10 + (40 * self.rows_done // self.rows_total if self.rows_total else 0)
        if step == "recognising":
            expected = max(self.imported_count - self.exception_count, 1)
            return min(99, 50 + 50 * self.lines_recognised // expected)
        return min(100, self.rows_done * 100 // self.rows_total) if self.rows_total else 0

    @property
    def step(self) -> str:
        """Which step runs now: queued, matching, recognising, done or failed."""
        if self.status in (self.Status.DONE, self.Status.FAILED):
            return str(self.status)
        if self.status == self.Status.QUEUED:
            return "queued"
        if self.recognition_started_at is None:
            return "matching"
        return "recognising"

    @property
    def step_display(self) -> str:
        return str(STEP_LABELS[self.step])

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ImportRowError(models.Model):
    """A row that could not be taken: its row number in the file (header = 1), column and reason."""

    statement_import = models.ForeignKey(StatementImport, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField()
    column = models.CharField(max_length=64, blank=True, default="")
    reason = models.TextField()

    class Meta:
        ordering = ["statement_import_id", "row_number", "id"]

    def __str__(self) -> str:
        return f"row {self.row_number} {self.column}: {self.reason}"


class ImportChunk(models.Model):
    """Marker of a processed chunk: the business key that makes a re-delivered chunk task a no-op."""

    statement_import = models.ForeignKey(StatementImport, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    finished_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["statement_import", "index"], name="income_import_chunk_once"),
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of import {self.statement_import_id}"


class StagedLine(models.Model):
    """A validated row waiting for its chunk (COPYed in by the staging step, deleted when done)."""

    # Checked once per COPY by the statement-level trigger of migration 0012, not per row.
    statement_import = models.ForeignKey(
        StatementImport, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    row_number = models.PositiveIntegerField()
    external_id = models.CharField(max_length=200)
    platform = models.CharField(max_length=32)
    account_id = models.CharField(max_length=128)
    source = models.CharField(max_length=32)
    gross_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    order_ref = models.CharField(max_length=200, blank=True, default="")
    refund_of = models.CharField(max_length=200, blank=True, default="")
    description = models.TextField(blank=True, default="")
    metadata = models.JSONField(default=dict)

    class Meta:
        constraints = [
            # Also the index every chunk reads by: (import, row range).
            models.UniqueConstraint(fields=["statement_import", "row_number"], name="income_staged_row_once"),
        ]

    def __str__(self) -> str:
        return f"staged row {self.row_number} of import {self.statement_import_id}"


# Lines are written by the million on the hot path (COPY at import, bulk UPDATEs at
# reconciliation and recognition): no insert events, and an update is an event only when a person
# settles a line, i.e. resolved_by or dismiss_reason change, or an exception becomes something
# else (assigned to a deal or creator). The trigger's WHEN clause keeps the bulk paths free of
# it. The snapshot holds what a resolution changes.
@pghistory.track(
    pghistory.UpdateEvent(
        "resolve",
        condition=pghistory.Q(new__resolved_by__df=pghistory.F("old__resolved_by"))
        | pghistory.Q(new__dismiss_reason__df=pghistory.F("old__dismiss_reason"))
        | (pghistory.Q(old__status="exception") & pghistory.Q(new__status__df=pghistory.F("old__status"))),
    ),
    fields=["agency", "creator", "status", "exception_reason", "dismiss_reason", "resolved_by"],
    model_name="IncomeLineEvent",
)
class IncomeLine(models.Model):
    class Status(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        MATCHED = "matched", _("Matched")
        RECOGNISED = "recognised", _("Recognised")
        EXCEPTION = "exception", _("In exception")
        DISMISSED = "dismissed", _("Dismissed")

    class ExceptionReason(models.TextChoices):
        UNKNOWN_ACCOUNT = "unknown_account", _("Unknown account")
        UNMATCHED_DEAL = "unmatched_deal", _("No matching brand deal")
        PARTIAL = "partial", _("Partial payment")
        OVERPAID = "overpaid", _("Overpaid")
        AMOUNT_CHANGED = "amount_changed", _("Re-issued with another amount")
        NO_CONTRACT = "no_contract", _("No contract in force")
        NO_FX_RATE = "no_fx_rate", _("No exchange rate recorded")
        ENGINE_ERROR = "engine_error", _("The split rules refused the line")
        # Stored before imports checked dates (income migration 0007 moved them here).
        DATE_OUT_OF_RANGE = "date_out_of_range", _("Date outside the accepted range")
        # A refund whose original (metadata "refund_of") is not recorded yet: held, and matched
        # by the chunk that records the original (apps/income/pipeline.py, _attach_waiting_refunds).
        REFUND_WAITING = "refund_waiting", _("Refund waiting for its original")

    # Time-ordered (apps/common/ids; fenrun_uuid7() in SQL, migration 0006): a chunk's lines
    # go to the unique index's right edge.
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    # No single-column indexes where a composite one leads with the column (agency: the unique key
    # and income_line_agency_status; creator: income_line_creator_time; statement_import:
    # income_line_import_order): every index costs each line's insert.
    # agency, creator, platform_account and statement_import are checked once per INSERT, COPY or
    # UPDATE statement by the triggers of migration 0012, not by deferred per-row foreign keys
    # (22 µs a line for the four at commit); their parents cannot be deleted while a line names them.
    agency = models.ForeignKey(
        "agencies.Agency",
        on_delete=models.PROTECT,
        related_name="income_lines",
        db_index=False,
        db_constraint=False,
    )
    creator = models.ForeignKey(
        "creators.Creator",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="income_lines",
        db_index=False,
        db_constraint=False,
    )
    platform_account = models.ForeignKey(
        "creators.PlatformAccount",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    platform = models.CharField(max_length=32, choices=Platform.choices)
    account_id = models.CharField(max_length=128, blank=True, default="")
    external_id = models.CharField(max_length=200)
    source = models.CharField(max_length=32, choices=Source.choices)
    gross_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    order_ref = models.CharField(max_length=200, blank=True, default="")
    # refund_of, adjusts and resolved_by are set on few lines: partial indexes (see Meta) skip
    # the NULLs, so the other lines' INSERT and recognition UPDATE pay three index entries fewer.
    refund_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="refunds", db_index=False
    )
    adjusts = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="adjustments",
        db_index=False,
        help_text="For an amount_changed adjustment: the line whose re-issue it records.",
    )
    description = models.TextField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    statement_import = models.ForeignKey(
        StatementImport,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lines",
        db_index=False,
        db_constraint=False,
    )
    row_number = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IMPORTED)
    exception_reason = models.CharField(
        max_length=32, choices=ExceptionReason.choices, blank=True, default=""
    )
    exception_detail = models.TextField(blank=True, default="")
    dismiss_reason = models.TextField(blank=True, default="")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            # The idempotency key of every statement: a row seen once is never a second line.
            models.UniqueConstraint(
                fields=["agency", "platform", "external_id"], name="income_line_unique_external_id"
            ),
            models.CheckConstraint(condition=~Q(gross_minor=0), name="income_line_non_zero"),
            models.CheckConstraint(
                condition=~Q(status="exception") | ~Q(exception_reason=""),
                name="income_line_exception_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["matched", "recognised"]) | Q(creator__isnull=False),
                name="income_line_matched_has_creator",
            ),
            # A business date in some zone (apps.common.validators): a BC or year-10000 instant
            # cannot be read back into Python, and one such line made every page listing it 500.
            models.CheckConstraint(
                condition=Q(occurred_at__gte=EARLIEST_MOMENT, occurred_at__lt=LATEST_MOMENT_EXCLUSIVE),
                name="income_line_occurred_in_bounds",
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "status"], name="income_line_agency_status"),
            # The agency's income list, newest first (issue 14): its pages (a keyset on
            # (occurred_at, id)), its capped count and the month filter's bound read this index
            # from where they start, never every line of the agency. One more entry per line.
            models.Index(fields=["agency", "occurred_at", "id"], name="income_line_agency_time"),
            models.Index(fields=["creator", "occurred_at"], name="income_line_creator_time"),
            # Recognition reads an import's lines by creator and time, a step at a time.
            models.Index(
                fields=["statement_import", "creator", "occurred_at", "id"], name="income_line_import_order"
            ),
            models.Index(
                fields=["refund_of"], condition=Q(refund_of__isnull=False), name="income_line_refund_of"
            ),
            models.Index(fields=["adjusts"], condition=Q(adjusts__isnull=False), name="income_line_adjusts"),
            # Every chunk looks for the agency's refunds waiting for an original: a few lines,
            # never the agency's other exceptions (an unrouted import can queue a million).
            models.Index(
                fields=["agency"],
                condition=Q(exception_reason="refund_waiting"),
                name="income_line_refund_waiting",
            ),
            models.Index(
                fields=["resolved_by"], condition=Q(resolved_by__isnull=False), name="income_line_resolved_by"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id}"

    @property
    def is_recognised(self) -> bool:
        """Recognised lines have an allocation (apps/recognition): the line itself is not updated."""
        return hasattr(self, "allocation")

    @property
    def state(self) -> str:
        """The status people see: recognised once allocated, else the stored status."""
        return self.Status.RECOGNISED if self.is_recognised else self.status

    @property
    def state_display(self) -> str:
        return str(self.Status(self.state).label)


class RecognitionQueue(models.Model):
    """Lines that became matched after their import had recognised its own: resolved by hand,
    routed when an account was confirmed, matched to a deal late, sent back when a rate arrived.

    Written by a statement-level trigger on every UPDATE that turns lines matched (migration
    0014), so no code path can forget it; the lines an import inserts matched are its own steps'
    to recognise and are not queued (a failed import queues what it leaves). The periodic sweep
    reads this small table instead of every matched line the agency ever had (recognised lines
    stay matched: they are never updated), and recognition removes the lines it has settled.
    """

    line = models.OneToOneField(
        IncomeLine, on_delete=models.DO_NOTHING, primary_key=True, related_name="+", db_constraint=False
    )
    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    queued_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"line {self.line_id} waiting for recognition"


class FxRate(models.Model):
    """A recorded exchange rate: 1 unit of `base` = `rate` units of `quote` on `date`, per `source`.

    A Decimal, never a float: conversions multiply minor units by it and round half up once.

    Whose rate: `agency` set, the rate that agency's finance recorded, which converts that
    agency's lines and no other's; `agency` NULL, a reference rate staff recorded (admin), for
    every agency. Recognition converts a line at the latest of the agency's own rates for the pair
    on or before the line's day; only when the agency has none on or before that day, at the
    latest reference rate (apps/recognition/batch.py, _Rates; docs/exchange-rates.md). A rate is
    recorded through apps.income.services.fx_rate_record and never changed: lines converted at
    it keep it on their allocation.
    """

    # No index of its own: the unique constraint's index leads with it.
    agency = models.ForeignKey(
        "agencies.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fx_rates",
        db_index=False,
        help_text="Empty: a reference rate for every agency.",
    )
    base = models.CharField(max_length=3)
    quote = models.CharField(max_length=3)
    date = models.DateField()
    rate = models.DecimalField(max_digits=24, decimal_places=12)
    source = models.CharField(max_length=64, help_text="Who published the rate, e.g. PBOC central parity.")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["base", "quote", "-date"]
        constraints = [
            # nulls_distinct=False: two reference rates (agency NULL) of one day and source clash
            # too, as two of one agency's do.
            models.UniqueConstraint(
                fields=["agency", "base", "quote", "date", "source"],
                name="income_fx_rate_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="income_fx_rate_positive"),
            models.CheckConstraint(
                condition=~Q(base=models.F("quote")), name="income_fx_rate_two_currencies"
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.base} = {self.rate_text} {self.quote} on {self.date} ({self.source})"

    @property
    def rate_text(self) -> str:
        """The rate as a decimal string without trailing zeros ("7.1234", "100"), never "1E+2"."""
        return format(self.rate.normalize(), "f")


class ClosedPeriod(models.Model):
    """A month of one agency that is closed: nothing more posts into it."""

    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="closed_periods")
    period = models.CharField(max_length=7)
    closed_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    top_up_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["agency_id", "period"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "period"], name="income_closed_period_once"),
            models.CheckConstraint(
                condition=Q(period__regex=r"^[0-9]{4}-(0[1-9]|1[0-2])$"), name="income_closed_period_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} {self.period} closed"
