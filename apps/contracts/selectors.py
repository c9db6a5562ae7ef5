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
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.core.cache import caches
from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateRange
from django.db.models import Exists, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
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
    ).order_by("agency_id", "kind", "language", "name", "pk")  # pk: a stable order for pagination


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


def contract_payout_threshold_in_force(
    *, agency_id: int, creator: OuterRef, day: datetime.date, currency: str
) -> Subquery:
    """The payout threshold of the creator's contract with the agency in force on `day`, as an
    expression to annotate a query of many creators with (`creator` names their id column there,
    e.g. OuterRef("account__creator_id")): one statement for all of them, no query per creator.

    In force: a signed version whose coverage holds the day. Coverage is per platform, so a
    creator may have several versions in force (one contract for Douyin, another for Bilibili);
    the lowest threshold counts, because each contract obliges the agency to pay once the balance
    reaches its own threshold, and the balance is one. A version in another currency than
    `currency` does not count (its threshold is not an amount in this currency). NULL when no
    version counts: the caller's default applies."""
    return Subquery(
        ContractCoverage.objects.filter(
            agency_id=agency_id,
            creator_id=creator,
            during__contains=day,
            version__currency=currency,
        )
        .order_by()
        .values("creator_id")
        .annotate(lowest=Min("version__payout_threshold_minor"))
        .values("lowest")[:1]
    )


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
# Anyone may present a PDF, without logging in, so what one check may cost is bounded: the
# size (a signed contract PDF weighs well under 1 MB; the font is embedded as a subset), the
# objects and pages a parse may meet, and the time and memory of that parse, which runs in a
# child process (rendering/pdf_probe.py) and only for a file that is not one Fenrun issued. At
# most PDF_PARSE_SLOTS parses run at once on the whole site, and each client has a budget of
# checks (the views), so anonymous traffic cannot hold the web workers.

MAX_PDF_BYTES = 10 * 1024 * 1024
MAX_PDF_OBJECTS = 20_000  # indirect objects visible in the file ("12 0 obj"); a contract has a few hundred
MAX_PDF_PAGES = 1_000
PDF_PARSE_SECONDS = 3
PDF_PARSE_MEMORY_BYTES = 512 * 1024 * 1024
PDF_PARSE_SLOTS = 2
PDF_CHECKS_PER_WINDOW = 20  # per client address and PDF_CHECK_WINDOW_SECONDS (page and API together)
PDF_CHECK_WINDOW_SECONDS = 600
# (?<![0-9]): a match starts at the beginning of a digit run; without it a long run of digits
# made the search backtrack quadratically (30 kB of "7" held a web worker 6 s).
_OBJECT_MARKER = re.compile(rb"(?<![0-9])[0-9]+\s+[0-9]+\s+obj\b")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_PROBE = Path(__file__).resolve().parent / "rendering" / "pdf_probe.py"


@dataclass(frozen=True)
class PdfCheck:
    matches: bool
    pdf_sha256: str
    claimed_document_sha256: str
    version: ContractVersion | None
    reason: str


def pdf_check_body_too_large(*, content_length: str | None) -> bool:
    """Is a request body of this declared size (the Content-Length header) too large to carry
    a signed PDF? Then it is refused before it is read. A multipart body carries the file plus
    its boundaries, part headers and the CSRF token."""
    try:
        declared = int(content_length or 0)
    except ValueError:
        return False  # no usable length: Django reads nothing, and the form finds no file
    return declared > MAX_PDF_BYTES + 64 * 1024


