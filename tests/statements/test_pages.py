"""The agency's statements page drafts and publishes a month; the schema lists the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from apps.statements.models import Statement
from tests.conftest import api_as, web_as

pytestmark = pytest.mark.django_db


def test_finance_drafts_and_publishes_the_month_from_the_page(
    october: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = october
    client = web_as(world.finance_a)
    data = {"agency": str(world.agency_a.public_id), "period": world.month}

    client.post(reverse("statements:draft"), data)
    page = client.get(
        reverse("statements:list"), {"agency": data["agency"], "period": world.month}
    ).content.decode()
    assert "Creator A2" in page and 'id="publish-month-form"' in page and "stack-on-phone" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("statements:publish_month"), data)

    assert sorted(Statement.objects.values_list("number", flat=True)) == [1, 2]
    detail = client.get(
        reverse("statements:detail", args=[Statement.objects.get(number=1).public_id])
    ).content.decode()
    assert (
        reverse("income:line", args=[Statement.objects.get(number=1).creator.income_lines.first().public_id])
        in detail
        or "No income lines" not in detail
    )
    assert 'id="pdf-link"' in detail
    manager_page = web_as(world.manager_a).get(reverse("statements:list")).content.decode()
    assert 'id="draft-form"' not in manager_page


def test_the_api_is_in_the_schema(world: Any) -> None:
    schema = api_as(world.owner_a).get("/api/schema/", {"format": "json"}).json()
    assert {
        "/api/v1/statements/",
        "/api/v1/statements/{public_id}/",
        "/api/v1/statements/{public_id}/publish/",
        "/api/v1/statements/{public_id}/acknowledge/",
    } <= set(schema["paths"])
