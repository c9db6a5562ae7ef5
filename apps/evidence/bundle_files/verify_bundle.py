#!/usr/bin/env python3
"""Check a Fenrun evidence bundle on your own computer: Python 3.12 or newer, standard library only.

    python3 verify_bundle.py            (in the folder the bundle was unzipped into)
    python3 verify_bundle.py FOLDER

It imports nothing of Fenrun but the split engine shipped in this bundle's engine/ folder (the
same source files as Fenrun's, listed with their SHA-256 in manifest.json), and checks:

1. every file against manifest.json (SHA-256 and size);
2. each contract version's document text against its signed hash, its signed PDF against its
   recorded SHA-256, and each signature against the document it signed;
3. every allocation (one per income line): its leaf, SHA-256 of its canonical JSON, and the
   leaf's Merkle proof up to its ledger entry's lines_root; every entry's root recomputed from
   all its leaves;
4. every split: each contract version's lines are re-evaluated by the split engine, in order
   from the first, under the rule set the contract carries, and must give the very amounts of
   the leaf;
5. the hash chain: every entry whose content the bundle holds is re-hashed, and every link
   prev_hash -> hash is checked from the first entry of the segment to the agency's head;
6. each entry's postings equal the sum of its lines' splits per account;
7. the ledger heads the published statements name are entries of the chain, and each
   statement's content hashes to the SHA-256 printed on its PDF, with each line's share equal to
   the recomputed split.

It prints a summary, names every mismatch, and exits 1 if there is any (0 when all is well).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
MAX_PRINTED = 200  # problems printed one by one; all are counted


def canonical(value: Any) -> str:
    """Fenrun's one serialisation for hashing: keys sorted, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def jsonl(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                try:
                    yield json.loads(text)
                except ValueError:
                    raise SystemExit(f"{path.name} line {number} is not JSON: the file is damaged") from None


# --- Merkle trees (docs/merkle.md) -------------------------------------------------------------


def leaf_hash(document: dict[str, Any]) -> bytes:
    return hashlib.sha256(canonical(document).encode("utf-8")).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962's shape: the first k leaves (k the largest power of two below n) on the left."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def fold_proof(leaf: bytes, path: list[dict[str, str]]) -> bytes:
    current = leaf
    for step in path:
        sibling = bytes.fromhex(step["hash"])
        current = node(sibling, current) if step["side"] == "L" else node(current, sibling)
    return current


# --- the report ---------------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.problems = 0
        self.counts: dict[str, int] = defaultdict(int)

    def problem(self, text: str) -> None:
        self.problems += 1
        if self.problems <= MAX_PRINTED:
            print(f"MISMATCH: {text}")
        elif self.problems == MAX_PRINTED + 1:
            print("MISMATCH: … (more problems: only the first ones are printed, all are counted)")


# --- 1. the manifest ------------------------------------------------------------------------------


def check_manifest(root: Path, report: Report) -> None:
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    listed = manifest["files"]
    for name, expected in sorted(listed.items()):
        path = root / name
        if not path.is_file():
            report.problem(f"file {name}: listed in manifest.json but missing")
            continue
        if path.stat().st_size != expected["size"] or sha256_file(path) != expected["sha256"]:
            report.problem(
                f"file {name}: changed since the bundle was built (its SHA-256 differs from manifest.json)"
            )
        report.counts["files"] += 1
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if (
            path.is_file()
            and name != "manifest.json"
            and "__pycache__" not in path.parts
            and name not in listed
        ):
            report.problem(f"file {name}: not in manifest.json (added after the bundle was built)")


# --- the split engine, from this bundle only -------------------------------------------------------


def load_engine(root: Path) -> Any:
    engine_dir = root / "engine"
    sys.dont_write_bytecode = True  # leave the bundle's files as they are
    sys.path.insert(0, str(engine_dir))
    import apps.splits.engine as engine  # the bundle's copy: engine/apps/splits/engine/

    loaded = Path(engine.__file__).resolve()
    if engine_dir.resolve() not in loaded.parents:
        raise SystemExit(f"the split engine was imported from {loaded}, not from this bundle: stop")
    return engine


# --- 2. contracts ------------------------------------------------------------------------------------


