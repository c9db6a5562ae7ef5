"""Forms of the payout pages: shapes only; the rules are the services'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.payouts.models import PayoutDetails
from apps.payouts.rails import RAILS


class PrepareForm(forms.Form):
    as_of = forms.DateField(
        label=_("Payment day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("A day of the current month; today if empty."),
    )


class DetailsForm(forms.Form):
    method = forms.ChoiceField(label=_("Paid by"), choices=PayoutDetails.Method.choices)
    real_name = forms.CharField(
        label=_("Real name"), max_length=100, help_text=_("As the bank or Alipay account is registered.")
    )
    account = forms.CharField(
        label=_("Account"),
        max_length=100,
        help_text=_("Your bank card or account number, or your Alipay account (mobile number or email)."),
    )
    bank_name = forms.CharField(label=_("Bank"), max_length=100, required=False)
    bank_branch = forms.CharField(label=_("Branch"), max_length=200, required=False)


def rail_choices() -> list[tuple[str, str]]:
    return [(name, rail.label) for name, rail in RAILS.items()]


class ResultForm(forms.Form):
    rail = forms.ChoiceField(label=_("Rail"), choices=rail_choices)
    file = forms.FileField(label=_("Result file (CSV)"))
