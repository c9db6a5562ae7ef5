"""The ledger's tables. The design is described in apps/ledger/services.py.

What PostgreSQL itself enforces here (so that no code path, admin or psql session can bypass it):

* postings are non-zero, name an existing entry and an existing account, and carry their
  account's currency (checked once per INSERT/COPY statement by the trigger of migration 0007,
  which replaced per-row foreign keys); accounts are never deleted and never change id or
  currency (trigger, same migration);
* every entry has at least two postings and sums to zero per currency (a deferred constraint
  trigger per entry, checked at commit so that an entry and its postings can be inserted in any
  order within one transaction), and postings are only written in their entry's transaction (a
  statement-level trigger, migration 0004: a posting added later to a committed entry is
  refused, so the one check per entry covers every posting). They are plain SQL in migrations
  0003 and 0004, not pgtrigger triggers:
  pgtrigger wraps every call in an exception block (a subtransaction) to read its ignore
  list, which made the commit of a 10,000-entry batch 11 times slower;
* entries and postings are never UPDATEd or DELETEd (pgtrigger.Protect);
* a reversal names the entry it reverses, an entry is reversed at most once (unique), and a
  reversal is never reversed itself (trigger).

Balances and the per-agency head are the only mutable rows: both are derived from the
immutable rows and re-checked by `manage.py verify_ledger`.
"""

from __future__ import annotations

import uuid

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.common.ids import uuid7

GENESIS_HASH = "0" * 64