def check_contracts(root: Path, report: Report) -> dict[int, dict[str, Any]]:
    versions = json.loads((root / "contracts/versions.json").read_text(encoding="utf-8"))
    for version in versions:
        name = f"contract {version['contract']} version {version['number']}"
        text = root / version["document_file"]
        if not text.is_file() or sha256_file(text) != version["document_sha256"]:
            report.problem(f"{name}: its document text does not hash to the signed document hash")
        if version["pdf_file"]:
            pdf = root / version["pdf_file"]
            if not pdf.is_file() or sha256_file(pdf) != version["pdf_sha256"]:
                report.problem(f"{name}: its signed PDF does not match its recorded SHA-256")
            report.counts["signed_pdfs"] += 1
        for signature in version["signatures"]:
            report.counts["signatures"] += 1
            if signature["document_sha256"] != version["document_sha256"]:
                report.problem(f"{name}: the {signature['party']} signature is on another document")
        if hashlib.sha256(canonical(version["rule_set"]).encode()).hexdigest() != version["rule_set_sha256"]:
            report.problem(f"{name}: its split rules do not hash to rule_set_sha256")
        report.counts["contract_versions"] += 1
    return {version["id"]: version for version in versions}


# --- 5. the chain ---------------------------------------------------------------------------------------


def entry_hash(record: dict[str, Any]) -> str:
    """SHA-256(prev_hash bytes || canonical JSON {"content", "posted_at", "seq"})."""
    document = canonical(
        {"content": record["content"], "posted_at": record["posted_at"], "seq": record["seq"]}
    )
    return hashlib.sha256(bytes.fromhex(record["prev_hash"]) + document.encode("utf-8")).hexdigest()


def check_chain(root: Path, bundle: dict[str, Any], wanted: set[int], report: Report) -> tuple[dict, dict]:
    """(entries with content by seq, hash of each wanted seq)."""
    entries: dict[int, dict[str, Any]] = {}
    hashes: dict[int, str] = {}
    previous: dict[str, Any] | None = None
    for record in jsonl(root / "ledger/chain.jsonl"):
        seq = record["seq"]
        report.counts["chain_rows"] += 1
        if previous is None:
            report.counts["chain_first"] = seq
            if seq == 1 and record["prev_hash"] != GENESIS:
                report.problem("entry #1: its prev_hash is not the genesis hash (64 zeros)")
        else:
            if seq != previous["seq"] + 1:
                report.problem(
                    f"entry #{seq}: follows #{previous['seq']}: entries are missing from the chain"
                )
            if record["prev_hash"] != previous["hash"]:
                report.problem(
                    f"entry #{seq}: its prev_hash is not the hash of entry #{previous['seq']}: the chain is broken"
                )
            else:
                report.counts["links"] += 1
        if "content" in record:
            content = record["content"]
            if entry_hash(record) != record["hash"]:
                report.problem(f"entry #{seq} ({record['public_id']}): its hash does not match its content")
            else:
                report.counts["entry_hashes"] += 1
            if content["agency"] != bundle["agency"]["id"] or content["creator"] not in (
                bundle["creator"]["id"],
                None,
            ):
                report.problem(f"entry #{seq}: it names another agency or creator than this bundle's")
            entries[seq] = {
                "lines_root": content["lines_root"],
                "line_count": content["line_count"],
                "creator": content["creator"],
                "postings": content["postings"],
            }
        if seq in wanted:
            hashes[seq] = record["hash"]
        previous = record
    head = bundle["ledger_head"]
    if previous is None:
        if head["seq"]:
            report.problem(f"the chain segment is empty, but the ledger head is #{head['seq']}")
    elif (previous["seq"], previous["hash"]) != (head["seq"], head["hash"]):
        report.problem(
            f"the chain segment ends at #{previous['seq']}, not at the ledger head #{head['seq']} {head['hash']}"
        )
    report.counts["chain_last"] = previous["seq"] if previous else 0
    return entries, hashes


def check_heads(
    heads: dict[str, Any], bundle: dict[str, Any], hashes: dict[int, str], report: Report
) -> None:
    if heads["build"] != bundle["ledger_head"]:
        report.problem("ledger/heads.json and bundle.json give different ledger heads")
    for head in heads["published"]:
        found = hashes.get(head["seq"])
        if found is None:
            report.problem(
                f"statement {head['number']}: its ledger head #{head['seq']} is not in the chain segment"
            )
        elif found != head["hash"]:
            report.problem(
                f"statement {head['number']}: it was published at ledger head #{head['seq']} {head['hash']}, "
                f"but the chain's entry #{head['seq']} has hash {found}: history was rewritten"
            )
        else:
            report.counts["published_heads"] += 1


