"""Re-check an agency's ledger from its rows: the chain, the balance of every entry and the stored
balances; then the checks other apps register for what the entries cover (`register_agency_check`:
the recognition app recomputes every line allocation and every entry's Merkle root).

Reads in chunks of entries (in chain order) so that a ledger of millions of postings is checked
in bounded memory; what it sums per account and per month stays as small as the chart of accounts.

Which agencies are checked: every agency that has a ledger head, entries or stored balances, and
every agency another app says must have a ledger (`register_expected_ledgers`: the income app
registers the agencies with recognised lines). So a ledger deleted whole, head included, is
reported instead of being skipped; the ledger itself imports neither income nor contracts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from apps.agencies.models import Agency
from apps.ledger.models import (
    GENESIS_HASH,
    Account,
    AccountBalance,
    AccountPeriodBalance,
    JournalEntry,
    LedgerHead,
    Posting,
)
from apps.ledger.services import chain_hash, entry_content, period_of

CHUNK = 2000
MAX_PROBLEMS = 50  # enough to see a pattern; a broken ledger would otherwise print millions of lines

# agency id -> why that agency must have a ledger ("12 recognised income lines").
ExpectedLedgers = Callable[[], Mapping[int, str]]
_expected_ledgers: dict[str, ExpectedLedgers] = {}


def register_expected_ledgers(source: ExpectedLedgers) -> None:
    """Register a callable naming the agencies that must have a ledger, and why.

    Apps above the ledger call this from their AppConfig.ready() (the ledger imports none of
    them). Registering the same callable again replaces it, so a repeated ready() is harmless.
    """
    _expected_ledgers[f"{source.__module__}.{source.__qualname__}"] = source


# A check of what an agency's entries cover, run after the chain: (what it counted, problems).
AgencyCheck = Callable[[Agency], tuple[dict[str, int], list[str]]]
_agency_checks: dict[str, AgencyCheck] = {}


def register_agency_check(check: AgencyCheck) -> None:
    """Register a check that apps above the ledger run on each verified agency (from their
    AppConfig.ready(); registering the same callable again replaces it)."""
    _agency_checks[f"{check.__module__}.{check.__qualname__}"] = check


# A check of an evidence bundle (a file a creator holds: chain hashes, heads, line allocations)
# against the live ledger: (what it counted, problems). `verify_ledger --bundle FILE` runs them.
BundleCheck = Callable[[str], tuple[dict[str, int], list[str]]]
_bundle_checks: dict[str, BundleCheck] = {}


def register_bundle_check(check: BundleCheck) -> None:
    """Register the check of a bundle file (apps above the ledger, from AppConfig.ready())."""
    _bundle_checks[f"{check.__module__}.{check.__qualname__}"] = check


def bundle_checks() -> list[BundleCheck]:
    return list(_bundle_checks.values())


def expected_ledgers() -> dict[int, list[str]]:
    """Every registered source's agencies, each with the reasons given for it."""
    reasons: dict[int, list[str]] = defaultdict(list)
    for source in _expected_ledgers.values():
        for agency_id, reason in source().items():
            reasons[agency_id].append(reason)
    return reasons


# An entry's columns as the chain check reads them: everything entry_content and chain_hash need.
# The evidence bundle reads the same ones to write the chain segment a creator re-hashes offline.
ENTRY_FIELDS = (
    "id",
    "public_id",
    "creator_id",
    "seq",
    "prev_hash",
    "hash",
    "idempotency_key",
    "request_sha256",
    "kind",
    "cause_reference",
    "reason",
    "author_id",
    "memo",
    "effective_date",
    "posted_at",
    "reverses_id",
    "lines_root",
    "line_count",
)


@dataclass
class AgencyReport:
    agency: str
    entries: int = 0
    postings: int = 0
    checked: dict[str, int] = field(default_factory=dict)  # what registered checks counted
    accounts: int = 0
    period_balances: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


