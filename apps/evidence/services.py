"""The evidence bundle: one ZIP a creator downloads to check, offline and with nothing but Python's
standard library, everything an agency's ledger says about them (docs/evidence-bundle.md).

evidence_bundle_build reads, in one REPEATABLE READ snapshot (so the chain, the allocations and
the statements agree with each other), and writes each part as it reads it:

* contracts/: every version the creator was sent by the agency, its document text (SHA-256 =
  the signed document hash), its signed PDF (with its certificate page) and the signatures;
* statements/: every published statement's PDF and CSV as the statement pages serve them, its
  canonical content (SHA-256 = content_sha256, printed on the PDF) and the ledger head it names;
* income/lines.csv: every income line of the creator at the agency;
* recognition/: each allocation's leaf document (the canonical bytes its Merkle leaf hashes),
  the rule set snapshots they name, and each leaf's inclusion proof in its entry;
* ledger/: the creator's entries with their content as the chain hashes it, the hash-chain
  segment from the first of them (or the earliest published head) to the head at build time
  (other creators' entries by their hashes only), the accounts the entries post to, the heads;
* engine/: the split engine's source, verbatim (it imports only the standard library), and
  verify_bundle.py, which recomputes every split with it and checks every hash;
* README.md and README.zh-CN.md; manifest.json, every other file's SHA-256.

Memory stays bounded by the creator's leaf hashes (32 bytes a line) and the entry ids: lines,
documents and chain rows are streamed into the ZIP, which is a temporary file on disk.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import tempfile
import time
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

import apps.splits.engine
from apps.agencies.models import Agency
from apps.common.exceptions import NotFound
from apps.common.money import to_decimal_string
from apps.common.outbox import outbox_send
from apps.common.tenancy import scope_for
from apps.contracts.models import ContractVersion
from apps.contracts.selectors import contract_version_list_for_actor
from apps.contracts.services import contract_pdf_ensure
from apps.creators.models import Creator
from apps.evidence.bundle import BundleWriter, Member, canonical
from apps.evidence.documents import ALLOCATION_FIELDS, allocation_rows, stored_documents
from apps.evidence.models import EvidenceBundleBuild
from apps.evidence.proofs import EntryTree
from apps.evidence.selectors import evidence_agency_list
from apps.income.importers.canonical import escape_cell
from apps.income.models import IncomeLine
from apps.income.selectors import income_line_list_for_actor
from apps.ledger.models import GENESIS_HASH, Account, JournalEntry, LedgerHead, Posting
from apps.ledger.services import entry_content, posted_at_text
from apps.ledger.verification import ENTRY_FIELDS
from apps.recognition.replay import rule_set_of_snapshot
from apps.splits.engine import RuleSet
from apps.statements.csv_export import statement_csv
from apps.statements.models import Statement
from apps.statements.selectors import (
    content_sha256,
    statement_content,
    statement_lines,
    statement_list_for_actor,
    statement_withholdings,
)

FORMAT = "fenrun-evidence-1"
CHUNK = 2000
SCRIPT = Path(__file__).resolve().parent / "bundle_files" / "verify_bundle.py"
ENGINE_DIRECTORY = Path(apps.splits.engine.__file__).resolve().parent

LINE_COLUMNS = (
    "line",
    "external_id",
    "occurred_at",
    "platform",
    "account_id",
    "source",
    "gross",
    "currency",
    "order_ref",
    "refund_of",
    "description",
    "status",
    "contract_version",
    "ordinal",
    "entry_seq",
    "share_gross",
    "creator_share",
    "share_currency",
)

_LINE_FIELDS = (
    "public_id",
    "external_id",
    "occurred_at",
    "platform",
    "account_id",
    "source",
    "gross_minor",
    "currency",
    "order_ref",
    "refund_of__external_id",
    "description",
    "status",
    "allocation__contract_version_id",
    "allocation__ordinal",
    "allocation__entry_id",
    "allocation__rule_set_id",
    "allocation__rule_index",
    "allocation__gross_minor",
    "allocation__amounts_minor",
    "allocation__currency",
)


@dataclass
class EvidenceBundle:
    """A built bundle: `file` is a temporary file at its start (closing it deletes it)."""

    file: IO[bytes]
    filename: str
    size: int
    seconds: float
    counts: dict[str, int]


@dataclass
class _Entries:
    """The creator's entries at the agency: id -> seq, and the seqs that carry content."""

    seq_of: dict[int, int] = field(default_factory=dict)

    @property
    def seqs(self) -> set[int]:
        return set(self.seq_of.values())