# --- 3, 4, 6. allocations, splits, proofs, postings ---------------------------------------------------------


def parse_moment(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.UTC)


class RuleSets:
    """Each rule set snapshot of recognition/rule_sets/, parsed once, checked against its name."""

    def __init__(self, root: Path, engine: Any, report: Report) -> None:
        self.root, self.engine, self.report = root, engine, report
        self.parsed: dict[str, Any] = {}

    def get(self, sha: str) -> Any:
        if sha not in self.parsed:
            path = self.root / "recognition" / "rule_sets" / f"{sha}.json"
            if not path.is_file():
                self.report.problem(f"rule set {sha}: missing from recognition/rule_sets/")
                self.parsed[sha] = None
            else:
                document = json.loads(path.read_text(encoding="utf-8"))
                if hashlib.sha256(canonical(document).encode()).hexdigest() != sha:
                    self.report.problem(f"rule set {sha}: its document does not hash to its name")
                self.parsed[sha] = self.engine.parse_rule_set(document)
        return self.parsed[sha]


def amounts_of(document: dict[str, Any], rule_set: Any) -> list[int] | None:
    """The leaf's amounts in the engine's order: deductions (rule order), payables, recouped."""
    try:
        rule = rule_set.rule(document["rule"])
        return [
            *(document["deductions"][part] for part in rule.part_ids),
            *(document["payable"][party] for party in rule_set.parties),
            document["recouped"],
        ]
    except (StopIteration, KeyError):
        return None


def originals_needed(root: Path) -> dict[str, dict[str, Any]]:
    """A first pass: the leaves of the lines that refunds refund (the engine must know them)."""
    wanted = {record["document"]["refund_of"] for record in jsonl(root / "recognition/allocations.jsonl")}
    wanted.discard(None)
    found = {}
    for record in jsonl(root / "recognition/allocations.jsonl"):
        if record["line"] in wanted:
            found[record["line"]] = record["document"]
    return found


def moves_of(document: dict[str, Any], rule_set: Any) -> list[tuple[tuple[str, str], int]]:
    """How Fenrun posts one allocation (apps/recognition/postings.py): (purpose, key), amount."""
    moves = [(("income_clearing", ""), document["gross"])]
    moves += [(("deduction", part), -amount) for part, amount in document["deductions"].items()]
    for party, amount in document["payable"].items():
        if party == "creator":
            moves.append((("creator_payable", ""), -amount))
        elif party == "agency":
            moves.append((("agency_revenue", ""), -amount))
        else:
            moves.append((("party_payable", party), -amount))
    moves.append((("advances_receivable", ""), -document["recouped"]))
    return [(key, amount) for key, amount in moves if amount]


class Replay:
    """One contract version's engine, from its first line, as Fenrun evaluated them."""

    def __init__(self, engine: Any, rule_set: Any, sha: str) -> None:
        self.evaluator = engine.Evaluator(rule_set)
        self.engine, self.rule_set, self.sha = engine, rule_set, sha
        self.next_ordinal = 0

    def evaluate(self, document: dict[str, Any], original: dict[str, Any] | None, rule_sets: RuleSets) -> Any:
        evaluator = self.evaluator
        refund_of = None
        if original is not None:
            refund_of = f"{original['platform']}:{original['external_id']}"
            self._remember(refund_of, original, rule_sets)
        evaluator.advance_outstanding = document["advance_before"]
        return evaluator.evaluate(
            self.engine.Line(
                id=f"{document['platform']}:{document['external_id']}",
                source=document["source"],
                platform=document["platform"],
                gross=document["gross"],
                occurred_at=parse_moment(document["occurred_at"]),
                currency=self.rule_set.currency,
                refund_of=refund_of,
                expenses=document["expenses_claimed"],
            )
        )

    def _remember(self, engine_id: str, original: dict[str, Any], rule_sets: RuleSets) -> None:
        """An original the engine did not evaluate itself (another version's line): carried from
        its allocation, as Fenrun's recognition does (remember_original)."""
        if self.evaluator.knows_original(engine_id) or original["gross"] <= 0:
            return
        own_rules = rule_sets.get(original["rule_set"])
        amounts = amounts_of(original, own_rules) if own_rules is not None else None
        if amounts is None:
            return
        index = own_rules.rule(original["rule"]).index
        if index >= len(self.rule_set.rules):
            return
        count = len(self.rule_set.rules[index].part_ids)
        self.evaluator.remember_parts(
            engine_id, index, original["gross"], tuple(amounts[:count]), tuple(amounts[count:-1]), amounts[-1]
        )


