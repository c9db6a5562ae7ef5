"""A changed engine must still reproduce old allocations.

tests/data/frozen-batch/batch.json froze, once, a small batch as the engine of issue 12 split it
(ENGINE_VERSION 1): the rule set document, the statement lines of two imports (two creators, two
months, tiers crossed, the agency's monthly cap reached, a line in USD converted at a recorded
rate, a refund of a CNY line and one of the USD line), and what came out: each line's amounts,
its leaf, each entry's root and postings. This test imports the same lines through the real
pipeline into a fresh world with the same rule set, and everything must come out the same. If
the engine's results change, the test fails: then bump ENGINE_VERSION and keep old allocations
replaying under the old engine, do not regenerate the file.

What cannot be frozen as is: a leaf names the line by its public id (a UUID v7, the time of the
insert) and the contract version by its database id, and a refund names its original by public
id, so the stored leaf hash and root differ in every fresh database. The file therefore freezes
the *normalised* leaf: the SHA-256 of the same canonical document (apps/recognition/leaves.py)
with `line` and `refund_of` replaced by the lines' external ids and `contract_version` by the
creator's key ("A", "B"), and each entry's root over those normalised leaves. Everything else in
the document (rule set hash, rule, ordinal, moment, gross, FX, amounts by name, effective date) is
frozen byte for byte. The stored leaves and roots are checked against the stored entries here
too (and by verify_ledger), so the normalisation hides nothing that a real proof shows.
"""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.creators.services import platform_account_add
from apps.income.models import FxRate, IncomeLine, StatementImport
from apps.income.pipeline import statement_import_create, statement_import_run
from apps.ledger.models import JournalEntry, Posting
from apps.ledger.verification import ledger_verify_agency
from apps.recognition.batch import rule_set_sha256
from apps.recognition.leaves import allocation_leaf
from apps.recognition.merkle import merkle_root
from apps.recognition.models import LineAllocation, RecognitionBatch
from apps.recognition.selectors import line_split

FROZEN = Path(__file__).resolve().parents[1] / "data" / "frozen-batch" / "batch.json"
HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"


def frozen_world(frozen: dict[str, Any]) -> SimpleNamespace:
    """An agency, its manager and the frozen creators with the accounts their lines name."""
    from tests.factories import Role, agency_with_owner, creator_for, member

    agency = agency_with_owner(name="Frozen agency")
    world = SimpleNamespace(agency_a=agency, manager_a=member(agency, Role.MANAGER), creators={})
    for key, creator in sorted(frozen["creators"].items()):
        accounts = creator["accounts"]
        made = creator_for(
            agency=agency, platform=accounts[0][0], account_id=accounts[0][1], name=f"Creator {key}"
        )
        for platform, account_id in accounts[1:]:
            platform_account_add(creator=made, actor=None, platform=platform, account_id=account_id)
        world.creators[key] = made
    return world


def run_frozen_batch(frozen: dict[str, Any]) -> SimpleNamespace:
    """The frozen inputs through the real services: rates, signed contracts, then each import."""
    from tests.contracts.conftest import active_contract

    world = frozen_world(frozen)
    for rate in frozen["fx_rates"]:
        FxRate.objects.create(
            base=rate["base"],
            quote=rate["quote"],
            date=datetime.date.fromisoformat(rate["date"]),
            rate=Decimal(rate["rate"]),
            source=rate["source"],
        )
    for key, creator in sorted(frozen["creators"].items()):
        active_contract(
            world,
            creator=world.creators[key],
            platforms=sorted({platform for platform, _account in creator["accounts"]}),
            rule_set=frozen["rule_set"],
        )
    for number, rows in enumerate(frozen["imports"], start=1):
        data = (HEADER + "".join(f"{row}\n" for row in rows)).encode()
        statement_import = statement_import_create(
            agency=world.agency_a,
            actor=world.manager_a,
            file=SimpleUploadedFile(f"frozen-{number}.csv", data),
            enqueue=False,
        )
        done = statement_import_run(statement_import=statement_import)
        assert done.status == StatementImport.Status.DONE, done.message
        assert done.exception_count == 0, list(
            IncomeLine.objects.exclude(exception_detail="").values_list("external_id", "exception_detail")
        )
    return world


def _normalised(
    document: dict[str, Any], names: dict[str, str], version_keys: dict[int, str]
) -> dict[str, Any]:
    return {
        **document,
        "line": names[document["line"]],
        "refund_of": None if document["refund_of"] is None else names[document["refund_of"]],
        "contract_version": version_keys[document["contract_version"]],
    }


