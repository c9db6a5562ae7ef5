"""Writes for contracts: drafting, amendments, sending, signing, activation, expiry, PDFs.

Every state change of a version happens here, under a row lock on that version
(`select_for_update`), so a signature, a withdrawal and the beat's expiry cannot interleave.
Terms may change only while a version is a draft; the database refuses it afterwards too.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateRange
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.accounts.services import reauthentication_allowed, reauthentication_failed
from apps.agencies.models import Agency, Membership
from apps.agencies.services import representation_close, representation_open
from apps.common.catalog import Platform
from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.common.money import is_known_currency
from apps.common.outbox import outbox_send
from apps.common.ratelimit import client_ip
from apps.common.tenancy import require_agency_role, scope_for
from apps.contracts.models import (
    TERM_FIELDS,
    Contract,
    ContractCoverage,
    ContractReminder,
    ContractSignature,
    ContractTemplate,
    ContractVersion,
    CreativeControl,
    Exclusivity,
    Language,
    TemplateKind,
)
from apps.contracts.rendering.document import (
    RenderedDocument,
    render_document,
    rule_set_parse,
    template_body_check,
    worked_examples,
)
from apps.creators.models import Creator
from apps.ledger.models import Account
from apps.splits.engine import RuleSet
from apps.splits.engine.rules import pointer

Status = ContractVersion.Status
Party = ContractSignature.Party
DRAFTERS = (Membership.Role.OWNER, Membership.Role.MANAGER)
# Terms an agency may set; worked examples are computed, never given.
EDITABLE_TERMS = tuple(field for field in TERM_FIELDS if field != "worked_examples")
REMINDER_AFTER = datetime.timedelta(days=3)
ENDING_SOON_DAYS = 30
logger = logging.getLogger(__name__)


class ContractConflict(ApplicationError):
    """The request is well-formed but the contract's state says no (stale, signed twice, overlap)."""

    status = 409


@dataclass(frozen=True)
class AuditMeta:
    """Where a signature came from, as the request showed it."""

    ip_address: str | None
    user_agent: str
    reauthenticated_by: str


def _today() -> datetime.date:
    return timezone.localdate()


def _require_drafter(actor: Any, agency: Agency, *, contract: Contract | None = None) -> None:
    # The contract's own creator can see it: they are told 403 (only the agency may change it),
    # like deals; anyone else outside the agency gets 404.
    require_agency_role(actor, agency, DRAFTERS, creator_id=contract.creator_id if contract else None)


def _lock(version: ContractVersion) -> ContractVersion:
    """The version row, locked for the rest of the transaction (with its contract for rendering)."""
    return (
        ContractVersion.objects.select_for_update(of=("self",))
        .select_related("contract__agency", "contract__creator", "contract__template")
        .get(pk=version.pk)
    )


# --- terms ------------------------------------------------------------------------------------


def _field_error(message: str, *, code: str, field: str, **extra: Any) -> ApplicationError:
    return ApplicationError(message, code=code, extra={"field": field, **extra})


def _rule_set_evaluable(document: Any) -> RuleSet:
    """The engine's validation, and what the engine accepts but recognition could not record:
    deduction ids and extra parties name ledger accounts (keys of 64 characters); rule ids are
    held to the same length, as people read them in every explanation. A rule set that passes
    is split without fail."""
    rule_set = rule_set_parse(document)
    limit = cast(int, Account._meta.get_field("key").max_length)
    names = [(pointer("parties", index), party) for index, party in enumerate(rule_set.parties)]
    for index, rule in enumerate(rule_set.rules):
        names.append((pointer("rules", index, "id"), rule.id))
        names += [
            (pointer("rules", index, "deductions", position, "id"), deduction_id)
            for position, deduction_id in enumerate(rule.deduction_ids)
        ]
    for path, name in names:
        if len(name) > limit:
            raise ApplicationError(
                _("The split rules are not valid at %(path)s: an id is at most %(limit)s characters.")
                % {"path": path, "limit": limit},
                code="invalid_rules",
                extra={"field": "rule_set", "path": path},
            )
    return rule_set