def _entry_chunks(agency: Agency) -> Iterator[list[dict[str, Any]]]:
    after = 0
    while True:
        chunk = list(
            JournalEntry.objects.filter(agency=agency, seq__gt=after)
            .order_by("seq")
            .values(*ENTRY_FIELDS)[:CHUNK]
        )
        if not chunk:
            return
        yield chunk
        after = chunk[-1]["seq"]


def _name(entry: dict[str, Any]) -> str:
    return f"entry #{entry['seq']} ({entry['public_id']}, key {entry['idempotency_key']!r})"


def ledger_verify_agency(agency: Agency, *, must_exist: list[str] | None = None) -> AgencyReport:
    """Check one agency's ledger; every mismatch is a problem naming the entry or account.

    `must_exist` gives the reasons this agency must have a ledger (`expected_ledgers()`); when
    None they are asked of the registered sources.
    """
    report = AgencyReport(agency=f"{agency.name} ({agency.public_id})")
    if must_exist is None:
        must_exist = expected_ledgers().get(agency.pk, [])
    accounts = {
        account.pk: account
        for account in Account.objects.filter(agency=agency).only(
            "id", "purpose", "key", "creator_id", "currency"
        )
    }
    sums: dict[int, int] = defaultdict(int)
    counts: dict[int, int] = defaultdict(int)
    months: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    expected_seq = 1
    prev_hash = GENESIS_HASH

    for chunk in _entry_chunks(agency):
        postings_by_entry: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
        for entry_id, account_id, amount, currency in (
            Posting.objects.filter(entry_id__in=[entry["id"] for entry in chunk])
            .order_by("entry_id", "line_no")
            .values_list("entry_id", "account_id", "amount_minor", "currency")
        ):
            postings_by_entry[entry_id].append((account_id, amount, currency))
        for entry in chunk:
            report.entries += 1
            postings = postings_by_entry.get(entry["id"], [])
            report.postings += len(postings)
            name = _name(entry)
            if expected_seq == 1 and (entry["seq"] != 1 or entry["prev_hash"] != GENESIS_HASH):
                report.problem(
                    f"{name}: the chain does not start at genesis (its first entry must be #1 "
                    "with the genesis previous hash): entries before it are missing"
                )
            if entry["seq"] != expected_seq:
                report.problem(f"{name}: sequence gap, expected #{expected_seq}")
            expected_seq = entry["seq"] + 1
            if entry["prev_hash"] != prev_hash:
                report.problem(f"{name}: prev_hash does not match the hash of the entry before it")

            content_json = entry_content(
                agency_id=agency.pk,
                creator_id=entry["creator_id"],
                idempotency_key=entry["idempotency_key"],
                kind=entry["kind"],
                cause_reference=entry["cause_reference"],
                reason=entry["reason"],
                author_id=entry["author_id"],
                memo=entry["memo"],
                effective_date=entry["effective_date"],
                reverses_id=entry["reverses_id"],
                lines_root=entry["lines_root"],
                line_count=entry["line_count"],
                postings=postings,
            )
            computed = chain_hash(
                prev_hash=entry["prev_hash"],
                content_json=content_json,
                posted_at=entry["posted_at"],
                seq=entry["seq"],
            )
            if computed != entry["hash"]:
                report.problem(f"{name}: hash mismatch, its content or postings were changed after posting")
            prev_hash = entry["hash"]

            totals: dict[str, int] = defaultdict(int)
            period = period_of(entry["effective_date"])
            for account_id, amount, currency in postings:
                account = accounts.get(account_id)
                if account is None or account.currency != currency:
                    report.problem(
                        f"{name}: a posting names account {account_id}, not a {currency} account of this ledger"
                    )
                totals[currency] += amount
                sums[account_id] += amount
                counts[account_id] += 1
                month = months[(account_id, period)]
                month[0 if amount > 0 else 1] += abs(amount)
            if len(postings) < 2 or any(totals.values()):
                report.problem(f"{name}: does not balance ({dict(totals)}, {len(postings)} postings)")

    head = LedgerHead.objects.filter(agency=agency).values_list("last_seq", "last_hash").first()
    if head is None:
        if report.entries:
            report.problem(
                f"the ledger has {report.entries} entries but no ledger head: the head was deleted"
            )
        elif AccountBalance.objects.filter(account__agency=agency, posting_count__gt=0).exists():
            report.problem(
                "the ledger has stored balances but no entries and no ledger head: its entries "
                "and head were deleted"
            )
        for reason in must_exist:
            report.problem(f"the agency has {reason} but no ledger head: its ledger is missing")
    elif head != (expected_seq - 1, prev_hash):
        if not report.entries:
            report.problem(
                f"ledger head {head} points at entry #{head[0]}, but the ledger has no entries: its "
                "chain does not start at genesis (entries are missing)"
            )
        else:
            report.problem(f"ledger head {head} does not point at the last entry (#{expected_seq - 1})")

    stored = {
        row[0]: row[1:]
        for row in AccountBalance.objects.filter(account__agency=agency).values_list(
            "account_id", "balance_minor", "posting_count"
        )
    }
    report.accounts = len(stored)
    for account_id in sorted(set(stored) | set(counts)):
        expected = (sums.get(account_id, 0), counts.get(account_id, 0))
        if stored.get(account_id, (0, 0)) != expected:
            report.problem(
                f"account {account_id}: stored balance {stored.get(account_id)} != sum of postings {expected}"
            )
    stored_months = {
        (row[0], row[1]): list(row[2:])
        for row in AccountPeriodBalance.objects.filter(account__agency=agency).values_list(
            "account_id", "period", "debit_minor", "credit_minor", "net_minor"
        )
    }
    report.period_balances = len(stored_months)
    for key in sorted(set(stored_months) | set(months)):
        debit, credit = months.get(key, [0, 0])
        if stored_months.get(key, [0, 0, 0]) != [debit, credit, debit - credit]:
            report.problem(
                f"account {key[0]} in {key[1]}: stored month {stored_months.get(key)} != postings {[debit, credit, debit - credit]}"
            )
    for check in _agency_checks.values():
        counted, problems = check(agency)
        for what, number in counted.items():
            report.checked[what] = report.checked.get(what, 0) + number
        for text in problems:
            report.problem(text)
    return report


