"""A draft's split rules as a form: every key of docs/split-rules.md section 3 as a field, and back.

Three shapes of the same rule set:

* the document: the JSON the engine validates and the contract keeps, splits named by party;
* an EditorState: the same content by position (a split is a list aligned with `parties`), so
  renaming or removing a party carries every split with it, and a half-typed party name never
  collides with another's split;
* the form's flat fields ("rules-0-tiers-1-split-0"), one input each, counted by hidden fields.

Exactness is the contract of this module: a blank optional field means the key is absent (never
an empty value), list values keep their order (the checkboxes list the document's names first,
and a browser submits checked boxes in page order), so a document loaded and saved unchanged is
the same document. A document the form cannot hold exactly (an unknown key, a number where the
format wants a string, an empty `match`, more rules than the form shows...) is found by
converting it both ways and comparing; the page then offers the JSON view only.

Validation is the engine's, run by the contracts service on save; the JSON pointer of its error
is mapped back to the field it names (`RuleSetEditorForm.add_application_error`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.forms.boundfield import BoundField
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.common.catalog import Platform, Source
from apps.common.exceptions import ApplicationError

# Beyond these the form would be too long to use (and past Django's 1,000 fields per request);
# such a rule set is edited as JSON.
MAX_PARTIES = 10
MAX_RULES = 20
MAX_DEDUCTIONS = 10
MAX_TIERS = 10
REQUIRED_PARTIES = ("creator", "agency")
COMMON_TIMEZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "UTC",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
)
TIER_PERIOD_CHOICES = (
    ("", _("Not set (month)")),
    ("month", _("Month")),
    ("quarter", _("Quarter")),
    ("year", _("Year")),
    ("contract", _("Whole contract")),
)
CALENDAR_PERIOD_CHOICES = (
    ("", _("Not set")),
    ("month", _("Month")),
    ("quarter", _("Quarter")),
    ("year", _("Year")),
)


# --- the editor's state: the rule set by position ------------------------------------------------


@dataclass
class DeductionState:
    id: str = ""
    label: str = ""
    percent: str = ""


@dataclass
class TierState:
    above: str = ""
    split: list[str] = field(default_factory=list)


@dataclass
class RuleState:
    id: str = ""
    label: str = ""
    sources: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    deductions: list[DeductionState] = field(default_factory=list)
    expenses_label: str = ""
    expenses_cap_percent: str = ""
    split: list[str] = field(default_factory=list)
    tiers: list[TierState] = field(default_factory=list)


@dataclass
class EditorState:
    currency: str = ""
    timezone: str = ""
    tier_period: str = ""
    parties: list[str] = field(default_factory=list)
    rules: list[RuleState] = field(default_factory=list)
    agency_cap_amount: str = ""
    agency_cap_period: str = ""
    recoupment_percent: str = ""
    guarantee_amount: str = ""
    guarantee_period: str = ""


class _Unrepresentable(Exception):
    """The document has something the form has no field for."""


def _canonical(document: Any) -> str:
    # Not ==: in Python True == 1 == 1.0, and the document must stay exactly what it was.
    return json.dumps(document, sort_keys=True, ensure_ascii=False)


def _text(value: Any, *, stripped: bool = True) -> str:
    """A string the form can show in an input as it is: inputs drop newlines, and the fields of
    ids, percents and amounts strip spaces (labels keep them)."""
    if not isinstance(value, str) or "\n" in value or "\r" in value:
        raise _Unrepresentable
    if stripped and value != value.strip():
        raise _Unrepresentable
    return value


def _list(value: Any, limit: int) -> list[Any]:
    if not isinstance(value, list) or len(value) > limit:
        raise _Unrepresentable
    return value


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Unrepresentable
    return value


def _choice(value: str, choices: tuple[tuple[str, Any], ...]) -> str:
    if value not in {code for code, _label in choices}:
        raise _Unrepresentable
    return value


def _read_split(value: Any, parties: list[str]) -> list[str]:
    split = _object(value)
    return [_text(split.get(party, "")) for party in parties]


def _read_rule(value: Any, parties: list[str]) -> RuleState:
    raw = _object(value)
    match = _object(raw.get("match", {}))
    expenses = _object(raw.get("expenses", {}))
    return RuleState(
        id=_text(raw.get("id", "")),
        label=_text(raw.get("label", ""), stripped=False),
        sources=[_text(name) for name in _list(match.get("sources", []), 100)],
        platforms=[_text(name) for name in _list(match.get("platforms", []), 100)],
        deductions=[
            DeductionState(
                id=_text(item.get("id", "")),
                label=_text(item.get("label", ""), stripped=False),
                percent=_text(item.get("percent", "")),
            )
            for item in map(_object, _list(raw.get("deductions", []), MAX_DEDUCTIONS))
        ],
        expenses_label=_text(expenses.get("label", ""), stripped=False),
        expenses_cap_percent=_text(expenses.get("cap_percent", "")),
        split=_read_split(raw.get("split", {}), parties),
        tiers=[
            TierState(above=_text(tier.get("above", "")), split=_read_split(tier.get("split", {}), parties))
            for tier in map(_object, _list(raw.get("tiers", []), MAX_TIERS))
        ],
    )


def _read(document: Any) -> EditorState:
    raw = _object(document)
    parties = [_text(party) for party in _list(raw.get("parties", []), MAX_PARTIES)]
    cap = _object(raw.get("agency_cap", {}))
    recoupment = _object(raw.get("recoupment", {}))
    guarantee = _object(raw.get("minimum_guarantee", {}))
    return EditorState(
        currency=_text(raw.get("currency", "")),
        timezone=_text(raw.get("timezone", "")),
        tier_period=_choice(_text(raw.get("tier_period", "")), TIER_PERIOD_CHOICES),
        parties=parties,
        rules=[_read_rule(rule, parties) for rule in _list(raw.get("rules", []), MAX_RULES)],
        agency_cap_amount=_text(cap.get("amount", "")),
        agency_cap_period=_choice(_text(cap.get("period", "")), CALENDAR_PERIOD_CHOICES),
        recoupment_percent=_text(recoupment.get("percent", "")),
        guarantee_amount=_text(guarantee.get("amount", "")),
        guarantee_period=_choice(_text(guarantee.get("period", "")), CALENDAR_PERIOD_CHOICES),
    )


def state_from_document(document: Any) -> EditorState | None:
    """The document as the form's state, or None when the form cannot hold it exactly."""
    try:
        state = _read(document)
    except _Unrepresentable:
        return None
    return state if _canonical(document_from_state(state)) == _canonical(document) else None