def _validate_terms(version: ContractVersion, *, base: ContractVersion | None) -> None:
    """Every rule about a version's terms; raises with the offending field named."""
    if version.language not in Language.values:
        raise _field_error(_("Choose English or Chinese."), code="invalid_language", field="language")
    if version.end_date < version.start_date:
        raise _field_error(
            _("The end date (%(end)s) is before the start date (%(start)s).")
            % {"end": version.end_date, "start": version.start_date},
            code="dates_out_of_order",
            field="end_date",
        )
    if not version.start_date <= version.effective_from <= version.end_date:
        raise _field_error(
            _("The effective date must fall between the start date and the end date."),
            code="dates_out_of_order",
            field="effective_from",
        )
    if base is not None:
        if version.start_date != base.start_date:
            raise _field_error(
                _("An amendment keeps the contract's start date (%(start)s).") % {"start": base.start_date},
                code="amendment_start_date",
                field="start_date",
            )
        if version.effective_from <= base.effective_from:
            raise _field_error(
                _("An amendment takes effect after the version it amends (effective %(date)s).")
                % {"date": base.effective_from},
                code="dates_out_of_order",
                field="effective_from",
            )
    platforms = list(version.platforms or [])
    if not platforms:
        raise _field_error(_("Choose at least one platform."), code="no_platforms", field="platforms")
    unknown = [platform for platform in platforms if platform not in Platform.values]
    if unknown or len(set(platforms)) != len(platforms):
        raise _field_error(
            _("Unknown or repeated platforms: %(names)s.")
            % {"names": ", ".join(unknown) or ", ".join(platforms)},
            code="invalid_platforms",
            field="platforms",
        )
    if version.exclusivity not in Exclusivity.values:
        raise _field_error(
            _("Choose exclusive or non-exclusive."), code="invalid_exclusivity", field="exclusivity"
        )
    if version.creative_control not in CreativeControl.values:
        raise _field_error(
            _("Creative control is the creator's, the agency's or joint."),
            code="invalid_creative_control",
            field="creative_control",
        )
    if version.payment_days < version.statement_days:
        raise _field_error(
            _(
                "Payment cannot be due before the statement: payment days must be at least the statement days."
            ),
            code="dates_out_of_order",
            field="payment_days",
        )
    interest = Decimal(version.late_interest_percent)
    if not Decimal(0) <= interest <= Decimal(100) or interest.as_tuple().exponent < -2:  # type: ignore[operator]
        raise _field_error(
            _("Late interest is a percent per year between 0 and 100 with at most 2 decimals."),
            code="invalid_interest",
            field="late_interest_percent",
        )
    if version.termination_fee_cap_minor < 0:
        raise _field_error(
            _("The termination fee cap cannot be negative."),
            code="invalid_fee_cap",
            field="termination_fee_cap",
        )
    if version.payout_threshold_minor < 0:
        raise _field_error(
            _("The payout threshold cannot be negative."),
            code="invalid_payout_threshold",
            field="payout_threshold",
        )
    if not is_known_currency(version.currency):
        raise _field_error(_("Unknown currency."), code="invalid_currency", field="currency")
    if not 1 <= version.offer_valid_days <= 90:
        raise _field_error(
            _("An offer stays open between 1 and 90 days."),
            code="invalid_offer_days",
            field="offer_valid_days",
        )
    rule_set = _rule_set_evaluable(version.rule_set)
    if rule_set.currency != version.currency:
        raise _field_error(
            _("The split rules are in %(rules)s but the contract is in %(contract)s.")
            % {"rules": rule_set.currency, "contract": version.currency},
            code="invalid_rules",
            field="rule_set",
            path="/currency",
        )
    version.worked_examples = worked_examples(rule_set, platforms)


def _apply_terms(version: ContractVersion, terms: dict[str, Any]) -> None:
    unknown = sorted(set(terms) - set(EDITABLE_TERMS))
    if unknown:
        raise ApplicationError(
            _("Unknown terms: %(names)s.") % {"names": ", ".join(unknown)}, code="unknown_terms"
        )
    for field, value in terms.items():
        setattr(version, field, value)


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    if not 1 <= year <= 9999:
        raise OverflowError(f"{day} + {months} months is past the calendar's end")
    for candidate in (day.day, 30, 29, 28):
        try:
            return datetime.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(f"{day} + {months} months")


