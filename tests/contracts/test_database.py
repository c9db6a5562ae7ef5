"""What the database itself refuses, whatever code path tries: frozen terms, immutable signatures,
overlapping coverage."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateRange

from apps.contracts.models import ContractCoverage, ContractSignature, ContractVersion
from tests.contracts.conftest import active_contract, draft, send

pytestmark = pytest.mark.django_db


def test_trigger_refuses_changing_terms_of_a_sent_version(world) -> None:
    version = send(world, draft(world))
    for change in (
        {"payment_days": 90},
        {"rule_set": {}},
        {"document_sha256": "f" * 64},
        {"platforms": ["douyin"]},
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            ContractVersion.objects.filter(pk=version.pk).update(**change)
    # Status transitions and bookkeeping stay possible.
    ContractVersion.objects.filter(pk=version.pk).update(status="withdrawn", closed_reason="test")
    assert ContractVersion.objects.get(pk=version.pk).payment_days == version.payment_days


def test_drafts_stay_editable_in_the_database(world) -> None:
    version = draft(world)
    ContractVersion.objects.filter(pk=version.pk).update(payment_days=45)
    assert ContractVersion.objects.get(pk=version.pk).payment_days == 45


def test_signatures_are_immutable(world) -> None:
    active_contract(world)
    signature = ContractSignature.objects.first()
    with pytest.raises(DatabaseError), transaction.atomic():
        ContractSignature.objects.filter(pk=signature.pk).update(document_sha256="0" * 64)
    with pytest.raises(DatabaseError), transaction.atomic():
        ContractSignature.objects.filter(pk=signature.pk).delete()


def test_exclusion_constraint_refuses_two_versions_on_the_same_day_and_platform(world) -> None:
    version = active_contract(world)
    other = send(world, draft(world, platforms=["kuaishou"]))
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractCoverage.objects.create(
            version=other,
            agency=world.agency_a,
            creator=world.creator_a,
            platform="douyin",
            during=DateRange(datetime.date(2027, 12, 31), datetime.date(2028, 6, 1)),
        )
    # The day after the first version's last day is free.
    ContractCoverage.objects.create(
        version=other,
        agency=world.agency_a,
        creator=world.creator_a,
        platform="douyin",
        during=DateRange(version.end_date + datetime.timedelta(days=1), datetime.date(2028, 6, 1)),
    )


def test_check_constraint_refuses_end_before_start(world) -> None:
    version = draft(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractVersion.objects.filter(pk=version.pk).update(end_date=datetime.date(2025, 1, 1))
