"""Invitations: how a person joins an agency on Fenrun, as a creator it represents or as a member.

An invitation carries a random token in its link; only the token's SHA-256 is stored, so neither
the database nor its backups can open one. A link works once, until it expires (7 days unless
the agency chose otherwise), and the agency can revoke it before it is used. The states:

    pending ──accept──▶ accepted      (the creator, representation and accounts, or the membership,
       │                               were set up in the same transaction)
       ├──decline─────▶ declined
       ├──revoke──────▶ revoked
       └──invite again▶ replaced      (a new invitation to the same address or number)

"Expired" is not a state: a pending invitation whose `expires_at` has passed is refused.
"""

from __future__ import annotations

import hashlib
import uuid

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.agencies.models import Membership


# The token's hash stays out of the history (as for API tokens).
@pghistory.track(exclude=["token_sha256"])
class Invitation(models.Model):
    class Kind(models.TextChoices):
        CREATOR = "creator", _("Creator")
        MEMBER = "member", _("Team member")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone (the agency sends the link)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for an answer")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        REVOKED = "revoked", _("Revoked")
        REPLACED = "replaced", _("Replaced by a newer invitation")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="invitations")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    email = models.EmailField(_("email address"), blank=True, default="")  # lower case
    phone = models.CharField(_("phone number"), max_length=20, blank=True, default="")  # +8613812345678
    # How the agency names the person: the suggested display name of a new creator profile.
    name = models.CharField(_("name"), max_length=150, blank=True, default="")
    role = models.CharField(max_length=16, choices=Membership.Role.choices, blank=True, default="")
    # The platform accounts the agency proposes: [{"platform", "account_id", "handle"}], checked
    # by the service; the creator ticks the ones that are theirs when accepting.
    proposed_accounts = models.JSONField(default=list, blank=True)
    # The language of the inviter's pages when they invited: the email's language.
    language = models.CharField(max_length=10, default="en")
    token_sha256 = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    email_sent_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Who answered (accepted or declined while signed in) or revoked it.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # What accepting set up: the creator profile (creator invitations).
    creator = models.ForeignKey(
        "creators.Creator", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(channel="email") & ~Q(email="") & Q(phone=""))
                | (Q(channel="phone") & ~Q(phone="") & Q(email="")),
                name="invitation_one_address_per_channel",
            ),
            # A member proves who they are by their email; only a creator may be invited by phone.
            models.CheckConstraint(
                condition=(Q(kind="member") & Q(channel="email") & ~Q(role=""))
                | (Q(kind="creator") & Q(role="")),
                name="invitation_member_by_email_with_role",
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(decided_at__isnull=False),
                name="invitation_decided_has_a_moment",
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(decided_by__isnull=False),
                name="invitation_accepted_by_someone",
            ),
            # One open invitation per address: inviting again replaces the open one (the service
            # marks it replaced first, in the same transaction).
            models.UniqueConstraint(
                fields=["agency", "kind", "email"],
                condition=Q(status="pending") & ~Q(email=""),
                name="invitation_one_pending_per_email",
            ),
            models.UniqueConstraint(
                fields=["agency", "kind", "phone"],
                condition=Q(status="pending") & ~Q(phone=""),
                name="invitation_one_pending_per_phone",
            ),
        ]
        indexes = [models.Index(fields=["agency", "status", "kind"], name="invitation_agency_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} invitation to {self.email or self.phone} ({self.agency})"

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def address(self) -> str:
        return self.email or self.phone

    @property
    def is_expired(self) -> bool:
        return self.status == self.Status.PENDING and self.expires_at <= timezone.now()

    @property
    def is_open(self) -> bool:
        """Pending and not expired: the link still works."""
        return self.status == self.Status.PENDING and not self.is_expired

    @property
    def state_label(self) -> str:
        """The status as people read it, expiry included."""
        return str(_("Expired")) if self.is_expired else str(self.get_status_display())
