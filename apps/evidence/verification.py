"""`manage.py verify_ledger --bundle FILE`: a bundle a creator holds, compared with the live ledger.

The bundle's own script proves it is consistent in itself; this proves the live ledger still says
what the bundle says. Every entry of its chain segment must still be in the live chain with the
same seq, prev_hash and hash (a rewritten entry, or a chain recomputed after a change, differs
from what the creator holds), the live head must not be behind the bundle's, each published
statement must still name the head the bundle recorded, and each allocation's leaf document must
equal the one rebuilt from the live allocation row. Registered with the ledger in apps.py.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from typing import Any

from apps.agencies.models import Agency
from apps.evidence.bundle import canonical
from apps.evidence.documents import allocations_of_lines, stored_documents
from apps.income.models import IncomeLine
from apps.ledger.models import JournalEntry, LedgerHead
from apps.recognition.replay import rule_set_of_snapshot
from apps.splits.engine import RuleSet
from apps.statements.models import Statement

CHUNK = 2000
MAX_PROBLEMS = 50


class _Problems(list[str]):
    def add(self, text: str) -> None:
        if len(self) < MAX_PROBLEMS:
            self.append(text)


def evidence_bundle_check_live(path: str) -> tuple[dict[str, int], list[str]]:
    """(what was compared, problems) of the bundle at `path` against the live ledger."""
    problems = _Problems()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        return {}, [f"{path}: not a readable ZIP file ({error})"]
    with archive:
        try:
            bundle = json.loads(archive.read("bundle.json"))
            agency = Agency.objects.filter(public_id=bundle["agency"]["public_id"]).first()
        except (KeyError, ValueError, TypeError):
            return {}, [f"{path}: not a Fenrun evidence bundle (no readable bundle.json)"]
        if agency is None or agency.pk != bundle["agency"]["id"]:
            return {}, [
                f"{path}: the agency {bundle['agency'].get('name')!r} of this bundle is not in this database"
            ]
        try:
            counted = {
                "bundle chain entries compared": _check_chain(archive, agency, problems),
                "bundle heads compared": _check_heads(archive, agency, bundle, problems),
                "bundle leaves compared": _check_leaves(archive, agency, problems),
            }
        except (KeyError, ValueError, TypeError, zipfile.BadZipFile) as error:
            # A member missing or not the JSON it should be: the file was damaged or edited.
            return {}, [*problems, f"{path}: the bundle is damaged and cannot be compared ({error!r})"]
    return counted, list(problems)


def _jsonl(archive: zipfile.ZipFile, name: str) -> Iterator[list[dict[str, Any]]]:
    """A JSON Lines member, CHUNK records at a time."""
    chunk: list[dict[str, Any]] = []
    with archive.open(name) as handle:
        for text in handle:
            if text.strip():
                chunk.append(json.loads(text))
                if len(chunk) >= CHUNK:
                    yield chunk
                    chunk = []
    if chunk:
        yield chunk


def _live_entries(agency: Agency, seqs: list[int]) -> dict[int, tuple[str, str, str]]:
    rows = JournalEntry.objects.filter(agency=agency, seq__in=seqs).values_list(
        "seq", "prev_hash", "hash", "public_id"
    )
    return {seq: (prev_hash, entry_hash, str(public_id)) for seq, prev_hash, entry_hash, public_id in rows}


def _check_chain(archive: zipfile.ZipFile, agency: Agency, problems: _Problems) -> int:
    compared = 0
    for chunk in _jsonl(archive, "ledger/chain.jsonl"):
        live = _live_entries(agency, [record["seq"] for record in chunk])
        for record in chunk:
            compared += 1
            seq = record["seq"]
            found = live.get(seq)
            if found is None:
                problems.add(f"entry #{seq} is in the bundle but not in the live ledger: it was removed")
            elif found[1] != record["hash"] or found[0] != record["prev_hash"]:
                problems.add(
                    f"entry #{seq}: the live ledger's hash is {found[1]}, the bundle holds {record['hash']}: "
                    "the entry (or one before it) was rewritten after the bundle was built"
                )
            elif "public_id" in record and found[2] != record["public_id"]:
                problems.add(
                    f"entry #{seq}: the live entry is {found[2]}, the bundle's is {record['public_id']}"
                )
    return compared


def _check_heads(
    archive: zipfile.ZipFile, agency: Agency, bundle: dict[str, Any], problems: _Problems
) -> int:
    heads = json.loads(archive.read("ledger/heads.json"))
    build = heads["build"]
    compared = 1
    live_head = LedgerHead.objects.filter(agency=agency).values_list("last_seq", flat=True).first() or 0
    if live_head < build["seq"]:
        problems.add(
            f"the live ledger head is #{live_head}, behind the bundle's #{build['seq']}: entries were removed"
        )
    wanted = [head["seq"] for head in [build, *heads["published"]] if head["seq"]]
    live = _live_entries(agency, wanted)
    if build["seq"] and live.get(build["seq"], ("", "", ""))[1] != build["hash"]:
        problems.add(f"the bundle's ledger head #{build['seq']} {build['hash']} is not in the live chain")
    statements = {
        str(row.public_id): row
        for row in Statement.objects.filter(
            agency=agency, public_id__in=[head["statement"] for head in heads["published"]]
        )
    }
    for head in heads["published"]:
        compared += 1
        name = f"statement {head['number']}"
        statement = statements.get(head["statement"])
        if statement is None:
            problems.add(f"{name} is in the bundle but not in the live database")
        elif (getattr(statement, "ledger_head_seq", None), getattr(statement, "ledger_head_hash", None)) != (
            head["seq"],
            head["hash"],
        ):
            problems.add(f"{name}: the live statement names another ledger head than the bundle's")
        if live.get(head["seq"], ("", "", ""))[1] != head["hash"]:
            problems.add(
                f"{name} was published at ledger head #{head['seq']} {head['hash']}, which the live chain no "
                "longer has: history was rewritten"
            )
    return compared


def _check_leaves(archive: zipfile.ZipFile, agency: Agency, problems: _Problems) -> int:
    compared = 0
    rule_sets: dict[int, tuple[RuleSet, str]] = {}

    def snapshot(snapshot_id: int) -> tuple[RuleSet, str]:
        return rule_set_of_snapshot(snapshot_id, rule_sets)

    for chunk in _jsonl(archive, "recognition/allocations.jsonl"):
        ids = dict(
            IncomeLine.objects.filter(
                agency=agency, public_id__in=[record["line"] for record in chunk]
            ).values_list("public_id", "pk")
        )
        live = {
            str(stored.public_id): document
            for stored, document, _data in stored_documents(
                allocations_of_lines(agency_id=agency.pk, line_ids=list(ids.values())), rule_sets=snapshot
            )
        }
        for record in chunk:
            compared += 1
            document = live.get(record["line"])
            if document is None:
                problems.add(f"line {record['line']}: no live allocation (the line or its split was removed)")
            elif canonical(document) != canonical(record["document"]):
                changed = sorted(
                    key
                    for key in set(document) | set(record["document"])
                    if document.get(key) != record["document"].get(key)
                )
                problems.add(
                    f"line {record['line']}: the live allocation differs from the bundle's in "
                    + ", ".join(
                        f"{key} (bundle {record['document'].get(key)}, live {document.get(key)})"
                        for key in changed
                    )
                )
    return compared
