"""A batch's way out to the rail and its result back in: the two services between the core
(apps/payouts/services.py) and the rails (apps/payouts/rails/).

* `payout_batch_export` (owner or finance): marks the batch exported (the core service, which
  refuses a batch not approved) and writes the rail's file of the items still in flight whose
  creator is paid by that rail's method. The only place payout details leave unmasked. An item
  whose creator changed their details after the batch was prepared, or in the last 24 hours,
  is left out of the file and reported as held: the money stays in flight until the hold ends
  and an export after it carries the item (or finance marks it failed, which returns it). So is
  an item the rail's format cannot carry (`Rail.refusal`: WeChat Pay from 2,000.00 without the
  payee's real name), with the rail's sentence.
* `payout_results_import` (owner or finance): applies a result file row by row through the
  core's `payout_item_mark_paid` / `payout_item_mark_failed`, each its own transaction. A row
  naming an unknown item, an item already settled or a different amount is a row error and
  changes nothing; the other rows stand.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.common.money import format_money
from apps.common.tenancy import require_agency_role
from apps.payouts.details import HOLD, payout_details_of_creators
from apps.payouts.models import PayoutBatch, PayoutDetails, PayoutItem
from apps.payouts.rails import ExportFile, ExportLine, ResultFileError, rail_get
from apps.payouts.services import (
    PAYOUT_ROLES,
    payout_batch_mark_exported,
    payout_item_mark_failed,
    payout_item_mark_paid,
)

ItemStatus = PayoutItem.Status


@dataclass(frozen=True, slots=True)
class LeftOut:
    item_reference: str
    creator_name: str
    why: str


@dataclass(frozen=True, slots=True)
class Export:
    file: ExportFile
    exported: int
    left_out: list[LeftOut] = field(default_factory=list)


def _is_held(details: PayoutDetails, batch: PayoutBatch, now: Any) -> bool:
    return details.changed_at > batch.prepared_at or details.changed_at > now - HOLD


def payout_batch_export(*, batch: PayoutBatch, actor: Any, rail_name: str) -> Export:
    """The rail's file of a batch's items in flight, and the batch marked exported (once).

    Invariant: a payout leaves only to the details that were on file, unchanged, when the batch
    was prepared and for the 24 hours before; nothing moves in the ledger (the file is not money)."""
    rail = rail_get(rail_name)
    require_agency_role(actor, batch.agency, PAYOUT_ROLES)
    with transaction.atomic():
        batch = payout_batch_mark_exported(batch=batch, actor=actor)
        items = list(
            PayoutItem.objects.filter(batch=batch, status=ItemStatus.APPROVED)
            .select_related("creator")
            .order_by("pk")
        )
        details_by_creator = payout_details_of_creators(creator_ids=[item.creator_id for item in items])
        now = timezone.now()
        lines: list[ExportLine] = []
        left_out: list[LeftOut] = []
        memo = f"{batch.agency.name} {batch.period}"
        for item in items:
            details = details_by_creator.get(item.creator_id)
            why = ""
            if details is None:
                why = _("No payout details.")
            elif details.method != rail.method:
                why = _("Paid by %(method)s: export it with that rail.") % {
                    "method": details.get_method_display()
                }
            elif _is_held(details, batch, now):
                why = _("Payout details changed on %(when)s: held for 24 hours from then.") % {
                    "when": timezone.localtime(details.changed_at).strftime("%Y-%m-%d %H:%M")
                }
            if why or details is None:
                left_out.append(LeftOut(str(item.public_id), item.creator.display_name, why))
                continue
            line = ExportLine(
                item_reference=str(item.public_id),
                real_name=details.real_name,
                account=details.account,
                bank_name=details.bank_name,
                bank_branch=details.bank_branch,
                amount_minor=item.net_minor,
                memo=memo,
                wechat_appid=details.wechat_appid,
            )
            refused = rail.refusal(line)
            if refused:
                left_out.append(LeftOut(str(item.public_id), item.creator.display_name, refused))
                continue
            lines.append(line)
        if not lines:
            # Rolls the export mark back too: nothing went to the rail.
            raise ApplicationError(
                _("No payout of this batch can go out on this rail now (%(count)s in flight).")
                % {"count": len(items)},
                code="nothing_to_export",
            ).with_status(409)
        return Export(file=rail.export(batch, lines), exported=len(lines), left_out=left_out)


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowOutcome:
    row: int
    item_reference: str
    outcome: str  # paid | failed | error
    message: str


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def payout_results_import(*, batch: PayoutBatch, actor: Any, rail_name: str, file: Any) -> list[RowOutcome]:
    """Mark the batch's items paid or failed from a rail's result file, row by row.

    Invariant: a row moves money only through the core services (one transaction each, which
    refuse a second payment); a row that is wrong changes nothing and stops no other row."""
    rail = rail_get(rail_name)
    require_agency_role(actor, batch.agency, PAYOUT_ROLES)
    try:
        rows = rail.parse_result(file)
    except ResultFileError as error:
        raise ApplicationError(str(error), code="invalid_result_file", extra={"field": "file"}) from None
    if not rows:
        raise ApplicationError(_("The result file has no rows."), code="invalid_result_file")
    references = {parsed for row in rows if (parsed := _as_uuid(row.item_reference)) is not None}
    items = {
        str(item.public_id): item
        for item in PayoutItem.objects.filter(batch=batch, public_id__in=references).select_related("batch")
    }
    outcomes: list[RowOutcome] = []
    for row in rows:
        key = str(_as_uuid(row.item_reference) or row.item_reference)
        item = items.get(key)
        message = row.error
        if not message and item is None:
            message = _("No payout %(reference)s in this batch.") % {"reference": row.item_reference[:40]}
        elif not message and item is not None and row.amount_minor != item.net_minor:
            message = _("The file says %(file)s, the payout is %(payout)s: nothing changed.") % {
                "file": format_money(row.amount_minor or 0, item.currency),
                "payout": format_money(item.net_minor, item.currency),
            }
        if message or item is None:
            outcomes.append(RowOutcome(row.row, row.item_reference, "error", message))
            continue
        try:
            if row.status == "paid":
                item = payout_item_mark_paid(item=item, actor=actor, reference=row.reference)
                done = _("Paid, reference %(reference)s.") % {"reference": item.reference}
            else:
                item = payout_item_mark_failed(item=item, actor=actor, reason=row.reason)
                done = _("Failed: the money is back in the creator's balance.")
        except ApplicationError as error:
            outcomes.append(RowOutcome(row.row, row.item_reference, "error", error.message))
            continue
        items[key] = item
        outcomes.append(RowOutcome(row.row, row.item_reference, row.status, done))
    return outcomes