def _terms_from_template(
    template: ContractTemplate, *, start_date: datetime.date, currency: str
) -> dict[str, Any]:
    from decimal import InvalidOperation

    from apps.common.money import MoneyError, to_minor

    defaults = dict(template.default_terms or {})
    try:
        months = int(str(defaults.pop("term_months", 12)))
        if not 1 <= months <= 1200:
            raise ValueError(months)
        fee_cap_minor = to_minor(str(defaults.pop("termination_fee_cap", "0")), currency)
        if "payout_threshold" in defaults:  # a decimal string in the template, like the fee cap
            defaults["payout_threshold_minor"] = to_minor(str(defaults.pop("payout_threshold")), currency)
        terms = {field: value for field, value in defaults.items() if field in EDITABLE_TERMS}
        if "late_interest_percent" in terms:
            terms["late_interest_percent"] = Decimal(str(terms["late_interest_percent"]))
        end_date = _add_months(start_date, months) - datetime.timedelta(days=1)
    except (ValueError, TypeError, MoneyError, InvalidOperation, OverflowError) as error:
        raise ApplicationError(
            _("The template's default terms are not valid (%(error)s).") % {"error": str(error)[:120]},
            code="invalid_template_terms",
            extra={"field": "default_terms"},
        ) from None
    terms.update(
        language=template.language,
        start_date=start_date,
        end_date=end_date,
        effective_from=start_date,
        currency=currency,
        termination_fee_cap_minor=fee_cap_minor,
        rule_set=template.default_rule_set,
    )
    return terms


# --- templates --------------------------------------------------------------------------------


@transaction.atomic
def contract_templates_install_builtin() -> int:
    """Create or refresh the built-in templates (EN and 中文); idempotent, keyed by their stable key."""
    from apps.contracts.builtin_templates import BUILTIN_TEMPLATES

    for template in BUILTIN_TEMPLATES:
        ContractTemplate.objects.update_or_create(
            agency=None,
            key=template["key"],
            defaults={field: value for field, value in template.items() if field != "key"},
        )
    return len(BUILTIN_TEMPLATES)


@transaction.atomic
def contract_template_create(
    *,
    agency: Agency,
    actor: Any,
    name: str,
    language: str,
    body: str,
    default_rule_set: Any,
    default_terms: dict[str, Any] | None = None,
) -> ContractTemplate:
    """An agency's own template; its rule set must pass the engine like any contract's."""
    _require_drafter(actor, agency)
    if language not in Language.values:
        raise _field_error(_("Choose English or Chinese."), code="invalid_language", field="language")
    if not name.strip() or not body.strip():
        raise ApplicationError(_("A template needs a name and a body."), code="invalid_template")
    template_body_check(body)
    _rule_set_evaluable(default_rule_set)
    # Refuse default terms that would break every draft made from the template later.
    _terms_from_template(
        ContractTemplate(
            language=language, default_terms=default_terms or {}, default_rule_set=default_rule_set
        ),
        start_date=_today(),
        currency=agency.default_currency,
    )
    return ContractTemplate.objects.create(
        agency=agency,
        key=f"custom-{timezone.now():%Y%m%d%H%M%S%f}",
        kind=TemplateKind.CUSTOM,
        language=language,
        name=name.strip(),
        body=body,
        default_terms=default_terms or {},
        default_rule_set=default_rule_set,
    )


# --- drafting ---------------------------------------------------------------------------------


@transaction.atomic
def contract_draft(
    *,
    actor: Any,
    agency: Agency,
    creator: Creator,
    template: ContractTemplate,
    title: str = "",
    **terms: Any,
) -> ContractVersion:
    """A new contract with its version 1 as a draft, terms from the template unless given."""
    _require_drafter(actor, agency)
    if template.agency_id not in (None, agency.pk):
        raise NotFound()
    # Only creators on this agency's roster (represented now or before): a person who also belongs
    # to another agency must not reach that agency's creators through this one.
    if not creator.representations.filter(agency=agency).exists():
        raise NotFound(_("No such creator among this agency's creators."))
    if not template.is_active:
        raise ApplicationError(_("This template is retired."), code="template_retired")
    start_date = terms.pop("start_date", None) or _today()
    merged = _terms_from_template(template, start_date=start_date, currency=agency.default_currency)
    # By default a contract covers the platforms the creator has confirmed accounts on (not a
    # pending or rejected request, which may be another agency's).
    merged["platforms"] = sorted(
        set(creator.platform_accounts.filter(status="confirmed").values_list("platform", flat=True))
    )
    merged.update(terms)
    merged["effective_from"] = merged["start_date"]  # version 1 takes effect when it starts
    contract = Contract.objects.create(
        agency=agency,
        creator=creator,
        template=template,
        title=title.strip() or f"{template.name} · {creator.display_name}",
        created_by=actor,
    )
    version = ContractVersion(contract=contract, number=1, created_by=actor)
    _apply_terms(version, merged)
    _validate_terms(version, base=None)
    version.save()
    return version


