"""The built-in contract templates, in English and Chinese: data only, installed by a migration.

A template body is plain text: lines starting with "## " are headings, blank lines separate
paragraphs, and `{{ variable }}` inserts a typed term (see rendering.document.TEMPLATE_VARIABLES).
Plain text on purpose: a template an agency writes is shown to creators, and plain text cannot
carry markup or script into their browser.
"""

from __future__ import annotations

from typing import Any


def _rule_set(
    *, brand: str, other: str | None, labels: dict[str, str], tiers: bool, expenses_cap: str
) -> dict[str, Any]:
    brand_creator = brand
    rules: list[dict[str, Any]] = [
        {
            "id": "brand",
            "label": labels["brand"],
            "match": {"sources": ["brand_deal"]},
            "deductions": [{"id": "platform_fee", "label": labels["platform_fee"], "percent": "5"}],
            "expenses": {"label": labels["expenses"], "cap_percent": expenses_cap},
            "split": {"creator": brand_creator, "agency": str(100 - int(brand_creator))},
        }
    ]
    if tiers:
        rules[0]["tiers"] = [{"above": "100000.00", "split": {"creator": "80", "agency": "20"}}]
    if other is not None:
        rules.append(
            {
                "id": "other",
                "label": labels["other"],
                "split": {"creator": other, "agency": str(100 - int(other))},
            }
        )
    return {
        "version": 1,
        "currency": "CNY",
        "timezone": "Asia/Shanghai",
        "parties": ["creator", "agency"],
        "tier_period": "month",
        "rules": rules,
    }


EN_LABELS = {
    "brand": "Brand deals",
    "platform_fee": "Platform service fee",
    "expenses": "Approved production costs",
    "other": "Everything else",
}
ZH_LABELS = {
    "brand": "品牌合作",
    "platform_fee": "平台服务费",
    "expenses": "经批准的制作费用",
    "other": "其他收入",
}

EN_COMMON = """## Money
All income covered by this contract is divided by the split rules in Schedule B, which are part of this contract and are applied by Fenrun exactly as written. Statements are due {{ statement_days }} days after each period closes and payment {{ payment_days }} days after it closes. Late payments carry interest of {{ late_interest_percent }} per year.

## Audit
{{ audit_clause }}

## Term, renewal and termination
This contract runs from {{ start_date }} to {{ end_date }}. {{ renewal_clause }} Either party may terminate with {{ termination_notice_days }} days' written notice. Any termination fee payable by the Creator is capped at {{ termination_fee_cap }}.

## Changes
No change to the split rules, deductions or caps takes effect without the Creator's signature on an amendment."""

ZH_COMMON = """## 收益
本合同涵盖的全部收入按附表B的分润规则分配；该规则是本合同的组成部分，由分润平台严格按文字执行。每个结算周期结束后{{ statement_days }}天内提供对账单，{{ payment_days }}天内付款。逾期付款按每年{{ late_interest_percent }}计付利息。

## 审计
{{ audit_clause }}

## 期限、续约与解除
本合同期限自{{ start_date }}至{{ end_date }}。{{ renewal_clause }}任何一方可提前{{ termination_notice_days }}天书面通知解除本合同。创作者应付的任何解约费用以{{ termination_fee_cap }}为上限。

## 变更
未经创作者在补充协议上签字，分润规则、扣除项及上限的任何变更均不生效。"""

