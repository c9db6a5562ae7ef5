"""Demo contracts: each demo creator gets an active, signed contract with the demo agency (idempotent)."""

from __future__ import annotations

import datetime

from django.db import transaction

from apps.agencies.models import Agency, Membership
from apps.contracts.models import Contract, ContractTemplate, ContractVersion
from apps.contracts.services import (
    AuditMeta,
    contract_draft,
    contract_sign,
    contract_templates_install_builtin,
    contract_version_send,
)
from apps.creators.models import Creator

DEMO_META = AuditMeta(ip_address=None, user_agent="seed_demo", reauthenticated_by="demo-seed")
TEMPLATE_BY_INDEX = ("exclusive-management-zh", "exclusive-management-en", "non-exclusive-en")


@transaction.atomic
def contracts_demo_seed(*, agency: Agency, creators: list[Creator]) -> list[ContractVersion]:
    """Draft, send and sign (creator, then the agency's manager) one contract per creator lacking one."""
    contract_templates_install_builtin()  # a flushed test database has lost the migration's rows
    manager = Membership.objects.filter(agency=agency, role=Membership.Role.MANAGER, is_active=True).first()
    if manager is None:
        return []
    signed = []
    for index, creator in enumerate(creators):
        if Contract.objects.filter(
            agency=agency, creator=creator, versions__status__in=ContractVersion.BINDING
        ).exists():
            continue
        template = ContractTemplate.objects.get(
            agency__isnull=True, key=TEMPLATE_BY_INDEX[index % len(TEMPLATE_BY_INDEX)]
        )
        version = contract_draft(
            actor=manager.user,
            agency=agency,
            creator=creator,
            template=template,
            start_date=datetime.date(2026, 1, 1),
            end_date=datetime.date(2027, 12, 31),
        )
        version = contract_version_send(version=version, actor=manager.user)
        for signer in (creator.user, manager.user):
            contract_sign(
                version=version, signer=signer, document_sha256=version.document_sha256, meta=DEMO_META
            )
        version.refresh_from_db()
        signed.append(version)
    return signed
