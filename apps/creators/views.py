"""The creator's own pages: their profile and their platform accounts, with the requests agencies
made for them. Agency members reach creators through the agency console and the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.common.tenancy import scope_for
from apps.common.views import page_errors
from apps.creators.forms import CreatorProfileForm, PlatformAccountForm
from apps.creators.models import Creator
from apps.creators.selectors import platform_account_get_for_actor, platform_account_list_for_actor
from apps.creators.services import (
    creator_update,
    platform_account_add,
    platform_account_confirm,
    platform_account_reject,
    platform_account_remove,
)


def _own_creator(request: HttpRequest) -> Creator:
    creator_id = scope_for(request.user).creator_id
    if creator_id is None:
        raise NotFound()
    return Creator.objects.get(pk=creator_id)


@login_required
@require_http_methods(["GET", "POST"])
@page_errors
def creator_profile(request: HttpRequest) -> HttpResponse:
    creator = _own_creator(request)
    initial = {field: getattr(creator, field) for field in ("display_name", "legal_name", "creator_type")}
    form = CreatorProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        creator_update(creator=creator, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Your profile is saved."))
        return redirect("creators:profile")
    return render(request, "creators/profile.html", {"form": form, "creator": creator})


@login_required
@require_http_methods(["GET", "POST"])
@page_errors
def platform_accounts(request: HttpRequest) -> HttpResponse:
    creator = _own_creator(request)
    form = PlatformAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            platform_account_add(creator=creator, actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The account is added to your profile."))
            return redirect("creators:accounts")
    accounts = (
        platform_account_list_for_actor(actor=request.user)
        .filter(creator=creator)
        .exclude(status="rejected")
        .order_by("status", "platform", "account_id")
    )
    return render(request, "creators/accounts.html", {"form": form, "accounts": accounts, "creator": creator})


def _decide(request: HttpRequest, public_id: str, action: Callable[..., Any], done: str) -> HttpResponse:
    account = platform_account_get_for_actor(actor=request.user, public_id=public_id)
    try:
        action(account=account, actor=request.user)
    except (PermissionDenied, NotFound):
        raise
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("creators:accounts")


@login_required
@require_POST
@page_errors
def platform_account_confirm_view(request: HttpRequest, public_id: str) -> HttpResponse:
    return _decide(request, public_id, platform_account_confirm, _("The account is confirmed."))


@login_required
@require_POST
@page_errors
def platform_account_reject_view(request: HttpRequest, public_id: str) -> HttpResponse:
    return _decide(request, public_id, platform_account_reject, _("The request is rejected."))


@login_required
@require_POST
@page_errors
def platform_account_remove_view(request: HttpRequest, public_id: str) -> HttpResponse:
    return _decide(request, public_id, platform_account_remove, _("The account is removed."))
