"""A line's split as a list of figures, from the gross down to what is payable to the creator
(issue 14): gross → each deduction → expenses → each tier portion → the agency cap → my share →
recouped → payable. Built from the engine's result recomputed by `line_split` (the same result
the explanation sentences come from), so it can neither drift from them nor be stored: nothing
here reads the database.

Every figure is signed the way it moves the creator's money: deductions and recoupment negative,
shares positive. A row's `detail` says where its figure comes from in the contract's words (the
rule's and deductions' labels as the rule set's author wrote them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from apps.common.money import format_money, to_decimal_string
from apps.splits.engine import LineResult, RuleSet
from apps.splits.engine.money import format_percent
from apps.splits.engine.rules import EXPENSES
from apps.splits.explain import party_name


@dataclass(frozen=True)
class BreakdownRow:
    # gross, deduction, expenses, net, portion, cap, share, other_share, recouped, payable
    kind: str
    label: str
    amount_minor: int
    detail: str = ""

    @property
    def is_total(self) -> bool:
        return self.kind in ("net", "share", "payable")

    def as_json(self, currency: str) -> dict[str, Any]:
        """For the line page and the API: the amount in minor units and as a decimal string."""
        return {
            "kind": self.kind,
            "label": self.label,
            "amount": to_decimal_string(self.amount_minor, currency),
            "amount_minor": self.amount_minor,
            "currency": currency,
            "detail": self.detail,
            "is_total": self.is_total,
        }


def _labels(rule_set: RuleSet, rule_id: str) -> tuple[str, dict[str, str]]:
    """The rule's label and its deductions' labels (expenses included) as written in the rule set."""
    for raw in rule_set.document.get("rules", []):
        if raw.get("id") == rule_id:
            labels = {item["id"]: item.get("label", item["id"]) for item in raw.get("deductions", [])}
            labels[EXPENSES] = raw.get("expenses", {}).get("label") or _("Expenses")
            return raw.get("label", rule_id), labels
    return rule_id, {EXPENSES: _("Expenses")}


def rule_label(rule_set: RuleSet, rule_id: str) -> str:
    return _labels(rule_set, rule_id)[0]


def split_breakdown(result: LineResult, rule_set: RuleSet, *, mine: bool = True) -> list[BreakdownRow]:
    """The figures of one evaluated line, in order, in the rule set's currency ([] for an error).
    `mine`: read by the creator ("my share"), else by the agency ("the creator's share")."""
    if result.error is not None or result.rule is None:
        return []
    rule = result.rule
    currency = rule_set.currency
    money = lambda minor: format_money(minor, currency)  # noqa: E731
    _rule_label, labels = _labels(rule_set, rule.id)
    me = rule_set.creator_index
    viewer = "creator" if mine else None
    steps: dict[str, list[tuple[Any, ...]]] = {}
    for step in result.trace:
        steps.setdefault(step[0], []).append(step)
    deduction_steps = {step[1]: step for step in steps.get("deduction", [])}

    rows = [BreakdownRow("gross", _("Gross"), result.gross)]
    for refund in steps.get("refund", []):
        rows[0] = BreakdownRow(
            "gross",
            _("Gross (a refund)"),
            result.gross,
            _("Reverses what remained of line %(original)s, in proportion.") % {"original": refund[1]},
        )
    for part_id, amount in zip(rule.part_ids, result.deductions, strict=True):
        detail = ""
        if part_id == EXPENSES:
            for _tag, claimed, cap_percent, cap_amount, _available, _amount in steps.get("expenses", []):
                detail = _("%(claimed)s claimed, capped at %(percent)s of gross (%(cap)s).") % {
                    "claimed": money(claimed),
                    "percent": format_percent(cap_percent) + "%",
                    "cap": money(cap_amount),
                }
            rows.append(BreakdownRow("expenses", labels.get(EXPENSES, part_id), -amount, detail))
            continue
        deduction = deduction_steps.get(part_id)
        if deduction is not None:
            detail = _("%(percent)s of %(base)s") % {
                "percent": format_percent(deduction[3]) + "%",
                "base": money(deduction[2]),
            }
        rows.append(BreakdownRow("deduction", labels.get(part_id, part_id), -amount, detail))
    rows.append(BreakdownRow("net", _("Left to split"), result.net))

    for _tag, band, _low, _high, amount, weights, parts, _given in steps.get("portion", []):
        split = "/".join(format_percent(weight) for weight in weights)
        label = _("Tier %(number)s") % {"number": band + 1}
        if band == 0:
            where = _("%(amount)s split %(split)s") % {"amount": money(amount), "split": split}
        else:
            where = _("%(amount)s above %(threshold)s split %(split)s") % {
                "amount": money(amount),
                "threshold": money(rule.tiers[band - 1][0]),
                "split": split,
            }
        rows.append(
            BreakdownRow(
                "portion",
                label,
                int(parts[me]),
                _("%(where)s; %(share)s of it to %(party)s.")
                % {
                    "where": where,
                    "party": party_name(rule_set.parties[me], viewer=viewer),
                    "share": money(parts[me]),
                },
            )
        )
    for _tag, period, cap, used, _room, moved in steps.get("cap", []):
        if moved:
            rows.append(
                BreakdownRow(
                    "cap",
                    _("Agency cap"),
                    int(moved),
                    _(
                        "The agency's share is capped at %(cap)s for %(period)s (%(used)s earned before): the rest is yours."
                    )
                    % {"cap": money(cap), "period": period, "used": money(used)},
                )
            )
    rows.append(
        BreakdownRow("share", _("My share") if mine else _("Creator's share"), int(result.shares[me]))
    )
    for index, party in enumerate(rule_set.parties):
        if index != me:
            rows.append(
                BreakdownRow(
                    "other_share",
                    _("Share of %(party)s") % {"party": party_name(party, viewer=viewer)},
                    int(result.shares[index]),
                )
            )
    if result.recouped:
        detail = ""
        for _tag, before, percent, _amount in steps.get("recoupment", []):
            detail = _(
                "%(percent)s of the creator's share, at most the %(outstanding)s of the advance outstanding."
            ) % {
                "percent": format_percent(percent) + "%",
                "outstanding": money(before),
            }
        # A refund gives back what its original repaid: the advance is owed again (positive here).
        label = _("Advance repaid") if result.recouped > 0 else _("Advance repayment reversed")
        rows.append(BreakdownRow("recouped", label, -int(result.recouped), detail))
    rows.append(
        BreakdownRow(
            "payable", _("Payable to me") if mine else _("Payable to the creator"), int(result.payable[me])
        )
    )
    return rows
