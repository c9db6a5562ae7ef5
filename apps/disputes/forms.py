"""Dispute forms: a message with files, a resolution with an optional amount (a decimal string,
converted once here at the edge), a rejection. The services check everything again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.common.money import MoneyError, to_minor
from apps.disputes.models import Dispute
from apps.disputes.services import MAX_FILES_PER_MESSAGE, MAX_MESSAGE_CHARS, MAX_NOTE_CHARS

FILES_HELP = _("Optional: up to 5 PDF, JPG or PNG files, at most 10 MB each.")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern); the service checks each."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png", "multiple": True})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class MessageForm(forms.Form):
    message = forms.CharField(
        label=_("Your message"), max_length=MAX_MESSAGE_CHARS, widget=forms.Textarea(attrs={"rows": 5})
    )
    attachments = MultipleFileField(label=_("Files"), required=False, help_text=FILES_HELP)

    def clean_attachments(self) -> list[Any]:
        files = self.cleaned_data.get("attachments") or []
        if len(files) > MAX_FILES_PER_MESSAGE:
            raise forms.ValidationError(_("Attach at most 5 files to one message."))
        return list(files)


class OpenDisputeForm(MessageForm):
    message = forms.CharField(
        label=_("What is wrong?"),
        max_length=MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Say what you expected and what you see; the agency answers within 15 days."),
    )


class ResolveForm(forms.Form):
    note = forms.CharField(
        label=_("Resolution"),
        max_length=MAX_NOTE_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What was decided, for the creator to read."),
    )
    amount = forms.CharField(
        label=_("Correction"),
        max_length=40,
        required=False,
        help_text=_(
            "Optional, in %(currency)s. Positive: the creator is owed more; negative: less. "
            "Leave empty to resolve without money."
        ),
    )

    def __init__(self, *args: Any, dispute: Dispute, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = dispute.currency
        field = self.fields["amount"]
        field.help_text = str(field.help_text) % {"currency": dispute.currency}

    def clean_amount(self) -> int | None:
        text = (self.cleaned_data.get("amount") or "").strip()
        if not text:
            return None
        try:
            return to_minor(text, self.currency, allow_thousands=True)
        except MoneyError as error:
            raise forms.ValidationError(str(error)) from None


class RejectForm(forms.Form):
    note = forms.CharField(
        label=_("Why is it rejected?"),
        max_length=MAX_NOTE_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class FilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("Any state")), *Dispute.State.choices]
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
