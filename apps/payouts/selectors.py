"""Reads of payouts, always through the caller's scope (apps.common.tenancy).

An active member of an agency sees the agency's batches and items; a creator sees their own
items at any agency and nothing else (not the batch's other creators, not another creator's
items at an agency that represents both). Everyone else: 404, never 403.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet

from apps.common.tenancy import agency_filter, get_scoped_or_404, scope_for
from apps.payouts.models import PayoutBatch, PayoutItem, TaxProfile


def payout_batch_list_for_actor(*, actor: Any, agency: Any | None = None) -> QuerySet[PayoutBatch]:
    """Batches of the agencies the actor is an active member of, newest first."""
    if scope_for(actor).user_id is None:
        return PayoutBatch.objects.none()
    batches = PayoutBatch.objects.filter(agency_filter(actor, agency_field="agency"))
    if agency is not None:
        batches = batches.filter(agency=agency)
    return batches.select_related("agency", "prepared_by", "approved_by").order_by("-prepared_at", "-pk")


def payout_batch_get_for_actor(*, actor: Any, public_id: UUID | str) -> PayoutBatch:
    return get_scoped_or_404(payout_batch_list_for_actor(actor=actor), public_id=public_id)


def _item_condition(actor: Any) -> Q:
    condition = agency_filter(actor, agency_field="agency")
    creator_id = scope_for(actor).creator_id
    if creator_id is not None:
        condition |= Q(creator_id=creator_id)
    return condition


def payout_item_list_for_actor(*, actor: Any, creator: Any | None = None) -> QuerySet[PayoutItem]:
    """Items the actor may see: their agencies' items, and a creator's own items; newest first."""
    if scope_for(actor).user_id is None:
        return PayoutItem.objects.none()
    items = PayoutItem.objects.filter(_item_condition(actor))
    if creator is not None:
        items = items.filter(creator=creator)
    return items.select_related("batch", "agency", "creator").order_by("-pk")


def payout_item_get_for_actor(*, actor: Any, public_id: UUID | str) -> PayoutItem:
    return get_scoped_or_404(payout_item_list_for_actor(actor=actor), public_id=public_id)


def payout_items_of_batch(*, actor: Any, batch: PayoutBatch) -> QuerySet[PayoutItem]:
    """The items of a batch the actor may see (a batch is its agency's: members only)."""
    if batch.agency_id not in scope_for(actor).agency_ids:
        return PayoutItem.objects.none()
    return PayoutItem.objects.filter(batch=batch).select_related("creator").order_by("pk")


def payout_items_of_creator(*, actor: Any, creator: Any) -> QuerySet[PayoutItem]:
    """A creator's payout items: all of theirs to the creator, their agencies' ones to members."""
    return payout_item_list_for_actor(actor=actor, creator=creator)


def tax_profile_list_for_actor(*, actor: Any) -> QuerySet[TaxProfile]:
    """Tax profiles of the actor's agencies, and the creator's own at every agency."""
    if scope_for(actor).user_id is None:
        return TaxProfile.objects.none()
    condition = agency_filter(actor, agency_field="agency")
    creator_id = scope_for(actor).creator_id
    if creator_id is not None:
        condition |= Q(creator_id=creator_id)
    return TaxProfile.objects.filter(condition).select_related("agency", "creator")


# --- read by the statements app (apps/statements): the statement was reached through its own
# scoped selector, so these take the agency and creators it names, not an actor.

WITHHELD_STATUSES = (PayoutItem.Status.APPROVED, PayoutItem.Status.PAID, PayoutItem.Status.FAILED)


def payout_items_withheld_in_month(
    *, agency_id: int, period: str, creator_ids: list[int], currency: str | None = None
) -> QuerySet[PayoutItem]:
    """The items whose tax was withheld in `period`, with their recorded computation: approved,
    paid or failed (a failed one's tax was returned afterwards). An item's tax and approval
    entries are posted on its approval day, which is always in its batch's payment month
    (payout_batch_approve refuses any other), so the payment month is the month they count in."""
    items = PayoutItem.objects.filter(
        agency_id=agency_id, period=period, creator_id__in=creator_ids, status__in=WITHHELD_STATUSES
    )
    if currency is not None:
        items = items.filter(currency=currency)
    return items.select_related("batch").order_by("creator_id", "approved_at", "pk")


def tax_profiles_of_creators(*, agency_id: int, creator_ids: list[int]) -> dict[int, TaxProfile]:
    """The agency's tax profile of each of these creators that has one: one query."""
    profiles = TaxProfile.objects.filter(agency_id=agency_id, creator_id__in=creator_ids)
    return {profile.creator_id: profile for profile in profiles}