BUILTIN_TEMPLATES: list[dict[str, Any]] = [
    {
        "key": "exclusive-management-en",
        "kind": "exclusive_management",
        "language": "en",
        "name": "Exclusive management",
        "body": """## Appointment
{{ creator_legal_name }} ("the Creator") appoints {{ agency_legal_name }} ("the Agency") as the Creator's exclusive manager for content and commercial work on {{ platforms }}.

## Creative control
{{ creative_control }}. The Agency will not publish content in the Creator's name without the Creator's approval.

"""
        + EN_COMMON,
        "default_terms": {
            "term_months": 24,
            "exclusivity": "exclusive",
            "creative_control": "joint",
            "auto_renewal": False,
            "renewal_notice_days": 60,
            "statement_days": 15,
            "payment_days": 30,
            "late_interest_percent": "6.00",
            "audit_right": True,
            "termination_notice_days": 60,
            "termination_fee_cap": "50000.00",
        },
        "default_rule_set": _rule_set(
            brand="70", other="60", labels=EN_LABELS, tiers=True, expenses_cap="15"
        ),
    },
    {
        "key": "exclusive-management-zh",
        "kind": "exclusive_management",
        "language": "zh-hans",
        "name": "独家经纪合同",
        "body": """## 委托
{{ creator_legal_name }}（“创作者”）委托{{ agency_legal_name }}（“机构”）作为其在{{ platforms }}上内容与商业合作的独家经纪机构。

## 创作控制权
{{ creative_control }}。未经创作者同意，机构不得以创作者名义发布内容。

"""
        + ZH_COMMON,
        "default_terms": {
            "term_months": 24,
            "exclusivity": "exclusive",
            "creative_control": "joint",
            "auto_renewal": False,
            "renewal_notice_days": 60,
            "statement_days": 15,
            "payment_days": 30,
            "late_interest_percent": "6.00",
            "audit_right": True,
            "termination_notice_days": 60,
            "termination_fee_cap": "50000.00",
        },
        "default_rule_set": _rule_set(
            brand="70", other="60", labels=ZH_LABELS, tiers=True, expenses_cap="15"
        ),
    },
    {
        "key": "non-exclusive-en",
        "kind": "non_exclusive",
        "language": "en",
        "name": "Non-exclusive management",
        "body": """## Appointment
{{ creator_legal_name }} ("the Creator") appoints {{ agency_legal_name }} ("the Agency") as a non-exclusive manager on {{ platforms }}. The Creator remains free to work with others and directly with brands.

## Creative control
{{ creative_control }}.

"""
        + EN_COMMON,
        "default_terms": {
            "term_months": 12,
            "exclusivity": "non_exclusive",
            "creative_control": "creator",
            "auto_renewal": True,
            "renewal_notice_days": 30,
            "statement_days": 10,
            "payment_days": 20,
            "late_interest_percent": "6.00",
            "audit_right": True,
            "termination_notice_days": 30,
            "termination_fee_cap": "0.00",
        },
        "default_rule_set": _rule_set(
            brand="80", other="100", labels=EN_LABELS, tiers=False, expenses_cap="10"
        ),
    },
    {
        "key": "non-exclusive-zh",
        "kind": "non_exclusive",
        "language": "zh-hans",
        "name": "非独家经纪合同",
        "body": """## 委托
{{ creator_legal_name }}（“创作者”）委托{{ agency_legal_name }}（“机构”）作为其在{{ platforms }}上的非独家经纪机构。创作者仍可与其他机构合作，或直接与品牌合作。

## 创作控制权
{{ creative_control }}。

"""
        + ZH_COMMON,
        "default_terms": {
            "term_months": 12,
            "exclusivity": "non_exclusive",
            "creative_control": "creator",
            "auto_renewal": True,
            "renewal_notice_days": 30,
            "statement_days": 10,
            "payment_days": 20,
            "late_interest_percent": "6.00",
            "audit_right": True,
            "termination_notice_days": 30,
            "termination_fee_cap": "0.00",
        },
        "default_rule_set": _rule_set(
            brand="80", other="100", labels=ZH_LABELS, tiers=False, expenses_cap="10"
        ),
    },
    {
        "key": "single-campaign-en",
        "kind": "single_campaign",
        "language": "en",
        "name": "Single campaign",
        "body": """## Campaign
{{ agency_legal_name }} ("the Agency") engages {{ creator_legal_name }} ("the Creator") for one brand campaign on {{ platforms }}, running from {{ start_date }} to {{ end_date }}.

## Creative control
{{ creative_control }}.

"""
        + EN_COMMON,
        "default_terms": {
            "term_months": 3,
            "exclusivity": "non_exclusive",
            "creative_control": "creator",
            "auto_renewal": False,
            "renewal_notice_days": 0,
            "statement_days": 10,
            "payment_days": 30,
            "late_interest_percent": "6.00",
            "audit_right": True,
            "termination_notice_days": 7,
            "termination_fee_cap": "0.00",
        },
        "default_rule_set": _rule_set(
            brand="85", other=None, labels=EN_LABELS, tiers=False, expenses_cap="10"
        ),
    },
    {
        "key": "single-campaign-zh",
        "kind": "single_campaign",
        "language": "zh-hans",
        "name": "单次推广合作合同",
        "body": """## 推广合作
{{ agency_legal_name }}（“机构”）聘请{{ creator_legal_name }}（“创作者”）在{{ platforms }}上完成一次品牌推广，合作期自{{ start_date }}至{{ end_date }}。

## 创作控制权
{{ creative_control }}。

"""
        + ZH_COMMON,
        "default_terms": {
            "term_months": 3,
            "exclusivity": "non_exclusive",
            "creative_control": "creator",
            "auto_renewal": False,
            "renewal_notice_days": 0,
            "statement_days": 10,
            "payment_days": 30,
            "late_interest_percent": "6.00",
            "audit_right": True,
            "termination_notice_days": 7,
            "termination_fee_cap": "0.00",
        },
        "default_rule_set": _rule_set(
            brand="85", other=None, labels=ZH_LABELS, tiers=False, expenses_cap="10"
        ),
    },
]