def _agencies_with_ledger_rows() -> set[int]:
    """Agencies with a head, an entry or a stored balance: each is one loose index scan."""
    found = set(LedgerHead.objects.values_list("agency_id", flat=True))
    # SELECT DISTINCT would read every entry's index tuple; this walks (agency, seq) by agency.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE agencies(id) AS (
                (SELECT agency_id FROM ledger_journalentry ORDER BY agency_id, seq LIMIT 1)
                UNION ALL
                SELECT (SELECT e.agency_id FROM ledger_journalentry e
                        WHERE e.agency_id > agencies.id ORDER BY e.agency_id, e.seq LIMIT 1)
                FROM agencies WHERE agencies.id IS NOT NULL
            )
            SELECT id FROM agencies WHERE id IS NOT NULL
            """
        )
        found.update(row[0] for row in cursor.fetchall())
    found.update(
        AccountBalance.objects.filter(posting_count__gt=0)
        .values_list("account__agency_id", flat=True)
        .distinct()
    )
    return found


def ledger_verify(*, agency: Agency | None = None) -> list[AgencyReport]:
    """Verify one agency's ledger, or every agency that has one or must have one."""
    expected = expected_ledgers()
    if agency is not None:
        return [ledger_verify_agency(agency, must_exist=expected.get(agency.pk, []))]
    ids = _agencies_with_ledger_rows() | set(expected)
    return [
        ledger_verify_agency(item, must_exist=expected.get(item.pk, []))
        for item in Agency.objects.filter(pk__in=ids).order_by("pk")
    ]
