"""The evaluator: one income line at a time, in recognition order, with state between lines.

The hot path works only on ints and tuples. A LineResult carries parallel tuples (deductions in
the rule's part order, shares and payables in party order) and a trace: a tuple of steps, each a
plain tuple whose first item names the step. Nothing is formatted here; explain.py turns the
steps into sentences, and LineResult.as_json() into the spec's decimal strings.

Trace steps:
    ("match", rule_id, source, platform, match_keys)
    ("deduction", deduction_id, base, percent_units, amount)
    ("expenses", claimed, cap_percent_units, cap_amount, available, amount)
    ("tiers", period_key, net_so_far, net)
    ("portion", band, low, high, amount, weights, parts, units_given)   band 0 is the base split
    ("cap", period_key, cap, agency_so_far, room, moved)
    ("recoupment", outstanding_before, percent_units, amount)
    ("refund", original_id, weights, parts, units_given)
    ("error", code, field, reason, detail)
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from apps.splits.engine.money import HALF_PERCENT, MAX_MINOR, PERCENT_SCALE, allocate, format_amount, half_up
from apps.splits.engine.periods import PeriodClock
from apps.splits.engine.rules import Rule, RuleSet

CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
INVALID_AMOUNT = "INVALID_AMOUNT"
NO_MATCHING_RULE = "NO_MATCHING_RULE"
UNKNOWN_ORIGINAL = "UNKNOWN_ORIGINAL"
REFUND_EXCEEDS_ORIGINAL = "REFUND_EXCEEDS_ORIGINAL"
EXPENSES_NOT_ALLOWED = "EXPENSES_NOT_ALLOWED"
_NO_RULE = -1
Step = tuple[Any, ...]  # ("tag", ...fields); see the module docstring


class Line:
    """One income line, already parsed: amounts in minor units, an aware occurred_at."""

    __slots__ = ("currency", "expenses", "gross", "id", "occurred_at", "platform", "refund_of", "source")

    def __init__(
        self,
        *,
        id: str,
        source: str,
        platform: str,
        gross: int,
        occurred_at: datetime,
        currency: str | None = None,
        refund_of: str | None = None,
        expenses: int = 0,
    ) -> None:
        self.id = id
        self.source = source
        self.platform = platform
        self.gross = gross
        self.occurred_at = occurred_at
        self.currency = currency
        self.refund_of = refund_of
        self.expenses = expenses


class LineResult:
    """The outcome of one line: either `error` is set, or the amounts are."""

    __slots__ = (
        "deductions",
        "error",
        "gross",
        "line_id",
        "net",
        "payable",
        "recouped",
        "rule",
        "shares",
        "trace",
    )

    def __init__(
        self,
        line_id: str,
        rule: Rule | None,
        gross: int,
        deductions: tuple[int, ...],
        net: int,
        shares: tuple[int, ...],
        recouped: int,
        payable: tuple[int, ...],
        trace: list[Step],
        error: str | None = None,
    ) -> None:
        self.line_id = line_id
        self.rule = rule
        self.gross = gross
        self.deductions = deductions
        self.net = net
        self.shares = shares
        self.recouped = recouped
        self.payable = payable
        self.trace = trace
        self.error = error

    def as_json(self, rule_set: RuleSet) -> dict:
        """The spec's result of one line, amounts as decimal strings."""
        if self.error is not None:
            return {"error": self.error}
        exponent = rule_set.exponent
        parties = rule_set.parties
        rule = self.rule
        assert rule is not None
        return {
            "rule": rule.id,
            "gross": format_amount(self.gross, exponent),
            "deductions": {
                part_id: format_amount(amount, exponent)
                for part_id, amount in zip(rule.part_ids, self.deductions, strict=True)
            },
            "net": format_amount(self.net, exponent),
            "shares": {
                party: format_amount(amount, exponent)
                for party, amount in zip(parties, self.shares, strict=True)
            },
            "recouped": format_amount(self.recouped, exponent),
            "payable": {
                party: format_amount(amount, exponent)
                for party, amount in zip(parties, self.payable, strict=True)
            },
        }


