from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.common.catalog import Platform, Source
from apps.income.models import IncomeLine, StatementImport


class StatementUploadForm(forms.Form):
    agency = forms.ChoiceField(label=_("Agency"))
    file = forms.FileField(
        label=_("Statement file"), help_text=_("CSV (UTF-8 or GBK), XLSX, YouTube or Douyin export")
    )
    format = forms.ChoiceField(label=_("Format"), choices=StatementImport.Format.choices, initial="auto")
    is_all_or_nothing = forms.BooleanField(
        label=_("All or nothing: import no row if any row is refused"), required=False
    )
    account = forms.CharField(
        label=_("Account"),
        required=False,
        max_length=128,
        help_text=_(
            "For an export that names no account (a YouTube Studio export, a Douyin Shop bill): the"
            " creator's account id on the platform, e.g. UCx9f3"
        ),
    )
    period = forms.CharField(
        label=_("Month covered"),
        required=False,
        max_length=20,
        help_text=_(
            "For a YouTube Studio table by video, which has no dates: the month it covers, e.g. 2026-11"
        ),
    )

    def __init__(self, *args, agencies=(), **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        choices = [(str(agency.public_id), agency.name) for agency in agencies]
        self.fields["agency"].choices = choices  # type: ignore[attr-defined]  # a ChoiceField


class FxRateForm(forms.Form):
    """What finance types to record a rate; apps.income.services.fx_rate_record checks it."""

    agency = forms.ChoiceField(label=_("Agency"))
    base = forms.CharField(
        label=_("Base currency"),
        max_length=3,
        help_text=_("ISO 4217 code of the statement's currency, e.g. USD"),
    )
    quote = forms.CharField(
        label=_("Quote currency"),
        max_length=3,
        help_text=_("ISO 4217 code of the contract's currency, e.g. CNY"),
    )
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    rate = forms.CharField(
        label=_("Rate"), max_length=40, help_text=_("How many quote units one base unit buys, e.g. 7.1234")
    )
    source = forms.CharField(
        label=_("Source"), max_length=64, help_text=_("Who published it, e.g. PBOC central parity")
    )

    def __init__(self, *args, agencies=(), **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        choices = [(str(agency.public_id), agency.name) for agency in agencies]
        self.fields["agency"].choices = choices  # type: ignore[attr-defined]  # a ChoiceField


class LineFilterForm(forms.Form):
    """The income list's filters (GET): every field optional, each choice one the person can see."""

    month = forms.RegexField(
        label=_("Month"),
        regex=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
        required=False,
        error_messages={"invalid": _("Enter a month such as 2026-11.")},
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-11"}),
        help_text=_("The month a line counts in on your statement; lines not split yet have none."),
    )
    agency = forms.ChoiceField(label=_("Agency"), required=False)
    # A name or id typed in, not a list: an agency may represent thousands of creators. The
    # view looks it up among the creators the person's agencies represent.
    creator = forms.CharField(
        label=_("Creator"),
        required=False,
        max_length=200,
        help_text=_("A creator's name as on the roster, or their id."),
    )
    platform = forms.ChoiceField(
        label=_("Platform"), required=False, choices=[("", _("All platforms")), *Platform.choices]
    )
    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=[("", _("All sources")), *Source.choices]
    )
    deal = forms.ChoiceField(label=_("Brand deal"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *IncomeLine.Status.choices]
    )

    def __init__(self, *args, agencies=(), deals=None, creators=True, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if not creators:  # a creator's own list: every line is theirs
            del self.fields["creator"]
        self.fields["agency"].choices = [  # type: ignore[attr-defined]  # a ChoiceField
            ("", _("All agencies")),
            *((str(agency.public_id), agency.name) for agency in agencies),
        ]
        if deals is None:  # no deals app: no deal filter
            del self.fields["deal"]
        else:
            self.fields["deal"].choices = [("", _("All brand deals")), *deals]  # type: ignore[attr-defined]
