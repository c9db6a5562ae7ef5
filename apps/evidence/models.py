"""Evidence bundles built by a worker (issue 14): the creator asks, a Celery task builds the ZIP
into storage, the page says "being prepared" until it is ready, then links to the file.

* EvidenceBundleBuild: one request of a creator's bundle for one agency. Its state moves
  queued → building → ready / failed (and ready → replaced, its file deleted, once a newer one
  is ready), only in apps/evidence/services.py. At most one build per
  (creator, agency) is in flight (a partial unique index): asking again while one is queued or
  building hands back that one. A ready build is handed back too while nothing it holds has
  changed (`fingerprint`: the agency's ledger head, the creator's lines, contract versions and
  published statements at the time it was asked for).
* The file is stored privately (MEDIA is never served under a URL) and downloaded only through
  the view that checks it is the creator's own; storage holds one bundle per creator and agency.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.common.ids import uuid7


def bundle_path(instance: EvidenceBundleBuild, filename: str) -> str:
    # Never a name from the request: the file is named by the build.
    return f"evidence/{instance.agency_id}/{uuid.uuid4().hex}.zip"


class EvidenceBundleBuild(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to be built")
        BUILDING = "building", _("Being prepared")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")
        # Its file deleted once a newer bundle of the same creator and agency was ready.
        REPLACED = "replaced", _("Replaced by a newer bundle")

    IN_FLIGHT = (Status.QUEUED, Status.BUILDING)

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    creator = models.ForeignKey(
        "creators.Creator", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+", db_index=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # What the bundle would hold, summed up when it was asked for (services.evidence_fingerprint).
    fingerprint = models.CharField(max_length=64)
    file = models.FileField(upload_to=bundle_path, max_length=255, blank=True, default="")
    filename = models.CharField(max_length=100, blank=True, default="")
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    seconds = models.FloatField(null=True, blank=True)  # how long the build took (not money)
    counts = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    message = models.TextField(blank=True, default="")
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One build in flight per creator and agency: asking twice shares it.
            models.UniqueConstraint(
                fields=["creator", "agency"],
                condition=Q(status__in=["queued", "building"]),
                name="evidence_one_build_in_flight",
            ),
            models.CheckConstraint(
                condition=~Q(status="ready") | (~Q(file="") & Q(size__isnull=False) & ~Q(sha256="")),
                name="evidence_ready_has_file",
            ),
        ]
        indexes = [
            # The evidence page's latest build per agency, and the ready build to hand back.
            models.Index(fields=["creator", "agency", "requested_at"], name="evidence_build_latest"),
        ]

    def __str__(self) -> str:
        return f"evidence bundle {self.public_id} ({self.status})"

    @property
    def is_in_flight(self) -> bool:
        return self.status in self.IN_FLIGHT
