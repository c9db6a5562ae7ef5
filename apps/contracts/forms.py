"""Forms of the contract pages: typed terms in, decimal strings converted to minor units here."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.common.catalog import Platform, Source
from apps.common.exceptions import ApplicationError
from apps.common.money import MoneyError, to_decimal_string, to_minor
from apps.common.parsers import contains_nul
from apps.common.validators import validate_business_date
from apps.common.widgets import DateInput
from apps.contracts.models import ContractTemplate, ContractVersion, CreativeControl, Exclusivity, Language
from apps.creators.models import Creator


class NewContractForm(forms.Form):
    creator = forms.ModelChoiceField(queryset=Creator.objects.none(), label=_("Creator"))
    template = forms.ModelChoiceField(queryset=ContractTemplate.objects.none(), label=_("Template"))
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    start_date = forms.DateField(validators=[validate_business_date], label=_("Start date"), widget=DateInput)

    def __init__(self, *args: Any, creators: Any, templates: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["creator"].queryset = creators  # type: ignore[attr-defined]
        self.fields["template"].queryset = templates  # type: ignore[attr-defined]


def rule_set_from_json(text: str) -> Any:
    """The decoded rule set of a JSON textarea, or a form error a person can act on."""
    try:
        rule_set = json.loads(text)
    except RecursionError:
        raise forms.ValidationError(_("This JSON is nested too deeply.")) from None
    except json.JSONDecodeError as error:
        raise forms.ValidationError(
            _("Not valid JSON (line %(line)s, column %(column)s): %(message)s"),
            params={"line": error.lineno, "column": error.colno, "message": error.msg},
        ) from None
    if contains_nul(rule_set):  # "\u0000" in the text: PostgreSQL's jsonb refuses it
        raise forms.ValidationError(_("Text may not contain the NUL character."))
    return rule_set


def rule_set_as_json(rule_set: Any) -> str:
    return json.dumps(rule_set, ensure_ascii=False, indent=2)


class TermsForm(forms.Form):
    """Every term of a version; `effective_from` only for amendments."""

    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    start_date = forms.DateField(validators=[validate_business_date], label=_("Start date"), widget=DateInput)
    end_date = forms.DateField(validators=[validate_business_date], label=_("End date"), widget=DateInput)
    effective_from = forms.DateField(
        validators=[validate_business_date], label=_("Effective from"), widget=DateInput, required=False
    )
    platforms = forms.MultipleChoiceField(
        label=_("Platforms covered"),
        choices=Platform.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    exclusivity = forms.ChoiceField(label=_("Exclusivity"), choices=Exclusivity.choices)
    creative_control = forms.ChoiceField(label=_("Creative control"), choices=CreativeControl.choices)
    auto_renewal = forms.BooleanField(label=_("Renews automatically"), required=False)
    renewal_notice_days = forms.IntegerField(
        label=_("Notice to stop renewal (days)"), min_value=0, max_value=3650
    )
    statement_days = forms.IntegerField(
        label=_("Statement due (days after period close)"), min_value=0, max_value=365
    )
    payment_days = forms.IntegerField(
        label=_("Payment due (days after period close)"), min_value=0, max_value=365
    )
    late_interest_percent = forms.DecimalField(
        label=_("Late payment interest (% per year)"),
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
    )
    payout_threshold = forms.CharField(
        label=_("Payout threshold"),
        max_length=20,
        help_text=_("The smallest payout after tax; a smaller balance waits for a later batch."),
    )
    audit_right = forms.BooleanField(label=_("Creator may audit platform statements"), required=False)
    termination_notice_days = forms.IntegerField(
        label=_("Termination notice (days)"), min_value=0, max_value=3650
    )
    termination_fee_cap = forms.CharField(label=_("Termination fee cap"), max_length=20)
    offer_valid_days = forms.IntegerField(label=_("Offer valid for (days)"), min_value=1, max_value=90)
    rule_set = forms.CharField(
        label=_("Split rules (JSON)"), widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"})
    )

    def __init__(self, *args: Any, version: ContractVersion, **kwargs: Any) -> None:
        self.version = version
        if "initial" not in kwargs:  # harmless on a bound form, needed on an unbound one
            kwargs["initial"] = self.initial_from(version)
        super().__init__(*args, **kwargs)
        if not version.is_amendment:
            del self.fields["effective_from"]
        else:
            self.fields["start_date"].disabled = True
            self.fields["effective_from"].required = True

    @staticmethod
    def initial_from(version: ContractVersion) -> dict[str, Any]:
        initial = {
            field: getattr(version, field) for field in TermsForm.base_fields if hasattr(version, field)
        }
        initial["termination_fee_cap"] = to_decimal_string(
            version.termination_fee_cap_minor, version.currency
        )
        initial["payout_threshold"] = to_decimal_string(version.payout_threshold_minor, version.currency)
        initial["rule_set"] = rule_set_as_json(version.rule_set)
        return initial

    def clean_rule_set(self) -> Any:
        return rule_set_from_json(self.cleaned_data["rule_set"])

    def clean_termination_fee_cap(self) -> int:
        try:
            return to_minor(
                self.cleaned_data["termination_fee_cap"], self.version.currency, allow_thousands=True
            )
        except MoneyError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_payout_threshold(self) -> int:
        try:
            return to_minor(
                self.cleaned_data["payout_threshold"], self.version.currency, allow_thousands=True
            )
        except MoneyError as error:
            raise forms.ValidationError(str(error)) from None

    def terms(self) -> dict[str, Any]:
        """The cleaned terms as the services take them."""
        data = dict(self.cleaned_data)
        data["termination_fee_cap_minor"] = data.pop("termination_fee_cap")
        data["payout_threshold_minor"] = data.pop("payout_threshold")
        if self.version.is_amendment:
            data.pop("start_date", None)
        return data

    def add_application_error(self, error: ApplicationError) -> None:
        """Put a service's refusal next to the field it names (with the engine's JSON pointer)."""
        field = error.extra.get("field")
        self.rule_set_path = error.extra.get("path")
        self.add_error(field if field in self.fields else None, error.message)


class RuleSetJsonForm(forms.Form):
    """The split rules editor's advanced view: the whole rule set as JSON."""

    error_path: str | None = None

    rule_set = forms.CharField(
        label=_("Split rules (JSON)"),
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "code"}),
    )

    def clean_rule_set(self) -> Any:
        rule_set = rule_set_from_json(self.cleaned_data["rule_set"])
        if not isinstance(rule_set, dict):
            raise forms.ValidationError(_('A rule set is a JSON object: {"version": 1, ...}.'))
        return rule_set

    def add_application_error(self, error: ApplicationError) -> None:
        """A refusal at the textarea, with the engine's JSON pointer when it names one."""
        self.error_path = error.extra.get("path")
        self.add_error("rule_set" if error.extra.get("field") == "rule_set" else None, error.message)


class SampleLineForm(forms.Form):
    """One income line to try the draft's rules on (the editor's preview; nothing is saved)."""

    prefix = "sample"
    source = forms.ChoiceField(label=_("Source"), choices=Source.choices)
    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    gross = forms.CharField(
        label=_("Gross amount"),
        max_length=24,
        initial="10000.00",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    expenses = forms.CharField(
        label=_("Approved expenses (optional)"),
        max_length=24,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("Why (optional)"), max_length=300, required=False)


class PdfCheckForm(forms.Form):
    file = forms.FileField(label=_("Signed contract PDF"))
