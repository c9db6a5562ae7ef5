"""Bundles built by a worker (issue 14): asking queues a build (or hands back an identical one in
flight or ready), the page says "being prepared" and polls, then links to the stored file, which
only its creator downloads; one file per creator and agency is kept. The worker itself, for real:
tests/integration/test_evidence_worker.py."""

from __future__ import annotations

import datetime
import io
import threading
import zipfile
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from apps.evidence.models import EvidenceBundleBuild
from apps.evidence.services import evidence_bundle_build_failed, evidence_bundle_build_run
from apps.evidence.tasks import evidence_bundle_build_task
from tests.conftest import web_as
from tests.statements.conftest import import_rows

pytestmark = pytest.mark.django_db

Status = EvidenceBundleBuild.Status


def _ask(client: Any, agency: Any, callbacks: Any) -> tuple[EvidenceBundleBuild, list[Any]]:
    """POST the button without running what it enqueues: (the build it led to, the callbacks)."""
    with callbacks() as queued:
        response = client.post(reverse("evidence:download", args=[agency.public_id]))
    assert response.status_code == 302, response.content[:500]
    public_id = response["Location"].rstrip("/").split("/")[-1]
    return EvidenceBundleBuild.objects.get(public_id=public_id), queued


def test_the_page_says_being_prepared_until_the_worker_is_done(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = web_as(world.creator_a.user)

    build, queued = _ask(client, world.agency_a, django_capture_on_commit_callbacks)
    page = client.get(reverse("evidence:build", args=[build.public_id])).content.decode()
    polled = client.get(
        reverse("evidence:build", args=[build.public_id]) + "?fragment=state", HTTP_HX_REQUEST="true"
    )

    assert build.status == Status.QUEUED and len(queued) == 1  # the task, enqueued after commit
    assert "Your bundle is being prepared." in page and 'hx-trigger="every 2s"' in page
    assert 'id="bundle-download"' not in page
    assert polled.status_code == 200 and "being prepared" in polled.content.decode()
    assert client.get(reverse("evidence:file", args=[build.public_id])).status_code == 404  # not yet
    home = client.get(reverse("evidence:home")).content.decode()
    assert reverse("evidence:build", args=[build.public_id]) in home and "Being prepared" in home

    evidence_bundle_build_run(build_id=build.pk)  # what the worker's task runs

    done = client.get(
        reverse("evidence:build", args=[build.public_id]) + "?fragment=state", HTTP_HX_REQUEST="true"
    )
    assert done["HX-Refresh"] == "true"  # the page reloads once, with its link
    build.refresh_from_db()
    assert build.status == Status.READY and build.size and len(build.sha256) == 64
    assert default_storage.exists(build.file.name) and build.file.name.startswith("evidence/")
    page = client.get(reverse("evidence:build", args=[build.public_id])).content.decode()
    assert "Your bundle is ready." in page and build.sha256 in page
    data = b"".join(client.get(reverse("evidence:file", args=[build.public_id])).streaming_content)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None and len(data) == build.size
    assert (
        reverse("evidence:file", args=[build.public_id])
        in client.get(reverse("evidence:home")).content.decode()
    )


def test_asking_again_hands_back_the_build_in_flight_or_ready_until_something_changes(
    statement_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.income.conftest import sign_contract

    world = statement_world
    sign_contract(world, world.creator_a, ["douyin"])
    client = web_as(world.creator_a.user)

    first, queued = _ask(client, world.agency_a, django_capture_on_commit_callbacks)
    again, queued_again = _ask(client, world.agency_a, django_capture_on_commit_callbacks)
    assert again.pk == first.pk and len(queued) == 1 and not queued_again  # in flight: the same one

    evidence_bundle_build_run(build_id=first.pk)
    ready, queued_ready = _ask(client, world.agency_a, django_capture_on_commit_callbacks)
    assert ready.pk == first.pk and not queued_ready  # ready, nothing changed: the same file

    import_rows(world, "more.csv", "N-1,2026-11-05T10:00:00+08:00,douyin,dy_88231,live_gifts,12.00,CNY,,,")
    fresh, queued_fresh = _ask(client, world.agency_a, django_capture_on_commit_callbacks)
    assert fresh.pk != first.pk and len(queued_fresh) == 1  # a new line: a new bundle

    first.refresh_from_db()
    old_file = first.file.name
    with django_capture_on_commit_callbacks(execute=True):
        evidence_bundle_build_run(build_id=fresh.pk)
    first.refresh_from_db()
    fresh.refresh_from_db()
    # One file per creator and agency: the older one is deleted once the newer is ready.
    assert fresh.status == Status.READY and first.status == Status.REPLACED
    assert not first.file and not default_storage.exists(old_file)
    assert EvidenceBundleBuild.objects.filter(creator=world.creator_a, status=Status.READY).count() == 1
    page = client.get(reverse("evidence:build", args=[first.public_id])).content.decode()
    assert "A newer bundle replaced this one" in page
    assert client.get(reverse("evidence:file", args=[first.public_id])).status_code == 404


def test_a_build_whose_worker_vanished_long_ago_is_replaced_when_asked_again(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = web_as(world.creator_a.user)
    stuck, _queued = _ask(client, world.agency_a, django_capture_on_commit_callbacks)
    EvidenceBundleBuild.objects.filter(pk=stuck.pk).update(
        status=Status.BUILDING, started_at=timezone.now() - datetime.timedelta(hours=1)
    )

    fresh, queued = _ask(client, world.agency_a, django_capture_on_commit_callbacks)

    stuck.refresh_from_db()
    assert fresh.pk != stuck.pk and len(queued) == 1
    assert stuck.status == Status.FAILED and "interrupted" in stuck.message


def test_the_task_is_safe_to_run_twice_and_a_task_that_gives_up_says_so(
    world: Any, django_capture_on_commit_callbacks: Any, celery_eager: Any
) -> None:
    client = web_as(world.creator_a.user)
    build, _queued = _ask(client, world.agency_a, django_capture_on_commit_callbacks)

    evidence_bundle_build_task.delay(build_id=build.pk)
    build.refresh_from_db()
    name, digest = build.file.name, build.sha256
    evidence_bundle_build_task.delay(build_id=build.pk)  # redelivered: nothing is built again
    build.refresh_from_db()
    assert build.status == Status.READY and build.attempts == 1
    assert (build.file.name, build.sha256) == (name, digest)

    other, _queued = _ask(web_as(world.creator_a2.user), world.agency_a, django_capture_on_commit_callbacks)
    evidence_bundle_build_failed(build_id=other.pk)  # out of retries, or a bug
    page = (
        web_as(world.creator_a2.user).get(reverse("evidence:build", args=[other.public_id])).content.decode()
    )
    assert "could not be built" in page and 'id="bundle-download"' not in page


def test_only_the_creator_reaches_their_build_and_its_file(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    build, _queued = _ask(web_as(world.creator_a.user), world.agency_a, django_capture_on_commit_callbacks)
    evidence_bundle_build_run(build_id=build.pk)

    for user in (
        world.creator_a2.user,  # another creator of the same agency
        world.creator_b.user,
        world.owner_a,  # the agency's members and staff: the bundle is the creator's evidence
        world.manager_a,
        world.finance_a,
        world.viewer_a,
        world.staff,
    ):
        client = web_as(user)
        assert client.get(reverse("evidence:build", args=[build.public_id])).status_code == 404
        assert client.get(reverse("evidence:file", args=[build.public_id])).status_code == 404
    assert (
        web_as(world.creator_a.user).get(reverse("evidence:file", args=[build.public_id])).status_code == 200
    )
    anonymous = web_as(world.creator_a.user)
    anonymous.logout()
    assert anonymous.get(reverse("evidence:file", args=[build.public_id])).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_two_requests_at_the_same_moment_share_one_build(world: Any, celery_eager: Any) -> None:
    from django.db import connection

    from apps.evidence.services import evidence_bundle_request

    barrier = threading.Barrier(4)
    asked: list[int] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            barrier.wait(timeout=10)
            requested = evidence_bundle_request(
                creator=world.creator_a, agency=world.agency_a, actor=world.creator_a.user
            )
            asked.append(requested.build.pk)
        except BaseException as error:  # reported below, in the test thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == [] and len(asked) == 4
    assert len(set(asked)) == 1 and EvidenceBundleBuild.objects.count() == 1
    assert EvidenceBundleBuild.objects.get().status == Status.READY
