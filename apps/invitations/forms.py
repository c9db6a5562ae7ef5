from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.creators.models import Creator
from apps.invitations.selectors import ProposedAccount


class InvitationAcceptForm(forms.Form):
    """What the invited person answers: the accounts that are theirs and, when they have no
    creator profile yet, the profile's names."""

    accounts = forms.TypedMultipleChoiceField(
        label=_("These accounts are mine: register them on my profile"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    display_name = forms.CharField(label=_("Display name"), max_length=150, required=False)
    legal_name = forms.CharField(
        label=_("Legal name"),
        max_length=300,
        required=False,
        help_text=_("Contracts and statements are made out to this name."),
    )
    creator_type = forms.ChoiceField(
        label=_("Creator type"), choices=Creator.Type.choices, initial=Creator.Type.INDIVIDUAL, required=False
    )

    def __init__(
        self,
        *args: Any,
        accounts: list[ProposedAccount],
        needs_profile: bool,
        suggested_name: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [
            (
                account.index,
                f"{account.platform_label}: {account.account_id}"
                + (f" ({account.handle})" if account.handle else ""),
            )
            for account in accounts
            if not account.is_on_profile
        ]
        if choices:
            field = self.fields["accounts"]
            assert isinstance(field, forms.TypedMultipleChoiceField)
            field.choices = choices
            field.initial = [index for index, _label in choices]
        else:
            del self.fields["accounts"]
        if needs_profile:
            self.fields["display_name"].initial = suggested_name
            self.fields["legal_name"].required = True
        else:
            for name in ("display_name", "legal_name", "creator_type"):
                del self.fields[name]
