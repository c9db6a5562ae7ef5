from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.income.models import StatementImport


class StatementUploadForm(forms.Form):
    agency = forms.ChoiceField(label=_("Agency"))
    file = forms.FileField(
        label=_("Statement file"), help_text=_("CSV (UTF-8 or GBK), XLSX, YouTube or Douyin export")
    )
    format = forms.ChoiceField(label=_("Format"), choices=StatementImport.Format.choices, initial="auto")
    is_all_or_nothing = forms.BooleanField(
        label=_("All or nothing: import no row if any row is refused"), required=False
    )

    def __init__(self, *args, agencies=(), **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        choices = [(str(agency.public_id), agency.name) for agency in agencies]
        self.fields["agency"].choices = choices  # type: ignore[attr-defined]  # a ChoiceField