def line_error(line_id: str, code: str, field: str, reason: str, detail: object = "") -> LineResult:
    return LineResult(line_id, None, 0, (), 0, (), 0, (), [("error", code, field, reason, detail)], code)


class Evaluator:
    """Evaluates lines under one rule set and carries the state the spec names between them:
    each rule's net per tier period, the agency's share per cap period, the creator's share per
    guarantee period, the outstanding advance, and what each positive line has left to refund.
    """

    def __init__(self, rule_set: RuleSet, *, advance_outstanding: int = 0) -> None:
        self.rule_set = rule_set
        self.advance_outstanding = advance_outstanding
        self.rule_net: dict[tuple[int, str], int] = {}
        self.agency_share: dict[str, int] = {}
        self.creator_share: dict[str, int] = {}
        # Positive lines by id, and for those refunded at least once:
        # [rule, unrefunded gross, remaining parts (deductions, payables, recouped)].
        self.originals: dict[str, tuple] = {}
        self.refundable: dict[str, list] = {}
        self._match_cache: dict[tuple[str, str], int] = {}
        # Copies of rule set fields the hot path reads on every line (one attribute hop less).
        self._creator = rule_set.creator_index
        self._agency = rule_set.agency_index
        self._agency_cap = rule_set.agency_cap or 0  # read only when there is a cap
        self._recoupment = rule_set.recoupment
        zone = rule_set.zone
        self._tier_clock = PeriodClock(rule_set.tier_period, zone)
        self._cap_clock = PeriodClock(rule_set.cap_period, zone) if rule_set.cap_period else None
        self._guarantee_clock = (
            PeriodClock(rule_set.guarantee_period, zone) if rule_set.guarantee_period else None
        )

    def _match(self, source: str, platform: str) -> int:
        for rule in self.rule_set.rules:
            if rule.matches(source, platform):
                return rule.index
        return _NO_RULE

    def evaluate(self, line: Line) -> LineResult:
        """The result of one line; the state moves on unless the line is an error."""
        rule_set = self.rule_set
        line_id = line.id
        if line.currency is not None and line.currency != rule_set.currency:
            return line_error(line_id, CURRENCY_MISMATCH, "currency", "currency", line.currency)
        gross = line.gross
        if gross == 0 or gross > MAX_MINOR or gross < -MAX_MINOR:
            return line_error(line_id, INVALID_AMOUNT, "gross", "zero" if gross == 0 else "absurd")
        claimed = line.expenses
        if claimed and (gross < 0 or claimed < 0 or claimed > MAX_MINOR):
            reason = "negative_line" if gross < 0 else "negative" if claimed < 0 else "absurd"
            return line_error(line_id, INVALID_AMOUNT, "expenses", reason)
        if line.refund_of is not None:
            return self._refund(line, gross)

        source = line.source
        platform = line.platform
        key = (source, platform)
        index = self._match_cache.get(key)
        if index is None:
            index = self._match_cache[key] = self._match(source, platform)
        if index == _NO_RULE:
            return line_error(line_id, NO_MATCHING_RULE, "source", "no_rule", key)
        rule = rule_set.rules[index]
        cap_percent = rule.expenses_cap
        if claimed and cap_percent is None:
            return line_error(line_id, EXPENSES_NOT_ALLOWED, "expenses", "not_allowed", rule.id)

        trace: list[Step] = [("match", rule.id, source, platform, rule.match_keys)]
        deductions = []
        rest = gross
        for deduction_id, percent in rule.deductions:
            # half_up, inlined: this loop runs for every line.
            if rest >= 0:
                amount = (rest * percent + HALF_PERCENT) // PERCENT_SCALE
            else:
                amount = -((-rest * percent + HALF_PERCENT) // PERCENT_SCALE)
            trace.append(("deduction", deduction_id, rest, percent, amount))
            deductions.append(amount)
            rest -= amount
        if cap_percent is not None:
            cap_amount = half_up(gross, cap_percent)
            # The spec's letter: min(line expenses, half_up(gross, cap), max(rest, 0)). On an
            # unlinked negative line (which carries no expenses) this is half_up(gross, cap), a
            # negative deduction, so such lines are not sign-symmetric under a rule with an
            # expenses clause. That looks like an oversight in split-rules.md; it is reported in
            # the issue note rather than "fixed" here, because the spec is the contract.
            amount = min(claimed, cap_amount, rest if rest > 0 else 0)
            trace.append(("expenses", claimed, cap_percent, cap_amount, rest, amount))
            deductions.append(amount)
            rest -= amount
        net = rest

        moment = line.occurred_at
        if moment.tzinfo is not UTC:
            # Period bounds are UTC; same-tzinfo comparisons skip two utcoffset() calls each.
            moment = moment.astimezone(UTC)
        clock = self._tier_clock
        tier_key = clock.key if clock.start <= moment < clock.end else clock.locate(moment)
        net_key = (index, tier_key)
        rule_net = self.rule_net
        so_far = rule_net.get(net_key, 0)
        rule_net[net_key] = so_far + net

        if rule.tiers:
            trace.append(("tiers", tier_key, so_far, net))
            shares = self._tiered(rule, so_far, net, trace)
        else:
            weights = rule.split
            shares, given = allocate(net, weights, PERCENT_SCALE)
            trace.append(("portion", 0, so_far, so_far + net, net, weights, shares, given))

        creator = self._creator
        cap_clock = self._cap_clock
        if cap_clock is not None:
            agency = self._agency
            cap_key = cap_clock.key if cap_clock.start <= moment < cap_clock.end else cap_clock.locate(moment)
            agency_share = self.agency_share
            used = agency_share.get(cap_key, 0)
            cap = self._agency_cap
            room = cap - used if cap > used else 0
            agency_amount = shares[agency]
            moved = 0
            if agency_amount > room and agency_amount > 0:
                moved = agency_amount - room
                capped = list(shares)
                capped[agency] = room
                capped[creator] += moved
                shares = tuple(capped)
            agency_share[cap_key] = used + shares[agency]
            trace.append(("cap", cap_key, cap, used, room, moved))

        recouped = 0
        creator_share = shares[creator]
        payable = shares
        recoupment = self._recoupment
        if recoupment is not None and creator_share > 0:
            outstanding = self.advance_outstanding
            if outstanding > 0:
                recouped = (creator_share * recoupment + HALF_PERCENT) // PERCENT_SCALE
                if recouped > outstanding:
                    recouped = outstanding
                self.advance_outstanding = outstanding - recouped
                trace.append(("recoupment", outstanding, recoupment, recouped))
                if recouped:
                    after = list(shares)
                    after[creator] = creator_share - recouped
                    payable = tuple(after)

        guarantee_clock = self._guarantee_clock
        if guarantee_clock is not None:
            if guarantee_clock.start <= moment < guarantee_clock.end:
                guarantee_key = guarantee_clock.key
            else:
                guarantee_key = guarantee_clock.locate(moment)
            self.creator_share[guarantee_key] = self.creator_share.get(guarantee_key, 0) + creator_share

        deductions_tuple = tuple(deductions)
        if gross > 0:
            # What a refund may reverse, materialised as a list on the first refund. Only ints
            # inside: the garbage collector stops tracking such tuples, and a run keeps one per line.
            self.originals[line_id] = (index, gross, deductions_tuple, payable, recouped)
        return LineResult(line_id, rule, gross, deductions_tuple, net, shares, recouped, payable, trace)

    @staticmethod
    def _tiered(rule: Rule, so_far: int, net: int, trace: list[Step]) -> tuple[int, ...]:
        """Marginal tiers: split the interval the line covers at the thresholds."""
        if net >= 0:
            low, high = so_far, so_far + net
        else:
            low, high = so_far + net, so_far
        thresholds = rule.thresholds
        band = bisect_right(thresholds, low)
        if band == len(thresholds) or high <= thresholds[band]:
            # The whole line falls in one band: the common case once a period is under way.
            weights = rule.tier_splits[band]
            parts, given = allocate(net, weights, PERCENT_SCALE)
            trace.append(("portion", band, low, high, net, weights, parts, given))
            return parts
        shares = [0] * len(rule.split)
        for band, (band_low, band_high, weights) in enumerate(rule.bands):
            start = low if band_low is None or low > band_low else band_low
            end = high if band_high is None or high < band_high else band_high
            if end <= start:
                continue
            portion = end - start if net > 0 else start - end
            parts, given = allocate(portion, weights, PERCENT_SCALE)
            trace.append(("portion", band, start, end, portion, weights, parts, given))
            for party, amount in enumerate(parts):
                shares[party] += amount
        return tuple(shares)

    def _refund(self, line: Line, gross: int) -> LineResult:
        line_id = line.id
        if gross > 0:
            return line_error(line_id, INVALID_AMOUNT, "gross", "positive_refund")
        refund_of = line.refund_of
        original = self.refundable.get(refund_of)  # type: ignore[arg-type]
        if original is None:
            kept = self.originals.get(refund_of)  # type: ignore[arg-type]
            if kept is None:
                return line_error(line_id, UNKNOWN_ORIGINAL, "refund_of", "unknown", refund_of)
            rule_index, original_gross, original_deductions, original_payable, original_recouped = kept
            original_parts = [*original_deductions, *original_payable, original_recouped]
            original = [self.rule_set.rules[rule_index], original_gross, original_parts]
            self.refundable[refund_of] = original  # type: ignore[index]
        rule, unrefunded, remaining = original
        if -gross > unrefunded:
            return line_error(line_id, REFUND_EXCEEDS_ORIGINAL, "gross", "exceeds", str(unrefunded))
        weights = tuple(remaining)
        parts, given = allocate(gross, weights, unrefunded)
        original[1] = unrefunded + gross
        for index, amount in enumerate(parts):
            remaining[index] += amount

        rule_set = self.rule_set
        deduction_count = len(rule.part_ids)
        party_count = len(rule_set.parties)
        deductions = tuple(parts[:deduction_count])
        payable = tuple(parts[deduction_count : deduction_count + party_count])
        recouped = parts[-1]
        creator = rule_set.creator_index
        shares = list(payable)
        shares[creator] += recouped
        net = gross - sum(deductions)
        # A reversed recoupment (negative) gives the advance back to the outstanding balance.
        self.advance_outstanding -= recouped

        # No tier, cap or recoupment anew; the refund only counts in its own periods.
        occurred_at = line.occurred_at
        net_key = (rule.index, self._tier_clock.locate(occurred_at))
        self.rule_net[net_key] = self.rule_net.get(net_key, 0) + net
        if self._cap_clock is not None:
            cap_key = self._cap_clock.locate(occurred_at)
            self.agency_share[cap_key] = self.agency_share.get(cap_key, 0) + shares[rule_set.agency_index]
        if self._guarantee_clock is not None:
            guarantee_key = self._guarantee_clock.locate(occurred_at)
            self.creator_share[guarantee_key] = self.creator_share.get(guarantee_key, 0) + shares[creator]

        trace: list[Step] = [("refund", refund_of, weights, parts, given)]
        return LineResult(line_id, rule, gross, deductions, net, tuple(shares), recouped, payable, trace)

    def refund_state(self, line_id: str) -> tuple[Rule, int, tuple[int, ...]] | None:
        """What refunds of a positive line may still reverse: its rule, the unrefunded gross and
        the remaining parts (deductions, payables in party order, recouped); None if unknown.
        A stable view for callers that persist state, whatever the evaluator caches inside."""
        if line_id in self.refundable:
            rule, unrefunded, remaining = self.refundable[line_id]
            return rule, unrefunded, tuple(remaining)
        kept = self.originals.get(line_id)
        if kept is None:
            return None
        rule_index, gross, deductions, payable, recouped = kept
        return self.rule_set.rules[rule_index], gross, (*deductions, *payable, recouped)

    # --- persisted state -------------------------------------------------------------------------

    def export_state(self, originals: Iterable[str] | None = None) -> dict[str, Any]:
        """The state as plain JSON (ids, period keys, ints), so that `from_state` continues exactly
        where this evaluator stands. Amounts stay minor units; keys are sorted (stable bytes).

        `originals` picks the refundable originals to carry: None carries those refunded at
        least once (what a long-lived state must keep: a never-refunded original can be
        recomputed from its own line, see `remember_original`), an iterable exactly those ids
        that are known (e.g. the one original a refund line names).
        """
        rules = self.rule_set.rules
        chosen = self.refundable if originals is None else originals
        kept: dict[str, Any] = {}
        for line_id in chosen:
            state = self.refund_state(line_id)
            if state is not None:
                rule, unrefunded, remaining = state
                kept[line_id] = {"rule": rule.id, "unrefunded": unrefunded, "remaining": list(remaining)}
        return {
            "advance_outstanding": self.advance_outstanding,
            "rule_net": sorted(
                [rules[index].id, period, amount] for (index, period), amount in self.rule_net.items()
            ),
            "agency_share": dict(sorted(self.agency_share.items())),
            "creator_share": dict(sorted(self.creator_share.items())),
            "originals": dict(sorted(kept.items())),
        }

    @classmethod
    def from_state(cls, rule_set: RuleSet, state: dict[str, Any]) -> Evaluator:
        """An evaluator standing where `export_state` left one (of the same rule set)."""
        evaluator = cls(rule_set, advance_outstanding=int(state.get("advance_outstanding") or 0))
        evaluator.rule_net = {
            (rule_set.rule(rule_id).index, period): int(amount)
            for rule_id, period, amount in state["rule_net"]
        }
        evaluator.agency_share = {key: int(value) for key, value in state["agency_share"].items()}
        evaluator.creator_share = {key: int(value) for key, value in state["creator_share"].items()}
        # Refunds read `refundable` first, so restoring every carried original there is exact
        # whatever its history was.
        evaluator.refundable = {
            line_id: [
                rule_set.rule(data["rule"]),
                int(data["unrefunded"]),
                [int(v) for v in data["remaining"]],
            ]
            for line_id, data in state.get("originals", {}).items()
        }
        return evaluator

    def knows_original(self, line_id: str) -> bool:
        return line_id in self.refundable or line_id in self.originals

    def remember_original(self, result: LineResult) -> None:
        """Carry a positive line evaluated elsewhere (e.g. re-evaluated from its ledger entry) as
        a refundable original never refunded yet, exactly as `evaluate` would have kept it."""
        if (
            result.error is not None
            or result.rule is None
            or result.gross <= 0
            or result.trace[0][0] != "match"
        ):
            raise ValueError("only a successful positive line is a refundable original")
        if self.knows_original(result.line_id):
            return
        self.originals[result.line_id] = (
            result.rule.index,
            result.gross,
            result.deductions,
            result.payable,
            result.recouped,
        )

    def remember_parts(
        self,
        line_id: str,
        rule_index: int,
        gross: int,
        deductions: tuple[int, ...],
        payable: tuple[int, ...],
        recouped: int,
    ) -> None:
        """Carry a positive line from its stored result (rule, gross and parts as `evaluate`
        returned them) as a refundable original never refunded yet."""
        if gross <= 0:
            raise ValueError("only a positive line is a refundable original")
        if not self.knows_original(line_id):
            self.originals[line_id] = (rule_index, gross, tuple(deductions), tuple(payable), recouped)

    def unrefunded(self, line_id: str) -> int:
        """How much of a positive line's gross later refunds may still reverse (0 if unknown)."""
        state = self.refund_state(line_id)
        return state[1] if state is not None else 0

    def close_period(self, key: str) -> tuple[int, int]:
        """Minimum guarantee at the close of a guarantee period: (creator's share, agency top-up).

        The share counts before recoupment, and refunds in the period have reduced it.
        """
        guarantee = self.rule_set.guarantee
        if guarantee is None:
            raise ValueError("the rule set has no minimum guarantee")
        creator_total = self.creator_share.get(key, 0)
        return creator_total, max(0, guarantee - creator_total)