def observe(world: SimpleNamespace) -> dict[str, Any]:
    """What the pipeline stored, in the frozen file's terms (external ids, creator keys, batch numbers)."""
    creator_keys = {creator.pk: key for key, creator in world.creators.items()}
    lines = {line.pk: line for line in IncomeLine.objects.filter(agency=world.agency_a)}
    names = {str(line.public_id): line.external_id for line in lines.values()}
    allocations = list(
        LineAllocation.objects.filter(agency=world.agency_a).order_by("contract_version_id", "ordinal")
    )
    version_keys = {
        allocation.contract_version_id: creator_keys[allocation.creator_id] for allocation in allocations
    }
    batches = {
        pk: number
        for number, pk in enumerate(
            RecognitionBatch.objects.filter(agency=world.agency_a)
            .order_by("pk")
            .values_list("pk", flat=True),
            start=1,
        )
    }
    entries = {
        entry.pk: entry for entry in JournalEntry.objects.filter(agency=world.agency_a).exclude(lines_root="")
    }

    def entry_key(entry: JournalEntry) -> str:
        batch = int(entry.idempotency_key.split(":")[1])
        return f"{batches[batch]}:{creator_keys[entry.creator_id]}:{entry.effective_date:%Y-%m}:{entry.kind}"

    observed_lines: dict[str, Any] = {}
    leaves: dict[int, list[bytes]] = defaultdict(list)
    normalised_leaves: dict[int, list[bytes]] = defaultdict(list)
    for allocation in allocations:
        line = lines[allocation.line_id]
        split = line_split(line=line)
        assert split is not None and split["matches_stored"] is True, line.external_id
        proof = split["proof"]
        assert proof["verified"] is True, line.external_id
        document = proof["leaf_document"]
        leaves[allocation.entry_id].append(allocation_leaf(document))
        normalised = _normalised(document, names, version_keys)
        normalised_leaves[allocation.entry_id].append(allocation_leaf(normalised))
        observed_lines[line.external_id] = {
            "creator": creator_keys[allocation.creator_id],
            "entry": entry_key(entries[allocation.entry_id]),
            "amounts_minor": [int(value) for value in allocation.amounts_minor],
            "replayed": split["result"],  # the engine's result, recomputed from the stored inputs
            "document": normalised,
            "normalised_leaf": allocation_leaf(normalised).hex(),
        }
    observed_entries: dict[str, Any] = {}
    for entry_id, entry in entries.items():
        # The real root is over the real leaves, in ordinal order (verify_ledger checks it too).
        assert merkle_root(leaves[entry_id]).hex() == entry.lines_root
        assert len(leaves[entry_id]) == entry.line_count
        postings = defaultdict(int)
        for purpose, key, creator_id, amount in Posting.objects.filter(entry=entry).values_list(
            "account__purpose", "account__key", "account__creator_id", "amount_minor"
        ):
            postings[":".join(filter(None, [purpose, key, creator_keys.get(creator_id, "")]))] += amount
        observed_entries[entry_key(entry)] = {
            "line_count": entry.line_count,
            "normalised_root": merkle_root(normalised_leaves[entry_id]).hex(),
            "postings": dict(sorted(postings.items())),
        }
    return {"lines": observed_lines, "entries": dict(sorted(observed_entries.items()))}


@pytest.mark.django_db
def test_the_frozen_batch_comes_out_the_same() -> None:
    frozen = json.loads(FROZEN.read_text(encoding="utf-8"))
    assert rule_set_sha256(frozen["rule_set"]) == frozen["rule_set_sha256"]
    world = run_frozen_batch(frozen)

    observed = observe(world)

    assert ledger_verify_agency(world.agency_a).problems == []
    expected = frozen["expected"]
    assert sorted(observed["lines"]) == sorted(expected["lines"])
    for external_id, line in expected["lines"].items():
        got = observed["lines"][external_id]
        assert got["amounts_minor"] == line["amounts_minor"], external_id
        assert got["replayed"] == line["replayed"], external_id
        assert got["document"] == line["document"], external_id
        assert got["normalised_leaf"] == line["normalised_leaf"], external_id
        assert got["entry"] == line["entry"], external_id
    assert observed["entries"] == expected["entries"]
    snapshots = {document for document in LineAllocation.objects.values_list("rule_set__sha256", flat=True)}
    assert snapshots == {frozen["rule_set_sha256"]}
