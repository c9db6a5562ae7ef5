"""Recognition's tables: what each income line's split was, written once, and what the engine needs
to recompute it.

* RuleSetSnapshot: a split rule set document exactly as it was evaluated, once per content hash.
* RecognitionBatch: one recognition transaction of one agency (an import step, a sweep, a
  re-issue). Its id is in the idempotency keys of the entries it posts.
* LineAllocation: one recognised line's split, in integer minor units, in its final state; never
  updated (the application role may only INSERT it, apps/ledger/roles.py). A line is recognised
  exactly when it has an allocation (its primary key is the line's id).
* EntryCover: which allocations a journal entry covers (one row per entry): the entry's Merkle
  root is over their leaves, in ordinal order.
* EngineState: the engine's carried state per contract version after its last allocated line,
  with the number of lines allocated under it (the next line's ordinal).
* StateCheckpoint: the state before every CHECKPOINT_EVERY-th line of a version, so that a line's
  explanation replays at most that many lines (apps/recognition/replay.py).

Every table carries agency_id (docs/scaling.md). Foreign keys to other apps' rows are not
declared in the database (db_constraint=False): lines, versions and entries are never deleted
(their apps refuse it), and a per-row check would cost each of a million allocations at commit.
"""

from __future__ import annotations

import pgtrigger
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

CHECKPOINT_EVERY = 1000
ENGINE_VERSION = 1  # bump when the split engine's results change; old allocations keep theirs


class RuleSetSnapshot(models.Model):
    sha256 = models.CharField(max_length=64, unique=True)
    document = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        triggers = [
            pgtrigger.Protect(name="protect_update_delete", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"rule set {self.sha256[:12]}"


class RecognitionBatch(models.Model):
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    # What ran it: "import:<id>:<step>", "pending", "reissue"…, for people and the logs.
    cause = models.CharField(max_length=100)
    engine_version = models.PositiveSmallIntegerField(default=ENGINE_VERSION)
    line_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["agency", "created_at"], name="recognition_batch_agency")]
        triggers = [pgtrigger.Protect(name="protect_delete", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"recognition batch {self.pk} ({self.cause})"


class LineAllocation(models.Model):
    """Amounts are in the rule set's currency (`currency`): the engine's gross (converted when the
    statement's currency differs), each deduction in the rule's part order, each party's payable in
    the rule set's party order, and what was recouped of the creator's advance."""

    line = models.OneToOneField(
        "income.IncomeLine",
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="allocation",
        db_constraint=False,
    )
    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    creator = models.ForeignKey(
        "creators.Creator", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    batch = models.ForeignKey(
        RecognitionBatch, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    contract_version = models.ForeignKey(
        "contracts.ContractVersion",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # The line's position among its version's allocations (0, 1, 2…): the engine's order.
    ordinal = models.PositiveIntegerField()
    entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    rule_set = models.ForeignKey(
        RuleSetSnapshot, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    engine_version = models.PositiveSmallIntegerField()
    rule_index = models.PositiveSmallIntegerField()
    currency = models.CharField(max_length=3)
    gross_minor = models.BigIntegerField()
    # Engine inputs that are not the line's own: approved deal expenses offered to the line, and
    # the creator's outstanding advance when it was evaluated (shared by the creator's versions).
    expenses_claimed_minor = models.BigIntegerField(default=0)
    advance_before_minor = models.BigIntegerField(default=0)
    # Deductions (rule part order), payables (party order), recouped: one integer array.
    amounts_minor = ArrayField(models.BigIntegerField())
    # Set when the statement's currency is not the rule set's: what the statement said and the rate.
    original_gross_minor = models.BigIntegerField(null=True, blank=True)
    original_currency = models.CharField(max_length=3, blank=True, default="")
    fx_rate = models.DecimalField(max_digits=24, decimal_places=12, null=True, blank=True)
    fx_source = models.CharField(max_length=64, blank=True, default="")
    fx_date = models.DateField(null=True, blank=True)
    # The line the engine refunded this one against (a refund's original, or the line the deals
    # app re-pointed it to: the latest re-issue of a line re-issued for expenses).
    refund_of_line_id = models.BigIntegerField(null=True, blank=True)
    # The day it counts for in the ledger (the next open month's first day if its month was closed).
    effective_date = models.DateField()

    class Meta:
        indexes = [
            # A creator's allocations by ledger day: their home's twelve months and their income
            # list filtered by month read only their own rows of those days (apps/recognition/
            # shares.py), whatever the size of the table. One more B-tree entry per allocation.
            models.Index(fields=["creator", "effective_date"], name="recognition_alloc_creator_day"),
            # An agency's allocations by ledger day: its revenue reports (apps/reports) and the
            # statements' quarter report read a range of months, not every line the agency had.
            models.Index(fields=["agency", "effective_date"], name="recognition_alloc_agency_day"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "contract_version", "ordinal"], name="recognition_allocation_order"
            ),
            models.CheckConstraint(condition=~Q(gross_minor=0), name="recognition_allocation_non_zero"),
        ]
        triggers = [
            pgtrigger.Protect(name="protect_update_delete", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"allocation of line {self.line_id}"

    @property
    def recouped_minor(self) -> int:
        return int(self.amounts_minor[-1])


class EntryCover(models.Model):
    """The allocations a journal entry covers: those of `contract_version` with ordinals
    first_ordinal … first_ordinal + line_count - 1 whose entry is this one (an entry's lines
    are consecutive in its version's order, except that a refund group and an income group of
    the same batch and month interleave: the entry_id of each allocation decides)."""

    entry = models.OneToOneField(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="+",
        db_constraint=False,
    )
    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    batch = models.ForeignKey(
        RecognitionBatch, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    contract_version = models.ForeignKey(
        "contracts.ContractVersion",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    first_ordinal = models.PositiveIntegerField()
    last_ordinal = models.PositiveIntegerField()
    line_count = models.PositiveIntegerField()

    class Meta:
        triggers = [
            pgtrigger.Protect(name="protect_update_delete", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"entry {self.entry_id} covers {self.line_count} lines"


class EngineState(models.Model):
    contract_version = models.OneToOneField(
        "contracts.ContractVersion", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+", db_index=False)
    state = models.JSONField(default=dict)
    line_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"engine state of contract version {self.contract_version_id}"


class StateCheckpoint(models.Model):
    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    contract_version = models.ForeignKey(
        "contracts.ContractVersion",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    ordinal = models.PositiveIntegerField(help_text="The state before the line with this ordinal.")
    state = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "contract_version", "ordinal"], name="recognition_checkpoint_unique"
            )
        ]
        triggers = [
            pgtrigger.Protect(name="protect_update_delete", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"state of version {self.contract_version_id} before line {self.ordinal}"