def _present(*pairs: tuple[str, str]) -> dict[str, str]:
    return {key: value for key, value in pairs if value}


def _split_document(values: list[str], parties: list[str]) -> dict[str, str]:
    return dict(zip(parties, values, strict=True))


def _rule_document(rule: RuleState, parties: list[str]) -> dict[str, Any]:
    document: dict[str, Any] = {"id": rule.id}
    if rule.label:
        document["label"] = rule.label
    match: dict[str, list[str]] = {}
    if rule.sources:
        match["sources"] = list(rule.sources)
    if rule.platforms:
        match["platforms"] = list(rule.platforms)
    if match:
        document["match"] = match
    if rule.deductions:
        document["deductions"] = [
            {"id": item.id, **_present(("label", item.label)), "percent": item.percent}
            for item in rule.deductions
        ]
    expenses = _present(("label", rule.expenses_label), ("cap_percent", rule.expenses_cap_percent))
    if expenses:
        document["expenses"] = expenses
    document["split"] = _split_document(rule.split, parties)
    if rule.tiers:
        document["tiers"] = [
            {"above": tier.above, "split": _split_document(tier.split, parties)} for tier in rule.tiers
        ]
    return document


def document_from_state(state: EditorState) -> dict[str, Any]:
    """The rule set document, keys in the order of the spec's table; blank optional fields absent."""
    document: dict[str, Any] = {"version": 1, "currency": state.currency}
    if state.timezone:
        document["timezone"] = state.timezone
    document["parties"] = list(state.parties)
    if state.tier_period:
        document["tier_period"] = state.tier_period
    document["rules"] = [_rule_document(rule, state.parties) for rule in state.rules]
    cap = _present(("amount", state.agency_cap_amount), ("period", state.agency_cap_period))
    if cap:
        document["agency_cap"] = cap
    if state.recoupment_percent:
        document["recoupment"] = {"percent": state.recoupment_percent}
    guarantee = _present(("amount", state.guarantee_amount), ("period", state.guarantee_period))
    if guarantee:
        document["minimum_guarantee"] = guarantee
    return document


