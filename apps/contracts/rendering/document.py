"""The contract document: terms and split rules rendered to HTML, canonical text and its SHA-256.

What a party signs is the canonical text of the rendered document: the HTML reduced to its
visible text, one block per line, whitespace collapsed, Unicode NFC, UTF-8. The SHA-256 of
that text is stored with the version when it is sent and with every signature, embedded in the
signed PDF, and checked again when someone presents a PDF.

The split rules appear three times in the document: in plain words, as worked examples the
engine computed, and as the exact rule set JSON that the engine will run.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from apps.common.catalog import Platform, platform_name, source_name
from apps.common.exceptions import ApplicationError
from apps.common.money import format_money
from apps.splits.engine import Evaluator, InvalidRules, Line, RuleSet, parse_rule_set
from apps.splits.engine.money import format_percent
from apps.splits.explain import explain_summary, party_name

if TYPE_CHECKING:
    from apps.contracts.models import ContractVersion

TEMPLATE_VARIABLES = (
    "agency_name",
    "agency_legal_name",
    "creator_name",
    "creator_legal_name",
    "start_date",
    "end_date",
    "effective_from",
    "platforms",
    "exclusivity",
    "creative_control",
    "statement_days",
    "payment_days",
    "late_interest_percent",
    "termination_notice_days",
    "termination_fee_cap",
    "renewal_notice_days",
    "audit_clause",
    "renewal_clause",
    "version_number",
)
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
# A fixed mid-month moment for worked examples: each example is the first line of its period.
_EXAMPLE_DAY = datetime.datetime(2026, 1, 15, 12, 0)  # noqa: DTZ001 - made aware in the rule set's zone
EXAMPLE_AMOUNTS_MAJOR = (1_000, 10_000)


@dataclass(frozen=True)
class RenderedDocument:
    html: str
    text: str
    sha256: str


def rule_set_parse(document: Any) -> RuleSet:
    """The engine's parse, with its JSON pointer carried to the caller as a field error."""
    try:
        return parse_rule_set(document)
    except InvalidRules as error:
        raise ApplicationError(
            _("The split rules are not valid at %(path)s: %(message)s")
            % {"path": error.path or "/", "message": error.message},
            code="invalid_rules",
            extra={"field": "rule_set", "path": error.path or "/"},
        ) from None


def template_body_check(body: str) -> None:
    """Refuse a template that names a variable the renderer does not know."""
    unknown = sorted({name for name in _VARIABLE.findall(body) if name not in TEMPLATE_VARIABLES})
    if unknown:
        raise ApplicationError(
            _("Unknown template variables: %(names)s. Known variables: %(known)s.")
            % {"names": ", ".join(unknown), "known": ", ".join(TEMPLATE_VARIABLES)},
            code="invalid_template",
            extra={"field": "body"},
        )


def _date(value: datetime.date) -> str:
    return value.isoformat()


def _platforms(codes: list[str]) -> str:
    labels = dict(Platform.choices)
    return _(", ").join(str(labels.get(code, code)) for code in codes)


def term_rows(version: ContractVersion) -> list[tuple[str, str, str]]:
    """(field, label, value) for every term, in the active language: schedule A, diffs, summaries."""
    from apps.contracts.models import CreativeControl, Exclusivity

    money = lambda minor: format_money(minor, version.currency)  # noqa: E731
    yes_no = lambda flag: _("Yes") if flag else _("No")  # noqa: E731
    return [
        ("start_date", _("Start date"), _date(version.start_date)),
        ("end_date", _("End date"), _date(version.end_date)),
        ("effective_from", _("Effective from"), _date(version.effective_from)),
        ("auto_renewal", _("Renews automatically"), yes_no(version.auto_renewal)),
        ("renewal_notice_days", _("Notice to stop renewal"), _("%(days)s days") % {"days": version.renewal_notice_days}),
        ("platforms", _("Platforms covered"), _platforms(list(version.platforms))),
        ("exclusivity", _("Exclusivity"), str(Exclusivity(version.exclusivity).label)),
        ("creative_control", _("Creative control"), str(CreativeControl(version.creative_control).label)),
        ("statement_days", _("Statement due"), _("%(days)s days after period close") % {"days": version.statement_days}),
        ("payment_days", _("Payment due"), _("%(days)s days after period close") % {"days": version.payment_days}),
        ("late_interest_percent", _("Late payment interest"), _("%(percent)s%% per year") % {"percent": version.late_interest_percent}),
        ("payout_threshold_minor", _("Payout threshold"), money(version.payout_threshold_minor)),
        ("audit_right", _("Creator may audit platform statements"), yes_no(version.audit_right)),
        ("termination_notice_days", _("Termination notice"), _("%(days)s days") % {"days": version.termination_notice_days}),
        ("termination_fee_cap_minor", _("Termination fee cap"), money(version.termination_fee_cap_minor)),
        ("currency", _("Currency"), version.currency),
    ]  # fmt: skip