def evidence_bundle_build(*, creator: Creator, agency: Agency, actor: Any) -> EvidenceBundle:
    """Build the creator's evidence bundle for one agency. Only the creator themself may: anyone
    else (another creator, the agency's members, staff) gets NotFound, as for another tenant's row."""
    _require_own(creator=creator, agency=agency, actor=actor)
    started = time.monotonic()
    versions = _contract_versions(creator=creator, agency=agency, actor=actor)
    filename = f"fenrun-evidence-{timezone.now():%Y%m%d}-{str(agency.public_id)[:8]}.zip"
    output = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the caller, who closes it)
    try:
        with _snapshot():
            build = _Build(BundleWriter(output), creator=creator, agency=agency, actor=actor)
            build.filename = filename
            build.contracts(versions)
            build.statements()
            build.find_entries()
            build.income_lines()
            build.allocations(versions)
            build.proofs()
            build.rule_set_files()
            build.chain()
            build.engine_and_script()
            build.readmes()
            build.finish()
    except BaseException:
        output.close()
        raise
    size = output.tell()
    output.seek(0)
    return EvidenceBundle(
        file=output,
        filename=filename,
        size=size,
        seconds=time.monotonic() - started,
        counts=dict(build.counts),
    )


def _require_own(*, creator: Creator, agency: Agency, actor: Any) -> None:
    if scope_for(actor).creator_id != creator.pk:
        raise NotFound()
    if agency.pk not in {item.pk for item in evidence_agency_list(creator=creator)}:
        raise NotFound()


def _contract_versions(*, creator: Creator, agency: Agency, actor: Any) -> list[ContractVersion]:
    """Every version the agency sent the creator; the signed ones' PDFs rendered first (once,
    as the contract page does on download), outside the read-only snapshot."""
    versions = list(
        contract_version_list_for_actor(actor=actor)
        .filter(contract__agency=agency, contract__creator=creator)
        .exclude(status=ContractVersion.Status.DRAFT)
    )
    return [
        contract_pdf_ensure(version=version)
        if version.status in ContractVersion.BINDING and not version.pdf_sha256
        else version
        for version in versions
    ]


