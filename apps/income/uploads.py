"""Uploading a statement: its format checked while the upload waits, then the import queued.

The worker reads and detects the whole file (apps/income/pipeline.py); this looks at the file's
head only, so that what the person must supply is asked for at once, as a 400, not as a failed
import minutes later: the platform account (and month) an export that names none needs (a
YouTube Studio export, a 抖店 bill). Anything else the head shows is the worker's to judge, with
its own message: a file no adapter knows is queued like any other and fails there as
`statement_unknown_format`, its file kept for the import-template step ("map this file"); the
import's `detection` records that code with the header (`header`, `header_row`, `head`) from the
upload on, so a page can offer the mapping without reading the file again.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from apps.agencies.models import Agency
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import require_agency_role
from apps.creators.models import PlatformAccount
from apps.creators.selectors import platform_account_list_for_actor
from apps.income.importers import detect, youtube_studio
from apps.income.importers.exports import header_keys, parse_month
from apps.income.models import StatementImport
from apps.income.pipeline import statement_import_create
from apps.income.services import INCOME_ROLES


def statement_upload_detection(
    *, file: UploadedFile, format: str, agency_id: int
) -> tuple[detect.Detection, tuple[Any, ...]] | dict[str, Any] | None:
    """The adapter the file's head picks (or the chosen format's header) and that header's
    cells; for a file nothing knows, the refusal's code and header (a dict, as `detection`
    records it); None when only the worker can tell (it fails there with its own message)."""
    try:
        facts = detect.inspect_head(file)  # an UploadedFile reads and seeks
        if not facts.head:
            return None
        if format == StatementImport.Format.AUTO:
            detection = detect.detect(facts, agency_id=agency_id)
        else:
            detection = detect.detection_for(facts, format, agency_id=agency_id)
    except ApplicationError as error:
        if error.code == "statement_unknown_format" and "header" in error.extra:
            return {"code": error.code, "reason": error.message, **error.extra}
        return None
    finally:
        file.seek(0)
    index = detection.header_row - 1
    return detection, facts.head[index] if 0 <= index < len(facts.head) else ()


def _account(*, actor: Any, agency: Agency, account: str, platform: str) -> PlatformAccount:
    """A confirmed account of a creator the agency represents (or represented), on the export's
    platform: by its public id, or by the platform's own account id (UCx9f3, dy_88231)."""
    accounts = platform_account_list_for_actor(actor=actor).filter(
        creator__representations__agency=agency, status=PlatformAccount.Status.CONFIRMED
    )
    try:
        lookup: dict[str, Any] = {"public_id": UUID(str(account))}
    except ValueError:
        lookup = {"account_id": str(account).strip()}
    if platform:
        lookup["platform"] = platform
    found = accounts.filter(**lookup).distinct().first()
    if found is None:
        raise ApplicationError(
            _("%(account)r is not a confirmed %(platform)s account of a creator this agency represents.")
            % {"account": str(account)[:64], "platform": platform or _("platform")},
            code="statement_bad_account",
        )
    return found


def _period(period: str) -> str:
    month = parse_month(period)
    if month is None:
        raise ApplicationError(
            _("Enter the month the file covers as 2026-11: %(value)r.") % {"value": period[:20]},
            code="statement_bad_period",
        )
    return f"{month:%Y-%m}"


def statement_import_upload(
    *,
    agency: Agency,
    actor: Any,
    file: UploadedFile,
    format: str = StatementImport.Format.AUTO,
    is_all_or_nothing: bool = False,
    account: str | UUID | None = None,
    period: str = "",
    enqueue: bool = True,
) -> StatementImport:
    """Check an upload's format, account and month, then store the file and queue its import
    (statement_import_create; enqueued after this transaction commits, with the account set)."""
    require_agency_role(actor, agency, INCOME_ROLES)
    if format not in StatementImport.Format.values:
        raise ApplicationError(_("Unknown statement format %(format)r.") % {"format": format}, code="invalid")
    found = statement_upload_detection(file=file, format=format, agency_id=agency.pk)
    unknown = found if isinstance(found, dict) else None
    detection, header = found if isinstance(found, tuple) else (None, ())
    adapter = detect.adapter_for(detection.format) if detection is not None else None
    platform_account = None
    if account:
        platform_account = _account(
            actor=actor, agency=agency, account=str(account), platform=adapter.platform if adapter else ""
        )
    elif adapter is not None and detection is not None and adapter.needs_account:
        raise ApplicationError(
            _("%(reason)s. This export names no account: choose the creator's account it is for.")
            % {"reason": detection.reason},
            code="statement_account_required",
        )
    if period:
        period = _period(period)
    elif (
        detection is not None
        and detection.format == youtube_studio.ADAPTER.code
        and youtube_studio.needs_period(header_keys(header))
    ):
        raise ApplicationError(
            _(
                "%(reason)s. This Studio table has one row per video for its whole period and no"
                " date: choose the month it covers."
            )
            % {"reason": detection.reason},
            code="statement_period_required",
        )
    with transaction.atomic():
        statement_import = statement_import_create(
            agency=agency,
            actor=actor,
            file=file,
            format=format,
            is_all_or_nothing=is_all_or_nothing,
            enqueue=enqueue,
        )
        # In the same transaction as the create: its step is enqueued after this commit, so the
        # worker always reads the account.
        statement_import.platform_account = platform_account
        statement_import.statement_period = period
        if detection is not None:
            statement_import.detection = detection.as_json()
        elif unknown is not None:
            statement_import.detection = unknown
        statement_import.save(
            update_fields=["platform_account", "statement_period", "detection", "updated_at"]
        )
    return statement_import