# --- adding, removing and moving rows (server-side: no script needed) -------------------------------

_ACTION = re.compile(
    r"(add|remove)-(party|rule|deduction|tier)(?:-(\d{1,3}))?(?:-(\d{1,3}))?|move-rule-(up|down)-(\d{1,3})"
)


def apply_action(state: EditorState, action: str) -> str | None:
    """Change the state's shape as the button named; returns what to focus next (a field's name or
    an action's), None for an action this form does not know or an index out of range."""
    found = _ACTION.fullmatch(action)
    if found is None:
        return None
    verb, kind, first, second, direction, moved = found.groups()
    if direction is not None:
        return _move_rule(state, int(moved), -1 if direction == "up" else 1)
    blank_split = [""] * len(state.parties)
    if kind == "party":
        if verb == "add" and len(state.parties) < MAX_PARTIES:
            state.parties.append("")
            for rule in state.rules:
                rule.split.append("")
                for tier in rule.tiers:
                    tier.split.append("")
            return f"parties-{len(state.parties) - 1}"
        if verb == "remove" and first is not None and int(first) < len(state.parties):
            index = int(first)
            state.parties.pop(index)
            for rule in state.rules:
                rule.split.pop(index)
                for tier in rule.tiers:
                    tier.split.pop(index)
            return "add-party"
        return None
    if kind == "rule":
        if verb == "add" and len(state.rules) < MAX_RULES:
            state.rules.append(RuleState(split=blank_split))
            return f"rules-{len(state.rules) - 1}-id"
        if verb == "remove" and first is not None and int(first) < len(state.rules):
            state.rules.pop(int(first))
            return "add-rule"
        return None
    if first is None or int(first) >= len(state.rules):
        return None
    rule_index = int(first)
    rule = state.rules[rule_index]
    if kind == "deduction":
        if verb == "add" and len(rule.deductions) < MAX_DEDUCTIONS:
            rule.deductions.append(DeductionState())
            return f"rules-{rule_index}-deductions-{len(rule.deductions) - 1}-id"
        if verb == "remove" and second is not None and int(second) < len(rule.deductions):
            rule.deductions.pop(int(second))
            return f"add-deduction-{rule_index}"
        return None
    if verb == "add" and len(rule.tiers) < MAX_TIERS:
        rule.tiers.append(TierState(split=blank_split))
        return f"rules-{rule_index}-tiers-{len(rule.tiers) - 1}-above"
    if verb == "remove" and second is not None and int(second) < len(rule.tiers):
        rule.tiers.pop(int(second))
        return f"add-tier-{rule_index}"
    return None


def _move_rule(state: EditorState, index: int, step: int) -> str | None:
    target = index + step
    if not (0 <= index < len(state.rules) and 0 <= target < len(state.rules)):
        return None
    state.rules[index], state.rules[target] = state.rules[target], state.rules[index]
    return f"rules-{target}-id"


# --- the form --------------------------------------------------------------------------------------


def data_from_state(state: EditorState) -> dict[str, Any]:
    """The form's fields for a state, as a browser would post them (lists for the checkboxes)."""
    data: dict[str, Any] = {
        "currency": state.currency,
        "timezone": state.timezone,
        "tier_period": state.tier_period,
        "parties-count": str(len(state.parties)),
        "rules-count": str(len(state.rules)),
        "agency_cap-amount": state.agency_cap_amount,
        "agency_cap-period": state.agency_cap_period,
        "recoupment-percent": state.recoupment_percent,
        "minimum_guarantee-amount": state.guarantee_amount,
        "minimum_guarantee-period": state.guarantee_period,
    }
    for index, party in enumerate(state.parties):
        data[f"parties-{index}"] = party
    for index, rule in enumerate(state.rules):
        prefix = f"rules-{index}"
        data.update(
            {
                f"{prefix}-id": rule.id,
                f"{prefix}-label": rule.label,
                f"{prefix}-match-sources": list(rule.sources),
                f"{prefix}-match-platforms": list(rule.platforms),
                f"{prefix}-deductions-count": str(len(rule.deductions)),
                f"{prefix}-expenses-label": rule.expenses_label,
                f"{prefix}-expenses-cap_percent": rule.expenses_cap_percent,
                f"{prefix}-tiers-count": str(len(rule.tiers)),
            }
        )
        for position, deduction in enumerate(rule.deductions):
            data[f"{prefix}-deductions-{position}-id"] = deduction.id
            data[f"{prefix}-deductions-{position}-label"] = deduction.label
            data[f"{prefix}-deductions-{position}-percent"] = deduction.percent
        for party_index, percent in enumerate(rule.split):
            data[f"{prefix}-split-{party_index}"] = percent
        for position, tier in enumerate(rule.tiers):
            data[f"{prefix}-tiers-{position}-above"] = tier.above
            for party_index, percent in enumerate(tier.split):
                data[f"{prefix}-tiers-{position}-split-{party_index}"] = percent
    return data