@contextmanager
def _snapshot() -> Iterator[None]:
    """One consistent read of everything (REPEATABLE READ, read only) when the build is the
    outermost transaction; inside a caller's transaction (tests), that transaction's view."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _iso(moment: datetime.datetime) -> str:
    return posted_at_text(moment)


class _Build:
    """The steps of one build, sharing what later steps need of earlier ones."""

    def __init__(self, writer: BundleWriter, *, creator: Creator, agency: Agency, actor: Any) -> None:
        self.writer = writer
        self.creator = creator
        self.agency = agency
        self.actor = actor
        self.counts: dict[str, int] = {}
        self.entries = _Entries()
        self.heads: list[dict[str, Any]] = []
        self.versions: list[dict[str, Any]] = []
        self.rule_sets: dict[int, tuple[RuleSet, str]] = {}
        head = LedgerHead.objects.filter(agency=agency).values_list("last_seq", "last_hash").first()
        self.head: dict[str, Any] = (
            {"seq": head[0], "hash": head[1]} if head else {"seq": 0, "hash": GENESIS_HASH}
        )
        # Per allocation, in the order written: its entry id, its index among the entry's leaves,
        # its line's public id (for the proofs written after every leaf is known).
        self.allocation_entries = array("q")
        self.allocation_positions = array("q")
        self.allocation_lines: list[str] = []
        self.leaves: dict[int, list[bytes]] = {}
        self.chain_range: tuple[int, int] | None = None
        self.filename = "fenrun-evidence.zip"

    # --- contracts ------------------------------------------------------------------------------

    def contracts(self, versions: list[ContractVersion]) -> None:
        signatures = 0
        for version in versions:
            base = f"contracts/{version.contract.public_id}-v{version.number}"
            text_file = f"{base}.txt"
            self.writer.add(text_file, version.document_text)
            pdf_file = None
            if version.pdf_sha256:
                pdf_file = f"{base}.pdf"
                with version.pdf.open("rb") as handle:
                    self.writer.add_stream(pdf_file, iter(lambda: handle.read(1 << 16), b""))
            rule_set = version.rule_set
            self.versions.append(
                {
                    "id": version.pk,
                    "public_id": str(version.public_id),
                    "contract": str(version.contract.public_id),
                    "title": version.contract.title,
                    "number": version.number,
                    "status": version.status,
                    "language": version.language,
                    "start_date": version.start_date.isoformat(),
                    "end_date": version.end_date.isoformat(),
                    "effective_from": version.effective_from.isoformat(),
                    "platforms": list(version.platforms),
                    "currency": version.currency,
                    "rule_set": rule_set,
                    "rule_set_sha256": hashlib.sha256(canonical(rule_set).encode()).hexdigest(),
                    "document_sha256": version.document_sha256,
                    "document_file": text_file,
                    "pdf_sha256": version.pdf_sha256 or None,
                    "pdf_file": pdf_file,
                    "signed_at": _iso(version.signed_at) if version.signed_at else None,
                    "signatures": [_signature(item) for item in version.signatures.all()],
                }
            )
            signatures += len(self.versions[-1]["signatures"])
        self.writer.add_json("contracts/versions.json", self.versions)
        self.counts.update(contract_versions=len(versions), signatures=signatures)

    # --- statements ----------------------------------------------------------------------------

    def statements(self) -> None:
        rows = []
        published = (
            statement_list_for_actor(actor=self.actor, agency_id=self.agency.pk)
            .filter(creator_id=self.creator.pk, status=Statement.Status.PUBLISHED)
            .order_by("number")
        )
        for statement in published:
            base = f"statements/statement-{statement.number:06d}"
            lines = statement_lines(statement=statement)
            content = statement_content(
                statement=statement, lines=lines, withholdings=statement_withholdings(statement=statement)
            )
            self.writer.add(f"{base}.content.json", canonical(content))
            self.writer.add(f"{base}.csv", statement_csv(statement=statement, lines=lines))
            pdf_file = None
            if statement.pdf_sha256:  # rendered by a worker after publishing; absent for a moment
                pdf_file = f"{base}.pdf"
                with statement.pdf.open("rb") as handle:
                    self.writer.add_stream(pdf_file, iter(lambda: handle.read(1 << 16), b""))
            # Read with getattr: statements carry the ledger head since issue 14, older rows may not.
            head_seq = getattr(statement, "ledger_head_seq", None)
            head_hash = getattr(statement, "ledger_head_hash", None) or None
            row = {
                "public_id": str(statement.public_id),
                "number": statement.number,
                "period": statement.period,
                "currency": statement.currency,
                "corrects_number": statement.corrects.number if statement.corrects else None,
                "published_at": _iso(statement.published_at) if statement.published_at else None,
                "line_count": statement.line_count,
                "closing": to_decimal_string(statement.closing_minor, statement.currency),
                "content_sha256": statement.content_sha256,
                "content_reproduced_sha256": content_sha256(content),
                "content_file": f"{base}.content.json",
                "csv_file": f"{base}.csv",
                "pdf_sha256": statement.pdf_sha256 or None,
                "pdf_file": pdf_file,
                "ledger_head_seq": head_seq,
                "ledger_head_hash": head_hash,
            }
            rows.append(row)
            if head_seq is not None and head_hash:
                self.heads.append(
                    {
                        "statement": row["public_id"],
                        "number": row["number"],
                        "seq": head_seq,
                        "hash": head_hash,
                    }
                )
        self.writer.add_json("statements/statements.json", rows)
        self.counts["statements"] = len(rows)

    # --- the creator's entries -----------------------------------------------------------------

    def find_entries(self) -> None:
        """The creator's entries: those that name them, and any other posting to their accounts."""
        own = JournalEntry.objects.filter(agency=self.agency, creator=self.creator).values_list("pk", "seq")
        self.entries.seq_of.update(own)
        touched = (
            Posting.objects.filter(account__agency=self.agency, account__creator=self.creator)
            .exclude(entry_id__in=list(self.entries.seq_of))
            .values_list("entry_id", flat=True)
            .distinct()
        )
        extra = list(touched)
        if extra:
            self.entries.seq_of.update(
                JournalEntry.objects.filter(agency=self.agency, pk__in=extra).values_list("pk", "seq")
            )

    # --- income lines --------------------------------------------------------------------------

    def income_lines(self) -> None:
        # Rows, not model instances: four models a line (line, agency, creator, allocation) were
        # two thirds of a 10,000-line bundle's time.
        lines = (
            income_line_list_for_actor(actor=self.actor, agency=self.agency)
            .filter(creator_id=self.creator.pk)
            .order_by("occurred_at", "id")
            .values_list(*_LINE_FIELDS)
        )
        count = recognised = 0
        with self.writer.member("income/lines.csv") as member:
            member.write("\ufeff")  # a spreadsheet then reads the file as UTF-8
            writer = csv.writer(member)  # excel dialect: RFC 4180 quoting, \r\n
            writer.writerow(LINE_COLUMNS)
            for row in lines.iterator(chunk_size=CHUNK):
                line = dict(zip(_LINE_FIELDS, row, strict=True))
                count += 1
                share: tuple[Any, ...] = ("", "", "", "", "", "")
                status = line["status"]
                if line["allocation__rule_set_id"] is not None:
                    recognised += 1
                    status = IncomeLine.Status.RECOGNISED  # a line is recognised once it has an allocation
                    share = self._share(line)
                writer.writerow(
                    _safe(
                        (
                            str(line["public_id"]),
                            line["external_id"],
                            _iso(line["occurred_at"]),
                            line["platform"],
                            line["account_id"],
                            line["source"],
                            to_decimal_string(line["gross_minor"], line["currency"]),
                            line["currency"],
                            line["order_ref"],
                            line["refund_of__external_id"] or "",
                            line["description"],
                            status,
                            *share,
                        )
                    )
                )
        self.counts.update(income_lines=count, recognised_lines=recognised)

    def _share(self, line: dict[str, Any]) -> tuple[Any, ...]:
        """(version, ordinal, entry seq, gross split, creator's share, currency) of a recognised line."""
        rule_set, _sha = self._rule_set(line["allocation__rule_set_id"])
        creator_at = len(rule_set.rules[line["allocation__rule_index"]].part_ids) + rule_set.creator_index
        currency = line["allocation__currency"]
        return (
            line["allocation__contract_version_id"],
            line["allocation__ordinal"],
            self.entries.seq_of.get(line["allocation__entry_id"], ""),
            to_decimal_string(line["allocation__gross_minor"], currency),
            to_decimal_string(int(line["allocation__amounts_minor"][creator_at]), currency),
            currency,
        )

    def _rule_set(self, snapshot_id: int) -> tuple[RuleSet, str]:
        return rule_set_of_snapshot(snapshot_id, self.rule_sets)

    def rule_set_files(self) -> None:
        """Each snapshot the lines name, as canonical JSON: the file's SHA-256 is its name."""
        for rule_set, sha in sorted(self.rule_sets.values(), key=lambda item: item[1]):
            self.writer.add(f"recognition/rule_sets/{sha}.json", canonical(rule_set.document))

    # --- allocations, leaves and proofs --------------------------------------------------------

    def allocations(self, versions: list[ContractVersion]) -> None:
        """Each allocation's leaf document, version by version in ordinal order (the engine's)."""
        count = 0
        with self.writer.member("recognition/allocations.jsonl") as member:
            for version in sorted(versions, key=lambda item: item.pk):
                count += self._version_allocations(member, version.pk)
        self.counts["allocations"] = count

    def _version_allocations(self, member: Member, version_id: int) -> int:
        count = 0
        for rows in allocation_rows(agency_id=self.agency.pk, version_id=version_id, chunk=CHUNK):
            for stored, _document, data in stored_documents(rows, rule_sets=self._rule_set):
                if stored.creator_id != self.creator.pk:
                    continue  # never another creator's line (verify_ledger reports such a row)
                leaf = hashlib.sha256(data).digest()
                leaves = self.leaves.setdefault(stored.entry_id, [])
                self.allocation_entries.append(stored.entry_id)
                self.allocation_positions.append(len(leaves))
                self.allocation_lines.append(str(stored.public_id))
                leaves.append(leaf)
                seq = self.entries.seq_of.get(stored.entry_id)
                # The canonical record written out (keys in sorted order), the document's canonical
                # bytes put in as they are: encoding each document twice was a third of the step.
                member.write(
                    f'{{"contract_version":{version_id},"document":'.encode()
                    + data
                    + f',"entry_seq":{"null" if seq is None else seq},"leaf":"{leaf.hex()}",'
                    f'"line":"{stored.public_id}","ordinal":{stored.ordinal}}}\n'.encode()
                )
                count += 1
        return count

    def proofs(self) -> None:
        """Each leaf's path to its entry's root, in the allocations' order."""
        remaining: dict[int, int] = {}
        for entry_id in self.allocation_entries:
            remaining[entry_id] = remaining.get(entry_id, 0) + 1
        trees: dict[int, EntryTree] = {}
        with self.writer.member("recognition/proofs.jsonl") as member:
            for entry_id, position, line in zip(
                self.allocation_entries, self.allocation_positions, self.allocation_lines, strict=True
            ):
                tree = trees.get(entry_id)
                if tree is None:
                    tree = trees[entry_id] = EntryTree(self.leaves.pop(entry_id))
                seq = self.entries.seq_of.get(entry_id)
                path = ",".join(
                    f'{{"hash":"{sibling.hex()}","side":"{side}"}}' for side, sibling in tree.proof(position)
                )
                member.write(
                    f'{{"entry_seq":{"null" if seq is None else seq},"index":{position},'
                    f'"line":"{line}","path":[{path}]}}\n'
                )
                remaining[entry_id] -= 1
                if not remaining[entry_id]:
                    del trees[entry_id]  # its last proof is written: free its levels

    # --- the chain -----------------------------------------------------------------------------

    def chain(self) -> None:
        """Every entry from the first the creator holds (or the earliest published head) to the
        head: the creator's with their content, the others by seq and hashes only."""
        last = self.head["seq"]
        starts = [*self.entries.seqs, *(head["seq"] for head in self.heads if head["seq"] > 0)]
        first = min(starts) if starts else last
        accounts: set[int] = set()
        rows = with_content = 0
        with self.writer.member("ledger/chain.jsonl") as member:
            if last > 0:
                self.chain_range = (first, last)
                for chunk in _entry_chunks(self.agency.pk, first, last):
                    postings = _postings(
                        [entry["id"] for entry in chunk if entry["id"] in self.entries.seq_of]
                    )
                    for entry in chunk:
                        rows += 1
                        record: dict[str, Any] = {
                            "seq": entry["seq"],
                            "prev_hash": entry["prev_hash"],
                            "hash": entry["hash"],
                        }
                        if entry["id"] in self.entries.seq_of:
                            with_content += 1
                            own = postings.get(entry["id"], [])
                            accounts.update(account for account, _amount, _currency in own)
                            record.update(self._content(entry, own))
                        member.json_line(record)
        self._accounts(accounts)
        self.writer.add_json(
            "ledger/heads.json",
            {
                "about": "The agency ledger's head when this bundle was built, and the head each "
                "published statement names (the chain as it stood when it was published).",
                "build": self.head,
                "published": self.heads,
            },
        )
        self.counts.update(chain_rows=rows, entries_with_content=with_content)

    def _content(self, entry: dict[str, Any], postings: list[tuple[int, int, str]]) -> dict[str, Any]:
        content_json = entry_content(
            agency_id=self.agency.pk,
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
        # Stored as parsed JSON: canonical JSON re-serialises to the very bytes the chain hashed.
        return {
            "public_id": str(entry["public_id"]),
            "posted_at": posted_at_text(entry["posted_at"]),
            "content": json.loads(content_json),
        }

    def _accounts(self, ids: set[int]) -> None:
        rows = Account.objects.filter(agency=self.agency, pk__in=sorted(ids)).values_list(
            "pk", "purpose", "key", "currency", "creator_id"
        )
        self.writer.add_json(
            "ledger/accounts.json",
            {
                str(pk): {
                    "purpose": purpose,
                    "key": key,
                    "currency": currency,
                    "yours": creator_id == self.creator.pk,
                }
                for pk, purpose, key, currency, creator_id in rows
            },
        )

    # --- the script, the engine, the READMEs, the summary ---------------------------------------

    def engine_and_script(self) -> None:
        self.writer.add("verify_bundle.py", SCRIPT.read_bytes())
        # Packages of the verbatim engine's absolute imports (apps.splits.engine.*): empty here.
        self.writer.add("engine/apps/__init__.py", "")
        self.writer.add("engine/apps/splits/__init__.py", "")
        for path in sorted(ENGINE_DIRECTORY.glob("*.py")):
            self.writer.add(f"engine/apps/splits/engine/{path.name}", path.read_bytes())

    def readmes(self) -> None:
        context = {
            "creator": self.creator,
            "agency": self.agency,
            "head": self.head,
            "chain_range": self.chain_range,
            "counts": self.counts,
            "built_at": _iso(timezone.now()),
            "filename": self.filename,
        }
        for name, language in (("README.md", "en"), ("README.zh-CN.md", "zh-hans")):
            with translation.override(language):
                self.writer.add(name, render_to_string(f"evidence/{name}", context))

    def finish(self) -> None:
        self.writer.add_json(
            "bundle.json",
            {
                "format": FORMAT,
                "built_at": _iso(timezone.now()),
                "agency": {
                    "id": self.agency.pk,
                    "public_id": str(self.agency.public_id),
                    "name": self.agency.name,
                },
                "creator": {
                    "id": self.creator.pk,
                    "public_id": str(self.creator.public_id),
                    "name": self.creator.display_name,
                },
                "ledger_head": self.head,
                "chain": None
                if self.chain_range is None
                else {"first_seq": self.chain_range[0], "last_seq": self.chain_range[1]},
                "counts": self.counts,
                "allocation_fields": list(ALLOCATION_FIELDS),
            },
        )
        self.writer.close()


def _signature(signature: Any) -> dict[str, Any]:
    """What the signed PDF's certificate page shows of a signature, and how the signer re-authenticated."""
    return {
        "public_id": str(signature.public_id),
        "party": signature.party,
        "signer_name": signature.signer_name,
        "signer_email": signature.signer_email,
        "signed_at": _iso(signature.signed_at),
        "ip_address": signature.ip_address,
        "document_sha256": signature.document_sha256,
        "reauthenticated_by": signature.reauthenticated_by,
    }


def _entry_chunks(agency_id: int, first: int, last: int) -> Iterator[list[dict[str, Any]]]:
    after = first - 1
    while after < last:
        chunk = list(
            JournalEntry.objects.filter(agency_id=agency_id, seq__gt=after, seq__lte=last)
            .order_by("seq")
            .values(*ENTRY_FIELDS)[:CHUNK]
        )
        if not chunk:
            return
        yield chunk
        after = chunk[-1]["seq"]


def _postings(entry_ids: list[int]) -> dict[int, list[tuple[int, int, str]]]:
    by_entry: dict[int, list[tuple[int, int, str]]] = {}
    if not entry_ids:
        return by_entry
    for entry_id, account_id, amount, currency in (
        Posting.objects.filter(entry_id__in=entry_ids)
        .order_by("entry_id", "line_no")
        .values_list("entry_id", "account_id", "amount_minor", "currency")
    ):
        by_entry.setdefault(entry_id, []).append((account_id, amount, currency))
    return by_entry


def _safe(cells: tuple[Any, ...]) -> list[str]:
    """Each text cell safe from spreadsheet formulas (a leading apostrophe, as statement CSVs)."""
    return [escape_cell(cell) if isinstance(cell, str) else str(cell) for cell in cells]


# --- builds by a worker (issue 14) --------------------------------------------------------------
# A creator with 100,000 lines takes 10-30 s to build: the request asks for a build and a Celery
# task builds it into storage (apps/evidence/models.py). Every bundle takes this one path, small
# ones too, so there is one way a bundle is made, downloaded and tested.

# A build still queued or building after this long lost its worker (a task redelivered after a
# crash restarts it first): asking again replaces it rather than waiting for ever.
STALE_AFTER = datetime.timedelta(minutes=30)
# A ready bundle is handed back while nothing it holds changed, for at most this long (it names
# the day it was built; a creator keeping a copy a week later gets a fresh one).
REUSE_FOR = datetime.timedelta(days=1)


def evidence_fingerprint(*, creator: Creator, agency: Agency) -> str:
    """What a bundle of the creator at the agency would hold, summed up in a hash: the ledger's
    head, the creator's lines (how many, the last, the last change), the versions the agency sent
    them (status) and their published statements (PDF, rendered by a worker after publishing). Three small queries and one
    aggregate over the creator's own lines; equal fingerprints, equal bundles (but for their
    build time)."""
    head = LedgerHead.objects.filter(agency=agency).values_list("last_seq", flat=True).first()
    lines = IncomeLine.objects.filter(agency=agency, creator=creator).aggregate(
        count=Count("pk"), last=Max("pk"), changed=Max("updated_at")
    )
    versions = list(
        ContractVersion.objects.filter(contract__agency=agency, contract__creator=creator)
        .exclude(status=ContractVersion.Status.DRAFT)
        .order_by("pk")
        .values_list("pk", "status")  # not the PDF: the build renders a signed version's own
    )
    statements = list(
        Statement.objects.filter(agency=agency, creator=creator, status=Statement.Status.PUBLISHED)
        .order_by("pk")
        .values_list("pk", "pdf_sha256")
    )
    summary = [
        FORMAT,
        head or 0,
        lines["count"],
        lines["last"],
        lines["changed"].isoformat() if lines["changed"] else None,
        versions,
        statements,
    ]
    return hashlib.sha256(canonical(summary).encode()).hexdigest()


@dataclass(frozen=True)
class BuildRequested:
    build: EvidenceBundleBuild
    is_new: bool  # False: an identical build in flight or ready was handed back


def evidence_bundle_request(*, creator: Creator, agency: Agency, actor: Any) -> BuildRequested:
    """The creator asks for their bundle of one agency: an identical build in flight or ready is
    handed back; otherwise a new build is queued and its task enqueued after commit. Only the
    creator themself may (NotFound for anyone else, as for another tenant's row)."""
    _require_own(creator=creator, agency=agency, actor=actor)
    fingerprint = evidence_fingerprint(creator=creator, agency=agency)
    now = timezone.now()
    with transaction.atomic():
        builds = EvidenceBundleBuild.objects.select_for_update().filter(creator=creator, agency=agency)
        in_flight = builds.filter(status__in=EvidenceBundleBuild.IN_FLIGHT).first()
        if in_flight is not None:
            last_moved = in_flight.started_at or in_flight.requested_at
            if now - last_moved < STALE_AFTER:
                return BuildRequested(build=in_flight, is_new=False)
            _fail(in_flight, _("The build was interrupted; a new one was started."))
        ready = (
            builds.filter(status=EvidenceBundleBuild.Status.READY, fingerprint=fingerprint)
            .order_by("-requested_at", "-pk")
            .first()
        )
        if ready is not None and ready.finished_at is not None and now - ready.finished_at < REUSE_FOR:
            return BuildRequested(build=ready, is_new=False)
        try:
            with transaction.atomic():
                build = EvidenceBundleBuild.objects.create(
                    creator=creator, agency=agency, requested_by=actor, fingerprint=fingerprint
                )
        except IntegrityError:
            # A request at the same moment queued one first (the one-in-flight index): share it.
            return BuildRequested(build=builds.get(status__in=EvidenceBundleBuild.IN_FLIGHT), is_new=False)
        # Through the outbox: a broker outage delays the build, never loses its task.
        outbox_send(
            task="evidence.bundle_build", kwargs={"build_id": build.pk}, key=f"evidence.build:{build.pk}"
        )
    return BuildRequested(build=build, is_new=True)


def _fail(build: EvidenceBundleBuild, message: str) -> None:
    build.status = EvidenceBundleBuild.Status.FAILED
    build.message = message
    build.finished_at = timezone.now()
    build.save(update_fields=["status", "message", "finished_at"])


def evidence_bundle_build_run(*, build_id: int) -> EvidenceBundleBuild:
    """Build a requested bundle into storage: queued (or building, when a worker died and the
    task came back) → building → ready, or failed with a sentence for the creator. Safe to run
    twice: a ready or failed build is left as it is. The ZIP is read in its own REPEATABLE READ
    snapshot (evidence_bundle_build), outside any other transaction."""
    with transaction.atomic():
        build = (
            EvidenceBundleBuild.objects.select_for_update()
            .select_related("creator", "agency", "requested_by")
            .get(pk=build_id)
        )
        if not build.is_in_flight:
            return build
        build.status = EvidenceBundleBuild.Status.BUILDING
        build.attempts += 1
        build.started_at = timezone.now()
        build.save(update_fields=["status", "attempts", "started_at"])
    try:
        bundle = evidence_bundle_build(creator=build.creator, agency=build.agency, actor=build.requested_by)
    except NotFound:
        # The creator no longer has this agency among theirs (or lost their profile): nothing
        # to build, for good.
        _fail(build, _("This agency's ledger is no longer yours to download."))
        return build
    with bundle.file:
        digest = hashlib.sha256()
        for chunk in iter(lambda: bundle.file.read(1 << 20), b""):
            digest.update(chunk)
        bundle.file.seek(0)
        with transaction.atomic():
            locked = EvidenceBundleBuild.objects.select_for_update().get(pk=build.pk)
            if locked.status != EvidenceBundleBuild.Status.BUILDING:
                return locked  # another run of the task finished it first
            locked.file.save(f"{locked.public_id}.zip", File(bundle.file), save=False)
            locked.filename = bundle.filename
            locked.size = bundle.size
            locked.sha256 = digest.hexdigest()
            locked.seconds = bundle.seconds
            locked.counts = bundle.counts
            locked.status = EvidenceBundleBuild.Status.READY
            locked.finished_at = timezone.now()
            locked.message = ""
            locked.save()
            older = list(
                EvidenceBundleBuild.objects.filter(
                    creator_id=locked.creator_id,
                    agency_id=locked.agency_id,
                    status=EvidenceBundleBuild.Status.READY,
                )
                .exclude(pk=locked.pk)
                .exclude(file="")
            )
            # One bundle per creator and agency in storage: the older ones' files go once this
            # one is committed (their rows stay, as the record of what was built when).
            for previous in older:
                transaction.on_commit(partial(_delete_file, str(previous.file.name)))
            EvidenceBundleBuild.objects.filter(pk__in=[item.pk for item in older]).update(
                status=EvidenceBundleBuild.Status.REPLACED, file=""
            )
    return locked


def _delete_file(name: str) -> None:
    from django.core.files.storage import default_storage

    default_storage.delete(name)


def evidence_bundle_build_failed(*, build_id: int) -> None:
    """The task gave up (out of retries, or a bug): the build must not stay "being prepared" for
    ever. The creator reads a sentence; the error itself goes to the log."""
    with transaction.atomic():
        build = EvidenceBundleBuild.objects.select_for_update().get(pk=build_id)
        if build.is_in_flight:
            _fail(build, _("The bundle could not be built. Please try again later."))