@transaction.atomic
def contract_version_update(*, version: ContractVersion, actor: Any, **terms: Any) -> ContractVersion:
    """Change a draft's terms; refused once the version has been sent."""
    version = _lock(version)
    _require_drafter(actor, version.contract.agency, contract=version.contract)
    if version.status != Status.DRAFT:
        raise ContractConflict(
            _("Version %(number)s was sent and cannot change; draft an amendment instead.")
            % {"number": version.number},
            code="version_immutable",
        )
    if version.number == 1 and "start_date" in terms:
        terms["effective_from"] = terms["start_date"]
    _apply_terms(version, terms)
    _validate_terms(version, base=_binding_base(version))
    version.save()
    return version


def contract_version_preview(*, version: ContractVersion, actor: Any, **terms: Any) -> RenderedDocument:
    """The draft's document as it would read with `terms`; validates like saving, writes nothing."""
    _require_drafter(actor, version.contract.agency, contract=version.contract)
    if version.status != Status.DRAFT:
        raise ContractConflict(_("Only a draft has a live preview."), code="not_draft")
    if version.number == 1 and "start_date" in terms:
        terms["effective_from"] = terms["start_date"]
    _apply_terms(version, terms)  # on this in-memory instance only
    _validate_terms(version, base=_binding_base(version))
    return render_document(version)


def _binding_base(version: ContractVersion) -> ContractVersion | None:
    """The version an amendment amends: the latest binding version before it."""
    if version.number == 1:
        return None
    return (
        ContractVersion.objects.filter(
            contract_id=version.contract_id, number__lt=version.number, status__in=ContractVersion.BINDING
        )
        .order_by("-number")
        .first()
    )


@transaction.atomic
def contract_amendment_draft(
    *, contract: Contract, actor: Any, effective_from: datetime.date, **terms: Any
) -> ContractVersion:
    """A new draft version that starts as a copy of the binding version, with an effective date."""
    _require_drafter(actor, contract.agency, contract=contract)
    # Lock the contract row itself: locking its versions would not stop two managers inserting the
    # same next number at once; with the contract locked they get numbers in turn.
    Contract.objects.select_for_update(no_key=True).filter(pk=contract.pk).first()
    versions = list(ContractVersion.objects.select_for_update().filter(contract=contract).order_by("number"))
    if any(version.status in ContractVersion.OPEN for version in versions):
        raise ContractConflict(
            _(
                "This contract already has a version in draft or awaiting signature; finish or withdraw it first."
            ),
            code="version_open",
        )
    base = next(
        (version for version in reversed(versions) if version.status in (Status.SIGNED, Status.ACTIVE)), None
    )
    if base is None:
        raise ContractConflict(_("Only a signed or active contract can be amended."), code="not_amendable")
    amendment = ContractVersion(contract=contract, number=versions[-1].number + 1, created_by=actor)
    for field in EDITABLE_TERMS:
        setattr(amendment, field, getattr(base, field))
    _apply_terms(amendment, {**terms, "effective_from": effective_from})
    _validate_terms(amendment, base=base)
    amendment.save()
    return amendment


# --- sending, withdrawing, declining -----------------------------------------------------------


def _overlapping(version: ContractVersion) -> ContractCoverage | None:
    """A binding version of another contract (or an older one of this) on the same days and platform."""
    contract = version.contract
    during = DateRange(version.effective_from, version.end_date + datetime.timedelta(days=1))
    return (
        ContractCoverage.objects.filter(
            creator_id=contract.creator_id,
            agency_id=contract.agency_id,
            platform__in=list(version.platforms),
            during__overlap=during,
        )
        # The version this amends is cut at the effective date when the amendment is signed.
        .exclude(version__contract_id=contract.pk, version__number__lt=version.number)
        .select_related("version__contract")
        .first()
    )


def _overlap_error(coverage: ContractCoverage) -> ContractConflict:
    return ContractConflict(
        _(
            "%(creator)s already has a signed contract with this agency on %(platform)s for part of these dates (%(title)s, version %(number)s)."
        )
        % {
            "creator": coverage.version.contract.creator.display_name,
            "platform": coverage.get_platform_display(),
            "title": coverage.version.contract.title,
            "number": coverage.version.number,
        },
        code="overlapping_contract",
        extra={"field": "platforms"},
    )


def _raise_overlap(coverage: ContractCoverage) -> None:
    raise _overlap_error(coverage)