class Account(models.Model):
    """One account of one agency's ledger, in one currency, for one purpose (and maybe one creator).

    Signs: a posting's amount is positive for a debit and negative for a credit, so that every
    entry sums to zero. Liabilities and revenue (creator payable, agency revenue) therefore
    carry negative balances; `Account.normal_sign` turns them into the figure people expect.
    """

    class Purpose(models.TextChoices):
        CREATOR_PAYABLE = "creator_payable", _("Creator payable")
        PARTY_PAYABLE = "party_payable", _("Other party payable")  # key: the party slug
        AGENCY_REVENUE = "agency_revenue", _("Agency revenue")
        ADVANCES_RECEIVABLE = "advances_receivable", _("Advances receivable")
        DEDUCTION = "deduction", _("Deduction")  # key: the rule's deduction id
        INCOME_CLEARING = "income_clearing", _("Income clearing")
        GUARANTEE_TOP_UP = "guarantee_top_up", _("Guarantee top-up")
        # The agency's expense of interest on late payments to creators (debit-normal, like the
        # guarantee top-up expense): posted by apps/statements when the agency decides to.
        LATE_INTEREST = "late_interest", _("Late payment interest")
        # What the agency bears of disputes it resolved with money (debit-normal, an expense like
        # the two above): apps/disputes posts each correction here against the creator's payable.
        # Corrections before it went to agency revenue under the key "dispute_adjustments"; those
        # accounts keep their postings (the ledger rewrites nothing) and the reports count both.
        DISPUTE_CORRECTION = "dispute_correction", _("Dispute corrections")
        TAX_WITHHOLDING_PAYABLE = "tax_withholding_payable", _("Tax withholding payable")
        PAYOUTS_IN_FLIGHT = "payouts_in_flight", _("Payouts in flight")
        BANK = "bank", _("Bank / cash")
        ROUNDING = "rounding", _("Rounding")
        FX = "fx", _("Foreign exchange")

    # Accounts whose balance is normally a credit (negative): shown negated to people.
    CREDIT_NORMAL = frozenset(
        {
            Purpose.CREATOR_PAYABLE,
            Purpose.PARTY_PAYABLE,
            Purpose.AGENCY_REVENUE,
            Purpose.DEDUCTION,
            Purpose.TAX_WITHHOLDING_PAYABLE,
            Purpose.PAYOUTS_IN_FLIGHT,
        }
    )
    CREATOR_REQUIRED = frozenset({Purpose.CREATOR_PAYABLE, Purpose.ADVANCES_RECEIVABLE})

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="ledger_accounts")
    creator = models.ForeignKey(
        "creators.Creator", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    key = models.CharField(max_length=64, blank=True, default="")
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agency_id", "purpose", "key", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "creator", "purpose", "key", "currency"],
                nulls_distinct=False,
                name="ledger_account_unique_purpose",
            ),
            # Target of the postings' composite foreign key (account_id, currency).
            models.UniqueConstraint(fields=["id", "currency"], name="ledger_account_id_currency"),
            models.CheckConstraint(
                condition=~Q(purpose__in=["creator_payable", "advances_receivable"])
                | Q(creator__isnull=False),
                name="ledger_account_creator_required",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="ledger_account_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        parts = [self.get_purpose_display()]
        if self.key:
            parts.append(self.key)
        if self.creator_id:
            parts.append(f"creator {self.creator_id}")
        return f"{' · '.join(parts)} ({self.currency})"

    @property
    def normal_sign(self) -> int:
        return -1 if self.purpose in self.CREDIT_NORMAL else 1


class LedgerHead(models.Model):
    """The tip of one agency's hash chain. Its row lock serialises appends to that ledger."""

    agency = models.OneToOneField(
        "agencies.Agency", on_delete=models.PROTECT, primary_key=True, related_name="ledger_head"
    )
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"ledger head of agency {self.agency_id} at {self.last_seq}"


class JournalEntry(models.Model):
    """One balanced movement of money, immutable once committed, chained to its predecessor."""

    class Kind(models.TextChoices):
        INCOME_LINE = "income_line", _("Income line")
        REFUND = "refund", _("Refund")
        GUARANTEE_TOP_UP = "guarantee_top_up", _("Guarantee top-up")
        ADVANCE = "advance", _("Advance")
        PAYOUT = "payout", _("Payout")
        LATE_INTEREST = "late_interest", _("Late payment interest")
        MANUAL_ADJUSTMENT = "manual_adjustment", _("Manual adjustment")
        REVERSAL = "reversal", _("Reversal")

    # Time-ordered (apps/common/ids): appends go to the unique index's right edge.
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    # No single-column indexes on agency and creator: (agency, seq) and (creator, effective_date)
    # lead with them, and every index costs each entry of the bulk path.
    # agency and creator are checked once per INSERT or COPY by the statement-level trigger of
    # migration 0009 (0011 since) instead of per-row foreign keys (those cost ~12 µs a line at
    # commit); the agency and creator an entry names cannot be deleted (triggers there).
    agency = models.ForeignKey(
        "agencies.Agency",
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        db_index=False,
        db_constraint=False,
    )
    # The creator the entry is about (splits, advances, payouts); null for agency-only movements.
    creator = models.ForeignKey(
        "creators.Creator",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
        db_index=False,
        db_constraint=False,
    )
    seq = models.BigIntegerField(help_text="Position in the agency's chain: 1, 2, 3… without gaps.")
    prev_hash = models.CharField(max_length=64)
    # Not indexed: the chain is walked by (agency, seq), and an index on a random hash costs every
    # append a random page of a large B-tree.
    hash = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=200)
    request_sha256 = models.CharField(
        max_length=64, help_text="Fingerprint of what was asked: a reused key must ask the same."
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    cause_reference = models.CharField(max_length=200, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    # Not indexed (only manual adjustments have an author; users are never deleted): each index
    # costs every append.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    memo = models.CharField(max_length=500, blank=True, default="")
    effective_date = models.DateField(help_text="The day the movement counts for, in the agency's time zone.")
    posted_at = models.DateTimeField()
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    # What the entry covers, when it aggregates many facts (a recognition batch's lines of one
    # creator, contract version, currency and month): the Merkle root over the facts' leaves and
    # their number. The ledger only chains them (they are part of the hashed content); the app
    # that owns the facts recomputes the root (apps/recognition/verification.py).
    lines_root = models.CharField(max_length=64, blank=True, default="")
    line_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = _("journal entries")
        ordering = ["agency_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "seq"], name="ledger_entry_seq_unique"),
            # Keys are unique per ledger: one agency's keys never collide with, or reveal,
            # another's. A constraint rather than unique=True: no second varchar_pattern_ops index.
            models.UniqueConstraint(
                fields=["agency", "idempotency_key"], name="ledger_entry_idempotency_key_unique"
            ),
            models.CheckConstraint(condition=Q(seq__gte=1), name="ledger_entry_seq_positive"),
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False)
                | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="ledger_entry_reversal_names_original",
            ),
            models.CheckConstraint(
                condition=~Q(kind="manual_adjustment") | (~Q(reason="") & Q(author__isnull=False)),
                name="ledger_entry_manual_has_reason_and_author",
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "effective_date"], name="ledger_entry_agency_date"),
            models.Index(fields=["creator", "effective_date"], name="ledger_entry_creator_date"),
        ]
        triggers = [
            pgtrigger.Protect(name="protect_update_delete", operation=pgtrigger.Update | pgtrigger.Delete),
            pgtrigger.Trigger(
                name="no_reversal_of_reversal",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                condition=pgtrigger.Q(new__reverses__isnull=False),
                func="""
                    IF EXISTS (SELECT 1 FROM ledger_journalentry
                               WHERE id = NEW.reverses_id AND (kind = 'reversal' OR agency_id <> NEW.agency_id)) THEN
                        RAISE EXCEPTION 'ledger entry % is a reversal or belongs to another ledger: it cannot be reversed',
                            NEW.reverses_id USING ERRCODE = 'check_violation';
                    END IF;
                    RETURN NEW;
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.get_kind_display()} ({self.idempotency_key})"


class Posting(models.Model):
    """One signed amount on one account: positive debits, negative credits."""

    # No single-column indexes: (entry, line_no) and (account, entry) cover both lookups, and
    # every extra index slows the bulk COPY path.
    # Both references are checked by the statement-level trigger of migration 0007 (one join per
    # INSERT or COPY) instead of per-row foreign keys: those cost ~15 µs per posting, a third of a
    # recognition batch's database time. It also proves the posting's currency is its account's.
    # Entries and accounts are never deleted and their keys never change (triggers), so a check
    # at insert time stays true: what the foreign keys' row locks were there to guarantee.
    entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="postings", db_index=False, db_constraint=False
    )
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="postings", db_constraint=False, db_index=False
    )
    line_no = models.PositiveSmallIntegerField()
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["entry_id", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "line_no"], name="ledger_posting_line_unique"),
            models.CheckConstraint(condition=~Q(amount_minor=0), name="ledger_posting_non_zero"),
        ]
        indexes = [models.Index(fields=["account", "entry"], name="ledger_posting_account_entry")]
        triggers = [
            pgtrigger.Protect(name="protect_update_delete", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.amount_minor} {self.currency} on account {self.account_id}"


class AccountBalance(models.Model):
    """An account's running balance, upserted in the transaction of every entry that touches it."""

    account = models.OneToOneField(
        Account, on_delete=models.PROTECT, primary_key=True, related_name="balance"
    )
    currency = models.CharField(max_length=3)
    balance_minor = models.BigIntegerField(default=0)
    posting_count = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.balance_minor} {self.currency} on account {self.account_id}"


class AccountPeriodBalance(models.Model):
    """An account's movements in one month ("2026-11", the agency's time zone): debits, credits, net."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="period_balances")
    period = models.CharField(max_length=7)
    currency = models.CharField(max_length=3)
    debit_minor = models.BigIntegerField(default=0)
    credit_minor = models.BigIntegerField(default=0)
    net_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "period"], name="ledger_period_balance_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.period}: {self.net_minor} {self.currency} on account {self.account_id}"
