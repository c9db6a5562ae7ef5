"""Contracts fixtures: drafts built through the real services, signatures with audit metadata."""

from __future__ import annotations

import copy
import datetime
from typing import Any

from apps.contracts.builtin_templates import BUILTIN_TEMPLATES
from apps.contracts.models import ContractTemplate, ContractVersion
from apps.contracts.services import (
    AuditMeta,
    contract_draft,
    contract_sign,
    contract_templates_install_builtin,
    contract_version_send,
)

META = AuditMeta(ip_address="203.0.113.7", user_agent="pytest", reauthenticated_by="password")
START = datetime.date(2026, 1, 1)
END = datetime.date(2027, 12, 31)


def builtin(key: str = "exclusive-management-en") -> ContractTemplate:
    # Transactional tests elsewhere flush the tables, data-migration rows included.
    contract_templates_install_builtin()
    return ContractTemplate.objects.get(agency__isnull=True, key=key)


def tiered_rules(creator: str = "70", tier_creator: str = "80") -> dict[str, Any]:
    rules = copy.deepcopy(
        next(t for t in BUILTIN_TEMPLATES if t["key"] == "exclusive-management-en")["default_rule_set"]
    )
    rules["rules"][0]["split"] = {"creator": creator, "agency": str(100 - int(creator))}
    rules["rules"][0]["tiers"][0]["split"] = {"creator": tier_creator, "agency": str(100 - int(tier_creator))}
    return rules


def draft(world: Any, *, creator: Any = None, actor: Any = None, **terms: Any) -> ContractVersion:
    terms.setdefault("start_date", START)
    terms.setdefault("end_date", END)
    terms.setdefault("platforms", ["douyin", "bilibili"])
    return contract_draft(
        actor=actor or world.manager_a,
        agency=world.agency_a,
        creator=creator or world.creator_a,
        template=terms.pop("template", None) or builtin(),
        **terms,
    )


def send(world: Any, version: ContractVersion) -> ContractVersion:
    return contract_version_send(version=version, actor=world.manager_a)


def sign_both(world: Any, version: ContractVersion, *, creator_user: Any = None) -> ContractVersion:
    contract_sign(
        version=version,
        signer=creator_user or version.contract.creator.user,
        document_sha256=version.document_sha256,
        meta=META,
    )
    contract_sign(version=version, signer=world.manager_a, document_sha256=version.document_sha256, meta=META)
    version.refresh_from_db()
    return version


def active_contract(world: Any, **terms: Any) -> ContractVersion:
    return sign_both(world, send(world, draft(world, **terms)))
