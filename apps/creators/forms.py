from django import forms
from django.utils.translation import gettext_lazy as _

from apps.common.catalog import Platform
from apps.creators.models import Creator


class PlatformAccountForm(forms.Form):
    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    account_id = forms.CharField(label=_("Account id"), max_length=128)
    handle = forms.CharField(label=_("Handle"), max_length=128, required=False)


class CreatorProfileForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=150)
    legal_name = forms.CharField(label=_("Legal name"), max_length=300)
    creator_type = forms.ChoiceField(label=_("Creator type"), choices=Creator.Type.choices)
