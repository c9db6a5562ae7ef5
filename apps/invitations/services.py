"""Writes for invitations: invite a creator or a member, revoke, accept, decline (docs/onboarding.md).

* Owners and managers invite creators, by email or by phone number; only owners invite members
  (any role, owner included: membership_set is the owners' too).
* The link's token is random (256 bits) and only its SHA-256 is stored. An email invitation's link
  is mailed to the address and shown to nobody else: opening it vouches for the address as a
  verification link would (apps/accounts/adapter.py), so the agency must never hold it. A phone
  invitation's link is shown once to the inviter, who sends it themself: Fenrun sends no SMS.
* Accepting is one transaction: every refusal (expired, used, revoked, another person's email, an
  agency member accepting a creator invitation of their own agency, already represented, an
  account that cannot be added) leaves nothing behind.
"""

from __future__ import annotations

import datetime
import logging
import re
import secrets
import smtplib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from apps.agencies.models import Agency, Membership, Representation
from apps.agencies.selectors import representation_list_for_actor
from apps.agencies.services import membership_set, representation_open
from apps.agencies.time import agency_local_datetime, agency_today
from apps.common.catalog import Platform
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import forget_scope, require_agency_role, scope_for
from apps.creators.models import Creator, PlatformAccount
from apps.creators.selectors import creator_list_for_actor
from apps.creators.services import creator_create, platform_account_add
from apps.invitations.models import Invitation

logger = logging.getLogger(__name__)

Role = Membership.Role
Kind = Invitation.Kind
Status = Invitation.Status

DEFAULT_DAYS = 7  # how long a link works unless the inviter chose otherwise (docs/onboarding.md)
MAX_DAYS = 30
MAX_PROPOSED_ACCOUNTS = 20
# Who may invite: creators are the managers' work too; members only owners add (membership_set).
CREATOR_INVITERS = (Role.OWNER, Role.MANAGER)
MEMBER_INVITERS = (Role.OWNER,)
LANGUAGES = ("en", "zh-hans")

_PHONE = re.compile(r"^\+[1-9][0-9]{5,14}$")  # E.164: a country code and at most 15 digits
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_CHINESE_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


@dataclass(frozen=True)
class CreatedInvitation:
    invitation: Invitation
    # The link exists only here, in the request that made it; the database keeps its hash.
    link: str
    email_sent: bool


@dataclass(frozen=True)
class AcceptedInvitation:
    invitation: Invitation
    creator: Creator | None
    membership: Membership | None
    accounts_added: list[PlatformAccount]


# --- inputs ---------------------------------------------------------------------------------------


def _normalised_email(email: str) -> str:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(
            _("%(email)r is not an email address.") % {"email": email}, code="invalid_email"
        ) from None
    return email


def _normalised_phone(phone: str) -> str:
    """+8613812345678 from '138 1234 5678', '+86 138-1234-5678' or '+44 20 7946 0958'."""
    digits = _PHONE_SEPARATORS.sub("", phone.strip())
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if _CHINESE_MOBILE.match(digits):
        digits = "+86" + digits  # a mainland mobile number written without its country code
    if not _PHONE.match(digits):
        raise ApplicationError(
            _("%(phone)r is not a phone number: give it with its country code, e.g. +86 138 1234 5678.")
            % {"phone": phone.strip()},
            code="invalid_phone",
        )
    return digits


def _days(expires_in_days: int) -> int:
    if not 1 <= expires_in_days <= MAX_DAYS:
        raise ApplicationError(
            _("An invitation works between 1 and %(max)s days.") % {"max": MAX_DAYS}, code="invalid_expiry"
        )
    return expires_in_days


def _language(language: str) -> str:
    return "zh-hans" if language.lower().startswith("zh") else "en"