def template_variables(version: ContractVersion) -> dict[str, str]:
    from apps.contracts.models import CreativeControl, Exclusivity

    contract = version.contract
    fee_cap = format_money(version.termination_fee_cap_minor, version.currency)
    if version.audit_right:
        audit = _(
            "The Creator may ask for the underlying platform statements of any period and receives them within 15 days."
        )
    else:
        audit = _("The Creator has no right to audit the underlying platform statements.")
    if version.auto_renewal:
        renewal = _(
            "It renews for the same term unless either party gives notice %(days)s days before it ends."
        ) % {"days": version.renewal_notice_days}
    else:
        renewal = _("It does not renew automatically.")
    return {
        "agency_name": contract.agency.name,
        "agency_legal_name": contract.agency.legal_name,
        "creator_name": contract.creator.display_name,
        "creator_legal_name": contract.creator.legal_name,
        "start_date": _date(version.start_date),
        "end_date": _date(version.end_date),
        "effective_from": _date(version.effective_from),
        "platforms": _platforms(list(version.platforms)),
        "exclusivity": str(Exclusivity(version.exclusivity).label),
        "creative_control": str(CreativeControl(version.creative_control).label),
        "statement_days": str(version.statement_days),
        "payment_days": str(version.payment_days),
        "late_interest_percent": f"{version.late_interest_percent}%",
        "termination_notice_days": str(version.termination_notice_days),
        "termination_fee_cap": fee_cap,
        "renewal_notice_days": str(version.renewal_notice_days),
        "audit_clause": audit,
        "renewal_clause": renewal,
        "version_number": str(version.number),
    }


def body_html(body: str, variables: dict[str, str]) -> str:
    """Plain-text template → safe HTML: "## " lines are headings, other lines join into paragraphs."""
    text = _VARIABLE.sub(lambda match: variables.get(match.group(1), match.group(0)), body)
    html: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            html.append("<p>" + " ".join(escape(line) for line in paragraph) + "</p>")
            paragraph.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("## "):
            flush()
            html.append(f"<h3>{escape(line[3:])}</h3>")
        elif not line:
            flush()
        else:
            paragraph.append(line)
    flush()
    return "\n".join(html)


def _percent(units: int) -> str:
    return format_percent(units) + "%"


def _split_words(rule_set: RuleSet, weights: tuple[int, ...]) -> str:
    return _(", ").join(
        _("%(party)s %(percent)s") % {"party": party_name(party), "percent": _percent(weight)}
        for party, weight in zip(rule_set.parties, weights, strict=True)
    )