def differs(result: Any, document: dict[str, Any], rule_set: Any) -> str | None:
    """Why the engine's result is not the leaf's amounts, or None when it is."""
    if result.error is not None:
        return f"the engine refuses the line ({result.error})"
    rule = result.rule
    got = {
        "rule": rule.id,
        "gross": result.gross,
        "deductions": dict(sorted(zip(rule.part_ids, result.deductions, strict=True))),
        "payable": dict(sorted(zip(rule_set.parties, result.payable, strict=True))),
        "recouped": result.recouped,
    }
    wrong = [key for key, value in got.items() if document.get(key) != value]
    if not wrong:
        return None
    return "; ".join(
        f"{key}: the leaf says {document.get(key)}, the engine gives {got[key]}" for key in wrong
    )


def check_allocations(
    root: Path, engine: Any, versions: dict[int, dict[str, Any]], entries: dict[int, dict], report: Report
) -> dict[str, tuple[int, int]]:
    """Every leaf, proof and split; returns the creator's share of each line (minor, exponent)."""
    rule_sets = RuleSets(root, engine, report)
    originals = originals_needed(root)
    shares: dict[str, tuple[int, int]] = {}
    leaves: dict[int, list[bytes]] = defaultdict(list)
    sums: dict[int, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    replays: dict[int, Replay] = {}
    proofs = jsonl(root / "recognition/proofs.jsonl")
    for record in jsonl(root / "recognition/allocations.jsonl"):
        report.counts["allocations"] += 1
        document = record["document"]
        line = f"line {record['line']} ({document['platform']}:{document['external_id']})"
        leaf = leaf_hash(document)
        report.counts["leaves"] += 1
        if leaf.hex() != record["leaf"]:
            report.problem(f"{line}: its leaf document does not hash to its leaf (the document was changed)")
        if (document["line"], document["contract_version"], document["ordinal"]) != (
            record["line"],
            record["contract_version"],
            record["ordinal"],
        ):
            report.problem(f"{line}: its leaf document names another line, version or ordinal")
        check_proof(record, next(proofs, None), leaf, entries, leaves, line, report)
        rule_set = rule_sets.get(document["rule_set"])
        version = versions.get(document["contract_version"])
        if version is None:
            report.problem(
                f"{line}: its contract version {document['contract_version']} is not in this bundle"
            )
        elif version["rule_set_sha256"] != document["rule_set"]:
            report.problem(f"{line}: it was split under other rules than its contract version's")
        if rule_set is None:
            continue
        amounts = amounts_of(document, rule_set)
        if amounts is None or document["gross"] != sum(amounts):
            report.problem(f"{line}: its amounts do not add up to its gross under rule {document['rule']!r}")
        replay = replays.get(document["contract_version"])
        if replay is None:
            replay = replays[document["contract_version"]] = Replay(engine, rule_set, document["rule_set"])
        if document["ordinal"] != replay.next_ordinal:
            report.problem(
                f"{line}: it is line {document['ordinal']} of its contract version, but line "
                f"{replay.next_ordinal} was expected next (lines are missing: the split cannot be replayed)"
            )
        replay.next_ordinal = document["ordinal"] + 1
        original = originals.get(document["refund_of"]) if document["refund_of"] else None
        if document["refund_of"] and original is None:
            report.problem(f"{line}: it refunds line {document['refund_of']}, which is not in this bundle")
        why = differs(replay.evaluate(document, original, rule_sets), document, replay.rule_set)
        if why is None:
            report.counts["splits_equal"] += 1
        else:
            report.problem(f"{line}: the recomputed split differs: {why}")
        report.counts["splits_recomputed"] += 1
        if record["entry_seq"] is not None:
            for key, amount in moves_of(document, rule_set):
                sums[record["entry_seq"]][key] += amount
        creator_share = document["payable"].get("creator")
        if creator_share is not None:
            shares[record["line"]] = (creator_share, rule_set.exponent)
    if next(proofs, None) is not None:
        report.problem("recognition/proofs.jsonl has more proofs than there are allocations")
    check_roots(entries, leaves, report)
    check_postings(root, entries, sums, report)
    return shares


def check_proof(
    record: dict, proof: dict | None, leaf: bytes, entries: dict, leaves: dict, line: str, report: Report
) -> None:
    if proof is None or proof["line"] != record["line"]:
        report.problem(f"{line}: recognition/proofs.jsonl has no proof for it in its place")
        return
    entry = entries.get(proof["entry_seq"])
    if entry is None or not entry["lines_root"]:
        report.problem(
            f"{line}: its ledger entry #{proof['entry_seq']} is not in this bundle's chain with a root"
        )
        return
    leaves[proof["entry_seq"]].append(leaf)
    if fold_proof(leaf, proof["path"]).hex() != entry["lines_root"]:
        report.problem(
            f"{line}: its Merkle proof does not lead to the lines_root of entry #{proof['entry_seq']}"
        )
    else:
        report.counts["proofs"] += 1


def check_roots(entries: dict[int, dict], leaves: dict[int, list[bytes]], report: Report) -> None:
    for seq, entry in sorted(entries.items()):
        if not entry["lines_root"]:
            continue
        found = leaves.get(seq, [])
        if len(found) != entry["line_count"]:
            report.problem(
                f"entry #{seq}: it covers {entry['line_count']} lines, this bundle has {len(found)} of them"
            )
        elif merkle_root(found).hex() != entry["lines_root"]:
            report.problem(f"entry #{seq}: the Merkle root of its lines' leaves is not its lines_root")
        else:
            report.counts["roots"] += 1


def check_postings(root: Path, entries: dict[int, dict], sums: dict, report: Report) -> None:
    accounts = json.loads((root / "ledger/accounts.json").read_text(encoding="utf-8"))
    for seq, entry in sorted(entries.items()):
        if not entry["lines_root"]:
            continue
        posted: dict[tuple[str, str], int] = defaultdict(int)
        for account_id, amount, _currency in entry["postings"]:
            account = accounts.get(str(account_id))
            if account is None:
                report.problem(
                    f"entry #{seq}: it posts to account {account_id}, which ledger/accounts.json does not describe"
                )
                continue
            posted[(account["purpose"], account["key"])] += amount
        expected = {key: amount for key, amount in sums.get(seq, {}).items() if amount}
        if {key: amount for key, amount in posted.items() if amount} != expected:
            report.problem(f"entry #{seq}: its postings are not the sum of its lines' splits")
        else:
            report.counts["postings"] += 1


# --- 7. statements ---------------------------------------------------------------------------------------


def check_statements(root: Path, shares: dict[str, tuple[int, int]], engine: Any, report: Report) -> None:
    statements = json.loads((root / "statements/statements.json").read_text(encoding="utf-8"))
    for statement in statements:
        name = f"statement {statement['number']} ({statement['period']})"
        content_path = root / statement["content_file"]
        if sha256_file(content_path) != statement["content_sha256"]:
            report.problem(f"{name}: its content does not hash to the content SHA-256 printed on its PDF")
        content = json.loads(content_path.read_text(encoding="utf-8"))
        if statement["ledger_head_seq"] is not None and content.get("ledger_head") != {
            "seq": statement["ledger_head_seq"],
            "hash": statement["ledger_head_hash"],
        }:
            report.problem(f"{name}: its content names another ledger head than the statement")
        if statement["pdf_file"]:
            if sha256_file(root / statement["pdf_file"]) != statement["pdf_sha256"]:
                report.problem(f"{name}: its PDF does not match its recorded SHA-256")
        else:
            print(f"note: {name}: its PDF was still being rendered when the bundle was built")
        if len(content["lines"]) != statement["line_count"]:
            report.problem(
                f"{name}: it counts {statement['line_count']} lines, its content lists {len(content['lines'])}"
            )
        for item in content["lines"]:
            share = shares.get(item["line"])
            if share is None:
                report.problem(f"{name}: line {item['line']} is not among this bundle's allocations")
            elif engine.format_amount(*share) != item["creator_share"]:
                report.problem(
                    f"{name}: line {item['line']}: the statement gives you {item['creator_share']}, its "
                    f"allocation {engine.format_amount(*share)}"
                )
        report.counts["statements"] += 1


def check_lines(root: Path, shares: dict[str, tuple[int, int]], allocations: int, report: Report) -> None:
    recognised: set[str] = set()
    with (root / "income/lines.csv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            report.counts["income_lines"] += 1
            if row["contract_version"]:
                recognised.add(row["line"])
    report.counts["recognised_lines"] = len(recognised)
    if len(recognised) != allocations:
        report.problem(
            f"income/lines.csv lists {len(recognised)} recognised lines, the bundle has {allocations} allocations"
        )
    missing = set(shares) - recognised
    if missing:
        report.problem(
            f"{len(missing)} allocated lines are not in income/lines.csv, e.g. {sorted(missing)[0]}"
        )


# --- main ------------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 12):  # noqa: UP036 (runs on the creator's Python, not Fenrun's)
        print("verify_bundle.py needs Python 3.12 or newer")
        return 2
    root = Path(argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))).resolve()
    if not (root / "bundle.json").is_file():
        print(f"{root} is not an unzipped Fenrun evidence bundle (no bundle.json)")
        return 2
    report = Report()
    bundle = json.loads((root / "bundle.json").read_text(encoding="utf-8"))
    print(
        f"Fenrun evidence bundle: {bundle['creator']['name']} at {bundle['agency']['name']}, built {bundle['built_at']}"
    )
    check_manifest(root, report)
    engine = load_engine(root)
    versions = check_contracts(root, report)
    heads = json.loads((root / "ledger/heads.json").read_text(encoding="utf-8"))
    entries, hashes = check_chain(root, bundle, {head["seq"] for head in heads["published"]}, report)
    check_heads(heads, bundle, hashes, report)
    shares = check_allocations(root, engine, versions, entries, report)
    check_lines(root, shares, report.counts["allocations"], report)
    check_statements(root, shares, engine, report)
    summary(bundle, entries, report)
    if report.problems:
        print(f"FAILED: {report.problems} problem(s) found. This bundle does not check out.")
        return 1
    print("OK: every split recomputed and every hash verified.")
    return 0