def contract_version_overlap_warning(*, version: ContractVersion) -> str | None:
    """While drafting: the overlap that sending will refuse, found by the send step's own check
    (_overlapping), as the sentence send would say; None when there is none. `version` may carry
    unsaved terms (the terms page's live preview changes it in memory). A read, kept next to the
    check it must not drift from."""
    if version.status != Status.DRAFT or not version.platforms:
        return None
    if (
        version.effective_from is None
        or version.end_date is None
        or version.end_date < version.effective_from
    ):
        return None  # not a range yet; the terms' own validation says so
    overlap = _overlapping(version)
    return None if overlap is None else _overlap_error(overlap).message


@transaction.atomic
def contract_version_send(*, version: ContractVersion, actor: Any) -> ContractVersion:
    """Freeze a draft: render its document, hash it, and open it for signature until the offer expires."""
    version = _lock(version)
    _require_drafter(actor, version.contract.agency, contract=version.contract)
    if version.status != Status.DRAFT:
        raise ContractConflict(_("Only a draft can be sent."), code="not_draft")
    base = _binding_base(version)
    if version.number > 1 and base is None:
        raise ContractConflict(_("The version this amends is no longer binding."), code="not_amendable")
    _validate_terms(version, base=base)
    if version.is_amendment and version.effective_from < _today():
        raise _field_error(
            _("An amendment cannot take effect in the past; choose today or a later date."),
            code="amendment_in_past",
            field="effective_from",
        )
    overlap = _overlapping(version)
    if overlap is not None:
        _raise_overlap(overlap)
    document = render_document(version)
    now = timezone.now()
    version.document_html, version.document_text, version.document_sha256 = (
        document.html,
        document.text,
        document.sha256,
    )
    version.status = Status.SENT
    version.sent_at = now
    version.offer_expires_at = now + datetime.timedelta(days=version.offer_valid_days)
    version.save()
    # A mail server or a broker being down must not fail (or half-complete) the send: the
    # outbox publishes the mail task after commit, and again until the broker takes it.
    outbox_send(
        task="contracts.offer_notify", kwargs={"version_id": version.pk}, key=f"contracts.offer:{version.pk}"
    )
    return version


@transaction.atomic
def contract_version_withdraw(*, version: ContractVersion, actor: Any) -> ContractVersion:
    """The agency takes back an offer that is not yet signed by both."""
    version = _lock(version)
    _require_drafter(actor, version.contract.agency, contract=version.contract)
    if version.status != Status.SENT:
        raise ContractConflict(_("Only an offer awaiting signature can be withdrawn."), code="not_sent")
    version.status, version.closed_at, version.closed_reason = Status.WITHDRAWN, timezone.now(), "withdrawn"
    version.save(update_fields=["status", "closed_at", "closed_reason"])
    return version


@transaction.atomic
def contract_version_decline(*, version: ContractVersion, actor: Any, reason: str = "") -> ContractVersion:
    """The creator says no to an offer."""
    version = _lock(version)
    if scope_for(actor).creator_id != version.contract.creator_id:
        raise PermissionDenied(_("Only the creator can decline their contract."))
    if version.status != Status.SENT:
        raise ContractConflict(_("Only an offer awaiting signature can be declined."), code="not_sent")
    version.status, version.closed_at = Status.DECLINED, timezone.now()
    version.closed_reason = reason.strip()[:300] or "declined"
    version.save(update_fields=["status", "closed_at", "closed_reason"])
    return version


# --- signing ----------------------------------------------------------------------------------


def _signing_party(version: ContractVersion, signer: Any, party: str | None) -> str:
    """The party `signer` may sign for: only the creator for the creator, owners and managers for the agency."""
    contract = version.contract
    is_creator = scope_for(signer).creator_id == contract.creator_id
    if party is None:
        party = Party.CREATOR if is_creator else Party.AGENCY
    if party == Party.CREATOR:
        if not is_creator:
            raise PermissionDenied(_("Only the creator can sign for the creator."), code="not_the_creator")
    elif party == Party.AGENCY:
        role = scope_for(signer).agency_roles.get(contract.agency_id)
        if role not in DRAFTERS:
            raise PermissionDenied(
                _("Only the agency's owners and managers can sign for the agency."),
                code="not_an_agency_signer",
            )
    else:
        raise ApplicationError(_("Sign as the creator or as the agency."), code="invalid_party")
    return party


