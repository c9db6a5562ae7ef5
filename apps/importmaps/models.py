"""Import templates: an agency's mapping of a file layout Fenrun has no adapter for onto the
canonical statement (docs/import-templates.md).

Design
------
* An ImportTemplate is named and belongs to one agency. What it does lives in its versions: an
  ImportTemplateVersion holds the header it applies to (its cells as the file wrote them, and
  their signature: the SHA-256 of the normalised names) and the mapping (apps/importmaps/
  mapping.py). A version is written once (a trigger refuses UPDATE and DELETE); changing a
  template adds a version, and `current_version` points at the newest.
* ImportTemplateUse records which version read an import, and whether the person chose it or
  the file's header matched it. An import keeps the version it used for ever: a later version
  never changes what an earlier import did.
"""

from __future__ import annotations

import uuid

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ImportTemplate(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="import_templates")
    name = models.CharField(_("name"), max_length=100)
    # The newest version: what files with its header are read with from now on. Null only for
    # the instant between the template's INSERT and its first version's (one transaction).
    current_version = models.ForeignKey(
        "importmaps.ImportTemplateVersion", on_delete=models.PROTECT, null=True, related_name="+"
    )
    # An archived template matches no file any more; its versions stay, as the imports they read.
    is_archived = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "name"],
                condition=Q(is_archived=False),
                name="importmaps_template_name_per_agency",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ImportTemplateVersion(models.Model):
    template = models.ForeignKey(ImportTemplate, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    # The header's cells as the file wrote them (shown to people, offered as columns).
    header = models.JSONField()
    # SHA-256 (hex) of the normalised header (mapping.header_signature): a file's row with the
    # same signature is this header.
    signature = models.CharField(max_length=64)
    # The header's row in the file the template was built from (notes may sit above it); files
    # are matched on any of their first rows, so this is what the form showed, not a condition.
    header_row = models.PositiveSmallIntegerField(default=1)
    mapping = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="importmaps_version_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="importmaps_version_number_positive"),
        ]
        triggers = [
            # Imports reference the version that read them: it can never change under them.
            pgtrigger.Protect(name="versions_written_once", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.template.name} v{self.number}"


class ImportTemplateUse(models.Model):
    statement_import = models.OneToOneField(
        "income.StatementImport", on_delete=models.PROTECT, related_name="template_use"
    )
    version = models.ForeignKey(ImportTemplateVersion, on_delete=models.PROTECT, related_name="uses")
    # The person chose the template (a file several templates match, or "import with"), rather
    # than the file's header matching exactly one.
    is_chosen = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.statement_import_id} read with {self.version_id}"