def summary(bundle: dict[str, Any], entries: dict[int, dict], report: Report) -> None:
    counts = report.counts
    head = bundle["ledger_head"]
    others = counts["chain_rows"] - len(entries)
    print(f"  files:        {counts['files']} files checked against manifest.json")
    print(
        f"  contracts:    {counts['contract_versions']} version(s), {counts['signed_pdfs']} signed PDF(s), "
        f"{counts['signatures']} signature(s) checked"
    )
    print(
        f"  income lines: {counts['income_lines']} in income/lines.csv, {counts['recognised_lines']} recognised"
    )
    print(
        f"  splits:       {counts['splits_equal']} of {counts['allocations']} allocations recomputed by the "
        "split engine and equal"
    )
    print(
        f"  merkle:       {counts['leaves']} leaves hashed, {counts['proofs']} proofs verified, "
        f"{counts['roots']} entry roots recomputed"
    )
    print(
        f"  chain:        entries #{counts['chain_first']} to #{counts['chain_last']}: {counts['links']} links "
        f"checked, {counts['entry_hashes']} entry hashes recomputed ({others} other entries belong to other "
        "creators or to the agency alone: linked by their hashes, not recomputed)"
    )
    print(f"  postings:     {counts['postings']} entries post exactly the sum of their lines' splits")
    print(
        f"  heads:        ledger head #{head['seq']} {head['hash']} at build; {counts['published_heads']} "
        "published statement head(s) found in the chain"
    )
    print(f"  statements:   {counts['statements']} published statement(s) checked")


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except (OSError, KeyError, ValueError, TypeError) as error:
        # A file missing, or not what it should be: the bundle was damaged or edited.
        print(f"FAILED: the bundle is damaged and cannot be checked ({type(error).__name__}: {error}).")
        return 1


if __name__ == "__main__":
    sys.exit(run(sys.argv))
