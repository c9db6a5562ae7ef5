"""Plain sentences, in the active language, for the engine's structured trace.

The engine records what it did as tuples (see apps/splits/engine/evaluator.py); this module is
the only place that turns them into words, so evaluation stays fast and the words translatable.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from apps.common.catalog import platform_name, source_name
from apps.common.money import format_money
from apps.splits.engine import LineResult, RuleSet
from apps.splits.engine.money import format_percent


def party_name(party: str, *, viewer: str | None = None) -> str:
    if party == viewer:
        return _("you")
    if party == "creator":
        return _("creator")
    if party == "agency":
        return _("agency")
    return party


def _percent(units: int) -> str:
    return format_percent(units) + "%"


def _split(weights: tuple[int, ...]) -> str:
    return "/".join(format_percent(weight) for weight in weights)


def _shares(rule_set: RuleSet, amounts: tuple[int, ...] | list[int], viewer: str | None) -> str:
    return _(", ").join(
        _("%(party)s %(amount)s")
        % {"party": party_name(party, viewer=viewer), "amount": format_money(amount, rule_set.currency)}
        for party, amount in zip(rule_set.parties, amounts, strict=True)
    )


def _labels(rule_set: RuleSet, rule_id: str) -> tuple[str, dict[str, str]]:
    """The rule's label and its deductions' labels, as the rule set's author wrote them."""
    for raw in rule_set.document["rules"]:
        if raw["id"] == rule_id:
            labels = {item["id"]: item.get("label", item["id"]) for item in raw.get("deductions", [])}
            labels["expenses"] = raw.get("expenses", {}).get("label", _("Expenses"))
            return raw.get("label", rule_id), labels
    return rule_id, {}


def error_text(step: tuple, rule_set: RuleSet | None = None) -> str:
    """One sentence for an ("error", code, field, reason, detail) step."""
    _tag, code, field, reason, detail = step
    if code == "CURRENCY_MISMATCH":
        return _("The line is in %(currency)s, not in the rule set's currency; convert it first.") % {
            "currency": detail
        }
    if code == "NO_MATCHING_RULE":
        return _("No rule matches this line's source and platform.")
    if code == "UNKNOWN_ORIGINAL":
        return _("refund_of names %(original)s, which is not an earlier positive line of this run.") % {
            "original": detail
        }
    if code == "REFUND_EXCEEDS_ORIGINAL":
        left = format_money(int(detail), rule_set.currency) if rule_set else detail
        return _("gross: the refund is larger than what is left unrefunded of the original (%(left)s).") % {
            "left": left
        }
    if code == "EXPENSES_NOT_ALLOWED":
        return _("expenses: rule %(rule)s has no expenses clause, so it accepts no expenses.") % {
            "rule": detail
        }
    messages = {
        "zero": _("%(field)s: the amount is zero; a line must move money."),
        "absurd": _("%(field)s: the amount is larger than 10^15 minor units."),
        "decimals": _("%(field)s: more decimals than the currency has."),
        "format": _("%(field)s: not a decimal amount such as 1234.56."),
        "type": _("%(field)s: not a decimal amount such as 1234.56."),
        "positive_refund": _("%(field)s: a refund must be negative."),
        "negative_line": _("%(field)s: a negative line cannot carry expenses."),
        "negative": _("%(field)s: expenses cannot be negative."),
    }
    return messages.get(reason, _("%(field)s: invalid amount.")) % {"field": field}


