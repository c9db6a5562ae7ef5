"""The agency console: the roster of creators (with their accounts, contract in force, balance owed
and last statement), a creator's page, ending a representation, inviting creators and members,
and the team. Thin: selectors and apps/agencies/roster.py to read, services to write; another
agency's rows answer 404 (tenancy), a role that may not act gets a 403 page that says why."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.agencies.forms import CreatorInvitationForm, MemberInvitationForm, ProposedAccountFormSet
from apps.agencies.models import Agency, Membership
from apps.agencies.roster import MANAGERS, roster_creator_for_actor, roster_for_actor
from apps.agencies.selectors import agency_get_for_actor, agency_list_for_actor, membership_list_for_actor
from apps.agencies.services import representation_end
from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.common.tenancy import require_agency_role, scope_for
from apps.common.views import page_errors
from apps.creators.selectors import creator_get_for_actor
from apps.invitations.models import Invitation
from apps.invitations.selectors import invitation_get_for_actor, invitation_list_for_actor
from apps.invitations.services import (
    CREATOR_INVITERS,
    MEMBER_INVITERS,
    CreatedInvitation,
    invitation_create_for_creator,
    invitation_create_for_member,
    invitation_revoke,
)

Role = Membership.Role


def _agency(request: HttpRequest, agency: str) -> Agency:
    return agency_get_for_actor(actor=request.user, public_id=agency)


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def _console(request: HttpRequest, agency: Agency) -> dict[str, Any]:
    """What every console page's header needs: the agency, the others to switch to, the role."""
    scope = scope_for(request.user)
    role = scope.agency_roles[agency.pk]
    return {
        "agency": agency,
        # The others to switch to: a query only for a member of several (most are of one).
        "agencies": list(agency_list_for_actor(actor=request.user))
        if len(scope.agency_roles) > 1
        else [agency],
        "role": role,
        "can_manage": role in MANAGERS,
        "is_owner": role == Role.OWNER,
    }


@login_required
@require_GET
@page_errors
def console(request: HttpRequest) -> HttpResponse:
    first = agency_list_for_actor(actor=request.user).first()
    if first is None:
        raise NotFound()
    return redirect("agencies:roster", agency=first.public_id)


@login_required
@require_GET
@page_errors
def roster(request: HttpRequest, agency: str) -> HttpResponse:
    chosen = _agency(request, agency)
    data = roster_for_actor(actor=request.user, agency=chosen, page_number=request.GET.get("page", 1))
    return render(request, "agencies/roster.html", {**_console(request, chosen), "roster": data})


@login_required
@require_GET
@page_errors
def creator_detail(request: HttpRequest, agency: str, creator: str) -> HttpResponse:
    chosen = _agency(request, agency)
    page = roster_creator_for_actor(actor=request.user, agency=chosen, public_id=creator)
    return render(request, "agencies/creator.html", {**_console(request, chosen), "page": page})


@login_required
@require_http_methods(["GET", "POST"])
@page_errors
def representation_end_view(request: HttpRequest, agency: str, creator: str) -> HttpResponse:
    """GET: the confirmation (what ending means); POST: end it."""
    chosen = _agency(request, agency)
    page = roster_creator_for_actor(actor=request.user, agency=chosen, public_id=creator)
    if request.method == "POST":
        target = creator_get_for_actor(actor=request.user, public_id=creator)
        representation_end(agency=chosen, creator=target, actor=request.user)
        messages.success(
            request,
            _("%(agency)s no longer represents %(creator)s.")
            % {"agency": chosen.name, "creator": target.display_name},
        )
        return redirect("agencies:roster", agency=chosen.public_id)
    require_agency_role(request.user, chosen, MANAGERS)
    return render(request, "agencies/representation_end.html", {**_console(request, chosen), "page": page})


def _created_message(request: HttpRequest, created: CreatedInvitation) -> None:
    invitation = created.invitation
    if invitation.channel == Invitation.Channel.PHONE:
        return  # the page shows the link
    if created.email_sent:
        messages.success(request, _("The invitation is sent to %(email)s.") % {"email": invitation.email})
    else:
        messages.error(
            request,
            _(
                "The invitation to %(email)s is recorded but the email could not be sent. "
                "Invite again later: a new invitation replaces this one."
            )
            % {"email": invitation.email},
        )


@login_required
@require_http_methods(["GET", "POST"])
@page_errors
def creator_invite(request: HttpRequest, agency: str) -> HttpResponse:
    chosen = _agency(request, agency)
    require_agency_role(request.user, chosen, CREATOR_INVITERS)
    form = CreatorInvitationForm(request.POST or None)
    accounts = ProposedAccountFormSet(request.POST or None, prefix="accounts")
    if request.method == "POST" and form.is_valid() and accounts.is_valid():
        data = form.cleaned_data
        try:
            created = invitation_create_for_creator(
                agency=chosen,
                actor=request.user,
                base_url=_base_url(request),
                email=data["email"] if data["channel"] == "email" else "",
                phone=data["phone"] if data["channel"] == "phone" else "",
                name=data["name"],
                accounts=[row for row in accounts.cleaned_data if row.get("platform")],
                expires_in_days=data["expires_in_days"],
                language=translation.get_language() or "en",
            )
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            _created_message(request, created)
            if created.invitation.channel == Invitation.Channel.PHONE:
                return render(
                    request,
                    "agencies/invitation_link.html",
                    {**_console(request, chosen), "created": created},
                    status=201,
                )
            return redirect("agencies:roster", agency=chosen.public_id)
    return render(
        request, "agencies/invite.html", {**_console(request, chosen), "form": form, "accounts": accounts}
    )


@login_required
@require_http_methods(["GET", "POST"])
@page_errors
def members(request: HttpRequest, agency: str) -> HttpResponse:
    """The team and its open invitations (every member reads them); POST: an owner invites."""
    chosen = _agency(request, agency)
    form = MemberInvitationForm(request.POST or None)
    if request.method == "POST":
        require_agency_role(request.user, chosen, MEMBER_INVITERS)
        if form.is_valid():
            try:
                created = invitation_create_for_member(
                    agency=chosen,
                    actor=request.user,
                    base_url=_base_url(request),
                    language=translation.get_language() or "en",
                    **form.cleaned_data,
                )
            except (NotFound, PermissionDenied):
                raise
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                _created_message(request, created)
                return redirect("agencies:members", agency=chosen.public_id)
    context = {
        **_console(request, chosen),
        "members": list(membership_list_for_actor(actor=request.user, agency=chosen)),
        "invitations": list(
            invitation_list_for_actor(
                actor=request.user, agency_id=chosen.pk, kind=Invitation.Kind.MEMBER, state="open"
            )
        ),
        "form": form,
    }
    return render(request, "agencies/members.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
@page_errors
def invitation_revoke_view(request: HttpRequest, agency: str, invitation: str) -> HttpResponse:
    chosen = _agency(request, agency)
    found = invitation_get_for_actor(actor=request.user, public_id=invitation)
    if found.agency_id != chosen.pk:
        raise NotFound()
    try:
        invitation_revoke(invitation=found, actor=request.user)
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The invitation to %(address)s is revoked.") % {"address": found.address})
    if found.kind == Invitation.Kind.MEMBER:
        return redirect("agencies:members", agency=chosen.public_id)
    return redirect("agencies:roster", agency=chosen.public_id)