def describe_rule_set(rule_set: RuleSet) -> dict[str, Any]:
    """The rule set in plain sentences, in the active language: one block per rule, then the caps."""
    money = lambda minor: format_money(minor, rule_set.currency)  # noqa: E731
    period_names = {
        "month": _("month"),
        "quarter": _("quarter"),
        "year": _("year"),
        "contract": _("contract term"),
    }
    raw_rules = {raw["id"]: raw for raw in rule_set.document["rules"]}
    rules = []
    for rule in rule_set.rules:
        raw = raw_rules[rule.id]
        sentences = []
        sources = _(" or ").join(source_name(source) for source in sorted(rule.sources or ()))
        platforms = _(", ").join(platform_name(platform) for platform in sorted(rule.platforms or ()))
        if rule.sources and rule.platforms:
            sentences.append(
                _("Applies to %(sources)s on %(platforms)s.") % {"sources": sources, "platforms": platforms}
            )
        elif rule.sources:
            sentences.append(_("Applies to %(sources)s on any platform.") % {"sources": sources})
        elif rule.platforms:
            sentences.append(_("Applies to any income on %(platforms)s.") % {"platforms": platforms})
        else:
            sentences.append(_("Applies to all income not matched by an earlier rule."))
        for item in raw.get("deductions", []):
            sentences.append(
                _("First deducted: %(label)s, %(percent)s of what remains.")
                % {
                    "label": item.get("label", item["id"]),
                    "percent": _percent(dict(rule.deductions)[item["id"]]),
                }
            )
        if rule.expenses_cap is not None:
            sentences.append(
                _(
                    "%(label)s, approved by the creator, may be deducted up to %(percent)s of the gross; costs above that stay with the agency."
                )
                % {"label": rule.expenses_label, "percent": _percent(rule.expenses_cap)}
            )
        else:
            sentences.append(_("No expenses may be deducted from this income."))
        sentences.append(_("The rest is split: %(split)s.") % {"split": _split_words(rule_set, rule.split)})
        for above, weights in rule.tiers:
            sentences.append(
                _(
                    "Once this rule's net income in a %(period)s passes %(threshold)s, the part above it is split: %(split)s."
                )
                % {
                    "period": period_names[rule_set.tier_period],
                    "threshold": money(above),
                    "split": _split_words(rule_set, weights),
                }
            )
        rules.append({"id": rule.id, "label": rule.label, "sentences": sentences})

    general = [
        _(
            "Rules are checked in order and the first one that matches applies. Income that no rule matches is flagged, never split by a default."
        )
    ]
    if rule_set.agency_cap is not None:
        assert rule_set.cap_period is not None  # the parser sets a cap and its period together
        general.append(
            _("The agency earns at most %(cap)s per %(period)s; anything above goes to the creator.")
            % {"cap": money(rule_set.agency_cap), "period": period_names[rule_set.cap_period]}
        )
    if rule_set.recoupment is not None:
        general.append(
            _("While an advance is outstanding, %(percent)s of the creator's share repays it.")
            % {"percent": _percent(rule_set.recoupment)}
        )
    if rule_set.guarantee is not None:
        assert rule_set.guarantee_period is not None  # the parser sets a guarantee and its period together
        general.append(
            _("The creator is guaranteed at least %(amount)s per %(period)s; the agency pays any shortfall.")
            % {"amount": money(rule_set.guarantee), "period": period_names[rule_set.guarantee_period]}
        )
    general.append(
        _(
            "Amounts are rounded only as the published algorithm says: percentages half up, and splits by largest remainder so the parts always add up to the whole."
        )
    )
    return {"rules": rules, "general": general}  # fmt: skip


def _example_source(rule: Any) -> str:
    if rule.sources:
        return sorted(rule.sources)[0]
    return "brand_deal" if rule.expenses_cap is not None else "platform_revenue_share"


def _example_platform(rule: Any, covered: list[str]) -> str:
    if rule.platforms:
        matching = [platform for platform in covered if platform in rule.platforms]
        return matching[0] if matching else sorted(rule.platforms)[0]
    return covered[0] if covered else Platform.DOUYIN


def _evaluate_example(rule_set: RuleSet, example: dict[str, Any]) -> Any:
    line = Line(
        id="example",
        source=example["source"],
        platform=example["platform"],
        gross=example["gross_minor"],
        occurred_at=_EXAMPLE_DAY.replace(tzinfo=rule_set.zone),
        currency=rule_set.currency,
        expenses=example["expenses_minor"],
    )
    return Evaluator(rule_set).evaluate(line)


