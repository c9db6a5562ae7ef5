"""The simulator page's forms: a rule set as JSON and a few income lines."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.common.catalog import Platform, Source
from apps.splits.engine.rules import DEFAULT_TIMEZONE

EXAMPLE_RULE_SET = {
    "version": 1,
    "currency": "CNY",
    "timezone": "Asia/Shanghai",
    "parties": ["creator", "agency"],
    "tier_period": "month",
    "rules": [
        {
            "id": "brand",
            "label": "Brand deals",
            "match": {"sources": ["brand_deal"], "platforms": ["douyin", "bilibili"]},
            "deductions": [{"id": "platform_fee", "label": "Platform service fee", "percent": "5"}],
            "expenses": {"label": "Approved production costs", "cap_percent": "15"},
            "split": {"creator": "70", "agency": "30"},
            "tiers": [{"above": "100000.00", "split": {"creator": "80", "agency": "20"}}],
        },
        {"id": "other", "label": "Everything else", "split": {"creator": "60", "agency": "40"}},
    ],
}


class RuleSetForm(forms.Form):
    rules = forms.CharField(
        label=_("Rule set (JSON)"),
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "code"}),
        initial=json.dumps(EXAMPLE_RULE_SET, indent=2, ensure_ascii=False),
    )
    advance_outstanding = forms.CharField(
        label=_("Advance outstanding"), required=False, help_text=_("Optional, e.g. 5000.00")
    )

    def clean_rules(self) -> Any:
        text = self.cleaned_data["rules"]
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                _("Malformed JSON at line %(line)s, column %(column)s: %(message)s"),
                params={"line": error.lineno, "column": error.colno, "message": error.msg},
            ) from None
        except RecursionError:
            raise forms.ValidationError(_("The JSON is nested too deeply.")) from None


class IncomeLineForm(forms.Form):
    gross = forms.CharField(
        label=_("Amount"), required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    expenses = forms.CharField(
        label=_("Expenses"), required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    source = forms.ChoiceField(label=_("Source"), choices=Source.choices)
    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    occurred_at = forms.CharField(
        label=_("Date"),
        required=False,
        help_text=_("2026-11-03, or a date-time with offset: 2026-11-03T10:00:00+08:00"),
    )

    def is_blank(self) -> bool:
        return not (self.cleaned_data.get("gross") or "").strip()

    def as_line(self, *, line_id: str, timezone: str | None) -> dict[str, Any]:
        """The line as the engine's document wants it; a bare date is noon in the rule set's zone."""
        data = self.cleaned_data
        moment = (data.get("occurred_at") or "").strip()
        if len(moment) == 10:
            try:
                zone = ZoneInfo(timezone or DEFAULT_TIMEZONE)
            except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
                zone = ZoneInfo(DEFAULT_TIMEZONE)
            # A malformed date stays as typed: the engine names the field and says what is wrong.
            with contextlib.suppress(ValueError):
                moment = datetime.combine(
                    datetime.fromisoformat(moment).date(), time(12), tzinfo=zone
                ).isoformat()
        line = {
            "id": line_id,
            "source": data["source"],
            "platform": data["platform"],
            "gross": data["gross"].strip(),
            "occurred_at": moment
            or datetime.now(tz=ZoneInfo(DEFAULT_TIMEZONE)).isoformat(timespec="seconds"),
        }
        if (data.get("expenses") or "").strip():
            line["expenses"] = data["expenses"].strip()
        return line


IncomeLineFormSet = forms.formset_factory(IncomeLineForm, extra=4, max_num=20, absolute_max=20)
