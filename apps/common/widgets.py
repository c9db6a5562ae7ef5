"""Form widgets every app's forms share."""

from __future__ import annotations

from typing import Any

from django import forms

ISO_DATE = "%Y-%m-%d"


class DateInput(forms.DateInput):
    """The browser's date picker, its value always written as YYYY-MM-DD.

    An `<input type="date">` accepts only that form (the HTML standard's "valid date string") and
    silently empties any other. Django writes a date in the active language's first input format,
    which for Chinese is 2026/11/01: a form shown again in Chinese (the contract's terms, a deal)
    came back with its dates blank. The picker shows the date in the reader's own locale anyway;
    what the server reads back is ISO, which Django's DateField accepts in every language."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format=ISO_DATE)
