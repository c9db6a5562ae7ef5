"""Creators (bloggers, streamers, studios) and their accounts on each platform."""

from __future__ import annotations

import uuid

import pghistory
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.catalog import Platform


@pghistory.track()
class Creator(models.Model):
    class Type(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        STUDIO = "studio", _("Studio or company")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="creator")
    display_name = models.CharField(_("display name"), max_length=150)
    legal_name = models.CharField(_("legal name"), max_length=300)
    creator_type = models.CharField(
        _("creator type"), max_length=16, choices=Type.choices, default=Type.INDIVIDUAL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name


@pghistory.track()
class PlatformAccount(models.Model):
    """A creator's account on a platform; statements name it by `account_id`.

    The account is the creator's: one the creator adds is confirmed at once; one an agency asks
    for (only for a creator it alone represents) waits as pending until the creator confirms or
    rejects it. Only a confirmed account routes statement rows (apps/income/routing.py), and an
    account id is confirmed on one creator per platform; pending claims never block anybody.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the creator")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected by the creator")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="platform_accounts")
    platform = models.CharField(_("platform"), max_length=32, choices=Platform.choices)
    account_id = models.CharField(_("account id"), max_length=128)
    handle = models.CharField(_("handle"), max_length=128, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    # Who asked for a pending account: the agency (and its member); empty when the creator or the
    # system added it.
    requested_by_agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["platform", "account_id"]
        constraints = [
            # A confirmed account id belongs to one creator per platform: statements route rows by it.
            models.UniqueConstraint(
                fields=["platform", "account_id"],
                condition=models.Q(status="confirmed"),
                name="platform_account_confirmed_unique",
            ),
            # One open (pending or confirmed) record of an id per creator.
            models.UniqueConstraint(
                fields=["creator", "platform", "account_id"],
                condition=~models.Q(status="rejected"),
                name="platform_account_one_open_per_creator",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()}: {self.handle or self.account_id}"
