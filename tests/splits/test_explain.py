"""The trace rendered as sentences, in English and Simplified Chinese."""

from __future__ import annotations

import copy

from django.utils import translation

from apps.splits.engine import run
from apps.splits.explain import explain_steps, explain_summary

SPEC_EXAMPLE = {
    "version": 1,
    "currency": "CNY",
    "timezone": "Asia/Shanghai",
    "parties": ["creator", "agency"],
    "rules": [
        {
            "id": "brand",
            "label": "Brand deals",
            "match": {"sources": ["brand_deal"], "platforms": ["douyin", "bilibili"]},
            "deductions": [{"id": "platform_fee", "label": "platform service fee", "percent": "5"}],
            "split": {"creator": "70", "agency": "30"},
            "tiers": [{"above": "100000.00", "split": {"creator": "80", "agency": "20"}}],
        }
    ],
    "agency_cap": {"amount": "50000.00", "period": "month"},
    "recoupment": {"percent": "50"},
}
LINE = {
    "id": "L1",
    "source": "brand_deal",
    "platform": "douyin",
    "gross": "10000.00",
    "occurred_at": "2026-11-03T10:00:00+08:00",
}


def explained(rules, lines, line_id="L1", **options):
    simulation = run({"rules": rules, "lines": lines, **options})
    result = simulation.results[line_id]
    line = next(line for line in lines if line["id"] == line_id)
    context = {"source": line["source"], "platform": line["platform"], "viewer": "creator"}
    return (
        explain_summary(result, simulation.rule_set, **context),
        explain_steps(result, simulation.rule_set, **context),
    )


def test_the_spec_example_reads_as_one_sentence():
    with translation.override("en"):
        summary, _steps = explained(SPEC_EXAMPLE, [LINE])
    assert summary == (
        "Brand deal ¥10,000.00 on Douyin → platform service fee 5% = ¥500.00 → ¥9,500.00 split 70/30"
        " → you ¥6,650.00, agency ¥2,850.00."
    )


def test_every_step_has_a_sentence():
    with translation.override("en"):
        _summary, steps = explained(SPEC_EXAMPLE, [LINE])
    assert steps == [
        "Rule “Brand deals” applies: it covers Brand deal on Douyin.",
        "platform service fee: 5% of ¥10,000.00 = ¥500.00.",
        "In 2026-11 this rule had ¥0.00 before this line; the tiers apply to the next ¥9,500.00.",
        "¥9,500.00 split 70/30: you ¥6,650.00, agency ¥2,850.00.",
        "Agency cap ¥50,000.00 for 2026-11 (¥0.00 already earned): within the cap.",
        "Result: you ¥6,650.00, agency ¥2,850.00.",
    ]


def test_tiers_cap_and_recoupment_are_explained():
    lines = [LINE, {**LINE, "id": "L2", "gross": "300000.00"}]
    with translation.override("en"):
        summary, steps = explained(SPEC_EXAMPLE, lines, "L2", initial={"advance_outstanding": "5000.00"})
    assert "¥90,500.00 split 70/30 + ¥194,500.00 split 80/20" in summary
    assert "¥194,500.00 above ¥100,000.00 split 80/20: you ¥155,600.00, agency ¥38,900.00." in steps
    assert any(
        step.startswith("Agency cap ¥50,000.00 for 2026-11") and "moves to the creator" in step
        for step in steps
    )
    assert (
        "Advance recoupment: 50% of the creator's share, at most the ¥1,675.00 outstanding = ¥1,675.00."
        in steps
    )


def test_simplified_chinese():
    with translation.override("zh-hans"):
        summary, steps = explained(SPEC_EXAMPLE, [LINE])
    assert summary == (
        "抖音品牌合作 ¥10,000.00 → platform service fee 5% = ¥500.00 → ¥9,500.00 按 70/30 分配 → 你 ¥6,650.00，机构 ¥2,850.00。"
    )
    assert steps[0] == "适用规则“Brand deals”：它覆盖抖音上的品牌合作。"
    assert steps[-1] == "结果：你 ¥6,650.00，机构 ¥2,850.00。"


def test_line_errors_name_the_field_in_both_languages():
    rules = copy.deepcopy(SPEC_EXAMPLE)
    lines = [{**LINE, "gross": "10.001"}]
    with translation.override("en"):
        assert explained(rules, lines)[0] == "gross: more decimals than the currency has."
    with translation.override("zh-hans"):
        assert explained(rules, lines)[0] == "gross：小数位数超过该币种允许的位数。"
