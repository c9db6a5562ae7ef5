"""The creator's evidence page: each agency that represents or represented them, with a button
that asks for that agency's bundle (docs/evidence-bundle.md). A worker builds it (a creator with
100,000 lines takes tens of seconds): the build's page says it is being prepared, polls, and then
links to the file. Creator-only: anyone without a creator profile gets 404, and a creator only
ever reaches their own builds (the URL names the agency or the build; the creator is the one
signed in)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.common.exceptions import ApplicationError, NotFound
from apps.common.ratelimit import allow
from apps.common.views import page_errors
from apps.evidence.models import EvidenceBundleBuild
from apps.evidence.selectors import (
    evidence_agency_get_for_actor,
    evidence_agency_rows,
    evidence_build_get_for_actor,
    evidence_creator_for_actor,
    evidence_latest_builds,
)
from apps.evidence.services import evidence_bundle_request

# A bundle re-reads all of a creator's lines: a few a day is what anyone needs.
BUNDLES_PER_WINDOW = 10
BUNDLE_WINDOW_SECONDS = 3600


@login_required
@page_errors
def evidence_home(request: HttpRequest) -> HttpResponse:
    creator = evidence_creator_for_actor(actor=request.user)
    latest = evidence_latest_builds(creator=creator)
    rows = [(row, latest.get(row.agency.pk)) for row in evidence_agency_rows(creator=creator)]
    return render(request, "evidence/home.html", {"rows": rows})


@login_required
@page_errors
@require_POST
def evidence_download(request: HttpRequest, public_id: str) -> HttpResponse:
    """Ask for the bundle: a new build, or the identical one in flight or ready; then its page."""
    creator, agency = evidence_agency_get_for_actor(actor=request.user, public_id=public_id)
    if not allow(
        f"evidence:{request.user.pk}", limit=BUNDLES_PER_WINDOW, window_seconds=BUNDLE_WINDOW_SECONDS
    ):
        raise ApplicationError(
            _(
                "You have built %(count)d evidence bundles in the last hour: please wait a little before the next."
            )
            % {"count": BUNDLES_PER_WINDOW},
            code="too_many_bundles",
        ).with_status(429)
    requested = evidence_bundle_request(creator=creator, agency=agency, actor=request.user)
    return redirect("evidence:build", public_id=requested.build.public_id)


@login_required
@page_errors
def evidence_build(request: HttpRequest, public_id: str) -> HttpResponse:
    """The build's state; while it is in flight the page polls its fragment (htmx) and reloads
    once it is ready or failed."""
    build = evidence_build_get_for_actor(actor=request.user, public_id=public_id)
    if request.htmx and request.GET.get("fragment") == "state":  # type: ignore[attr-defined]  # django-htmx
        if not build.is_in_flight:
            response = HttpResponse()
            response["HX-Refresh"] = "true"
            return response
        return render(request, "evidence/partials/state.html", {"build": build})
    return render(request, "evidence/build.html", {"build": build})


@login_required
@page_errors
def evidence_build_file(request: HttpRequest, public_id: str) -> FileResponse:
    """The ready bundle's ZIP, to its creator only (404 for anyone else and before it is ready)."""
    build = evidence_build_get_for_actor(actor=request.user, public_id=public_id)
    if build.status != EvidenceBundleBuild.Status.READY:
        raise NotFound()
    response = FileResponse(
        build.file.open("rb"), as_attachment=True, filename=build.filename, content_type="application/zip"
    )
    response["Content-Length"] = str(build.size)
    return response
