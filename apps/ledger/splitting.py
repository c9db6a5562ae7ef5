"""How a split becomes postings, and what is kept so that verify_ledger can re-run it.

A split entry stores the rule set document (as a RuleSetSnapshot, by content hash), the engine's
input line (amounts in minor units) and the part of the engine's state that the line reads
(running nets, the agency's and creator's period shares, the outstanding advance, and for a
refund the original's refundable parts). Re-evaluating that line in that state with the engine
must give the same rule, trace and postings: that is what verify_ledger checks.

The posting scheme of one evaluated line (positive = debit, negative = credit; zeros skipped):

    income clearing (agency)                 +gross   the income leaves clearing…
    deduction account per deduction id       -d       …to the platform fee, expenses, tax reserve…
    creator payable (creator)                -payable …to what the agency owes the creator,
    agency revenue (agency)                  -payable …to the agency's revenue,
    party payable (other party slug)         -payable …to any further party of the rule set,
    advances receivable (creator)            -recouped and repays the creator's advance.

The spec's invariant `gross = Σ deductions + Σ payable + recouped` makes every split balance.
A refund line has a negative gross, so the same scheme reverses its original to the fen.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from apps.ledger.models import Account
from apps.splits.engine import Evaluator, Line, LineResult, RuleSet

Purpose = Account.Purpose


# One encoder for every call: json.dumps() with arguments builds a new JSONEncoder each time,
# which was a fifth of the cost of serialising a split's line, state and trace.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8 kept as is."""
    return _CANONICAL(value)


def rule_set_sha256(document: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()


_SCALARS = (int, str, bool, type(None))


def jsonable(value: Any) -> Any:
    """Tuples become lists, as they will after a trip through jsonb: the hash must not change."""
    kind = type(value)
    if kind in _SCALARS:  # the common case first: a trace is mostly ints and strings
        return value
    if kind is tuple or kind is list:
        return [item if type(item) in _SCALARS else jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, float):
        raise TypeError("a float has no place in the ledger")
    if isinstance(value, tuple | list):
        return [jsonable(item) for item in value]
    return value


def engine_line_dump(line: Line) -> dict[str, Any]:
    return {
        "id": line.id,
        "source": line.source,
        "platform": line.platform,
        "gross": line.gross,
        "currency": line.currency,
        "occurred_at": line.occurred_at.isoformat(),
        "refund_of": line.refund_of,
        "expenses": line.expenses,
    }


def engine_line_load(data: dict[str, Any]) -> Line:
    return Line(
        id=data["id"],
        source=data["source"],
        platform=data["platform"],
        gross=int(data["gross"]),
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        currency=data.get("currency"),
        refund_of=data.get("refund_of"),
        expenses=int(data.get("expenses") or 0),
    )


def engine_state_dump(evaluator: Evaluator, line: Line) -> dict[str, Any]:
    """The state `line` will be evaluated in. Of the refundable originals only the one a refund
    names is kept: the others cannot influence this line, and keeping them all would grow
    every entry with the history before it."""
    return evaluator.export_state(originals=(line.refund_of,) if line.refund_of is not None else ())


def engine_state_load(rule_set: RuleSet, state: dict[str, Any]) -> Evaluator:
    return Evaluator.from_state(rule_set, state)


AccountKey = tuple[str, str, int | None]  # (purpose, key, creator id)


def split_moves(*, result: LineResult, rule_set: RuleSet, creator_id: int) -> list[tuple[AccountKey, int]]:
    """(account key, amount) of a successful line result in the scheme above, zeros left out.

    Accounts are named by key, not id, so that posting (which creates missing accounts) and
    verify_ledger (which only reads them) share this one mapping.
    """
    assert result.error is None and result.rule is not None
    moves: list[tuple[AccountKey, int]] = [((Purpose.INCOME_CLEARING, "", None), result.gross)]
    for part_id, amount in zip(result.rule.part_ids, result.deductions, strict=True):
        moves.append(((Purpose.DEDUCTION, part_id, None), -amount))
    for party, amount in zip(rule_set.parties, result.payable, strict=True):
        if party == "creator":
            key: AccountKey = (Purpose.CREATOR_PAYABLE, "", creator_id)
        elif party == "agency":
            key = (Purpose.AGENCY_REVENUE, "", None)
        else:
            key = (Purpose.PARTY_PAYABLE, party, creator_id)
        moves.append((key, -amount))
    moves.append(((Purpose.ADVANCES_RECEIVABLE, "", creator_id), -result.recouped))
    return [(key, amount) for key, amount in moves if amount != 0]
