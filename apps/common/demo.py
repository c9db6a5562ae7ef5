"""The demo world of `manage.py seed_demo` and `make run`: idempotent, printed logins.

One agency with a member per role, three creators with accounts on Douyin, Bilibili and
YouTube, and a staff user. People whose role requires MFA get a TOTP authenticator with a
fixed, printed secret, so the demo shows the real sign-in flow.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from dataclasses import dataclass

from django.db import transaction

from apps.accounts.models import User
from apps.agencies.models import Agency, Membership
from apps.agencies.services import agency_create, membership_set, representation_open
from apps.contracts.demo import contracts_demo_seed
from apps.creators.models import Creator
from apps.creators.services import creator_create, platform_account_add
from apps.ledger.demo import ledger_demo_seed

DEMO_PASSWORD = "fenrun-demo-2026"  # noqa: S105 - a published demo password, never used in production
DEMO_DOMAIN = "demo.fenrun.local"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    totp_secret: str | None


def demo_totp_secret(email: str) -> str:
    """A fixed base32 secret per demo email: re-seeding keeps authenticator apps working."""
    return base64.b32encode(hashlib.sha256(f"fenrun-demo:{email}".encode()).digest()[:20]).decode()


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


MEMBERS = [
    ("owner", "Wang Fang 王芳", Membership.Role.OWNER),
    ("manager", "Li Wei 李伟", Membership.Role.MANAGER),
    ("finance", "Zhao Min 赵敏", Membership.Role.FINANCE),
    ("viewer", "Chen Jie 陈杰", Membership.Role.VIEWER),
]
MFA_ROLES = (Membership.Role.OWNER, Membership.Role.FINANCE)
CREATORS = [
    (
        "creator1",
        "Xiaoyu 小鱼",
        "Liu Xiaoyu 刘小雨",
        Creator.Type.INDIVIDUAL,
        "douyin",
        "dy_88231",
        "@xiaoyu",
    ),
    (
        "creator2",
        "Bamboo Studio 竹子工作室",
        "Chengdu Bamboo Studio Ltd.",
        Creator.Type.STUDIO,
        "bilibili",
        "bl_552",
        "竹子工作室",
    ),
    ("creator3", "Maple Eats", "Lin Feng 林枫", Creator.Type.INDIVIDUAL, "youtube", "UCx9f3", "@mapleeats"),
]
AGENCY_NAME = "Starlight MCN 星光传媒"
STAFF_EMAIL = f"staff@{DEMO_DOMAIN}"


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
    logins += [DemoLogin(f"{c[0]}@{DEMO_DOMAIN}", f"creator ({c[4]})", None) for c in CREATORS]
    logins.append(DemoLogin(STAFF_EMAIL, "staff (Django admin)", demo_totp_secret(STAFF_EMAIL)))
    return logins


@transaction.atomic
def demo_seed() -> list[DemoLogin]:
    """Create the demo world if missing; return the logins. Safe to run any number of times."""
    owner = _user(f"owner@{DEMO_DOMAIN}", MEMBERS[0][1])
    agency = Agency.objects.filter(name=AGENCY_NAME).first() or agency_create(
        owner=owner, name=AGENCY_NAME, legal_name="Hangzhou Starlight Culture Media Co., Ltd."
    )
    for local, name, role in MEMBERS:
        user = _user(f"{local}@{DEMO_DOMAIN}", name)
        membership_set(agency=agency, user=user, role=role)
        if role in MFA_ROLES:
            _enrol_totp(user)

    for local, display, legal, kind, platform, account_id, handle in CREATORS:
        user = _user(f"{local}@{DEMO_DOMAIN}", display)
        creator = Creator.objects.filter(user=user).first() or creator_create(
            user=user, display_name=display, legal_name=legal, creator_type=kind
        )
        if not creator.platform_accounts.filter(platform=platform, account_id=account_id).exists():
            platform_account_add(
                creator=creator, actor=None, platform=platform, account_id=account_id, handle=handle
            )
        representation_open(agency=agency, creator=creator, started_on=datetime.date(2026, 1, 1))

    _enrol_totp(_user(STAFF_EMAIL, "Fenrun Staff", is_staff=True))
    ledger_demo_seed(agency=agency, author=owner)
    contracts_demo_seed(
        agency=agency, creators=list(Creator.objects.filter(representations__agency=agency).distinct())
    )
    return demo_logins()
