"""The invited person's pages: an invitation opened by its link (signed out: sign up or sign in and
come back; signed in: confirm or decline), and the invitations sent to one's verified addresses.
The agency's side (invite, revoke) is in the agency console (apps/agencies/views.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.adapter import INVITED_EMAIL_SESSION_KEY
from apps.accounts.services import user_has_mfa, user_requires_mfa
from apps.common.exceptions import ApplicationError, NotFound
from apps.common.tenancy import scope_for
from apps.common.views import page_errors
from apps.invitations.forms import InvitationAcceptForm
from apps.invitations.models import Invitation
from apps.invitations.selectors import (
    invitation_get_by_token,
    invitation_get_for_invitee,
    invitation_list_for_invitee,
    invitation_proposed_accounts,
)
from apps.invitations.services import (
    invitation_accept,
    invitation_closed_reason,
    invitation_decline,
    invitation_refusal,
)


def _urls(*, token: str | None = None, public_id: Any = None) -> dict[str, str]:
    """Where this page and its two buttons live: by the link's token or, for one's own email
    invitations, by the invitation's id."""
    if token is not None:
        kwargs: dict[str, Any] = {"token": token}
        prefix = "invitations:"
    else:
        kwargs = {"public_id": public_id}
        prefix = "invitations:mine-"
    return {
        "page": reverse(f"{prefix}open" if token else f"{prefix}detail", kwargs=kwargs),
        "accept": reverse(f"{prefix}accept", kwargs=kwargs),
        "decline": reverse(f"{prefix}decline", kwargs=kwargs),
    }


def _form(request: HttpRequest, invitation: Invitation, data: Any = None) -> InvitationAcceptForm:
    needs_profile = invitation.kind == Invitation.Kind.CREATOR and scope_for(request.user).creator_id is None
    return InvitationAcceptForm(
        data,
        accounts=invitation_proposed_accounts(invitation=invitation, viewer=request.user),
        needs_profile=needs_profile,
        suggested_name=invitation.name,
    )


def _page(
    request: HttpRequest,
    invitation: Invitation,
    urls: dict[str, str],
    *,
    form: InvitationAcceptForm | None = None,
    error: ApplicationError | None = None,
) -> HttpResponse:
    closed = invitation_closed_reason(invitation=invitation)
    if closed is not None:
        raise closed  # a 409/410 page with its sentence (page_errors)
    context: dict[str, Any] = {
        "invitation": invitation,
        "urls": urls,
        "accounts": invitation_proposed_accounts(
            invitation=invitation, viewer=request.user if request.user.is_authenticated else None
        ),
        "refusal": None,
        "error": error,
    }
    if not request.user.is_authenticated:
        if invitation.channel == Invitation.Channel.EMAIL:
            # Opening the mailed link vouches for the address: signing up with exactly it needs
            # no verification email (apps/accounts/adapter.py).
            request.session[INVITED_EMAIL_SESSION_KEY] = invitation.email
        query = {"next": urls["page"]}
        signup_query = {**query, **({"email": invitation.email} if invitation.email else {})}
        context["signup_url"] = f"{reverse('account_signup')}?{urlencode(signup_query)}"
        context["login_url"] = f"{reverse('account_login')}?{urlencode(query)}"
        return render(request, "invitations/invitation.html", context)
    context["refusal"] = invitation_refusal(invitation=invitation, user=request.user)
    if context["refusal"] is None:
        context["form"] = form or _form(request, invitation)
    if error is not None:
        status = error.status
    elif context["refusal"] is not None:
        status = context["refusal"].status
    else:
        status = 400 if form is not None and form.errors else 200
    return render(request, "invitations/invitation.html", context, status=status)


def _accept(request: HttpRequest, invitation: Invitation, urls: dict[str, str]) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(urls["page"])  # the page offers sign-up and sign-in, then comes back
    form = _form(request, invitation, request.POST)
    if not form.is_valid():
        return _page(request, invitation, urls, form=form)
    data = form.cleaned_data
    try:
        accepted = invitation_accept(
            invitation=invitation,
            user=request.user,
            accounts=data.get("accounts", []),
            display_name=data.get("display_name", ""),
            legal_name=data.get("legal_name", ""),
            creator_type=data.get("creator_type") or "individual",
        )
    except NotFound:
        raise
    except ApplicationError as error:
        form.add_error(None, error.message)
        return _page(request, invitation, urls, form=form, error=error)
    request.session.pop(INVITED_EMAIL_SESSION_KEY, None)
    agency = accepted.invitation.agency
    if accepted.membership is not None:
        messages.success(
            request,
            _("You joined %(agency)s as %(role)s.")
            % {"agency": agency.name, "role": accepted.membership.get_role_display()},
        )
        if user_requires_mfa(user=request.user) and not user_has_mfa(user=request.user):  # type: ignore[arg-type]
            # Owners and finance move money: enrolment first (the MFA middleware would ask anyway,
            # but only once its few minutes' memory of this session's last check run out).
            return redirect("mfa_activate_totp")
        return redirect("agencies:roster", agency=agency.public_id)
    messages.success(
        request,
        _("%(agency)s now represents you. Accounts registered on your profile: %(count)s.")
        % {"agency": agency.name, "count": len(accepted.accounts_added)},
    )
    return redirect("home")


def _decline(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    invitation_decline(invitation=invitation, user=request.user)
    request.session.pop(INVITED_EMAIL_SESSION_KEY, None)
    messages.success(
        request,
        _("You declined the invitation from %(agency)s. Nothing was set up.")
        % {"agency": invitation.agency.name},
    )
    return redirect("home" if request.user.is_authenticated else "account_login")


# --- by the link -----------------------------------------------------------------------------------


@require_GET
@page_errors
def invitation_open(request: HttpRequest, token: str) -> HttpResponse:
    return _page(request, invitation_get_by_token(token=token), _urls(token=token))


@require_POST
@page_errors
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    return _accept(request, invitation_get_by_token(token=token), _urls(token=token))


@require_POST
@page_errors
def invitation_decline_view(request: HttpRequest, token: str) -> HttpResponse:
    return _decline(request, invitation_get_by_token(token=token))


# --- one's own email invitations, without the link --------------------------------------------------


@login_required
@require_GET
@page_errors
def my_invitations(request: HttpRequest) -> HttpResponse:
    invitations = list(invitation_list_for_invitee(user=request.user))
    return render(request, "invitations/mine.html", {"invitations": invitations})


@login_required
@require_http_methods(["GET"])
@page_errors
def my_invitation(request: HttpRequest, public_id: str) -> HttpResponse:
    invitation = invitation_get_for_invitee(user=request.user, public_id=public_id)
    return _page(request, invitation, _urls(public_id=invitation.public_id))


@login_required
@require_POST
@page_errors
def my_invitation_accept(request: HttpRequest, public_id: str) -> HttpResponse:
    invitation = invitation_get_for_invitee(user=request.user, public_id=public_id)
    return _accept(request, invitation, _urls(public_id=invitation.public_id))


@login_required
@require_POST
@page_errors
def my_invitation_decline(request: HttpRequest, public_id: str) -> HttpResponse:
    return _decline(request, invitation_get_for_invitee(user=request.user, public_id=public_id))