def _count(source: Mapping[str, Any], key: str, limit: int) -> int:
    """A count field's value for laying out the form; its own field reports a bad one."""
    try:
        return max(0, min(int(str(source.get(key, "0"))), limit))
    except ValueError:
        return 0


def _values(source: Any, key: str) -> list[str]:
    if hasattr(source, "getlist"):
        return [str(value) for value in source.getlist(key)]
    value = source.get(key, [])
    return [str(item) for item in value] if isinstance(value, list | tuple) else []


def _ordered_choices(catalog: list[tuple[str, Any]], listed: list[str]) -> list[tuple[str, Any]]:
    """The names the rule lists first, in its order (a name Fenrun does not know as written),
    then the rest of the catalog: unchanged boxes post back in the document's order."""
    labels = dict(catalog)
    first = list(dict.fromkeys(listed))
    return [(name, labels.get(name, name)) for name in first] + [
        (code, label) for code, label in catalog if code not in first
    ]


def _text_field(label: Any, *, strip: bool = True, **attrs: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=strip,
        widget=forms.TextInput(attrs={"autocomplete": "off", **attrs}),
    )


def _percent_field(label: Any) -> forms.CharField:
    return _text_field(label, inputmode="decimal", size="8", placeholder="0-100")


def _amount_field(label: Any) -> forms.CharField:
    return _text_field(label, inputmode="decimal", placeholder="100000.00")


def _count_field(limit: int) -> forms.IntegerField:
    return forms.IntegerField(min_value=0, max_value=limit, widget=forms.HiddenInput)


