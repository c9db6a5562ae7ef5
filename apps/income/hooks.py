"""What apps above income plug into it. Income imports none of them (import-linter says so):
an app that wants a say registers a callable from its AppConfig.ready().

The brand-deal reconciler: apps.deals registers deal_reconcile_lines, which matches brand-deal
payment lines to the agency's deals (marks them matched or exception). Without deals installed
nobody registers one, and income matches a payment naming an order and queues one without.
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
