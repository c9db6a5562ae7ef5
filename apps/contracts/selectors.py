"""Reads of contracts: scoped lists, the version in force at a moment, fairness summaries, diffs,
and the check of a presented PDF.

Visibility: an agency's members see their agency's contracts (all roles read); a creator sees
their own contracts, never drafts. A contract between the creator and another agency stays
invisible to this agency even when it also represents the creator: its rows are not tenancy's
"creator's rows", they belong to the other agency.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.backends.postgresql.psycopg_any import DateRange
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.agencies.models import Agency
from apps.common.exceptions import ApplicationError
from apps.common.money import format_money
from apps.common.tenancy import get_scoped_or_404, scope_for
from apps.contracts.models import (
    Contract,
    ContractCoverage,
    ContractSignature,
    ContractTemplate,
    ContractVersion,
    CreativeControl,
)
from apps.contracts.rendering.document import describe_rule_set, example_rows, rule_set_parse, term_rows
from apps.creators.models import Creator

Status = ContractVersion.Status


def _visibility(actor: Any, *, prefix: str = "") -> Q:
    scope = scope_for(actor)
    if scope.user_id is None:
        return Q(pk__in=[])
    condition = Q(**{f"{prefix}agency_id__in": scope.agency_ids})
    if scope.creator_id is not None:
        condition |= Q(**{f"{prefix}creator_id": scope.creator_id})
    return condition


def contract_list_for_actor(*, actor: Any) -> QuerySet[Contract]:
    """The actor's agencies' contracts, and their own as a creator once a version was sent."""
    scope = scope_for(actor)
    if scope.user_id is None:
        return Contract.objects.none()
    sent = Exists(ContractVersion.objects.filter(contract=OuterRef("pk")).exclude(status=Status.DRAFT))
    condition = Q(agency_id__in=scope.agency_ids)
    if scope.creator_id is not None:
        condition |= Q(creator_id=scope.creator_id) & Q(sent)
    versions = ContractVersion.objects.order_by("number")
    return (
        Contract.objects.filter(condition)
        .select_related("agency", "creator", "template")
        .prefetch_related(Prefetch("versions", queryset=versions))
        .order_by("-created_at")
    )


def contract_get_for_actor(*, actor: Any, public_id: UUID | str) -> Contract:
    return get_scoped_or_404(contract_list_for_actor(actor=actor), public_id=public_id)


def _hide_drafts_from_creator(actor: Any) -> Q:
    """A creator who is not a member of the contract's agency does not see its drafts."""
    scope = scope_for(actor)
    return Q(contract__agency_id__in=scope.agency_ids) | ~Q(status=Status.DRAFT)


def contract_version_list_for_actor(
    *, actor: Any, contract: Contract | None = None
) -> QuerySet[ContractVersion]:
    queryset = (
        ContractVersion.objects.filter(_visibility(actor, prefix="contract__"))
        .filter(_hide_drafts_from_creator(actor))
        .select_related("contract__agency", "contract__creator", "contract__template")
        .prefetch_related(Prefetch("signatures", queryset=ContractSignature.objects.order_by("signed_at")))
    )
    if contract is not None:
        queryset = queryset.filter(contract=contract)
    return queryset.order_by("contract_id", "number")


def contract_version_get_for_actor(*, actor: Any, public_id: UUID | str) -> ContractVersion:
    return get_scoped_or_404(contract_version_list_for_actor(actor=actor), public_id=public_id)


def contract_template_list_for_actor(*, actor: Any) -> QuerySet[ContractTemplate]:
    """The built-in templates and the actor's agencies' own, for agency members only."""
    scope = scope_for(actor)
    if not scope.agency_ids:
        return ContractTemplate.objects.none()
    return ContractTemplate.objects.filter(
        Q(agency__isnull=True) | Q(agency_id__in=scope.agency_ids), is_active=True
    ).order_by("agency_id", "kind", "language")


def contract_template_get_for_actor(*, actor: Any, public_id: UUID | str) -> ContractTemplate:
    return get_scoped_or_404(contract_template_list_for_actor(actor=actor), public_id=public_id)


# --- the version in force: what the income pipeline asks ---------------------------------------------


