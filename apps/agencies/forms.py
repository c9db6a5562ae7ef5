"""The agency console's forms: invite a creator (with the accounts the agency proposes) or a member."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.agencies.models import Membership
from apps.common.catalog import Platform

DAYS_HELP = _("The link stops working after this many days (1 to 30).")


class CreatorInvitationForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("Send the invitation"),
        choices=[
            ("email", _("By email: Fenrun mails the link")),
            ("phone", _("By phone: you send the link")),
        ],
        widget=forms.RadioSelect,
        initial="email",
    )
    email = forms.EmailField(label=_("Email address"), required=False)
    phone = forms.CharField(
        label=_("Phone number"),
        max_length=32,
        required=False,
        help_text=_(
            "Fenrun sends no text messages: you get the link to send yourself, by SMS or chat, to this number."
        ),
    )
    name = forms.CharField(
        label=_("Name"), max_length=150, required=False, help_text=_("How you know them; they can change it.")
    )
    expires_in_days = forms.IntegerField(
        label=_("Valid for (days)"), min_value=1, max_value=30, initial=7, help_text=DAYS_HELP
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        channel = data.get("channel")
        if channel == "email" and not data.get("email"):
            self.add_error("email", _("Give the email address to send the invitation to."))
        if channel == "phone" and not (data.get("phone") or "").strip():
            self.add_error("phone", _("Give the phone number you will send the link to."))
        return data


class ProposedAccountForm(forms.Form):
    platform = forms.ChoiceField(label=_("Platform"), choices=[("", "—"), *Platform.choices], required=False)
    account_id = forms.CharField(label=_("Account id"), max_length=128, required=False)
    handle = forms.CharField(label=_("Handle"), max_length=128, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("platform") and not data.get("account_id"):
            self.add_error("account_id", _("Give the account id on this platform."))
        if data.get("account_id") and not data.get("platform"):
            self.add_error("platform", _("Choose the platform of this account."))
        return data


ProposedAccountFormSet = forms.formset_factory(ProposedAccountForm, extra=3, max_num=20, validate_max=True)


class MemberInvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.VIEWER)
    name = forms.CharField(label=_("Name"), max_length=150, required=False)
    expires_in_days = forms.IntegerField(
        label=_("Valid for (days)"), min_value=1, max_value=30, initial=7, help_text=DAYS_HELP
    )