class RuleSetEditorForm(forms.Form):
    """The split rules, one field per value; the structure (how many parties, rules, deductions,
    tiers) comes from the hidden counts of the data, or of the state for an unbound form."""

    currency = _text_field(_("Currency"), size="5", maxlength="3")
    timezone = _text_field(_("Time zone"), list="rules-timezones")
    tier_period = forms.ChoiceField(
        label=_("Tiers accumulate per"), choices=TIER_PERIOD_CHOICES, required=False
    )

    def __init__(
        self,
        data: Any = None,
        *,
        state: EditorState | None = None,
        read_only: bool = False,
        focus: str | None = None,
    ) -> None:
        initial = data_from_state(state or EditorState()) if data is None else None
        super().__init__(data, initial=initial)
        source: Any = data if data is not None else initial
        self.group_errors: dict[str, list[str]] = {}
        self.error_path: str | None = None
        self.error_anchor: str | None = None  # the id of what the first error is about
        self.focus = focus
        self.timezone_choices = COMMON_TIMEZONES
        self.fields["timezone"].help_text = _("Blank: Asia/Shanghai. Periods are read in this zone.")
        self.fields["currency"].help_text = _("The contract's currency, e.g. CNY.")
        self._build(source)
        for name, bound_field in self.fields.items():
            if read_only:
                bound_field.disabled = True
            if name == focus:
                bound_field.widget.attrs["autofocus"] = True

    # The structure -------------------------------------------------------------------------------

    def _build(self, source: Any) -> None:
        fields = self.fields
        self.party_count = _count(source, "parties-count", MAX_PARTIES)
        fields["parties-count"] = _count_field(MAX_PARTIES)
        self.party_names = []
        for index in range(self.party_count):
            fields[f"parties-{index}"] = _text_field(_("Party %(number)s") % {"number": index + 1})
            self.party_names.append(str(source.get(f"parties-{index}", "") or ""))
        fields["rules-count"] = _count_field(MAX_RULES)
        self.rule_shapes: list[tuple[int, int]] = []
        for index in range(_count(source, "rules-count", MAX_RULES)):
            prefix = f"rules-{index}"
            deductions = _count(source, f"{prefix}-deductions-count", MAX_DEDUCTIONS)
            tiers = _count(source, f"{prefix}-tiers-count", MAX_TIERS)
            self.rule_shapes.append((deductions, tiers))
            fields[f"{prefix}-id"] = _text_field(_("Rule id"))
            fields[f"{prefix}-label"] = _text_field(_("Name people read"), strip=False)
            for kind, catalog, label in (
                ("sources", Source.choices, _("Sources")),
                ("platforms", Platform.choices, _("Platforms")),
            ):
                name = f"{prefix}-match-{kind}"
                fields[name] = forms.MultipleChoiceField(
                    label=label,
                    required=False,
                    choices=_ordered_choices(list(catalog), _values(source, name)),
                    widget=forms.CheckboxSelectMultiple,
                )
            fields[f"{prefix}-deductions-count"] = _count_field(MAX_DEDUCTIONS)
            for position in range(deductions):
                at = f"{prefix}-deductions-{position}"
                fields[f"{at}-id"] = _text_field(_("Deduction id"))
                fields[f"{at}-label"] = _text_field(_("Name people read"), strip=False)
                fields[f"{at}-percent"] = _percent_field(_("Percent"))
            fields[f"{prefix}-expenses-label"] = _text_field(_("Expenses name"), strip=False)
            fields[f"{prefix}-expenses-cap_percent"] = _percent_field(_("Expenses cap (percent of gross)"))
            for party_index in range(self.party_count):
                fields[f"{prefix}-split-{party_index}"] = _percent_field(self._party_label(party_index))
            fields[f"{prefix}-tiers-count"] = _count_field(MAX_TIERS)
            for position in range(tiers):
                at = f"{prefix}-tiers-{position}"
                fields[f"{at}-above"] = _amount_field(_("Above (the rule's net in the period)"))
                for party_index in range(self.party_count):
                    fields[f"{at}-split-{party_index}"] = _percent_field(self._party_label(party_index))
        fields["agency_cap-amount"] = _amount_field(_("Most the agency receives"))
        fields["agency_cap-period"] = forms.ChoiceField(
            label=_("Per"), choices=CALENDAR_PERIOD_CHOICES, required=False
        )
        fields["recoupment-percent"] = _percent_field(_("Percent of the creator's share withheld"))
        fields["minimum_guarantee-amount"] = _amount_field(_("Least the creator receives"))
        fields["minimum_guarantee-period"] = forms.ChoiceField(
            label=_("Per"), choices=CALENDAR_PERIOD_CHOICES, required=False
        )

    def _party_label(self, index: int) -> str:
        name = self.party_names[index] if index < len(self.party_names) else ""
        return name or gettext("Party %(number)s") % {"number": index + 1}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Splits are kept by position and named by party in the document: two parties with one
        # name would silently merge their percents there. The engine refuses such a rule set
        # anyway; here no JSON view or preview is made of it either.
        seen: dict[str, int] = {}
        for index in range(self.party_count):
            name = cleaned.get(f"parties-{index}", "")
            if not name:
                self.add_error(f"parties-{index}", gettext("Give every party an id, e.g. editor."))
            elif name in seen:
                self.add_error(f"parties-{index}", gettext("Another party already has this id."))
            seen[name] = index
        return cleaned

    # Back to a state -----------------------------------------------------------------------------

    def state(self) -> EditorState:
        """The cleaned form as a state (call after is_valid)."""
        data = self.cleaned_data
        parties = [data[f"parties-{index}"] for index in range(self.party_count)]

        def split(prefix: str) -> list[str]:
            return [data[f"{prefix}-split-{index}"] for index in range(self.party_count)]

        rules = []
        for index, (deductions, tiers) in enumerate(self.rule_shapes):
            prefix = f"rules-{index}"
            rules.append(
                RuleState(
                    id=data[f"{prefix}-id"],
                    label=data[f"{prefix}-label"],
                    sources=list(data[f"{prefix}-match-sources"]),
                    platforms=list(data[f"{prefix}-match-platforms"]),
                    deductions=[
                        DeductionState(
                            id=data[f"{prefix}-deductions-{position}-id"],
                            label=data[f"{prefix}-deductions-{position}-label"],
                            percent=data[f"{prefix}-deductions-{position}-percent"],
                        )
                        for position in range(deductions)
                    ],
                    expenses_label=data[f"{prefix}-expenses-label"],
                    expenses_cap_percent=data[f"{prefix}-expenses-cap_percent"],
                    split=split(prefix),
                    tiers=[
                        TierState(
                            above=data[f"{prefix}-tiers-{position}-above"],
                            split=split(f"{prefix}-tiers-{position}"),
                        )
                        for position in range(tiers)
                    ],
                )
            )
        return EditorState(
            currency=data["currency"],
            timezone=data["timezone"],
            tier_period=data["tier_period"],
            parties=parties,
            rules=rules,
            agency_cap_amount=data["agency_cap-amount"],
            agency_cap_period=data["agency_cap-period"],
            recoupment_percent=data["recoupment-percent"],
            guarantee_amount=data["minimum_guarantee-amount"],
            guarantee_period=data["minimum_guarantee-period"],
        )

    def document(self) -> dict[str, Any]:
        return document_from_state(self.state())

    # Errors from the engine, next to their field ------------------------------------------------

    def target_for(self, path: str) -> str | None:
        """The field (or the fieldset) a JSON pointer of the rule set names: "/rules/0/split/agency"
        is the agency's percent of rule 1; "/rules/0/split" (a sum not 100) the split as a whole;
        a pointer below a field (an item of a list of sources) that field. None: the whole form."""
        segments = [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:]]
        names: list[str] = []
        for position, segment in enumerate(segments):
            if position and segments[position - 1] == "split" and segment in self.party_names:
                segment = str(self.party_names.index(segment))  # splits are fields by position
            names.append(segment)
        groups = self.group_keys()
        for length in range(len(names), 0, -1):
            name = "-".join(names[:length])
            if name in self.fields and not isinstance(self.fields[name].widget, forms.HiddenInput):
                return name
            if name in groups:
                return name
        return None

    def group_keys(self) -> set[str]:
        keys = {"parties", "rules", "agency_cap", "recoupment", "minimum_guarantee"}
        for index, (deductions, tiers) in enumerate(self.rule_shapes):
            prefix = f"rules-{index}"
            keys |= {
                prefix,
                *(f"{prefix}-{part}" for part in ("match", "deductions", "expenses", "split", "tiers")),
            }
            keys |= {f"{prefix}-deductions-{position}" for position in range(deductions)}
            keys |= {f"{prefix}-tiers-{position}" for position in range(tiers)}
            keys |= {f"{prefix}-tiers-{position}-split" for position in range(tiers)}
        return keys

    def add_application_error(self, error: ApplicationError) -> None:
        """A service's refusal next to what it names: the rule set's value at the engine's JSON
        pointer, or, for another term of the contract, at the top of the form."""
        path = error.extra.get("path") if error.extra.get("field") == "rule_set" else None
        target = self.target_for(path) if isinstance(path, str) else None
        self.error_path = path if isinstance(path, str) else None
        if target is None:
            self.add_error(None, error.message)
        elif target in self.fields:
            self.add_error(target, error.message)
            self.error_anchor = self[target].auto_id
            if isinstance(self.fields[target].widget, forms.CheckboxSelectMultiple):
                self.error_anchor += "_group"
        else:
            self.group_errors.setdefault(target, []).append(error.message)
            self.error_anchor = target

    def errors_at(self, key: str) -> list[str]:
        return self.group_errors.get(key, [])

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.group_errors)

    # What the template lays out -------------------------------------------------------------------

    def _field(self, name: str) -> BoundField:
        return self[name]

    def _describe_errors(self) -> None:
        """A field in error is described by its message (read out with the field) and its help."""
        if not self.is_bound:
            return
        for name in self.errors:
            if name not in self.fields or isinstance(self.fields[name].widget, forms.CheckboxSelectMultiple):
                continue
            auto_id = self[name].auto_id
            described = [f"{auto_id}_error"] + (
                [f"{auto_id}_helptext"] if self.fields[name].help_text else []
            )
            self.fields[name].widget.attrs["aria-describedby"] = " ".join(described)

    def layout(self) -> dict[str, Any]:
        """The form as fieldsets, each with its fields, its own errors and its buttons' actions."""
        self._describe_errors()
        f = self._field
        parties = [
            {
                "field": f(f"parties-{index}"),
                "remove": f"remove-party-{index}",
                "removable": self.party_names[index] not in REQUIRED_PARTIES,
                "name": self._party_label(index),
            }
            for index in range(self.party_count)
        ]
        rules = []
        for index, (deductions, tiers) in enumerate(self.rule_shapes):
            prefix = f"rules-{index}"
            rules.append(
                {
                    "index": index,
                    "number": index + 1,
                    "key": prefix,
                    "errors": self.errors_at(prefix),
                    "id": f(f"{prefix}-id"),
                    "label": f(f"{prefix}-label"),
                    "title": self.data.get(f"{prefix}-id")
                    if self.is_bound
                    else self.initial.get(f"{prefix}-id"),
                    "match_fields": [f(f"{prefix}-match-sources"), f(f"{prefix}-match-platforms")],
                    "match_errors": self.errors_at(f"{prefix}-match"),
                    "deductions": [
                        {
                            "number": position + 1,
                            "key": f"{prefix}-deductions-{position}",
                            "errors": self.errors_at(f"{prefix}-deductions-{position}"),
                            "id": f(f"{prefix}-deductions-{position}-id"),
                            "label": f(f"{prefix}-deductions-{position}-label"),
                            "percent": f(f"{prefix}-deductions-{position}-percent"),
                            "remove": f"remove-deduction-{index}-{position}",
                        }
                        for position in range(deductions)
                    ],
                    "deductions_errors": self.errors_at(f"{prefix}-deductions"),
                    "add_deduction": f"add-deduction-{index}",
                    "can_add_deduction": deductions < MAX_DEDUCTIONS,
                    "expenses_label": f(f"{prefix}-expenses-label"),
                    "expenses_cap": f(f"{prefix}-expenses-cap_percent"),
                    "expenses_errors": self.errors_at(f"{prefix}-expenses"),
                    "split": [f(f"{prefix}-split-{party}") for party in range(self.party_count)],
                    "split_key": f"{prefix}-split",
                    "split_errors": self.errors_at(f"{prefix}-split"),
                    "tiers": [
                        {
                            "number": position + 1,
                            "key": f"{prefix}-tiers-{position}",
                            "errors": self.errors_at(f"{prefix}-tiers-{position}"),
                            "above": f(f"{prefix}-tiers-{position}-above"),
                            "split": [
                                f(f"{prefix}-tiers-{position}-split-{party}")
                                for party in range(self.party_count)
                            ],
                            "split_errors": self.errors_at(f"{prefix}-tiers-{position}-split"),
                            "remove": f"remove-tier-{index}-{position}",
                        }
                        for position in range(tiers)
                    ],
                    "tiers_errors": self.errors_at(f"{prefix}-tiers"),
                    "add_tier": f"add-tier-{index}",
                    "can_add_tier": tiers < MAX_TIERS,
                    "remove": f"remove-rule-{index}",
                    "move_up": f"move-rule-up-{index}" if index > 0 else None,
                    "move_down": f"move-rule-down-{index}" if index < len(self.rule_shapes) - 1 else None,
                }
            )
        return {
            "general": [f("currency"), f("timezone"), f("tier_period")],
            "parties": parties,
            "parties_errors": self.errors_at("parties"),
            "can_add_party": self.party_count < MAX_PARTIES,
            "rules": rules,
            "rules_errors": self.errors_at("rules"),
            "can_add_rule": len(self.rule_shapes) < MAX_RULES,
            "agency_cap": [f("agency_cap-amount"), f("agency_cap-period")],
            "agency_cap_errors": self.errors_at("agency_cap"),
            "recoupment": [f("recoupment-percent")],
            "recoupment_errors": self.errors_at("recoupment"),
            "minimum_guarantee": [f("minimum_guarantee-amount"), f("minimum_guarantee-period")],
            "minimum_guarantee_errors": self.errors_at("minimum_guarantee"),
        }
