"""Forms of the payout pages: shapes only; the rules are the services'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.common.widgets import DateInput
from apps.payouts.models import PayoutDetails
from apps.payouts.rails import RAILS


class PrepareForm(forms.Form):
    as_of = forms.DateField(
        label=_("Payment day"),
        required=False,
        widget=DateInput(),
        help_text=_("A day of the current month; today if empty."),
    )


class DetailsForm(forms.Form):
    method = forms.ChoiceField(label=_("Paid by"), choices=PayoutDetails.Method.choices)
    # Required for a bank account and Alipay; WeChat Pay needs it from 2,000.00 a transfer (the
    # service says which).
    real_name = forms.CharField(
        label=_("Real name"),
        max_length=100,
        required=False,
        help_text=_(
            "As the bank, Alipay or WeChat account is registered. For WeChat Pay it may be left empty, "
            "but a transfer of 2,000.00 or more needs it."
        ),
    )
    account = forms.CharField(
        label=_("Account"),
        max_length=100,
        help_text=_(
            "Your bank card or account number, your Alipay account (mobile number or email), or your "
            "WeChat openid (the agency's app shows it)."
        ),
    )
    bank_name = forms.CharField(label=_("Bank"), max_length=100, required=False)
    bank_branch = forms.CharField(label=_("Branch"), max_length=200, required=False)
    wechat_appid = forms.CharField(
        label=_("WeChat AppID"),
        max_length=32,
        required=False,
        help_text=_("For WeChat Pay: the AppID of the agency's app that gave you your openid (wx…)."),
    )


def rail_choices() -> list[tuple[str, str]]:
    return [(name, rail.label) for name, rail in RAILS.items()]


class ResultForm(forms.Form):
    rail = forms.ChoiceField(label=_("Rail"), choices=rail_choices)
    file = forms.FileField(
        label=_("Result file"),
        help_text=_("CSV for every rail; for WeChat Pay also JSON Lines of its transfer bills as queried."),
    )