def explain_steps(
    result: LineResult, rule_set: RuleSet, *, source: str = "", platform: str = "", viewer: str | None = None
) -> list[str]:
    """One sentence per trace step, in order, in the active language."""
    if result.error is not None:
        return [error_text(result.trace[0], rule_set)]
    currency = rule_set.currency
    money = lambda minor: format_money(minor, currency)  # noqa: E731
    rule = result.rule
    assert rule is not None
    rule_label, labels = _labels(rule_set, rule.id)
    sentences = []
    for step in result.trace:
        tag = step[0]
        if tag == "match":
            _tag, _rule_id, line_source, line_platform, keys = step
            values = {
                "rule": rule_label,
                "source": source_name(line_source),
                "platform": platform_name(line_platform),
            }
            if keys == ("sources", "platforms"):
                text = _("Rule “%(rule)s” applies: it covers %(source)s on %(platform)s.")
            elif keys == ("sources",):
                text = _("Rule “%(rule)s” applies: it covers %(source)s on any platform.")
            elif keys == ("platforms",):
                text = _("Rule “%(rule)s” applies: it covers any income on %(platform)s.")
            else:
                text = _("Rule “%(rule)s” applies: it covers all income.")
            sentences.append(text % values)
        elif tag == "deduction":
            _tag, deduction_id, base, percent, amount = step
            sentences.append(
                _("%(label)s: %(percent)s of %(base)s = %(amount)s.")
                % {
                    "label": labels.get(deduction_id, deduction_id),
                    "percent": _percent(percent),
                    "base": money(base),
                    "amount": money(amount),
                }
            )
        elif tag == "expenses":
            _tag, claimed, cap_percent, cap_amount, _available, amount = step
            sentences.append(
                _(
                    "%(label)s: %(claimed)s claimed, capped at %(percent)s of gross (%(cap)s): %(amount)s deducted."
                )
                % {
                    "label": labels["expenses"],
                    "claimed": money(claimed),
                    "percent": _percent(cap_percent),
                    "cap": money(cap_amount),
                    "amount": money(amount),
                }
            )
        elif tag == "tiers":
            _tag, period, so_far, net = step
            sentences.append(
                _(
                    "In %(period)s this rule had %(so_far)s before this line; the tiers apply to the next %(net)s."
                )
                % {"period": period, "so_far": money(so_far), "net": money(net)}
            )
        elif tag == "portion":
            _tag, band, _low, _high, amount, weights, parts, given = step
            values = {
                "amount": money(amount),
                "split": _split(weights),
                "shares": _shares(rule_set, parts, viewer),
            }
            if band == 0:
                text = _("%(amount)s split %(split)s: %(shares)s.")
            else:
                values["threshold"] = money(rule.tiers[band - 1][0])
                text = _("%(amount)s above %(threshold)s split %(split)s: %(shares)s.")
            sentences.append(text % values)
            if given:
                sentences.append(
                    _("Rounding: the leftover minor units went by largest remainder to %(parties)s.")
                    % {
                        "parties": _(", ").join(
                            party_name(rule_set.parties[index], viewer=viewer) for index in given
                        )
                    }
                )
        elif tag == "cap":
            _tag, period, cap, used, _room, moved = step
            values = {"cap": money(cap), "period": period, "used": money(used), "moved": money(moved)}
            if moved:
                text = _(
                    "Agency cap %(cap)s for %(period)s (%(used)s already earned): %(moved)s moves to the creator."
                )
            else:
                text = _("Agency cap %(cap)s for %(period)s (%(used)s already earned): within the cap.")
            sentences.append(text % values)
        elif tag == "recoupment":
            _tag, outstanding, percent, amount = step
            sentences.append(
                _(
                    "Advance recoupment: %(percent)s of the creator's share, at most the %(outstanding)s outstanding = %(amount)s."
                )
                % {"percent": _percent(percent), "outstanding": money(outstanding), "amount": money(amount)}
            )
        elif tag == "refund":
            original = step[1]
            sentences.append(
                _("Refund of line %(original)s: %(gross)s reverses what remained of it in proportion.")
                % {"original": original, "gross": money(result.gross)}
            )
    sentences.append(_("Result: %(shares)s.") % {"shares": _shares(rule_set, result.payable, viewer)})
    if result.recouped:
        sentences.append(
            _("%(amount)s of the creator's share repays the advance.") % {"amount": money(result.recouped)}
        )
    return sentences


def explain_summary(
    result: LineResult, rule_set: RuleSet, *, source: str, platform: str, viewer: str | None = None
) -> str:
    """The whole line in one sentence of arrows, e.g. Brand deal ¥10,000.00 on Douyin → ..."""
    if result.error is not None:
        return error_text(result.trace[0], rule_set)
    money = lambda minor: format_money(minor, rule_set.currency)  # noqa: E731
    rule = result.rule
    assert rule is not None
    _rule_label, labels = _labels(rule_set, rule.id)
    pieces = [
        _("%(source)s %(gross)s on %(platform)s")
        % {"source": source_name(source), "gross": money(result.gross), "platform": platform_name(platform)}
    ]
    portions: list[str] = []
    after: list[str] = []
    for step in result.trace:
        tag = step[0]
        if tag == "deduction":
            pieces.append(
                _("%(label)s %(percent)s = %(amount)s")
                % {
                    "label": labels.get(step[1], step[1]),
                    "percent": _percent(step[3]),
                    "amount": money(step[4]),
                }
            )
        elif tag == "expenses" and step[5]:
            pieces.append(_("%(label)s %(amount)s") % {"label": labels["expenses"], "amount": money(step[5])})
        elif tag == "portion":
            portions.append(
                _("%(amount)s split %(split)s") % {"amount": money(step[4]), "split": _split(step[5])}
            )
        elif tag == "cap" and step[5]:
            after.append(_("agency cap moves %(moved)s to the creator") % {"moved": money(step[5])})
        elif tag == "recoupment":
            after.append(_("advance recouped %(amount)s") % {"amount": money(step[3])})
        elif tag == "refund":
            pieces.append(_("refund of %(original)s") % {"original": step[1]})
    if portions:
        pieces.append(" + ".join(portions))
    pieces.extend(after)
    pieces.append(_shares(rule_set, result.payable, viewer))
    return _("%(steps)s.") % {"steps": " → ".join(pieces)}