@transaction.atomic
def contract_sign(
    *,
    version: ContractVersion,
    signer: User,
    document_sha256: str,
    meta: AuditMeta,
    party: str | None = None,
) -> ContractSignature:
    """Record one party's signature on the exact document they saw; when both have signed, bind it.

    Locks the version row (`select_for_update`): two signatures, a withdrawal or the beat's
    expiry are serialised. Everything or nothing: a refused binding (overlap) undoes the signature.
    """
    version = _lock(version)
    contract = version.contract
    newer = (
        ContractVersion.objects.filter(contract=contract, number__gt=version.number)
        .exclude(status=Status.DRAFT)
        .aggregate(number=Max("number"))["number"]
    )
    if version.status != Status.SENT or newer is not None:
        raise ContractConflict(
            _(
                "Version %(number)s is not open for signature (%(status)s); reload the contract to see the current version."
            )
            % {"number": version.number, "status": version.get_status_display()},
            code="version_stale",
        )
    if version.offer_expires_at is not None and version.offer_expires_at <= timezone.now():
        raise ContractConflict(_("This offer has expired."), code="offer_expired")
    party = _signing_party(version, signer, party)
    _rules_still_evaluable(version)
    if document_sha256.strip().lower() != version.document_sha256:
        raise ContractConflict(
            _(
                "The document you signed is not the current text of version %(number)s (hash mismatch); reload and read it again."
            )
            % {"number": version.number},
            code="document_hash_mismatch",
        )
    if version.signatures.filter(party=party).exists():
        raise ContractConflict(
            _("The %(party)s has already signed version %(number)s.")
            % {"party": Party(party).label, "number": version.number},
            code="already_signed",
        )
    if version.is_amendment and version.effective_from < _today():
        raise ContractConflict(
            _("This amendment's effective date has passed; the agency must send a new amendment."),
            code="amendment_in_past",
        )
    signature = ContractSignature.objects.create(
        version=version,
        party=party,
        signer=signer,
        signer_name=signer.get_full_name(),
        signer_email=signer.email,
        signed_at=timezone.now(),
        ip_address=meta.ip_address,
        user_agent=meta.user_agent[:500],
        document_sha256=version.document_sha256,
        reauthenticated_by=meta.reauthenticated_by,
    )
    if version.signatures.count() == len(Party.values):
        _bind(version)
    return signature


def _rules_still_evaluable(version: ContractVersion) -> None:
    """Signing validates the stored rule set again: it is what recognition will split, and it may
    no longer pass (written outside the services, or this server's tz database lacks the zone).
    Nobody can sign it then; the agency withdraws it and sends a corrected version."""
    try:
        _rule_set_evaluable(version.rule_set)
    except ApplicationError as error:
        raise ContractConflict(
            _(
                "%(reason)s. This version cannot be signed: the agency must withdraw it and send a corrected one."
            )
            % {"reason": error.message.rstrip(".")},
            code="invalid_rules",
            extra=error.extra,
        ) from None


def _bind(version: ContractVersion) -> None:
    """Both signed: cut the amended version's coverage at the effective date, cover this one."""
    contract = version.contract
    base = _binding_base(version)
    if base is not None:
        for coverage in ContractCoverage.objects.select_for_update().filter(version=base).order_by("pk"):
            lower = coverage.during.lower
            coverage.during = DateRange(lower, max(lower, version.effective_from))
            if coverage.during.lower == coverage.during.upper:
                coverage.delete()  # the amendment replaces this version from its first day
            else:
                coverage.save(update_fields=["during"])
    try:
        with transaction.atomic():
            ContractCoverage.objects.bulk_create(
                ContractCoverage(
                    version=version,
                    agency_id=contract.agency_id,
                    creator_id=contract.creator_id,
                    platform=platform,
                    during=DateRange(version.effective_from, version.end_date + datetime.timedelta(days=1)),
                )
                for platform in version.platforms
            )
    except IntegrityError:
        overlap = _overlapping(version)
        if overlap is not None:
            _raise_overlap(overlap)
        raise ContractConflict(
            _("Another signed contract covers these dates."), code="overlapping_contract"
        ) from None
    version.status, version.signed_at = Status.SIGNED, timezone.now()
    version.save(update_fields=["status", "signed_at"])
    if version.effective_from <= _today():
        _activate(version)


# --- activation and end -------------------------------------------------------------------------