def _proposed_accounts(accounts: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The accounts an agency proposes, checked as platform_account_add would check them."""
    proposed: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for account in accounts:
        platform = str(account.get("platform", "")).strip()
        account_id = str(account.get("account_id", "")).strip()
        handle = str(account.get("handle", "") or "").strip()
        if platform not in Platform.values:
            raise ApplicationError(
                _("%(platform)r is not a platform Fenrun knows.") % {"platform": platform},
                code="invalid_platform",
            )
        if not account_id or len(account_id) > 128 or len(handle) > 128:
            raise ApplicationError(
                _(
                    "Each account needs an account id of at most 128 characters (and a handle of at most 128)."
                ),
                code="invalid_account_id",
            )
        if (platform, account_id) in seen:
            continue  # the same account twice is one account
        seen.add((platform, account_id))
        proposed.append({"platform": platform, "account_id": account_id, "handle": handle})
    if len(proposed) > MAX_PROPOSED_ACCOUNTS:
        raise ApplicationError(
            _("Propose at most %(max)s accounts in one invitation.") % {"max": MAX_PROPOSED_ACCOUNTS},
            code="too_many_accounts",
        )
    return proposed


def invitation_link(*, base_url: str, token: str) -> str:
    return base_url.rstrip("/") + reverse("invitations:open", kwargs={"token": token})


# --- invite ---------------------------------------------------------------------------------------


def invitation_create_for_creator(
    *,
    agency: Agency,
    actor: Any,
    base_url: str,
    email: str = "",
    phone: str = "",
    name: str = "",
    accounts: Iterable[Mapping[str, Any]] = (),
    expires_in_days: int = DEFAULT_DAYS,
    language: str = "en",
) -> CreatedInvitation:
    """An owner or manager invites a creator by email (the link is mailed) or by phone (the link is
    returned for the agency to send); inviting the same address again replaces the open invitation."""
    require_agency_role(actor, agency, CREATOR_INVITERS)
    if bool(email.strip()) == bool(phone.strip()):
        raise ApplicationError(
            _("Give either an email address or a phone number."), code="invitation_address_required"
        )
    if email.strip():
        email = _normalised_email(email)
        if Membership.objects.filter(agency=agency, user__email=email, is_active=True).exists():
            raise ApplicationError(
                _("%(email)s is a member of %(agency)s: a member cannot also be a creator it represents.")
                % {"email": email, "agency": agency.name},
                code="invitation_member_of_agency",
            ).with_status(409)
        if Representation.objects.filter(
            agency=agency, creator__user__email=email, ended_on__isnull=True
        ).exists():
            raise _already_represented(agency)
    else:
        phone = _normalised_phone(phone)
    if len(name.strip()) > 150:
        raise ApplicationError(_("A name has at most 150 characters."), code="invalid_name")
    return _create(
        agency=agency,
        actor=actor,
        base_url=base_url,
        kind=Kind.CREATOR,
        channel=Invitation.Channel.EMAIL if email else Invitation.Channel.PHONE,
        email=email,
        phone=phone,
        name=name.strip(),
        role="",
        proposed_accounts=_proposed_accounts(accounts),
        expires_in_days=_days(expires_in_days),
        language=_language(language),
    )


def invitation_create_for_member(
    *,
    agency: Agency,
    actor: Any,
    base_url: str,
    email: str,
    role: str,
    name: str = "",
    expires_in_days: int = DEFAULT_DAYS,
    language: str = "en",
) -> CreatedInvitation:
    """An owner invites a person by email to a role of the agency (owner included: only owners invite)."""
    require_agency_role(actor, agency, MEMBER_INVITERS)
    if role not in Role.values:
        raise ApplicationError(
            _("%(role)r is not a role; use one of %(roles)s.")
            % {"role": role, "roles": ", ".join(Role.values)},
            code="invalid_role",
        )
    email = _normalised_email(email)
    if Membership.objects.filter(agency=agency, user__email=email, is_active=True).exists():
        raise ApplicationError(
            _("%(email)s is already a member of %(agency)s.") % {"email": email, "agency": agency.name},
            code="invitation_already_member",
        ).with_status(409)
    if len(name.strip()) > 150:
        raise ApplicationError(_("A name has at most 150 characters."), code="invalid_name")
    return _create(
        agency=agency,
        actor=actor,
        base_url=base_url,
        kind=Kind.MEMBER,
        channel=Invitation.Channel.EMAIL,
        email=email,
        phone="",
        name=name.strip(),
        role=role,
        proposed_accounts=[],
        expires_in_days=_days(expires_in_days),
        language=_language(language),
    )


def _create(*, base_url: str, actor: Any, expires_in_days: int, **fields: Any) -> CreatedInvitation:
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    try:
        with transaction.atomic():
            # Inviting again replaces the open invitation (and a pending one that expired): its link
            # stops working, and the one-pending-per-address constraint holds.
            Invitation.objects.filter(
                agency=fields["agency"],
                kind=fields["kind"],
                email=fields["email"],
                phone=fields["phone"],
                status=Status.PENDING,
            ).update(status=Status.REPLACED, decided_at=now, decided_by=actor)
            invitation = Invitation.objects.create(
                token_sha256=Invitation.hash(token),
                invited_by=actor,
                expires_at=now + datetime.timedelta(days=expires_in_days),
                **fields,
            )
    except IntegrityError:
        # Two invitations to one address at the same moment: the constraint let one through.
        raise ApplicationError(
            _("Another invitation to this address was sent at the same moment; reload the page."),
            code="invitation_conflict",
        ).with_status(409) from None
    link = invitation_link(base_url=base_url, token=token)
    sent = invitation.channel == Invitation.Channel.EMAIL and _send_invitation_email(invitation, link)
    return CreatedInvitation(invitation=invitation, link=link, email_sent=sent)


def _send_invitation_email(invitation: Invitation, link: str) -> bool:
    """Mail the link, in the inviter's language. Sent here and not by a task: a task's arguments
    would carry the secret through the broker. A mail server that fails leaves the invitation
    open and says so (the inviter can invite again, which sends a new link)."""
    agency = invitation.agency
    inviter = invitation.invited_by
    with translation.override(invitation.language):
        expires = formats.date_format(
            agency_local_datetime(agency, invitation.expires_at).replace(tzinfo=None), "DATETIME_FORMAT"
        )
        values = {
            "inviter": inviter.get_full_name(),
            "agency": agency.name,
            "role": Role(invitation.role).label if invitation.role else "",
            "expires": expires,
            "link": link,
        }
        if invitation.kind == Kind.CREATOR:
            subject = _("%(agency)s invites you to Fenrun as a creator it represents") % values
            body = (
                _(
                    "%(inviter)s of %(agency)s invites you to Fenrun, where %(agency)s and the creators it "
                    "represents keep their contracts, income and statements.\n\n"
                )
                % values
            )
            if invitation.proposed_accounts:
                body += _("They propose to register these platform accounts on your profile:") + "\n"
                body += "".join(f"  · {line}\n" for line in _account_lines(invitation.proposed_accounts))
                body += "\n"
        else:
            subject = _("%(agency)s invites you to join its team on Fenrun") % values
            body = _("%(inviter)s invites you to join %(agency)s on Fenrun as %(role)s.\n\n") % values
        body += (
            _(
                "Open the link to sign up or sign in with this email address, then confirm or decline. "
                "It works once, until %(expires)s:\n%(link)s\n\n"
                "If you did not expect this invitation, ignore this message."
            )
            % values
        )
    try:
        send_mail(subject, body, None, [invitation.email])
    except (smtplib.SMTPException, OSError):
        logger.warning("invitation %s: the mail server refused the invitation email", invitation.public_id)
        return False
    invitation.email_sent_at = timezone.now()
    Invitation.objects.filter(pk=invitation.pk).update(email_sent_at=invitation.email_sent_at)
    return True


def _account_lines(accounts: Sequence[Mapping[str, str]]) -> list[str]:
    lines = []
    for account in accounts:
        label = str(Platform(account["platform"]).label)
        handle = f" ({account['handle']})" if account.get("handle") else ""
        lines.append(f"{label}: {account['account_id']}{handle}")
    return lines


# --- revoke ---------------------------------------------------------------------------------------


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: Any) -> Invitation:
    """Whoever may send an invitation of its kind may revoke it while it is pending; idempotent."""
    require_agency_role(
        actor, invitation.agency, CREATOR_INVITERS if invitation.kind == Kind.CREATOR else MEMBER_INVITERS
    )
    invitation = _locked(invitation)
    if invitation.status == Status.REVOKED:
        return invitation
    if invitation.status != Status.PENDING:
        raise ApplicationError(
            _("This invitation is no longer pending (%(state)s): there is nothing to revoke.")
            % {"state": invitation.get_status_display()},
            code="invitation_not_pending",
        ).with_status(409)
    invitation.status, invitation.decided_at, invitation.decided_by = Status.REVOKED, timezone.now(), actor
    invitation.save(update_fields=["status", "decided_at", "decided_by"])
    return invitation


# --- answer ---------------------------------------------------------------------------------------


def _locked(invitation: Invitation) -> Invitation:
    return (
        Invitation.objects.select_for_update(no_key=True, of=("self",))
        .select_related("agency", "invited_by")
        .get(pk=invitation.pk)
    )


def _already_represented(agency: Agency) -> ApplicationError:
    return ApplicationError(
        _("%(agency)s already represents this creator.") % {"agency": agency.name},
        code="invitation_already_represented",
    ).with_status(409)


def _has_verified_email(user: Any, email: str) -> bool:
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user_id=user.pk, email__iexact=email, verified=True).exists()


def invitation_closed_reason(*, invitation: Invitation) -> ApplicationError | None:
    """Why the link no longer works (used, declined, revoked, replaced, expired, or its sender
    may no longer invite), whoever opens it; None while it is open."""
    agency = invitation.agency.name
    if invitation.status == Status.ACCEPTED:
        return ApplicationError(
            _("This invitation has already been used."), code="invitation_used"
        ).with_status(409)
    if invitation.status == Status.DECLINED:
        return ApplicationError(_("This invitation was declined."), code="invitation_declined").with_status(
            409
        )
    if invitation.status == Status.REVOKED:
        return ApplicationError(
            _("%(agency)s revoked this invitation. Ask them for a new one if you expected it.")
            % {"agency": agency},
            code="invitation_revoked",
        ).with_status(410)
    if invitation.status == Status.REPLACED:
        return ApplicationError(
            _("%(agency)s sent a newer invitation that replaces this one: use the latest link.")
            % {"agency": agency},
            code="invitation_replaced",
        ).with_status(410)
    if invitation.is_expired:
        return ApplicationError(
            _("This invitation has expired. Ask %(agency)s for a new one.") % {"agency": agency},
            code="invitation_expired",
        ).with_status(410)
    inviters = CREATOR_INVITERS if invitation.kind == Kind.CREATOR else MEMBER_INVITERS
    if scope_for(invitation.invited_by).agency_roles.get(invitation.agency_id) not in inviters:
        return ApplicationError(
            _(
                "The person who sent this invitation can no longer invite for %(agency)s. Ask them for a new one."
            )
            % {"agency": agency},
            code="invitation_sender_left",
        ).with_status(410)
    return None


def invitation_refusal(*, invitation: Invitation, user: Any) -> ApplicationError | None:
    """Why `user` may not accept `invitation`, or None: the page shows it before the form, and
    invitation_accept raises it."""
    closed = invitation_closed_reason(invitation=invitation)
    if closed is not None:
        return closed
    agency = invitation.agency
    if invitation.channel == Invitation.Channel.EMAIL and not _has_verified_email(user, invitation.email):
        return ApplicationError(
            _(
                "This invitation was sent to %(email)s. Sign in with that address (or add it to your "
                "account and verify it) to accept it."
            )
            % {"email": invitation.email},
            code="invitation_email_mismatch",
        ).with_status(403)
    scope = scope_for(user)
    if invitation.kind == Kind.MEMBER:
        if agency.pk in scope.agency_ids:
            return ApplicationError(
                _("You are already a member of %(agency)s.") % {"agency": agency.name},
                code="invitation_already_member",
            ).with_status(409)
        return None
    if agency.pk in scope.agency_ids:
        return ApplicationError(
            _(
                "You are a member of %(agency)s: a member cannot also be a creator it represents. "
                "Sign in with the creator's own account to accept."
            )
            % {"agency": agency.name},
            code="invitation_member_of_agency",
        ).with_status(409)
    if (
        scope.creator_id is not None
        and representation_list_for_actor(actor=user)
        .filter(agency=agency, creator_id=scope.creator_id, ended_on__isnull=True)
        .exists()
    ):
        return ApplicationError(
            _("%(agency)s already represents you.") % {"agency": agency.name},
            code="invitation_already_represented",
        ).with_status(409)
    return None


def invitation_accept(
    *,
    invitation: Invitation,
    user: Any,
    accounts: Iterable[int] | None = None,
    display_name: str = "",
    legal_name: str = "",
    creator_type: str = Creator.Type.INDIVIDUAL,
) -> AcceptedInvitation:
    """The invited person says yes, in one transaction: a creator invitation creates their creator
    profile (if they have none; `display_name`, `legal_name`, `creator_type` are theirs), opens the
    representation and registers the proposed accounts they ticked (`accounts`: indexes into
    `proposed_accounts`; None: all) as theirs, confirmed; a member invitation gives them the role.
    Any refusal raises and leaves nothing behind."""
    with transaction.atomic():
        invitation = _locked(invitation)
        refusal = invitation_refusal(invitation=invitation, user=user)
        if refusal is not None:
            raise refusal
        if invitation.kind == Kind.CREATOR:
            creator, added = _accept_as_creator(
                invitation=invitation,
                user=user,
                accounts=accounts,
                display_name=display_name,
                legal_name=legal_name,
                creator_type=creator_type,
            )
            membership = None
        else:
            creator, added = None, []
            # Attributed to the inviter, whose right to add members was checked just above.
            membership = membership_set(
                agency=invitation.agency, user=user, role=invitation.role, actor=invitation.invited_by
            )
        invitation.status, invitation.decided_at, invitation.decided_by = (
            Status.ACCEPTED,
            timezone.now(),
            user,
        )
        invitation.creator = creator
        invitation.save(update_fields=["status", "decided_at", "decided_by", "creator"])
    forget_scope(user)
    return AcceptedInvitation(
        invitation=invitation, creator=creator, membership=membership, accounts_added=added
    )


def _chosen(invitation: Invitation, accounts: Iterable[int] | None) -> list[dict[str, str]]:
    proposed = list(invitation.proposed_accounts)
    if accounts is None:
        return proposed
    chosen = sorted(set(accounts))
    if any(not 0 <= index < len(proposed) for index in chosen):
        raise ApplicationError(
            _("Choose among the accounts this invitation proposes."), code="invalid_account_choice"
        )
    return [proposed[index] for index in chosen]


def _accept_as_creator(
    *,
    invitation: Invitation,
    user: Any,
    accounts: Iterable[int] | None,
    display_name: str,
    legal_name: str,
    creator_type: str,
) -> tuple[Creator, list[PlatformAccount]]:
    chosen = _chosen(invitation, accounts)
    creator_id = scope_for(user).creator_id
    if creator_id is None:
        if not legal_name.strip():
            raise ApplicationError(
                _("Give your legal name: contracts and statements are made out to it."),
                code="legal_name_required",
            )
        if creator_type not in Creator.Type.values:
            raise ApplicationError(_("Choose individual or studio."), code="invalid_creator_type")
        creator = creator_create(
            user=user,
            display_name=(display_name.strip() or invitation.name or user.get_short_name())[:150],
            legal_name=legal_name.strip()[:300],
            creator_type=creator_type,
        )
    else:
        creator = creator_list_for_actor(actor=user).get(pk=creator_id)
    representation_open(agency=invitation.agency, creator=creator, started_on=agency_today(invitation.agency))
    on_profile = {
        (account.platform, account.account_id)
        for account in PlatformAccount.objects.filter(
            creator=creator, status=PlatformAccount.Status.CONFIRMED
        )
    }
    added = []
    for account in chosen:
        if (account["platform"], account["account_id"]) in on_profile:
            continue  # already theirs: nothing to confirm
        try:
            # The creator adds it themself (actor=user): confirmed, under creators' own rules (an
            # id confirmed on another creator is refused, and an agency's pending request for it
            # is confirmed rather than doubled).
            added.append(platform_account_add(creator=creator, actor=user, **account))
        except ApplicationError as error:
            raise ApplicationError(
                _("%(account)s: %(reason)s Untick it to accept the invitation without it.")
                % {"account": _account_lines([account])[0], "reason": error.message},
                code=error.code,
            ).with_status(error.status) from None
    return creator, added


@transaction.atomic
def invitation_decline(*, invitation: Invitation, user: Any | None = None) -> Invitation:
    """The invited person says no (signed in or not: the link is theirs); the link stops working."""
    invitation = _locked(invitation)
    closed = invitation_closed_reason(invitation=invitation)
    if closed is not None:
        raise closed
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    invitation.status, invitation.decided_at = Status.DECLINED, timezone.now()
    invitation.decided_by = user if signed_in else None
    invitation.save(update_fields=["status", "decided_at", "decided_by"])
    return invitation
