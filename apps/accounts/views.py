"""Pages about the signed-in person: home (one section per role; the creator's is
apps/accounts/creator_home.py), API tokens, health."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.creator_home import creator_home_for_actor
from apps.accounts.forms import AccessTokenForm
from apps.accounts.selectors import home_for_actor
from apps.accounts.services import access_token_create, access_token_revoke
from apps.common.exceptions import ApplicationError
from apps.common.views import page_errors


@login_required
@page_errors
def home(request: HttpRequest) -> HttpResponse:
    home = home_for_actor(actor=request.user)
    portal = (
        creator_home_for_actor(actor=request.user, agencies=home.creator_agencies) if home.creator else None
    )
    return render(request, "accounts/home.html", {"home": home, "portal": portal})


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and compose healthchecks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
@require_http_methods(["GET", "POST"])
@page_errors
def access_tokens(request: HttpRequest) -> HttpResponse:
    form = AccessTokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_secret = access_token_create(user=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            form = AccessTokenForm()
    tokens = request.user.access_tokens.all()  # type: ignore[union-attr]
    return render(request, "accounts/tokens.html", {"form": form, "tokens": tokens, "new_secret": new_secret})


@login_required
@require_POST
@page_errors
def access_token_revoke_view(request: HttpRequest, public_id: str) -> HttpResponse:
    try:
        access_token_revoke(user=request.user, public_id=public_id)  # type: ignore[arg-type]
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The token is revoked."))
    return redirect("access-tokens")
