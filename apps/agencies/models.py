"""MCN agencies, the people who work in them (by role) and the creators they represent."""

from __future__ import annotations

import uuid

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


@pghistory.track()
class Agency(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    legal_name = models.CharField(_("legal name"), max_length=300)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    default_currency = models.CharField(_("default currency"), max_length=3, default="CNY")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = _("agencies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


@pghistory.track()
class Membership(models.Model):
    """A person's role in an agency. Roles, from most to least power: owner, manager, finance, viewer."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MANAGER = "manager", _("Manager")
        FINANCE = "finance", _("Finance")
        VIEWER = "viewer", _("Viewer")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "user"], name="membership_one_per_agency_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.agency} ({self.role})"


@pghistory.track()
class Representation(models.Model):
    """An agency represents a creator for a span of time.

    Contracts (a later app) open and close these spans when they become active and end;
    tenancy reads them to decide which creators an agency may see.
    """

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="representations")
    creator = models.ForeignKey("creators.Creator", on_delete=models.PROTECT, related_name="representations")
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="representation_ends_after_start",
            ),
            models.UniqueConstraint(
                fields=["agency", "creator"],
                condition=Q(ended_on__isnull=True),
                name="representation_one_open_per_pair",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency} → {self.creator}"
