from django import forms
from django.utils.translation import gettext_lazy as _


class AccessTokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    expires_in_days = forms.IntegerField(label=_("Expires in (days)"), min_value=1, max_value=366, initial=90)
