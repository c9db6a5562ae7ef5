"""The batch's fast leaf bytes are exactly the canonical bytes of the allocation document that
verification, the proof page and a creator's own script rebuild (docs/merkle.md)."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.recognition.leaves import LeafWriter, allocation_document, allocation_leaf
from apps.splits.engine import parse_rule_set

RULES = {
    "version": 1,
    "currency": "CNY",
    "parties": ["creator", "agency", "broker"],
    "rules": [
        {
            "id": "gifts",
            "match": {"sources": ["live_gifts"]},
            "deductions": [{"id": "platform_fee", "percent": "5"}, {"id": "a_reserve", "percent": "1"}],
            "split": {"creator": "60", "agency": "30", "broker": "10"},
        }
    ],
}
text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@pytest.mark.parametrize("converted", [False, True])
@given(
    external_id=text,
    source=text,
    platform=text,
    fx_source=text,
    amounts=st.lists(st.integers(-(10**15), 10**15), min_size=6, max_size=6),
)
@settings(max_examples=60, deadline=None)
def test_the_fast_leaf_is_the_canonical_leaf(
    converted, external_id, source, platform, fx_source, amounts
) -> None:
    rule_set = parse_rule_set(RULES)
    values = dict(
        line_public_id=uuid.uuid4(),
        platform=platform,
        external_id=external_id,
        source=source,
        occurred_at=datetime.datetime(
            2026, 11, 3, 10, 0, 0, 123, tzinfo=datetime.timezone(datetime.timedelta(hours=8))
        ),
        refund_of_public_id=uuid.uuid4() if converted else None,
        ordinal=7,
        rule_index=0,
        gross=sum(amounts),
        expenses_claimed=12,
        advance_before=34,
        amounts=tuple(amounts),
        original_gross=4_000 if converted else None,
        original_currency="USD" if converted else "",
        fx_rate=Decimal("7.123400000000") if converted else None,
        fx_date=datetime.date(2026, 11, 1) if converted else None,
        fx_source=fx_source if converted else "",
        effective_date=datetime.date(2026, 11, 3),
    )
    writer = LeafWriter(
        rule_set=rule_set, rule_set_sha256="ab" * 32, contract_version_id=42, engine_version=1
    )

    fast = writer.leaf(**values)
    canonical = allocation_leaf(
        allocation_document(
            rule_set=rule_set, rule_set_sha256="ab" * 32, contract_version_id=42, engine_version=1, **values
        )
    )

    assert fast == canonical
