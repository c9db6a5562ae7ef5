"""The creator's evidence page and download: creator-only, each creator their own bundle (the
build by a worker, its page and its file: tests/evidence/test_builds.py).

Agencies' members do not download creators' bundles: the bundle is the creator's evidence about
the agency's ledger, and the agency checks its ledger with verify_ledger and the admin's audit
pages (docs/evidence-bundle.md). They, staff and other creators get 404."""

from __future__ import annotations

import datetime
import hashlib
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.agencies.services import representation_close, representation_open
from tests.conftest import web_as
from tests.evidence.conftest import follow_readme

pytestmark = pytest.mark.django_db


def _download(world: Any, user: Any, agency: Any = None) -> Any:
    agency = agency or world.agency_a
    return web_as(user).post(reverse("evidence:download", args=[agency.public_id]))


def _queries(client: Client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("evidence:home"))
    assert page.status_code == 200
    return len(queries), page.content.decode()


def test_the_page_lists_each_agency_in_the_same_number_of_queries(world: Any) -> None:
    client = web_as(world.creator_a.user)
    one, html = _queries(client)
    assert "Agency A" in html and reverse("evidence:download", args=[world.agency_a.public_id]) in html
    assert "Agency B" not in html
    representation_close(agency=world.agency_a, creator=world.creator_a, ended_on=datetime.date(2026, 6, 30))
    representation_open(agency=world.agency_b, creator=world.creator_a, started_on=datetime.date(2026, 7, 1))
    two, html = _queries(client)
    assert two == one
    assert "Agency B" in html and "to 2026-06-30" in html and "Since 2026-07-01" in html


def test_the_creator_downloads_their_bundle_from_the_page(
    world: Any, tmp_path: Path, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = web_as(world.creator_a.user)

    # The button asks for the bundle; a worker builds it (here in-process) and its page links to it.
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(reverse("evidence:download", args=[world.agency_a.public_id]))
    assert asked.status_code == 302 and asked["Location"].startswith("/evidence/builds/")
    page = client.get(asked["Location"]).content.decode()
    assert "Your bundle is ready." in page
    link = re.search(r'id="bundle-download" href="([^"]+)"', page).group(1)
    response = client.get(link)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    filename = response["Content-Disposition"].split('filename="')[1].rstrip('"')
    data = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(data)
    assert hashlib.sha256(data).hexdigest() in page  # the page shows the file's SHA-256
    assert "README.md" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    # a creator without any line yet holds a bundle that checks out all the same
    result, _folder = follow_readme(data, filename, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 of 0 allocations recomputed" in result.stdout


def test_the_page_is_in_chinese_too(world: Any) -> None:
    client = web_as(world.creator_a.user)
    client.cookies["django_language"] = "zh-hans"
    assert client.get(reverse("evidence:home"), HTTP_ACCEPT_LANGUAGE="zh-hans").status_code == 200


def test_nobody_else_gets_a_creators_bundle(world: Any) -> None:
    # another agency's creator: agency A is not theirs
    assert _download(world, world.creator_b.user).status_code == 404
    # agency A's members, whatever their role, and staff: no creator profile, no bundle
    for user in (world.owner_a, world.manager_a, world.finance_a, world.viewer_a, world.staff):
        assert _download(world, user).status_code == 404
        assert web_as(user).get(reverse("evidence:home")).status_code == 404
    # a malformed or unknown agency id
    assert web_as(world.creator_a.user).post("/evidence/not-a-uuid/bundle/").status_code == 404
    assert _download(world, world.creator_a.user, world.agency_b).status_code == 404


def test_signed_out_and_get_are_refused(world: Any) -> None:
    url = reverse("evidence:download", args=[world.agency_a.public_id])
    assert Client().post(url).status_code == 302
    assert web_as(world.creator_a.user).get(url).status_code == 405


def test_too_many_bundles_in_an_hour_is_a_429_that_says_so(world: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("apps.evidence.views.BUNDLES_PER_WINDOW", 0)
    response = _download(world, world.creator_a.user)
    assert response.status_code == 429
    assert "please wait" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_outside_any_transaction_the_build_reads_one_read_only_snapshot(world: Any) -> None:
    from apps.evidence.services import evidence_bundle_build

    bundle = evidence_bundle_build(creator=world.creator_a, agency=world.agency_a, actor=world.creator_a.user)
    with bundle.file:
        assert zipfile.ZipFile(bundle.file).testzip() is None
    assert not connection.in_atomic_block
