"""A date picker keeps its date in Chinese: `<input type="date">` takes only YYYY-MM-DD and
empties anything else, and Chinese formats dates 2026/11/01 (the contract's terms came back blank
in the browser journey, tests/browser/test_journeys.py)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from apps.contracts.forms import NewContractForm
from apps.contracts.models import ContractTemplate
from apps.creators.models import Creator
from apps.deals.forms import DeliverableForm
from apps.payouts.forms import PrepareForm

DAY = datetime.date(2026, 11, 1)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_date_pickers_are_written_in_iso_in_every_language(language: str) -> None:
    forms = [
        NewContractForm(
            creators=Creator.objects.none(),
            templates=ContractTemplate.objects.none(),
            initial={"start_date": DAY},
        )["start_date"],
        DeliverableForm(initial={"due_on": DAY})["due_on"],
        PrepareForm(initial={"as_of": DAY})["as_of"],
    ]
    with translation.override(language):
        for field in forms:
            html = str(field)
            assert 'type="date"' in html and 'value="2026-11-01"' in html, html


def test_a_date_typed_in_the_picker_is_read_back_in_chinese() -> None:
    with translation.override("zh-hans"):
        form = DeliverableForm({"description": "视频", "due_on": "2026-11-01"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["due_on"] == DAY