def pdf_too_large_error() -> ApplicationError:
    return ApplicationError(
        _("A signed contract PDF is smaller than %(size)s MB; this file is larger.")
        % {"size": MAX_PDF_BYTES // (1024 * 1024)},
        code="file_too_large",
    ).with_status(413)


def _too_complex(reason: str) -> ApplicationError:
    return ApplicationError(
        _(
            "This file is not a PDF Fenrun issued, and it is refused without being examined further: %(reason)s"
        )
        % {"reason": reason},
        code="pdf_too_complex",
    ).with_status(422)


@contextmanager
def _parse_slot() -> Iterator[None]:
    """One of the site's PDF_PARSE_SLOTS, or a 503: the slot expires by itself if a worker dies."""
    cache = caches["throttle"]
    for slot in range(PDF_PARSE_SLOTS):
        key = f"fenrun:pdf-check:slot:{slot}"
        if cache.add(key, 1, timeout=PDF_PARSE_SECONDS + 10):
            try:
                yield
            finally:
                cache.delete(key)
            return
    raise ApplicationError(
        _("Fenrun is busy checking other PDFs. Try again in a minute."), code="pdf_check_busy"
    ).with_status(503)


def _claimed_document_hash(pdf_bytes: bytes) -> str:
    """The document hash the PDF's metadata names, read by pypdf in a bounded child process;
    "" for a file pypdf cannot read. Refuses (422) a file past the object, page or time limits."""
    from apps.contracts.rendering.pdf import METADATA_DOCUMENT_HASH

    if not pdf_bytes[:1024].lstrip().startswith(b"%PDF-"):
        return ""
    for objects, _match in enumerate(_OBJECT_MARKER.finditer(pdf_bytes), start=1):
        if objects > MAX_PDF_OBJECTS:
            raise _too_complex(_("it has more than %(count)s objects.") % {"count": f"{MAX_PDF_OBJECTS:,}"})
    with _parse_slot():
        try:
            completed = subprocess.run(
                [
                    sys.executable,
                    "-I",
                    str(_PROBE),
                    str(PDF_PARSE_MEMORY_BYTES),
                    str(PDF_PARSE_SECONDS),
                    METADATA_DOCUMENT_HASH,
                ],
                input=pdf_bytes,
                capture_output=True,
                timeout=PDF_PARSE_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:  # run() has killed the child
            raise _too_complex(
                _("reading it takes longer than %(seconds)s seconds.") % {"seconds": PDF_PARSE_SECONDS}
            ) from None
    if completed.returncode != 0:  # pypdf could not read it (or it hit the memory limit)
        return ""
    try:
        probe = json.loads(completed.stdout)
    except ValueError:
        return ""
    if int(probe.get("pages", 0)) > MAX_PDF_PAGES:
        raise _too_complex(_("it has more than %(count)s pages.") % {"count": f"{MAX_PDF_PAGES:,}"})
    claimed = str(probe.get("claimed", ""))
    return claimed if _SHA256_HEX.match(claimed) else ""


def contract_pdf_check(*, pdf_bytes: bytes) -> PdfCheck:
    """Is this exactly a signed PDF Fenrun issued? Byte-for-byte: its SHA-256 must equal the stored one.

    The document hash in the PDF's metadata only says which version the file claims to be; a
    file whose bytes differ (an edited amount, a re-saved copy) does not match. An issued PDF is
    recognised by its hash alone; only another file is parsed, within the limits above.
    """
    if len(pdf_bytes) > MAX_PDF_BYTES:
        raise pdf_too_large_error()
    pdf_sha256 = hashlib.sha256(pdf_bytes).hexdigest()
    version = (
        ContractVersion.objects.filter(pdf_sha256=pdf_sha256)
        .select_related("contract__agency", "contract__creator")
        .first()
    )
    if version is not None:
        return PdfCheck(
            True, pdf_sha256, version.document_sha256, version, _("This is the signed PDF Fenrun issued.")
        )
    claimed = _claimed_document_hash(pdf_bytes)
    if claimed and ContractVersion.objects.filter(document_sha256=claimed).exists():
        reason = _(
            "This file claims to be a signed Fenrun contract, but its bytes differ from the PDF Fenrun issued: it was modified."
        )
    else:
        reason = _("This file is not a signed PDF issued by Fenrun.")
    return PdfCheck(False, pdf_sha256, claimed, None, reason)


def contract_coverage_many(
    *,
    agency_id: int,
    creator_ids: Iterable[int],
    platforms: Iterable[str],
    first: datetime.date,
    last: datetime.date,
) -> list[tuple[int, str, datetime.date | None, datetime.date | None, int]]:
    """The signed coverage of many creators at once, for recognition (one query per batch instead
    of contract_version_in_force per line): (creator id, platform, from, until (exclusive),
    version id) for every coverage of the agency overlapping first … last (UTC days; callers
    widen by a day either side, as contract_version_in_force does, and read each line's day in
    its version's time zone)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.creator_id, c.platform, lower(c.during), upper(c.during), c.version_id
            FROM unnest(%s::bigint[]) AS creator(id)
            JOIN contracts_contractcoverage c ON c.creator_id = creator.id
            WHERE c.agency_id = %s AND c.platform = ANY(%s) AND c.during && daterange(%s, %s)
            """,
            [sorted(set(creator_ids)), agency_id, sorted(set(platforms)), first, last],
        )
        return cursor.fetchall()


def contract_rule_set_documents(*, version_ids: Iterable[int]) -> dict[int, str]:
    """The split rule set document of each version, as stored (JSON text): {version id: text}."""
    ids = sorted(set(version_ids))
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, rule_set::text FROM contracts_contractversion WHERE id = ANY(%s::bigint[])", [ids]
        )
        return dict(cursor.fetchall())


def contract_version_names(*, version_ids: Iterable[int]) -> dict[int, ContractVersion]:
    """Versions by id with their contract's title and number only, for naming them where a row
    points at one (a line's split names the version it was split under): one query. The caller
    has scoped the rows that point at them; a version is visible wherever its lines are."""
    ids = sorted(set(version_ids))
    if not ids:
        return {}
    versions = ContractVersion.objects.filter(pk__in=ids).select_related("contract")
    return {
        version.pk: version
        for version in versions.only("public_id", "number", "contract__title", "contract__public_id")
    }


def contract_versions_in_force_many(
    *, agency_id: int, creator_ids: Iterable[int]
) -> dict[int, list[ContractVersion]]:
    """The agency's contract versions in force with many creators, in one query (the roster):
    {creator id: versions}, the soonest end first. In force: active, or signed by both and waiting
    for its effective date. Callers pass an agency the actor is a member of."""
    ids = sorted(set(creator_ids))
    found: dict[int, list[ContractVersion]] = {}
    if not ids:
        return found
    versions = (
        ContractVersion.objects.filter(
            contract__agency_id=agency_id,
            contract__creator_id__in=ids,
            status__in=(Status.ACTIVE, Status.SIGNED),
        )
        .select_related("contract")
        .defer("document_html", "document_text", "rule_set", "worked_examples")
        .order_by("end_date", "pk")
    )
    for version in versions:
        found.setdefault(version.contract.creator_id, []).append(version)
    return found
