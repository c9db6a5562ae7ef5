"""How allocations become postings: the one mapping of split amounts to ledger accounts.

The scheme of one line (positive = debit, negative = credit; zeros left out):

    income clearing (agency)                 +gross   the income leaves clearing…
    deduction account per deduction id       -d       …to the platform fee, expenses, tax reserve…
    creator payable (creator)                -payable …to what the agency owes the creator,
    agency revenue (agency)                  -payable …to the agency's revenue,
    party payable (other party slug)         -payable …to any further party of the rule set,
    advances receivable (creator)            -recouped and repays the creator's advance.

The spec's invariant `gross = Σ deductions + Σ payable + recouped` makes each line balance, so
the sum of a group of lines balances too: an entry posts the group's sum per account.
A refund line has a negative gross, so the same scheme reverses its original to the fen.
"""

from __future__ import annotations

from collections.abc import Sequence

from apps.ledger.models import Account
from apps.splits.engine import RuleSet

Purpose = Account.Purpose
AccountKey = tuple[str, str, int | None]  # (purpose, key, creator id)


def allocation_moves(
    *, rule_set: RuleSet, rule_index: int, gross: int, amounts: Sequence[int], creator_id: int
) -> list[tuple[AccountKey, int]]:
    """(account key, signed amount) of one allocation, zeros left out."""
    rule = rule_set.rules[rule_index]
    moves: list[tuple[AccountKey, int]] = [((Purpose.INCOME_CLEARING, "", None), gross)]
    deduction_count = len(rule.part_ids)
    for part_id, amount in zip(rule.part_ids, amounts[:deduction_count], strict=True):
        moves.append(((Purpose.DEDUCTION, part_id, None), -amount))
    for party, amount in zip(rule_set.parties, amounts[deduction_count:-1], strict=True):
        if party == "creator":
            key: AccountKey = (Purpose.CREATOR_PAYABLE, "", creator_id)
        elif party == "agency":
            key = (Purpose.AGENCY_REVENUE, "", None)
        else:
            key = (Purpose.PARTY_PAYABLE, party, creator_id)
        moves.append((key, -amount))
    moves.append(((Purpose.ADVANCES_RECEIVABLE, "", creator_id), -amounts[-1]))
    return [(key, amount) for key, amount in moves if amount != 0]
