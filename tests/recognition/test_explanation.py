"""A line's explanation as its reader sees it: the page and the API show the split recomputed by
the engine and the Merkle proof that its allocation is in its ledger entry; a creator sees their
own line's proof and nobody else's; a line past a checkpoint is replayed from the checkpoint and
gives exactly the stored allocation."""

from __future__ import annotations

import datetime
import hashlib
import html
import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.income.models import IncomeLine
from apps.ledger.models import JournalEntry
from apps.recognition.models import CHECKPOINT_EVERY, EngineState, LineAllocation, StateCheckpoint
from apps.recognition.replay import replay, rule_set_of_snapshot
from apps.recognition.selectors import line_split
from tests.conftest import api_as, web_as
from tests.recognition.conftest import STATEFUL_RULES, import_rows, sign_contract

pytestmark = pytest.mark.django_db


def _line(external_id: str) -> IncomeLine:
    return IncomeLine.objects.get(external_id=external_id)


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _code(page: str, element_id: str) -> str:
    found = re.search(rf'<code id="{element_id}">([0-9a-f]*)</code>', page)
    assert found, f"no #{element_id} on the page"
    return found.group(1)


def test_the_line_page_shows_the_split_and_a_proof_that_checks_by_hand(recognised: Any) -> None:
    line = _line("A-3")  # the third of the three lines of A's October entry
    entry = JournalEntry.objects.get(pk=line.allocation.entry_id)

    response = web_as(recognised.manager_a).get(
        reverse("income:line", args=[line.public_id]), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    # The breakdown: 45.67 of live gifts, 5 % platform fee, the tier split of the rest.
    assert 'id="split-summary"' in page and 'id="split-steps"' in page
    steps = re.search(r'<ol id="split-steps">(.*?)</ol>', page, flags=re.DOTALL).group(1)
    assert steps.count("<li>") >= 2 and "Platform fee" in steps
    status = re.search(r'<p id="proof-status">(.*?)</p>', page, flags=re.DOTALL).group(1)
    assert f"Included in ledger entry #{entry.seq}, which covers 3 lines" in status
    leaf, root = _code(page, "proof-leaf"), _code(page, "proof-root")
    assert root == entry.lines_root
    path = re.findall(r"<li>(left|right) <code>([0-9a-f]{64})</code></li>", page)
    # Leaf 2 of 3 (root = node(node(a, b), c)): one sibling, node(a, b), on the left.
    assert [side for side, _hash in path] == ["left"]
    # What an auditor does with what the page shows: fold the path into the root.
    current = bytes.fromhex(leaf)
    for side, sibling in path:
        current = (
            _node(bytes.fromhex(sibling), current)
            if side == "left"
            else _node(current, bytes.fromhex(sibling))
        )
    assert current.hex() == root


def test_the_api_gives_the_proof_with_its_leaf_document(recognised: Any) -> None:
    line = _line("A-5")  # the refund: its document names the line it refunds
    original = _line("A-1")

    response = api_as(recognised.finance_a).get(f"/api/v1/income/lines/{line.public_id}/")

    assert response.status_code == 200
    split = response.json()["split"]
    assert split["matches_stored"] is True
    proof = split["proof"]
    assert proof["verified"] is True
    document = proof["leaf_document"]
    assert document["line"] == str(line.public_id) and document["refund_of"] == str(original.public_id)
    assert document["gross"] == -25000 and document["currency"] == "CNY"
    allocation = line.allocation
    assert [*document["deductions"].values(), *document["payable"].values(), document["recouped"]] == list(
        allocation.amounts_minor
    )
    assert (
        document["gross"]
        == sum(document["deductions"].values()) + sum(document["payable"].values()) + document["recouped"]
    )
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert hashlib.sha256(canonical).hexdigest() == proof["leaf"]
    entry = JournalEntry.objects.get(pk=allocation.entry_id)
    assert (proof["root"], proof["entry_hash"], proof["line_count"]) == (entry.lines_root, entry.hash, 1)
    assert proof["path"] == [] and proof["leaf"] == proof["root"]  # the refund's entry holds it alone


def test_a_creator_sees_their_own_proof_and_no_one_elses(recognised: Any) -> None:
    mine, theirs = _line("A-4"), _line("B-3")
    creator = recognised.creator_a.user

    own = api_as(creator).get(f"/api/v1/income/lines/{mine.public_id}/")
    other = api_as(creator).get(f"/api/v1/income/lines/{theirs.public_id}/")
    page = web_as(creator).get(reverse("income:line", args=[mine.public_id]), HTTP_ACCEPT_LANGUAGE="en")
    other_page = web_as(creator).get(reverse("income:line", args=[theirs.public_id]))
    other_agency = api_as(recognised.owner_b).get(f"/api/v1/income/lines/{mine.public_id}/")

    assert own.status_code == 200 and own.json()["split"]["proof"]["verified"] is True
    assert page.status_code == 200 and 'id="proof-root"' in page.content.decode()
    assert other.status_code == 404 and str(theirs.public_id) not in other.content.decode()
    assert other_page.status_code == 404
    assert other_agency.status_code == 404
    # The proof shows the other lines of the entry only as hashes: A-6's document is nowhere.
    assert "A-6" not in own.content.decode()


def _gifts(count: int, start: datetime.datetime) -> list[str]:
    """`count` live gifts of 100.00 a minute apart: the month's tier (net above 1,000.00) is
    crossed at the 11th, so a replay from a wrong state gives other amounts."""
    return [
        f"C-{n:05d},{(start + datetime.timedelta(minutes=n)).isoformat()},douyin,dy_88231,live_gifts,100.00,CNY,,,"
        for n in range(count)
    ]


def _assert_replay_equals_storage(agency_id: int, version_id: int, ordinals: list[int]) -> None:
    for ordinal in ordinals:
        allocation = LineAllocation.objects.get(contract_version_id=version_id, ordinal=ordinal)
        rule_set, _sha = rule_set_of_snapshot(allocation.rule_set_id, {})
        from_checkpoint = next(
            replay(agency_id=agency_id, version_id=version_id, rule_set=rule_set, last=ordinal)
        )
        from_start = list(
            replay(agency_id=agency_id, version_id=version_id, rule_set=rule_set, first=0, last=ordinal)
        )[-1]
        for item in (from_checkpoint, from_start):
            assert item.stored.ordinal == ordinal and item.matches, ordinal
            result = item.result
            assert [*result.deductions, *result.payable, result.recouped] == list(allocation.amounts_minor)
        split = line_split(line=IncomeLine.objects.get(pk=allocation.line_id))
        assert split["matches_stored"] is True and split["proof"]["verified"] is True, ordinal


def test_a_line_past_a_checkpoint_replays_to_its_stored_allocation(
    statement_world: Any, monkeypatch: Any
) -> None:
    """With checkpoints every 4 lines (the batch reads CHECKPOINT_EVERY; replay reads only the
    stored checkpoints), across two imports so that a checkpoint is also taken mid-import."""
    world = statement_world
    monkeypatch.setattr("apps.recognition.batch.CHECKPOINT_EVERY", 4)
    version = sign_contract(world, world.creator_a, ["douyin"], STATEFUL_RULES)
    start = datetime.datetime(2026, 11, 1, 9, tzinfo=datetime.UTC)
    rows = _gifts(19, start)
    import_rows(world, rows[:6], "first.csv")
    import_rows(world, rows[6:], "second.csv")

    assert EngineState.objects.get(pk=version.pk).line_count == 19
    assert list(
        StateCheckpoint.objects.filter(contract_version_id=version.pk)
        .order_by("ordinal")
        .values_list("ordinal", flat=True)
    ) == [4, 8, 12, 16]
    amounts = list(
        LineAllocation.objects.filter(contract_version_id=version.pk)
        .order_by("ordinal")
        .values_list("amounts_minor", flat=True)
    )
    assert amounts[0][1] == 70_00 * 95 // 100  # 95.00 net at 70 % to the creator below the tier
    assert amounts[-1][1] == 80_00 * 95 // 100  # 80 % above it
    _assert_replay_equals_storage(world.agency_a.pk, version.pk, list(range(19)))


def test_a_real_checkpoint_bounds_the_replay_of_a_line(statement_world: Any) -> None:
    """CHECKPOINT_EVERY as shipped: more lines than that for one contract, and the explanation of
    the line after the checkpoint reads the allocations from the checkpoint on, not from 0."""
    world = statement_world
    version = sign_contract(world, world.creator_a, ["douyin"], STATEFUL_RULES)
    count = CHECKPOINT_EVERY + 3
    import_rows(world, _gifts(count, datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)), "big.csv")

    assert StateCheckpoint.objects.filter(contract_version_id=version.pk, ordinal=CHECKPOINT_EVERY).exists()
    target = LineAllocation.objects.get(contract_version_id=version.pk, ordinal=CHECKPOINT_EVERY + 1)
    with CaptureQueriesContext(connection) as queries:
        split = line_split(line=IncomeLine.objects.get(pk=target.line_id))

    assert split["matches_stored"] is True and split["proof"]["verified"] is True
    replays = [q["sql"] for q in queries.captured_queries if "a.ordinal >= " in q["sql"]]
    assert replays and f"a.ordinal >= {CHECKPOINT_EVERY} " in replays[0], replays
    _assert_replay_equals_storage(
        world.agency_a.pk, version.pk, [0, CHECKPOINT_EVERY - 1, CHECKPOINT_EVERY, count - 1]
    )
