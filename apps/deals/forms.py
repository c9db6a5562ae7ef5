"""Deal forms: money typed as a decimal string and converted once, here at the edge."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.common.catalog import Platform
from apps.common.money import MoneyError, is_known_currency, to_minor
from apps.common.validators import validate_business_date
from apps.common.widgets import DateInput
from apps.creators.models import Creator


def _date_input() -> forms.DateInput:
    return DateInput()


class DealForm(forms.Form):
    creator: forms.ModelChoiceField[Creator] = forms.ModelChoiceField(
        queryset=None, label=_("Creator"), to_field_name="public_id"
    )
    brand = forms.CharField(label=_("Brand"), max_length=200)
    campaign = forms.CharField(label=_("Campaign"), max_length=200, required=False)
    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    fee = forms.CharField(label=_("Agreed fee"), max_length=40, help_text=_("For example 10000.00"))
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="CNY")
    order_ref = forms.CharField(
        label=_("Order reference"),
        max_length=128,
        required=False,
        help_text=_("The platform or brand order number; payments carrying it match this deal."),
    )
    due_on = forms.DateField(
        validators=[validate_business_date], label=_("Payment due"), widget=_date_input()
    )
    deliverable = forms.CharField(label=_("First deliverable"), max_length=300, required=False)
    deliverable_due_on = forms.DateField(
        validators=[validate_business_date], label=_("Deliverable due"), required=False, widget=_date_input()
    )

    def __init__(self, *args: Any, creators: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ModelChoiceField[Creator]", self.fields["creator"]).queryset = creators

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].strip().upper()
        if not is_known_currency(currency):
            raise forms.ValidationError(_("Unknown currency."))
        return currency

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data is None:  # Form.clean returns cleaned_data; the stubs allow None for overrides
            data = self.cleaned_data
        if "fee" in data and "currency" in data:
            try:
                data["fee_minor"] = to_minor(data["fee"], data["currency"], allow_thousands=True)
            except MoneyError as error:
                self.add_error("fee", str(error))
        if data.get("deliverable") and not data.get("deliverable_due_on"):
            self.add_error("deliverable_due_on", _("When is it due?"))
        return data


class DeliverableForm(forms.Form):
    description = forms.CharField(label=_("Deliverable"), max_length=300)
    due_on = forms.DateField(validators=[validate_business_date], label=_("Due"), widget=_date_input())


class ExpenseForm(forms.Form):
    description = forms.CharField(label=_("Expense"), max_length=300)
    amount = forms.CharField(label=_("Amount"), max_length=40)
    receipt = forms.FileField(
        label=_("Receipt"),
        help_text=_("PDF, JPG or PNG, at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_amount(self) -> int:
        try:
            return to_minor(self.cleaned_data["amount"], self.currency, allow_thousands=True)
        except MoneyError as error:
            raise forms.ValidationError(str(error)) from None


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)
