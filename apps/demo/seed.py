"""The demo world of `manage.py seed_demo` and `make run`, built through the product's own services.

One agency with a member per role, three creators with accounts on Douyin, Bilibili and YouTube,
and a staff user. People whose role requires MFA get a TOTP authenticator with a fixed, printed
secret, so the demo shows the real sign-in flow.

Every figure of the demo comes the way a real one does, so each opens into its explanation:

1. each creator's contract is drafted from a built-in template, sent, and signed by the creator
   and the agency's manager (the contract services, with the template's split rules unchanged);
2. the brand deals the statement pays are recorded (the deals services), so its payments
   reconcile by order reference;
3. a statement in the canonical CSV format (`apps/demo/statements/`, a real file) is uploaded and
   run through the income pipeline (staging, chunks, reconciliation, recognition under the signed
   contracts into the ledger), synchronously, as `manage.py import_statement` does.

So every ledger entry of the demo agency is an income line's split, which the line's page explains
and `manage.py verify_ledger` re-computes. Nothing here writes a table directly.

Idempotent: people, contracts and deals are looked up before they are made, and the statement is
imported once (a finished import of the same file is left alone).

This module sits above every app (it may import any of them); apps import nothing from it.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from apps.accounts.models import User
from apps.agencies.models import Agency, Membership
from apps.agencies.services import agency_create, membership_set, representation_open
from apps.contracts.models import Contract, ContractTemplate, ContractVersion
from apps.contracts.services import (
    AuditMeta,
    contract_draft,
    contract_sign,
    contract_templates_install_builtin,
    contract_version_send,
)
from apps.creators.models import Creator
from apps.creators.services import creator_create, platform_account_add
from apps.deals.models import BrandDeal
from apps.deals.services import deal_create
from apps.income.models import StatementImport
from apps.income.pipeline import statement_import_create, statement_import_run

DEMO_PASSWORD = "fenrun-demo-2026"  # noqa: S105 - a published demo password, never used in production
DEMO_DOMAIN = "demo.fenrun.local"
STATEMENT = Path(__file__).resolve().parent / "statements" / "starlight-2026-11.csv"
CONTRACT_START = datetime.date(2026, 1, 1)
CONTRACT_END = datetime.date(2027, 12, 31)
DEMO_META = AuditMeta(ip_address=None, user_agent="seed_demo", reauthenticated_by="demo-seed")


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    totp_secret: str | None


@dataclass(frozen=True)
class DemoCreator:
    local: str  # the part of the email before @
    display_name: str
    legal_name: str
    creator_type: str
    platform: str
    account_id: str
    handle: str
    template: str  # the built-in contract template the creator signs


@dataclass(frozen=True)
class DemoDeal:
    creator: str  # DemoCreator.local
    brand: str
    order_ref: str
    fee_minor: int
    due_on: datetime.date


MEMBERS = [
    ("owner", "Wang Fang 王芳", Membership.Role.OWNER),
    ("manager", "Li Wei 李伟", Membership.Role.MANAGER),
    ("finance", "Zhao Min 赵敏", Membership.Role.FINANCE),
    ("viewer", "Chen Jie 陈杰", Membership.Role.VIEWER),
]
MFA_ROLES = (Membership.Role.OWNER, Membership.Role.FINANCE)
CREATORS = [
    DemoCreator(
        "creator1",
        "Xiaoyu 小鱼",
        "Liu Xiaoyu 刘小雨",
        Creator.Type.INDIVIDUAL,
        "douyin",
        "dy_88231",
        "@xiaoyu",
        "exclusive-management-zh",
    ),
    DemoCreator(
        "creator2",
        "Bamboo Studio 竹子工作室",
        "Chengdu Bamboo Studio Ltd.",
        Creator.Type.STUDIO,
        "bilibili",
        "bl_552",
        "竹子工作室",
        "exclusive-management-en",
    ),
    DemoCreator(
        "creator3",
        "Maple Eats",
        "Lin Feng 林枫",
        Creator.Type.INDIVIDUAL,
        "youtube",
        "UCx9f3",
        "@mapleeats",
        "non-exclusive-en",
    ),
]
# The brand deals the demo statement pays (its order_ref column names them).
DEALS = [
    DemoDeal("creator1", "Dragon Well Tea 龙井茶", "XT-ORDER-7731", 1_200_000, datetime.date(2026, 11, 3)),
    DemoDeal("creator1", "Lumi Cosmetics", "XT-ORDER-7802", 12_000_000, datetime.date(2026, 11, 15)),
    DemoDeal("creator2", "Panda Sneakers", "BL-ORDER-3120", 640_000, datetime.date(2026, 11, 12)),
    DemoDeal("creator3", "Maple Syrup Co.", "YT-ORDER-0042", 800_000, datetime.date(2026, 11, 18)),
]
AGENCY_NAME = "Starlight MCN 星光传媒"
STAFF_EMAIL = f"staff@{DEMO_DOMAIN}"


def demo_totp_secret(email: str) -> str:
    """A fixed base32 secret per demo email: re-seeding keeps authenticator apps working."""
    return base64.b32encode(hashlib.sha256(f"fenrun-demo:{email}".encode()).digest()[:20]).decode()


def demo_logins() -> list[DemoLogin]:
    """The demo logins, as `make run` prints them."""
    logins = [
        DemoLogin(
            f"{local}@{DEMO_DOMAIN}",
            f"agency {role}",
            demo_totp_secret(f"{local}@{DEMO_DOMAIN}") if role in MFA_ROLES else None,
        )
        for local, _name, role in MEMBERS
    ]
    logins += [DemoLogin(f"{c.local}@{DEMO_DOMAIN}", f"creator ({c.platform})", None) for c in CREATORS]
    logins.append(DemoLogin(STAFF_EMAIL, "staff (Django admin)", demo_totp_secret(STAFF_EMAIL)))
    return logins


def demo_seed() -> list[DemoLogin]:
    """Create the demo world if missing; return the logins. Safe to run any number of times."""
    with transaction.atomic():
        agency, manager = _people()
        creators = _creators(agency)
        _contracts(agency=agency, manager=manager, creators=creators)
        _deals(agency=agency, manager=manager, creators=creators)
    # The pipeline owns its transactions (one per step), as it does under a worker.
    _statement(agency=agency, actor=manager)
    return demo_logins()


# --- people ---------------------------------------------------------------------------------------


def _user(email: str, name: str, *, is_staff: bool = False) -> User:
    from allauth.account.models import EmailAddress

    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email, DEMO_PASSWORD, name=name, is_staff=is_staff, is_superuser=is_staff
        )
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def _enrol_totp(user: User) -> str:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    secret = demo_totp_secret(user.email)
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, secret)
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists():
        RecoveryCodes.activate(user)
    return secret


def _people() -> tuple[Agency, User]:
    """The agency, a member per role, and the staff user; returns the agency and its manager."""
    owner = _user(f"owner@{DEMO_DOMAIN}", MEMBERS[0][1])
    agency = Agency.objects.filter(name=AGENCY_NAME).first() or agency_create(
        owner=owner, name=AGENCY_NAME, legal_name="Hangzhou Starlight Culture Media Co., Ltd."
    )
    users = {}
    for local, name, role in MEMBERS:
        users[role] = user = _user(f"{local}@{DEMO_DOMAIN}", name)
        membership_set(agency=agency, user=user, role=role)
        if role in MFA_ROLES:
            _enrol_totp(user)
    _enrol_totp(_user(STAFF_EMAIL, "Fenrun Staff", is_staff=True))
    return agency, users[Membership.Role.MANAGER]


def _creators(agency: Agency) -> dict[str, Creator]:
    """The creators, each registering their own platform account, represented by the agency."""
    creators = {}
    for demo in CREATORS:
        user = _user(f"{demo.local}@{DEMO_DOMAIN}", demo.display_name)
        creator = Creator.objects.filter(user=user).first() or creator_create(
            user=user,
            display_name=demo.display_name,
            legal_name=demo.legal_name,
            creator_type=demo.creator_type,
        )
        if not creator.platform_accounts.filter(platform=demo.platform, account_id=demo.account_id).exists():
            # The creator adds their own account: a platform account is the creator's.
            platform_account_add(
                creator=creator,
                actor=user,
                platform=demo.platform,
                account_id=demo.account_id,
                handle=demo.handle,
            )
        representation_open(agency=agency, creator=creator, started_on=CONTRACT_START)
        creators[demo.local] = creator
    return creators


# --- contracts and deals ---------------------------------------------------------------------------


def _contracts(*, agency: Agency, manager: User, creators: dict[str, Creator]) -> list[ContractVersion]:
    """Draft, send and sign (the creator, then the manager) one contract per creator lacking one.

    The split rules are the template's own: what recognition applies is what both sides signed.
    """
    contract_templates_install_builtin()  # a flushed test database has lost the migration's rows
    signed = []
    for demo in CREATORS:
        creator = creators[demo.local]
        if Contract.objects.filter(
            agency=agency, creator=creator, versions__status__in=ContractVersion.BINDING
        ).exists():
            continue
        template = ContractTemplate.objects.get(agency__isnull=True, key=demo.template)
        version = contract_draft(
            actor=manager,
            agency=agency,
            creator=creator,
            template=template,
            start_date=CONTRACT_START,
            end_date=CONTRACT_END,
        )
        version = contract_version_send(version=version, actor=manager)
        for signer in (creator.user, manager):
            contract_sign(
                version=version, signer=signer, document_sha256=version.document_sha256, meta=DEMO_META
            )
        version.refresh_from_db()
        signed.append(version)
    return signed


def _deals(*, agency: Agency, manager: User, creators: dict[str, Creator]) -> list[BrandDeal]:
    """Record the brand deals the statement pays, once each (the order reference is their key)."""
    made = []
    for demo in DEALS:
        if BrandDeal.objects.filter(agency=agency, order_ref=demo.order_ref).exists():
            continue
        creator = creators[demo.creator]
        platform = next(c.platform for c in CREATORS if c.local == demo.creator)
        made.append(
            deal_create(
                actor=manager,
                agency=agency,
                creator=creator,
                brand=demo.brand,
                platform=platform,
                fee_minor=demo.fee_minor,
                currency="CNY",
                due_on=demo.due_on,
                order_ref=demo.order_ref,
            )
        )
    return made


# --- the statement -------------------------------------------------------------------------------


def _statement(*, agency: Agency, actor: Any) -> StatementImport:
    """Import the demo statement through the income pipeline, run here and now (once)."""
    earlier = (
        StatementImport.objects.filter(agency=agency, original_name=STATEMENT.name)
        .exclude(status=StatementImport.Status.FAILED)
        .order_by("pk")
        .first()
    )
    if earlier is None:
        earlier = statement_import_create(
            agency=agency,
            actor=actor,
            file=SimpleUploadedFile(STATEMENT.name, STATEMENT.read_bytes(), content_type="text/csv"),
            enqueue=False,
        )
    # A finished import is left as it is; one interrupted by a crash is carried to its end.
    return statement_import_run(statement_import=earlier)