def _activate(version: ContractVersion) -> None:
    contract = version.contract
    ContractVersion.objects.filter(
        contract=contract, number__lt=version.number, status__in=(Status.SIGNED, Status.ACTIVE)
    ).update(
        status=Status.SUPERSEDED,
        closed_at=timezone.now(),
        closed_reason=f"amended by version {version.number}",
    )
    version.status, version.activated_at = Status.ACTIVE, timezone.now()
    version.save(update_fields=["status", "activated_at"])
    representation_open(agency=contract.agency, creator=contract.creator, started_on=version.start_date)


@transaction.atomic
def contract_version_activate(*, version: ContractVersion, today: datetime.date | None = None) -> bool:
    """Activate a signed version whose effective date has come; idempotent (status guard)."""
    version = _lock(version)
    if version.status != Status.SIGNED or version.effective_from > (today or _today()):
        return False
    _activate(version)
    return True


@transaction.atomic
def contract_version_end(*, version: ContractVersion, today: datetime.date | None = None) -> bool:
    """End an active version whose end date has passed, and close the representation it opened."""
    version = _lock(version)
    if version.status != Status.ACTIVE or version.end_date >= (today or _today()):
        return False
    version.status, version.closed_at, version.closed_reason = Status.ENDED, timezone.now(), "expired"
    version.save(update_fields=["status", "closed_at", "closed_reason"])
    contract = version.contract
    still_active = ContractVersion.objects.filter(
        contract__agency_id=contract.agency_id, contract__creator_id=contract.creator_id, status=Status.ACTIVE
    ).exists()
    if not still_active:
        representation_close(agency=contract.agency, creator=contract.creator, ended_on=version.end_date)
    return True


@transaction.atomic
def contract_offer_expire(*, version: ContractVersion, now: datetime.datetime | None = None) -> bool:
    """Close an offer nobody finished signing in time; idempotent."""
    version = _lock(version)
    now = now or timezone.now()
    if version.status != Status.SENT or version.offer_expires_at is None or version.offer_expires_at > now:
        return False
    version.status, version.closed_at, version.closed_reason = Status.OFFER_EXPIRED, now, "offer expired"
    version.save(update_fields=["status", "closed_at", "closed_reason"])
    return True


def contract_versions_due(
    *, today: datetime.date | None = None, now: datetime.datetime | None = None
) -> dict[str, list[int]]:
    """Ids of versions the daily sweep must act on: offers to expire, versions to activate or end."""
    today, now = today or _today(), now or timezone.now()
    return {
        "expire": list(ContractVersion.objects.filter(status=Status.SENT, offer_expires_at__lte=now).values_list("pk", flat=True)),
        "activate": list(ContractVersion.objects.filter(status=Status.SIGNED, effective_from__lte=today).values_list("pk", flat=True)),
        "end": list(ContractVersion.objects.filter(status=Status.ACTIVE, end_date__lt=today).values_list("pk", flat=True)),
    }  # fmt: skip


# --- reminders -----------------------------------------------------------------------------------


def _agency_signers(agency_id: int) -> list[User]:
    return list(
        User.objects.filter(
            memberships__agency_id=agency_id, memberships__is_active=True, memberships__role__in=DRAFTERS
        ).order_by("pk")
    )


def _mail(users: list[User], subject: str, body: str) -> None:
    for user in users:
        with translation.override(user.preferred_language):
            send_mail(str(_(subject)), str(_(body)), None, [user.email])


def contract_offer_notify(*, version_id: int) -> None:
    """Tell the creator an offer waits for their signature (run by a task after the send commits)."""
    version = ContractVersion.objects.select_related("contract__creator__user").get(pk=version_id)
    _mail(
        [version.contract.creator.user],
        "A contract is waiting for your signature",
        "Open Fenrun to read and sign it.",
    )


def _remember(version: ContractVersion, kind: str, key: str) -> bool:
    """True the first time (version, kind, key) is seen; the unique constraint settles races."""
    _reminder, created = ContractReminder.objects.get_or_create(version=version, kind=kind, key=key)
    return created


