"""Contract services: drafting, bad input, sending, signing, amendments, expiry and the version in force."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from apps.agencies.models import Representation
from apps.common.exceptions import ApplicationError, PermissionDenied
from apps.contracts.models import Contract, ContractCoverage, ContractSignature, ContractVersion
from apps.contracts.rendering.document import canonical_text, document_sha256
from apps.contracts.selectors import contract_version_in_force
from apps.contracts.services import (
    ContractConflict,
    contract_amendment_draft,
    contract_offer_expire,
    contract_reminders_send,
    contract_sign,
    contract_version_activate,
    contract_version_decline,
    contract_version_end,
    contract_version_send,
    contract_version_update,
    contract_version_withdraw,
)
from tests.contracts.conftest import META, active_contract, draft, send, sign_both, tiered_rules

pytestmark = pytest.mark.django_db
Status = ContractVersion.Status


def test_draft_takes_the_template_defaults_and_computes_worked_examples(world) -> None:
    version = draft(world)

    assert version.status == Status.DRAFT
    assert version.exclusivity == "exclusive"
    assert version.termination_fee_cap_minor == 5_000_000  # ¥50,000.00 from the template
    assert version.rule_set["rules"][0]["tiers"][0]["above"] == "100000.00"
    brand = [example for example in version.worked_examples if example["rule"] == "brand"]
    # ¥10,000 brand deal, ¥1,000 costs: 5 % fee ¥500, costs ¥1,000, ¥8,500 split 70/30.
    ten_thousand = next(example for example in brand if example["gross_minor"] == 1_000_000)
    assert (ten_thousand["creator_minor"], ten_thousand["agency_minor"]) == (595_000, 255_000)
    # The tier example (twice the threshold) pays the creator more than 70 % of the net.
    above_tier = next(example for example in brand if example["gross_minor"] == 20_000_000)
    assert above_tier["creator_minor"] * 100 > 70 * above_tier["net_minor"]


def test_end_before_start_is_refused_and_nothing_is_written(world) -> None:
    with pytest.raises(ApplicationError) as error:
        draft(world, start_date=datetime.date(2026, 6, 1), end_date=datetime.date(2026, 5, 1))
    assert error.value.code == "dates_out_of_order"
    assert error.value.extra["field"] == "end_date"
    assert not Contract.objects.exists()


def test_rule_set_the_engine_refuses_names_the_json_pointer(world) -> None:
    rules = tiered_rules()
    rules["rules"][0]["split"] = {"creator": "70", "agency": "20"}
    with pytest.raises(ApplicationError) as error:
        draft(world, rule_set=rules)
    assert error.value.code == "invalid_rules"
    assert error.value.extra == {"field": "rule_set", "path": "/rules/0/split"}
    assert not ContractVersion.objects.exists()


def test_payment_before_statement_and_missing_platforms_are_refused(world) -> None:
    with pytest.raises(ApplicationError) as error:
        draft(world, statement_days=30, payment_days=10)
    assert error.value.extra["field"] == "payment_days"
    with pytest.raises(ApplicationError) as error:
        draft(world, platforms=[])
    assert error.value.code == "no_platforms"


def test_only_owners_and_managers_draft(world) -> None:
    for person in (world.finance_a, world.viewer_a, world.creator_a.user):
        with pytest.raises(ApplicationError):
            draft(world, actor=person)
    assert not Contract.objects.exists()


def test_send_freezes_the_terms_and_the_hash_is_of_the_canonical_text(world) -> None:
    version = send(world, draft(world))

    assert version.status == Status.SENT
    assert version.document_sha256 == document_sha256(canonical_text(version.document_html))
    assert "Brand deals" in version.document_text and "¥595.00" in version.document_text
    with pytest.raises(ContractConflict) as error:
        contract_version_update(version=version, actor=world.manager_a, payment_days=90)
    assert error.value.code == "version_immutable"


def test_both_signatures_activate_the_contract_and_record_the_audit_trail(world) -> None:
    version = send(world, draft(world))
    contract_sign(
        version=version, signer=world.creator_a.user, document_sha256=version.document_sha256, meta=META
    )
    version.refresh_from_db()
    assert version.status == Status.SENT  # one signature is not a contract

    contract_sign(version=version, signer=world.manager_a, document_sha256=version.document_sha256, meta=META)
    version.refresh_from_db()

    assert version.status == Status.ACTIVE
    signatures = {signature.party: signature for signature in version.signatures.all()}
    assert signatures["creator"].signer == world.creator_a.user
    assert signatures["agency"].ip_address == "203.0.113.7"
    assert signatures["agency"].document_sha256 == version.document_sha256
    assert sorted(ContractCoverage.objects.filter(version=version).values_list("platform", flat=True)) == [
        "bilibili",
        "douyin",
    ]
    assert Representation.objects.filter(
        agency=world.agency_a, creator=world.creator_a, ended_on__isnull=True
    ).exists()


def test_a_signature_on_a_different_text_is_refused(world) -> None:
    version = send(world, draft(world))
    with pytest.raises(ContractConflict) as error:
        contract_sign(version=version, signer=world.creator_a.user, document_sha256="0" * 64, meta=META)
    assert error.value.code == "document_hash_mismatch"
    assert error.value.status == 409
    assert not ContractSignature.objects.exists()


def test_signing_twice_is_refused(world) -> None:
    version = send(world, draft(world))
    contract_sign(
        version=version, signer=world.creator_a.user, document_sha256=version.document_sha256, meta=META
    )
    with pytest.raises(ContractConflict) as error:
        contract_sign(
            version=version, signer=world.creator_a.user, document_sha256=version.document_sha256, meta=META
        )
    assert error.value.code == "already_signed"
    assert version.signatures.count() == 1


def test_nobody_signs_as_someone_else(world) -> None:
    version = send(world, draft(world))
    with pytest.raises(PermissionDenied):
        contract_sign(
            version=version,
            signer=world.manager_a,
            party="creator",
            document_sha256=version.document_sha256,
            meta=META,
        )
    for person in (world.finance_a, world.viewer_a, world.creator_a2.user):
        with pytest.raises(PermissionDenied):
            contract_sign(version=version, signer=person, document_sha256=version.document_sha256, meta=META)
    assert not ContractSignature.objects.exists()


def test_a_withdrawn_version_is_stale(world) -> None:
    version = send(world, draft(world))
    contract_version_withdraw(version=version, actor=world.manager_a)
    with pytest.raises(ContractConflict) as error:
        contract_sign(
            version=version, signer=world.creator_a.user, document_sha256=version.document_sha256, meta=META
        )
    assert error.value.code == "version_stale"


def test_overlapping_contract_for_the_same_platform_is_refused(world) -> None:
    active_contract(world)
    overlapping = draft(world, start_date=datetime.date(2027, 6, 1), end_date=datetime.date(2028, 5, 31))
    with pytest.raises(ContractConflict) as error:
        contract_version_send(version=overlapping, actor=world.manager_a)
    assert error.value.code == "overlapping_contract"
    overlapping.refresh_from_db()
    assert overlapping.status == Status.DRAFT

    # Another platform, or dates after the first contract ends, are fine.
    other_platform = send(world, draft(world, platforms=["kuaishou"]))
    assert other_platform.status == Status.SENT


def test_the_database_refuses_overlap_when_two_offers_race(world) -> None:
    # Two offers for the same days are both sent before either is signed: the second binding fails.
    first = send(world, draft(world))
    second = send(world, draft(world, start_date=datetime.date(2026, 3, 1)))
    sign_both(world, first)
    contract_sign(
        version=second, signer=world.creator_a.user, document_sha256=second.document_sha256, meta=META
    )
    with pytest.raises(ContractConflict) as error:
        contract_sign(
            version=second, signer=world.manager_a, document_sha256=second.document_sha256, meta=META
        )
    assert error.value.code == "overlapping_contract"
    second.refresh_from_db()
    assert second.status == Status.SENT
    assert second.signatures.count() == 1  # the refused agency signature left nothing behind


def test_amendment_governs_from_its_effective_date_only_after_both_signatures(world) -> None:
    original = active_contract(world)
    today = timezone.localdate()
    effective = today + datetime.timedelta(days=10)
    amendment = contract_amendment_draft(
        contract=original.contract,
        actor=world.manager_a,
        effective_from=effective,
        rule_set=tiered_rules("75", "85"),
    )
    amendment = send(world, amendment)
    at_effective = timezone.make_aware(datetime.datetime.combine(effective, datetime.time(9)))
    in_force = lambda at: contract_version_in_force(creator=world.creator_a, platform="douyin", at=at)  # noqa: E731

    # Sent but not signed: the original still governs after the effective date.
    assert in_force(at_effective) == original

    sign_both(world, amendment)
    amendment.refresh_from_db()
    assert amendment.status == Status.SIGNED  # signed, waiting for its date
    assert in_force(at_effective) == amendment
    assert in_force(at_effective - datetime.timedelta(days=1)) == original
    assert in_force(datetime.date(2026, 2, 1)) == original

    assert contract_version_activate(version=amendment, today=effective) is True
    assert contract_version_activate(version=amendment, today=effective) is False  # idempotent
    original.refresh_from_db()
    amendment.refresh_from_db()
    assert (original.status, amendment.status) == (Status.SUPERSEDED, Status.ACTIVE)


def test_amendment_cannot_take_effect_in_the_past(world) -> None:
    original = active_contract(world)
    amendment = contract_amendment_draft(
        contract=original.contract,
        actor=world.manager_a,
        effective_from=timezone.localdate() - datetime.timedelta(days=3),
    )
    with pytest.raises(ApplicationError) as error:
        contract_version_send(version=amendment, actor=world.manager_a)
    assert error.value.code == "amendment_in_past"


def test_only_one_open_version_per_contract(world) -> None:
    original = active_contract(world)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    contract_amendment_draft(contract=original.contract, actor=world.manager_a, effective_from=tomorrow)
    with pytest.raises(ContractConflict) as error:
        contract_amendment_draft(contract=original.contract, actor=world.manager_a, effective_from=tomorrow)
    assert error.value.code == "version_open"


def test_offers_expire_and_cannot_then_be_signed(world) -> None:
    version = send(world, draft(world))
    later = version.offer_expires_at + datetime.timedelta(seconds=1)
    assert contract_offer_expire(version=version, now=later) is True
    assert contract_offer_expire(version=version, now=later) is False
    version.refresh_from_db()
    assert version.status == Status.OFFER_EXPIRED
    with pytest.raises(ContractConflict):
        contract_sign(
            version=version, signer=world.creator_a.user, document_sha256=version.document_sha256, meta=META
        )


def test_ending_closes_the_representation(world) -> None:
    version = active_contract(world, end_date=datetime.date(2026, 6, 30))
    assert contract_version_end(version=version, today=datetime.date(2026, 7, 1)) is True
    version.refresh_from_db()
    assert version.status == Status.ENDED
    span = Representation.objects.get(agency=world.agency_a, creator=world.creator_a)
    assert span.ended_on == datetime.date(2026, 6, 30)
    # The ended version still answers for income from its time.
    assert (
        contract_version_in_force(creator=world.creator_a, platform="douyin", at=datetime.date(2026, 3, 1))
        == version
    )


def test_only_the_creator_declines(world) -> None:
    version = send(world, draft(world))
    with pytest.raises(PermissionDenied):
        contract_version_decline(version=version, actor=world.manager_a)
    contract_version_decline(version=version, actor=world.creator_a.user, reason="Split too low")
    version.refresh_from_db()
    assert (version.status, version.closed_reason) == (Status.DECLINED, "Split too low")


def test_reminders_go_out_once_per_day(world) -> None:
    send(world, draft(world))
    mail.outbox.clear()
    later = timezone.now() + datetime.timedelta(days=4)
    assert contract_reminders_send(now=later) == 1
    assert contract_reminders_send(now=later) == 0
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert world.creator_a.user.email in recipients and world.manager_a.email in recipients
