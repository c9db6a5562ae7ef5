"""A real worker builds the creator's evidence bundle (issue 14): the button queues the build
after commit, the page says it is being prepared, the worker stores the ZIP, and the page then
links to the file the creator downloads and checks by its README."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from apps.evidence.models import EvidenceBundleBuild
from tests.conftest import web_as
from tests.evidence.conftest import follow_readme

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_worker_builds_the_bundle_the_page_then_links_to(
    world: Any, celery_worker_process: Any, tmp_path: Path
) -> None:
    client = web_as(world.creator_a.user)

    asked = client.post(reverse("evidence:download", args=[world.agency_a.public_id]))
    assert asked.status_code == 302
    build = EvidenceBundleBuild.objects.get(public_id=asked["Location"].rstrip("/").split("/")[-1])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        build.refresh_from_db()
        if not build.is_in_flight:
            break
        time.sleep(0.3)

    assert build.status == EvidenceBundleBuild.Status.READY, build.message
    assert build.attempts == 1
    page = client.get(asked["Location"]).content.decode()
    assert "Your bundle is ready." in page
    response = client.get(reverse("evidence:file", args=[build.public_id]))
    data = b"".join(response.streaming_content)
    assert len(data) == build.size and "bundle.json" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    result, _folder = follow_readme(data, build.filename, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # Asked again with nothing changed: the same file, no second build.
    again = client.post(reverse("evidence:download", args=[world.agency_a.public_id]))
    assert again["Location"] == asked["Location"]
    assert EvidenceBundleBuild.objects.count() == 1