def contract_reminders_due(*, now: datetime.datetime | None = None) -> list[tuple[int, str, str]]:
    """(version id, kind, key) of each reminder due and not sent yet: an offer unsigned after 3
    days (key: today, so once a day) and a contract ending within 30 days (key: its end date)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    unsigned = ContractVersion.objects.filter(status=Status.SENT, sent_at__lte=now - REMINDER_AFTER)
    ending = ContractVersion.objects.filter(
        status=Status.ACTIVE,
        end_date__gte=today,
        end_date__lte=today + datetime.timedelta(days=ENDING_SOON_DAYS),
    )
    due = [(pk, "unsigned", today.isoformat()) for pk in unsigned.order_by("pk").values_list("pk", flat=True)]
    due += [
        (pk, "ending", end.isoformat()) for pk, end in ending.order_by("pk").values_list("pk", "end_date")
    ]
    sent = set(
        ContractReminder.objects.filter(version_id__in=[pk for pk, _kind, _key in due]).values_list(
            "version_id", "kind", "key"
        )
    )
    return [reminder for reminder in due if reminder not in sent]


@transaction.atomic
def contract_reminder_send(*, version_id: int, kind: str, key: str) -> bool:
    """Send one reminder, once: its row and its mails in one transaction, so a mail that fails
    undoes the row and the next run sends it (a mail may go twice, never not at all)."""
    version = ContractVersion.objects.select_related("contract__creator__user").get(pk=version_id)
    if version.status != (Status.SENT if kind == "unsigned" else Status.ACTIVE):
        return False  # signed, withdrawn or ended since it was found due
    if not _remember(version, kind, key):
        return False
    contract = version.contract
    if kind == "unsigned":
        signed = set(version.signatures.values_list("party", flat=True))
        if Party.CREATOR not in signed:
            _mail(
                [contract.creator.user],
                "Reminder: a contract awaits your signature",
                "Open Fenrun to read and sign it.",
            )
        if Party.AGENCY not in signed:
            _mail(
                _agency_signers(contract.agency_id),
                "Reminder: a contract awaits the agency's signature",
                "Open Fenrun to sign it.",
            )
    else:
        people = [contract.creator.user, *_agency_signers(contract.agency_id)]
        _mail(people, "A contract ends within 30 days", "Open Fenrun to renew it or let it end.")
    return True


def contract_reminders_send(*, now: datetime.datetime | None = None) -> int:
    """Send every reminder due, each on its own: one that fails (an address the mail server or
    Django refuses) is logged and tried again next run, and stops no other. Returns how many went."""
    sent = 0
    for version_id, kind, key in contract_reminders_due(now=now):
        try:
            sent += contract_reminder_send(version_id=version_id, kind=kind, key=key)
        except Exception:
            logger.exception(
                "The %s reminder of contract version %s (%s) could not be sent", kind, version_id, key
            )
    return sent


# --- the signed PDF --------------------------------------------------------------------------------


@transaction.atomic
def contract_pdf_ensure(*, version: ContractVersion) -> ContractVersion:
    """Render and store the signed PDF once (document + certificate page); later calls return it."""
    from apps.contracts.rendering.pdf import render_signed_pdf

    version = _lock(version)
    if version.status not in ContractVersion.BINDING:
        raise ContractConflict(
            _("Only a version signed by both parties has a signed PDF."), code="not_signed"
        )
    if version.pdf_sha256:
        return version
    pdf_bytes = render_signed_pdf(version, list(version.signatures.order_by("signed_at")))
    version.pdf.save(
        f"{version.contract.public_id}-v{version.number}.pdf", ContentFile(pdf_bytes), save=False
    )
    version.pdf_sha256 = hashlib.sha256(pdf_bytes).hexdigest()
    version.save(update_fields=["pdf", "pdf_sha256"])
    return version


# --- re-authentication and audit metadata of a signing request -------------------------------------


def audit_meta_from_request(request: Any, *, reauthenticated_by: str) -> AuditMeta:
    """IP (the client behind the trusted proxy, apps.common.ratelimit.client_ip) and user agent of
    the request that signs."""
    ip_address = client_ip(request)
    return AuditMeta(
        ip_address=ip_address if ip_address != "unknown" else None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
        reauthenticated_by=reauthenticated_by,
    )


class ReauthenticationFailed(ApplicationError):
    status = 403


def contract_signer_reauthenticate(*, user: User, password: str, code: str = "") -> str:
    """API signing re-authenticates in the request itself: the password, and a TOTP code when enrolled."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    reauthentication_allowed(user=user)
    if not password or not user.check_password(password):
        reauthentication_failed(user=user)
        raise ReauthenticationFailed(_("Re-enter your password to sign."), code="reauthentication_failed")
    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if authenticator is None:
        return "password"
    if not code or not TOTP(authenticator).validate_code(code):
        reauthentication_failed(user=user)
        raise ReauthenticationFailed(
            _("Enter the current code from your authenticator app to sign."), code="reauthentication_failed"
        )
    return "password+totp"