def contract_version_in_force(
    *, creator: Creator, agency: Agency | None = None, platform: str, at: datetime.datetime | datetime.date
) -> ContractVersion | None:
    """The signed version whose split rules govern `creator`'s income on `platform` at `at`.

    Only versions both parties signed have coverage, so an amendment governs from its effective
    date and never before its signatures. A moment is read as a calendar day in the rule set's
    time zone. Without `agency`, a creator with two agencies on the platform that day is an error
    (the caller must say which agency the income came through). None when no contract covers it.
    """
    if isinstance(at, datetime.datetime):
        if timezone.is_naive(at):
            raise ValueError("`at` must be an aware datetime")
        around = at.astimezone(datetime.UTC).date()
    else:
        around = at
    candidates = ContractCoverage.objects.filter(
        creator=creator,
        platform=platform,
        # One day either side of the UTC date holds every time zone's calendar day of `at`.
        during__overlap=DateRange(around - datetime.timedelta(days=1), around + datetime.timedelta(days=2)),
    ).select_related("version__contract")
    if agency is not None:
        candidates = candidates.filter(agency=agency)
    found: list[ContractVersion] = []
    for coverage in candidates:
        version = coverage.version
        if isinstance(at, datetime.datetime):
            zone = ZoneInfo(version.rule_set.get("timezone", "Asia/Shanghai"))
            day = at.astimezone(zone).date()
        else:
            day = at
        if coverage.during.lower <= day < coverage.during.upper:
            found.append(version)
    if len(found) > 1:
        raise ApplicationError(
            "More than one agency's contract covers this creator on this platform then; name the agency.",
            code="ambiguous_contract",
        )
    return found[0] if found else None


# --- fairness summary -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FairnessItem:
    key: str
    label: str
    text: str
    is_concern: bool


def _fairness_items(version: ContractVersion) -> list[FairnessItem]:
    rule_set = rule_set_parse(version.rule_set)
    money = lambda minor: format_money(minor, version.currency)  # noqa: E731
    control = {
        CreativeControl.CREATOR: _("You have the final say over your content."),
        CreativeControl.AGENCY: _("The agency has the final say over your content."),
        CreativeControl.JOINT: _("Content needs both your and the agency's agreement."),
    }[CreativeControl(version.creative_control)]
    caps = [rule.expenses_cap for rule in rule_set.rules if rule.expenses_cap is not None]
    if caps:
        from apps.splits.engine.money import format_percent

        expense_text = _(
            "Expenses can be deducted only with your approval, at most %(percent)s%% of the income they relate to."
        ) % {"percent": format_percent(max(caps))}
    else:
        expense_text = _("No expenses may be deducted from your income.")
    items = [
        FairnessItem(
            "creative_control",
            _("Creative control"),
            control,
            version.creative_control == CreativeControl.AGENCY,
        ),
        FairnessItem(
            "audit_right",
            _("Audit right"),
            _("You may ask for the underlying platform statements.")
            if version.audit_right
            else _("You may NOT see the underlying platform statements."),
            not version.audit_right,
        ),
        FairnessItem(
            "payment_days",
            _("Payment"),
            _(
                "Statement %(statement)s days and payment %(payment)s days after each period closes; late payment earns you %(interest)s%% a year."
            )
            % {
                "statement": version.statement_days,
                "payment": version.payment_days,
                "interest": version.late_interest_percent,
            },
            version.payment_days > 60,
        ),
        FairnessItem(
            "termination_fee_cap",
            _("Leaving"),
            _(
                "You can end the contract with %(days)s days' notice; any fee you pay for leaving is capped at %(cap)s."
            )
            % {"days": version.termination_notice_days, "cap": money(version.termination_fee_cap_minor)},
            False,
        ),
        FairnessItem("expense_cap", _("Expenses"), expense_text, False),
    ]
    for example in example_rows(rule_set, list(version.worked_examples), viewer="creator"):
        gross = example["gross_minor"]
        share = example["creator_minor"] * 100 // gross if gross else 0
        items.append(
            FairnessItem(
                f"split_{example['rule']}_{gross}",
                _("Your share"),
                _(
                    "%(income)s of %(gross)s on %(platform)s: you get %(creator)s (about %(share)s%%), the agency %(agency)s."
                )
                % {
                    "income": example["source_label"],
                    "gross": example["gross"],
                    "platform": example["platform_label"],
                    "creator": example["creator"],
                    "share": share,
                    "agency": example["agency"],
                },
                share < 50,
            )
        )
    return items  # fmt: skip


def contract_fairness_summary(*, version: ContractVersion) -> dict[str, list[FairnessItem]]:
    """What a creator should know before signing, in English and in Chinese side by side."""
    summary = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            summary[language] = _fairness_items(version)
    return summary


# --- diff between two versions ----------------------------------------------------------------------------


