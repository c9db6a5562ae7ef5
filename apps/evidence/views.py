"""The creator's evidence page: each agency that represents or represented them, with a button
that builds and downloads that agency's bundle (docs/evidence-bundle.md). Creator-only: anyone
without a creator profile gets 404, and a creator can only ever build their own bundle (the URL
names the agency; the creator is the one signed in)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.common.exceptions import ApplicationError
from apps.common.ratelimit import allow
from apps.common.views import page_errors
from apps.evidence.selectors import (
    evidence_agency_get_for_actor,
    evidence_agency_rows,
    evidence_creator_for_actor,
)
from apps.evidence.services import evidence_bundle_build

# A bundle re-reads all of a creator's lines: a few a day is what anyone needs.
BUNDLES_PER_WINDOW = 10
BUNDLE_WINDOW_SECONDS = 3600


@login_required
@page_errors
def evidence_home(request: HttpRequest) -> HttpResponse:
    creator = evidence_creator_for_actor(actor=request.user)
    return render(request, "evidence/home.html", {"rows": evidence_agency_rows(creator=creator)})


@login_required
@page_errors
@require_POST
def evidence_download(request: HttpRequest, public_id: str) -> FileResponse:
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
    bundle = evidence_bundle_build(creator=creator, agency=agency, actor=request.user)
    response = FileResponse(
        bundle.file, as_attachment=True, filename=bundle.filename, content_type="application/zip"
    )
    response["Content-Length"] = str(bundle.size)
    return response