def worked_examples(rule_set: RuleSet, platforms: list[str]) -> list[dict[str, Any]]:
    """Engine-computed examples per rule: typical amounts and one above each tier threshold.

    Each example is evaluated alone, as the first line of its period, so readers can redo it.
    Amounts are integer minor units.
    """
    unit = 10**rule_set.exponent
    examples: list[dict[str, Any]] = []
    for rule in rule_set.rules:
        amounts = [major * unit for major in EXAMPLE_AMOUNTS_MAJOR]
        amounts += [threshold * 2 for threshold, _weights in rule.tiers]
        for gross in sorted(set(amounts))[:5]:
            example = {
                "rule": rule.id,
                "source": _example_source(rule),
                "platform": _example_platform(rule, platforms),
                "gross_minor": gross,
                # Approved costs of 10 % of the deal, to show the cap at work where costs are allowed.
                "expenses_minor": gross // 10 if rule.expenses_cap is not None else 0,
            }
            result = _evaluate_example(rule_set, example)
            if result.error is not None or result.rule.id != rule.id:
                continue  # an earlier rule catches this income: the example would mislead
            example.update(
                deductions_minor=result.gross - result.net,
                net_minor=result.net,
                creator_minor=result.payable[rule_set.creator_index],
                agency_minor=result.payable[rule_set.agency_index],
            )
            examples.append(example)
    return examples


def example_rows(
    rule_set: RuleSet, examples: list[dict[str, Any]], *, viewer: str | None = None
) -> list[dict[str, Any]]:
    """Examples with display strings and the engine's one-line explanation, in the active language."""
    money = lambda minor: format_money(minor, rule_set.currency)  # noqa: E731
    rows = []
    for example in examples:
        result = _evaluate_example(rule_set, example)
        summary = explain_summary(
            result, rule_set, source=example["source"], platform=example["platform"], viewer=viewer
        )
        headline = _(
            "A %(gross)s %(source)s on %(platform)s with %(expenses)s approved costs pays the creator %(creator)s and the agency %(agency)s."
        ) % {
            "gross": money(example["gross_minor"]),
            "source": source_name(example["source"]),
            "platform": platform_name(example["platform"]),
            "expenses": money(example["expenses_minor"]),
            "creator": money(example["creator_minor"]),
            "agency": money(example["agency_minor"]),
        }
        rows.append(
            {
                **example,
                "source_label": source_name(example["source"]),
                "platform_label": platform_name(example["platform"]),
                "gross": money(example["gross_minor"]),
                "expenses": money(example["expenses_minor"]),
                "deductions": money(example["deductions_minor"]),
                "creator": money(example["creator_minor"]),
                "agency": money(example["agency_minor"]),
                "headline": headline,
                "summary": summary,
            }
        )
    return rows  # fmt: skip


def canonical_rule_set_json(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2)


class _TextExtractor(HTMLParser):
    """Visible text of the document, one block per line; cells of a row separated by " | "."""

    BLOCKS = frozenset(
        {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "div", "article", "section", "table", "ul", "ol", "br", "header", "footer", "dt", "dd"}
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.in_pre = False
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self.skip += 1
        elif tag == "pre":
            self.in_pre = True
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self.skip -= 1
        elif tag == "pre":
            self.in_pre = False
            self.parts.append("\n")
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self.parts.append(data if self.in_pre else re.sub(r"\s+", " ", data))


def canonical_text(html: str) -> str:
    """The text a signature covers: NFC, one non-empty line per block, spaces collapsed."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = []
    for line in "".join(parser.parts).split("\n"):
        cleaned = re.sub(r"[ \t\u00a0]+", " ", line).strip().strip("|").strip()
        if cleaned:
            lines.append(unicodedata.normalize("NFC", cleaned))
    return "\n".join(lines) + "\n"


def document_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def render_document(version: ContractVersion) -> RenderedDocument:
    """Render a version (saved or not) in its own language and hash its canonical text."""
    rule_set = rule_set_parse(version.rule_set)
    with translation.override(version.language):
        context = {
            "version": version,
            "contract": version.contract,
            "body": body_html(version.contract.template.body, template_variables(version)),
            "terms": term_rows(version),
            "rules": describe_rule_set(rule_set),
            "examples": example_rows(rule_set, list(version.worked_examples)),
            "rule_set_json": canonical_rule_set_json(version.rule_set),
            "language": version.language,
        }
        html = render_to_string("contracts/document.html", context)
    text = canonical_text(html)
    return RenderedDocument(html=html, text=text, sha256=document_sha256(text))
