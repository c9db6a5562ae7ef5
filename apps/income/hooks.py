"""What apps above income plug into it. Income imports none of them (import-linter says so):
an app that wants a say registers a callable from its AppConfig.ready().

The brand-deal reconciler: apps.deals registers deal_reconcile_lines, which matches brand-deal
payment lines to the agency's deals (marks them matched or exception). Without deals installed
nobody registers one, and income matches a payment naming an order and queues one without.

The recognition enqueuer: apps.recognition registers a callable that enqueues the recognition of
one agency's matched lines (its task income.recognize_pending_agency). Income calls it after a
change made lines matched again (a new exchange rate); without one, the beat finds them.

The share reader (apps.recognition) and the deal readers (apps.deals): the line list's "my share"
column and totals, and its brand-deal filter (issue 14).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (agency=Agency, line_ids=list[int]) -> None
Reconciler = Callable[..., Any]
_reconcilers: dict[str, Reconciler] = {}


def register_reconciler(reconciler: Reconciler) -> None:
    """Make `reconciler` the one that matches brand-deal lines; registering again replaces it
    (ready() may run more than once in tests)."""
    _reconcilers["brand_deal"] = reconciler


def brand_deal_reconciler() -> Reconciler | None:
    return _reconcilers.get("brand_deal")


# (agency_id=int) -> None
RecognitionEnqueuer = Callable[..., Any]
_enqueuers: dict[str, RecognitionEnqueuer] = {}


def register_recognition_enqueuer(enqueuer: RecognitionEnqueuer) -> None:
    """Make `enqueuer` the one that schedules an agency's recognition (replaces an earlier one)."""
    _enqueuers["recognition"] = enqueuer


def recognition_enqueuer() -> RecognitionEnqueuer | None:
    return _enqueuers.get("recognition")


# The creator's share of lines, for the line list (issue 14): apps.recognition registers
# line_shares(page=[lines], lines=QuerySet | None) -> LineShares (apps/recognition/shares.py):
# each recognised line's share, and the totals of a filtered set. Without it the list shows gross.
ShareReader = Callable[..., Any]
_share_readers: dict[str, ShareReader] = {}


def register_share_reader(reader: ShareReader) -> None:
    _share_readers["shares"] = reader


def share_reader() -> ShareReader | None:
    return _share_readers.get("shares")


# Brand deals for the line list's filter: apps.deals registers
#   choices(actor=...) -> [(public id, name)] of the deals the actor sees, and
#   lines(actor=..., public_id=...) -> a Q over IncomeLine of that deal's lines (NotFound when
#   the actor cannot see the deal).
# Without deals installed the list has no deal filter.
_deal_readers: dict[str, Callable[..., Any]] = {}


def register_deal_readers(*, choices: Callable[..., Any], lines: Callable[..., Any]) -> None:
    _deal_readers["choices"] = choices
    _deal_readers["lines"] = lines


def deal_readers() -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    if "choices" not in _deal_readers:
        return None
    return _deal_readers["choices"], _deal_readers["lines"]
