"""One list of platforms and one of sources (apps/common/catalog.py), read by every app."""

from __future__ import annotations

from django.utils import translation

from apps.common.catalog import Platform, Source, platform_name, source_name
from apps.contracts.models import ContractVersion
from apps.creators.models import PlatformAccount
from apps.deals.models import BrandDeal
from apps.income.importers import canonical
from apps.income.models import IncomeLine
from apps.splits import forms as simulator_forms


def test_every_field_and_importer_offers_the_catalog() -> None:
    assert IncomeLine._meta.get_field("platform").choices == Platform.choices
    assert IncomeLine._meta.get_field("source").choices == Source.choices
    assert PlatformAccount._meta.get_field("platform").choices == Platform.choices
    assert BrandDeal._meta.get_field("platform").choices == Platform.choices
    assert ContractVersion._meta.get_field("platforms").base_field.choices == Platform.choices
    assert frozenset(Platform.values) == canonical.PLATFORMS
    assert frozenset(Source.values) == canonical.SOURCES
    form = simulator_forms.IncomeLineFormSet().forms[0]
    assert list(form.fields["platform"].choices) == Platform.choices
    assert list(form.fields["source"].choices) == Source.choices


def test_names_for_people_are_translated_and_unknown_codes_show_as_written() -> None:
    assert source_name("brand_deal") == "Brand deal"
    assert platform_name("weixin_channels") == "WeChat Channels"
    assert platform_name("myspace") == "myspace"
    assert source_name("") == ""
    with translation.override("zh-hans"):
        assert platform_name("douyin") != "Douyin"