@dataclass
class VersionDiff:
    older: ContractVersion
    newer: ContractVersion
    terms: list[tuple[str, str, str]] = field(default_factory=list)  # label, before, after
    rules: list[dict[str, Any]] = field(default_factory=list)  # rule label, status, before, after sentences
    general: tuple[list[str], list[str]] | None = None
    rule_set_changes: list[tuple[str, str, str]] = field(default_factory=list)  # pointer, before, after

    @property
    def is_empty(self) -> bool:
        return not (self.terms or self.rules or self.general or self.rule_set_changes)


def _flatten(value: Any, pointer: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{pointer}/{key}"))
        return flat or {pointer: {}}
    if isinstance(value, list):
        flat = {}
        for index, item in enumerate(value):
            flat.update(_flatten(item, f"{pointer}/{index}"))
        return flat or {pointer: []}
    return {pointer: value}


def contract_version_diff(*, older: ContractVersion, newer: ContractVersion) -> VersionDiff:
    """What changed between two versions, in the active language: terms, rules in words, raw JSON."""
    if older.contract_id != newer.contract_id:
        raise ApplicationError(_("Compare two versions of the same contract."), code="different_contracts")
    if older.number > newer.number:
        older, newer = newer, older
    diff = VersionDiff(older=older, newer=newer)
    before_terms = {key: (label, value) for key, label, value in term_rows(older)}
    for key, label, value in term_rows(newer):
        if before_terms[key][1] != value:
            diff.terms.append((label, before_terms[key][1], value))

    old_words = describe_rule_set(rule_set_parse(older.rule_set))
    new_words = describe_rule_set(rule_set_parse(newer.rule_set))
    old_rules = {rule["id"]: rule for rule in old_words["rules"]}
    new_rules = {rule["id"]: rule for rule in new_words["rules"]}
    for rule_id in [*new_rules, *(key for key in old_rules if key not in new_rules)]:
        before, after = old_rules.get(rule_id), new_rules.get(rule_id)
        if (
            before
            and after
            and before["sentences"] == after["sentences"]
            and before["label"] == after["label"]
        ):
            continue
        diff.rules.append(
            {
                "label": (after or before)["label"],  # type: ignore[index]
                "status": "added" if before is None else "removed" if after is None else "changed",
                "before": before["sentences"] if before else [],
                "after": after["sentences"] if after else [],
            }
        )
    if old_words["general"] != new_words["general"]:
        diff.general = (old_words["general"], new_words["general"])
    old_flat, new_flat = _flatten(older.rule_set), _flatten(newer.rule_set)
    for pointer in sorted(set(old_flat) | set(new_flat)):
        if old_flat.get(pointer) != new_flat.get(pointer):
            render = lambda value: "—" if value is None else json.dumps(value, ensure_ascii=False)  # noqa: E731
            diff.rule_set_changes.append(
                (pointer, render(old_flat.get(pointer)), render(new_flat.get(pointer)))
            )
    return diff


# --- checking a presented PDF --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PdfCheck:
    matches: bool
    pdf_sha256: str
    claimed_document_sha256: str
    version: ContractVersion | None
    reason: str


def contract_pdf_check(*, pdf_bytes: bytes) -> PdfCheck:
    """Is this exactly a signed PDF Fenrun issued? Byte-for-byte: its SHA-256 must equal the stored one.

    The document hash in the PDF's metadata only says which version the file claims to be; a
    file whose bytes differ (an edited amount, a re-saved copy) does not match.
    """
    from apps.contracts.rendering.pdf import METADATA_DOCUMENT_HASH

    pdf_sha256 = hashlib.sha256(pdf_bytes).hexdigest()
    claimed = ""
    try:
        from pypdf import PdfReader

        metadata: dict[str, Any] = PdfReader(io.BytesIO(pdf_bytes)).metadata or {}
        claimed = str(metadata.get(f"/{METADATA_DOCUMENT_HASH}", "") or "")
    except Exception:  # an uploaded file may be any bytes; pypdf fails in many ways: then no claim
        claimed = ""
    version = (
        ContractVersion.objects.filter(pdf_sha256=pdf_sha256)
        .select_related("contract__agency", "contract__creator")
        .first()
    )
    if version is not None:
        return PdfCheck(
            True, pdf_sha256, version.document_sha256, version, _("This is the signed PDF Fenrun issued.")
        )
    if claimed and ContractVersion.objects.filter(document_sha256=claimed).exists():
        reason = _(
            "This file claims to be a signed Fenrun contract, but its bytes differ from the PDF Fenrun issued: it was modified."
        )
    else:
        reason = _("This file is not a signed PDF issued by Fenrun.")
    return PdfCheck(False, pdf_sha256, claimed, None, reason)
