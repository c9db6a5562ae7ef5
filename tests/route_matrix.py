"""The tenancy matrix generated from the URL conf and the OpenAPI schema (issue 16, `make attack`).

Every route of config.urls (HTML pages and API paths, walked from the resolver) is requested by
every role with its path parameters filled with objects of ANOTHER tenant: agency A's (the demo
agency of `seed_demo`, "Starlight") for agency B's people, a creator nobody represents, staff and
anonymous; creator 1's for creator 2 of the same agency; agency B's for agency A's people. A
route whose parameters no rule below can fill fails the matrix as "unlisted" until a rule or an
entry of EXCLUDED (with its reason) says how: a new route cannot be forgotten.

What counts as a finding:
- any 5xx, or an exception raised by the view (its traceback is kept);
- a 2xx (or a redirect into the victim's object) for a role that is not the object's tenant;
- a 2xx whose body names a victim object (its public id, the victim agency's name) to a role
  outside that tenant, on any route (lists included).

Used by bench/attack/run.py (every role, GET and, for outsiders, POST/PUT/PATCH/DELETE) and by
tests/test_tenancy_generated.py (a fast subset in `make test`).
"""

from __future__ import annotations

import datetime
import re
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# --- the routes ----------------------------------------------------------------------------------

PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    pattern: str  # "contracts/v/<uuid:public_id>/"
    name: str  # "contracts:version"
    view: str  # dotted path of the callback

    @property
    def params(self) -> list[tuple[str, str]]:
        return [(m["conv"] or "str", m["name"]) for m in PARAM.finditer(self.pattern)]

    @property
    def is_api(self) -> bool:
        return self.pattern.startswith("api/")

    def fill(self, values: dict[str, str]) -> str:
        return "/" + PARAM.sub(lambda m: values[m["name"]], self.pattern)


def routes() -> list[Route]:
    """Every URL pattern of the project, walked from the root resolver (includes resolved)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found: list[Route] = []

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> None:
        for pattern in resolver.url_patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = ":".join(p for p in (namespace, pattern.namespace or "") if p)
                walk(pattern, text, inner)
            elif isinstance(pattern, URLPattern):
                name = ":".join(p for p in (namespace, pattern.name or "") if p)
                found.append(Route(text.lstrip("^").rstrip("$").replace("\\Z", ""), name, pattern.lookup_str))

    walk(get_resolver(), "", "")
    return found


def schema_operations() -> dict[str, list[str]]:
    """{"/api/v1/deals/{public_id}/": ["get", "patch"], …} from the schema the project serves
    (drf-spectacular's generator, as /api/schema/ builds it)."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    methods = {"get", "post", "put", "patch", "delete"}
    return {path: sorted(m for m in item if m in methods) for path, item in schema["paths"].items()}


def _schema_path(route: Route) -> str:
    return "/" + PARAM.sub(lambda m: "{" + m["name"] + "}", route.pattern)


# --- how path parameters are filled --------------------------------------------------------------

# (regex on the pattern, {parameter: object kind}); the first rule that matches wins. The API's
# paths are matched without their "api/v1/" prefix, so a page and its API share one rule.
RULES: list[tuple[str, dict[str, str]]] = [
    (r"^(me/)?tokens/<\w+:public_id>/", {"public_id": "token"}),
    (r"^creators/accounts/<uuid:public_id>/", {"public_id": "platform_account"}),
    (r"^platform-accounts/<uuid:public_id>/", {"public_id": "platform_account"}),
    (r"^creators/<uuid:public_id>/", {"public_id": "creator"}),
    (r"^agencies/<uuid:public_id>/", {"public_id": "agency"}),
    (r"^contracts/<uuid:public_id>/", {"public_id": "contract"}),
    (r"^contracts/(v|versions)/<uuid:public_id>/", {"public_id": "contract_version"}),
    (r"^deals/exceptions/<uuid:public_id>/", {"public_id": "exception_line"}),
    (r"^deals/deliverables/<uuid:public_id>/", {"public_id": "deliverable"}),
    (r"^deals/expenses/<uuid:public_id>/", {"public_id": "expense"}),
    (r"^deals/<uuid:public_id>/", {"public_id": "deal"}),
    (r"^income/templates/imports/<uuid:import_id>/", {"import_id": "statement_import"}),
    (
        r"^income/templates/<uuid:public_id>/versions/<int:number>/",
        {"public_id": "template", "number": "one"},
    ),
    (r"^income/templates/<uuid:public_id>/", {"public_id": "template"}),
    (r"^income/imports/<uuid:public_id>/", {"public_id": "statement_import"}),
    (r"^income/lines/<uuid:public_id>/", {"public_id": "income_line"}),
    (r"^ledger/entries/<uuid:public_id>/", {"public_id": "journal_entry"}),
    (r"^periods/<uuid:agency>/<str:period>/", {"agency": "agency", "period": "period"}),
    (r"^statements/<uuid:public_id>/", {"public_id": "statement"}),
    (r"^payouts/(batches/)?<uuid:public_id>/", {"public_id": "payout_batch"}),
    (r"^payouts/items/<uuid:public_id>/", {"public_id": "payout_item"}),
    (
        r"^agency/<uuid:agency>/creators/<uuid:creator>/",
        {"agency": "agency", "creator": "creator"},
    ),
    (
        r"^agency/<uuid:agency>/invitations/<uuid:invitation>/",
        {"agency": "agency", "invitation": "invitation"},
    ),
    (r"^agency/<uuid:agency>/", {"agency": "agency"}),
    (r"^invitations/<uuid:public_id>/", {"public_id": "invitation"}),
    (r"^disputes/open/line/<uuid:public_id>/", {"public_id": "income_line"}),
    (r"^disputes/open/statement/<uuid:public_id>/", {"public_id": "statement"}),
    (r"^disputes/files/<uuid:public_id>/", {"public_id": "dispute_file"}),
    (r"^disputes/<uuid:public_id>/", {"public_id": "dispute"}),
    (r"^evidence/<uuid:public_id>/bundle/", {"public_id": "agency"}),
    (r"^evidence/builds/<uuid:public_id>/", {"public_id": "evidence_build"}),
]

# Routes the matrix does not fill from a tenant's objects, each with its reason. A family is a
# prefix; its routes are still requested (parameters filled with junk) for "no 5xx" and, for the
# admin, "non-staff are sent to the login".
EXCLUDED_FAMILIES: dict[str, str] = {
    "admin/": "Django admin: staff only by AdminSite.admin_view; staff is the operator and reads "
    "every tenant by design. Non-staff must be redirected to the login (checked).",
    "accounts/": "allauth's sign-in, sign-up, e-mail, password and MFA flows: the user's own "
    "account, no tenant object; requested for no 5xx.",
}
EXCLUDED: dict[str, str] = {
    "splits/docs/<slug:name>/": "public documentation of the split rules (no tenant data); "
    "filled with a real document name for no 5xx.",
    "splits/docs/<slug:name>.md": "public documentation source, as above.",
    "invitations/t/<str:token>/": "the token is the capability (a secret link); filled with a "
    "random token: must answer 404 to everyone, never 5xx.",
    "invitations/t/<str:token>/accept/": "as invitations/t/<token>/.",
    "invitations/t/<str:token>/decline/": "as invitations/t/<token>/.",
}
# Filled with a fixed value (not a tenant's object).
FIXED = {"one": "1", "splits_doc": "rules", "token_capability": "x" * 43}
# Routes with no parameter whose answer may be 2xx to anyone (public pages): still checked for
# the victim's names in the body.
PUBLIC_PATHS = {"/", "/health/"}


def rule_for(route: Route) -> dict[str, str] | None:
    text = route.pattern.removeprefix("api/v1/")
    for regex, kinds in RULES:
        if re.match(regex, text) and {name for _conv, name in route.params} <= set(kinds):
            return {name: kinds[name] for _conv, name in route.params}
    return None


def family_of(route: Route) -> str | None:
    return next((f for f in EXCLUDED_FAMILIES if route.pattern.startswith(f)), None)


def unlisted_routes(all_routes: list[Route]) -> list[str]:
    """Routes with parameters that no rule fills and nothing lists: the matrix's own failures."""
    return [
        r.pattern
        for r in all_routes
        if r.params and family_of(r) is None and r.pattern not in EXCLUDED and rule_for(r) is None
    ]


def schema_mismatches(all_routes: list[Route], operations: dict[str, list[str]]) -> list[str]:
    """API routes missing from the schema and schema paths no route serves (the schema's own
    routes aside)."""
    served = {_schema_path(r) for r in all_routes if r.pattern.startswith("api/v1/")}
    own = {"/api/v1/schema/", "/api/v1/splits/schema/"}
    problems = [f"in the schema, no route: {p}" for p in sorted(set(operations) - served)]
    problems += [f"a route, not in the schema: {p}" for p in sorted(served - set(operations) - own)]
    return problems


# --- the world -----------------------------------------------------------------------------------


@dataclass
class Tenant:
    """One tenant's objects by kind (public ids as strings) and the texts only it may see."""

    name: str
    objects: dict[str, str] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)


@dataclass
class AttackWorld:
    users: dict[str, Any]  # role -> User (None: anonymous)
    agency_a: Tenant
    creator_1: Tenant  # creator 1's own objects (a subset of agency A's)
    agency_b: Tenant
    agency_a_for_creator_2: Tenant  # agency A less what creator 2 may know (their own, the agency)
    missing: dict[str, str] = field(default_factory=dict)  # kind -> why no object was made

    def victim_for(self, role: str) -> tuple[Tenant, bool]:
        """The tenant whose objects `role` must not see, and whether the role is an outsider
        whose every 2xx on a filled route is a finding (False: agency A's own staff on agency A's
        objects where agency B has none, only no-5xx)."""
        if role in OUTSIDERS_OF_A:
            return self.agency_a, True
        if role == "creator_2":
            return self.creator_1, True
        return self.agency_b, True


ROLES = [
    "owner_a",
    "manager_a",
    "finance_a",
    "viewer_a",
    "creator_1",
    "creator_2",
    "owner_b",
    "manager_b",
    "finance_b",
    "viewer_b",
    "creator_b",
    "loner",
    "staff",
    "anonymous",
]
OUTSIDERS_OF_A = {"owner_b", "manager_b", "finance_b", "viewer_b", "creator_b", "loner", "staff", "anonymous"}
AGENCY_A_STAFF = {"owner_a", "manager_a", "finance_a", "viewer_a"}
# Kinds a creator owns: creator 2 must not reach creator 1's. (Agency-level objects such as the
# agency itself or its imports are agency A's staff's, and creator 2 is checked on them too.)
CREATOR_KINDS = {
    "token",
    "platform_account",
    "creator",
    "contract",
    "contract_version",
    "deal",
    "deliverable",
    "expense",
    "income_line",
    "journal_entry",
    "statement",
    "payout_item",
    "dispute",
    "dispute_file",
    "evidence_build",
}
PERIOD = "2026-11"


def _try(missing: dict[str, str], kind: str, make: Callable[[], Any]) -> Any:
    try:
        return make()
    except Exception as error:  # a kind the world could not make is reported, not fatal
        missing[kind] = f"{type(error).__name__}: {error}"[:300]
        return None


def build_world() -> AttackWorld:
    """seed_demo's agency (A, the victim) with one object of every kind, and agency B with its
    roles, creator and a few objects; a loner creator; the demo's staff user."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.accounts.models import User
    from apps.accounts.services import access_token_create
    from apps.agencies.models import Agency
    from apps.agencies.services import agency_create, membership_set
    from apps.creators.models import Creator
    from apps.deals.models import BrandDeal
    from apps.deals.services import deal_create, deal_expense_submit, deliverable_add
    from apps.demo.seed import AGENCY_NAME, DEMO_DOMAIN, STAFF_EMAIL, demo_seed
    from apps.income.models import IncomeLine, StatementImport
    from apps.income.pipeline import statement_import_create, statement_import_run

    demo_seed()
    missing: dict[str, str] = {}
    agency_a = Agency.objects.get(name=AGENCY_NAME)

    def user(email: str, **extra: Any) -> User:
        found = User.objects.filter(email=email).first()
        return found or User.objects.create_user(email, "attack-pass-2026", name=email.split("@")[0], **extra)

    def creator_of(u: User, name: str) -> Creator:
        from apps.creators.services import creator_create, platform_account_add

        found = Creator.objects.filter(user=u).first()
        if found:
            return found
        made = creator_create(user=u, display_name=name, legal_name=f"{name} legal")
        platform_account_add(creator=made, actor=u, platform="douyin", account_id=f"dy_{name.lower()}")
        return made

    users: dict[str, Any] = {
        "owner_a": User.objects.get(email=f"owner@{DEMO_DOMAIN}"),
        "manager_a": User.objects.get(email=f"manager@{DEMO_DOMAIN}"),
        "finance_a": User.objects.get(email=f"finance@{DEMO_DOMAIN}"),
        "viewer_a": User.objects.get(email=f"viewer@{DEMO_DOMAIN}"),
        "creator_1": User.objects.get(email=f"creator1@{DEMO_DOMAIN}"),
        "creator_2": User.objects.get(email=f"creator2@{DEMO_DOMAIN}"),
        "staff": User.objects.get(email=STAFF_EMAIL),
        "anonymous": None,
    }
    owner_b = user("owner.b@attack.test")
    agency_b = Agency.objects.filter(name="Attack B Agency").first() or agency_create(
        owner=owner_b, name="Attack B Agency", legal_name="Attack B Agency Ltd."
    )
    users["owner_b"] = owner_b
    for role in ("manager", "finance", "viewer"):
        users[f"{role}_b"] = user(f"{role}.b@attack.test")
        membership_set(agency=agency_b, user=users[f"{role}_b"], role=role)
    from apps.demo.seed import _enrol_totp

    for role in ("owner_b", "finance_b"):  # their roles require a second factor: they have one
        _enrol_totp(users[role])
    creator_b = creator_of(user("creator.b@attack.test"), "AttackB")
    from apps.agencies.services import representation_open

    if not creator_b.representations.filter(agency=agency_b).exists():
        representation_open(agency=agency_b, creator=creator_b, started_on=datetime.date(2026, 1, 1))
    users["creator_b"] = creator_b.user
    users["loner"] = creator_of(user("loner@attack.test"), "AttackLoner").user

    creator_1 = Creator.objects.get(user=users["creator_1"])
    manager_a, owner_a = users["manager_a"], users["owner_a"]
    deal_a = BrandDeal.objects.filter(agency=agency_a, creator=creator_1).order_by("pk").first()
    assert deal_a is not None

    # Agency A's extra objects, each through its service.
    _try(missing, "token", lambda: access_token_create(user=creator_1.user, name="attack"))
    _try(
        missing,
        "deliverable",
        lambda: (
            deal_a.deliverables.first()
            or deliverable_add(
                deal=deal_a, actor=manager_a, description="Video", due_on=datetime.date(2026, 12, 1)
            )
        ),
    )
    _try(
        missing,
        "expense",
        lambda: (
            deal_a.expenses.first()
            or deal_expense_submit(
                deal=deal_a,
                actor=manager_a,
                description="Studio",
                amount_minor=100_00,
                receipt=SimpleUploadedFile("r.pdf", b"%PDF-1.7\n%attack\n", content_type="application/pdf"),
            )
        ),
    )

    def template() -> Any:
        from apps.importmaps.models import ImportTemplate
        from tests.importmaps.conftest import HEADER, MAPPING

        found = ImportTemplate.objects.filter(agency=agency_a).first()
        if found:
            return found
        from apps.importmaps.services import import_template_create

        return import_template_create(
            agency=agency_a,
            actor=manager_a,
            name="Attack template",
            header=HEADER,
            header_row=2,
            mapping=MAPPING,
        )

    _try(missing, "template", template)

    def invitation() -> Any:
        from apps.invitations.models import Invitation
        from apps.invitations.services import invitation_create_for_creator

        found = Invitation.objects.filter(agency=agency_a).first()
        if found:
            return found
        return invitation_create_for_creator(
            agency=agency_a, actor=manager_a, base_url="http://testserver", email="invitee@attack.test"
        )

    _try(missing, "invitation", invitation)

    def dispute() -> Any:
        from apps.disputes.models import Dispute
        from apps.disputes.services import dispute_open

        found = Dispute.objects.filter(creator=creator_1).first()
        if found:
            return found
        line = IncomeLine.objects.filter(agency=agency_a, creator=creator_1, status="recognized").first()
        line = line or IncomeLine.objects.filter(agency=agency_a, creator=creator_1).first()
        return dispute_open(
            actor=creator_1.user,
            income_line=line,
            message="My share looks wrong.",
            files=[SimpleUploadedFile("s.pdf", b"%PDF-1.7\n%dispute\n", content_type="application/pdf")],
        )

    _try(missing, "dispute", dispute)

    def statements() -> Any:
        from apps.income.models import ClosedPeriod
        from apps.recognition.period_close import period_close
        from apps.statements.models import Statement
        from apps.statements.services import statement_publish, statements_draft

        if not ClosedPeriod.objects.filter(agency=agency_a, period=PERIOD).exists():
            period_close(agency=agency_a, period=PERIOD, actor=owner_a)
        statements_draft(agency=agency_a, period=PERIOD, actor=owner_a)
        statement = Statement.objects.filter(agency=agency_a, creator=creator_1).order_by("pk").first()
        if statement is not None and statement.status == "draft":
            statement_publish(statement=statement, actor=owner_a)
        return statement

    _try(missing, "statement", statements)

    def payouts() -> Any:
        from apps.payouts.models import PayoutBatch
        from apps.payouts.services import payout_batch_prepare
        from tests.payouts.conftest import give_payout_details

        found = PayoutBatch.objects.filter(agency=agency_a).first()
        if found:
            return found
        for creator in Creator.objects.filter(representations__agency=agency_a):
            give_payout_details(creator)
        return payout_batch_prepare(agency=agency_a, actor=users["finance_a"])

    _try(missing, "payout_batch", payouts)

    def evidence() -> Any:
        from apps.evidence.models import EvidenceBundleBuild
        from apps.evidence.services import evidence_bundle_request

        found = EvidenceBundleBuild.objects.filter(creator=creator_1).first()
        return found or evidence_bundle_request(creator=creator_1, agency=agency_a, actor=creator_1.user)

    _try(missing, "evidence_build", evidence)

    def exception_line() -> Any:
        found = IncomeLine.objects.filter(agency=agency_a, status=IncomeLine.Status.EXCEPTION).first()
        if found:
            return found
        from tests.deals.conftest import exception_line as make

        return make(agency_a, creator_1)

    _try(missing, "exception_line", exception_line)

    # Agency B's few objects: its own import, deal and token (agency A's people must not reach them).
    def import_b() -> Any:
        found = StatementImport.objects.filter(agency=agency_b).first()
        if found:
            return found
        data = (
            b"external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
            b"ATTACK-B-1,2026-11-03T10:00:00+08:00,douyin,dy_attackb,live_gifts,88.00,CNY,,,B gifts\n"
        )
        made = statement_import_create(
            agency=agency_b, actor=owner_b, file=SimpleUploadedFile("b.csv", data), enqueue=False
        )
        return statement_import_run(statement_import=made)

    _try(missing, "agency_b:statement_import", import_b)
    _try(
        missing,
        "agency_b:deal",
        lambda: (
            BrandDeal.objects.filter(agency=agency_b).first()
            or deal_create(
                actor=owner_b,
                agency=agency_b,
                creator=creator_b,
                brand="B Tea",
                platform="douyin",
                fee_minor=1_000_00,
                currency="CNY",
                due_on=datetime.date(2026, 12, 1),
                order_ref="ATTACK-B-ORDER",
            )
        ),
    )
    _try(missing, "agency_b:token", lambda: access_token_create(user=creator_b.user, name="attack b"))

    tenant_a = _tenant("agency A", agency_a=agency_a, creator=None)
    tenant_c1 = _tenant("creator 1", agency_a=agency_a, creator=creator_1)
    tenant_b = _tenant("agency B", agency_a=agency_b, creator=None)
    tenant_a.secrets |= {AGENCY_NAME.split(" ")[0] + " MCN"}
    tenant_b.secrets |= {"Attack B Agency"}
    creator_2 = Creator.objects.get(user=users["creator_2"])
    own = _tenant("creator 2", agency_a=agency_a, creator=creator_2).secrets
    for_creator_2 = Tenant(
        "agency A (not creator 2's)", secrets=tenant_a.secrets - own - {str(agency_a.public_id)}
    )
    for_creator_2.secrets -= {AGENCY_NAME.split(" ")[0] + " MCN"}
    return AttackWorld(
        users=users,
        agency_a=tenant_a,
        creator_1=tenant_c1,
        agency_b=tenant_b,
        agency_a_for_creator_2=for_creator_2,
        missing=missing,
    )


def _tenant(name: str, *, agency_a: Any, creator: Any) -> Tenant:
    """The first object of each kind of an agency (or of one of its creators) and every public id
    the agency's (creator's) rows hold: a body naming one of them leaks to an outsider."""
    from django.apps import apps

    from apps.accounts.models import PersonalAccessToken
    from apps.contracts.models import Contract, ContractVersion
    from apps.creators.models import Creator, PlatformAccount
    from apps.deals.models import BrandDeal, DealExpense, Deliverable
    from apps.disputes.models import Dispute
    from apps.income.models import IncomeLine, StatementImport
    from apps.ledger.models import JournalEntry
    from apps.statements.models import Statement

    tenant = Tenant(name)
    creators = (
        Creator.objects.filter(pk=creator.pk)
        if creator is not None
        else Creator.objects.filter(representations__agency=agency_a)
    )
    creator_ids = list(creators.values_list("pk", flat=True))
    user_ids = list(creators.values_list("user_id", flat=True))

    def first(kind: str, queryset: Any) -> None:
        row = queryset.order_by("pk").values_list("public_id", flat=True).first()
        if row is not None:
            tenant.objects[kind] = str(row)

    first("creator", creators)
    first("platform_account", PlatformAccount.objects.filter(creator_id__in=creator_ids))
    first("token", PersonalAccessToken.objects.filter(user_id__in=user_ids))
    first("contract", Contract.objects.filter(agency=agency_a, creator_id__in=creator_ids))
    first(
        "contract_version",
        ContractVersion.objects.filter(contract__agency=agency_a, contract__creator_id__in=creator_ids),
    )
    first("deal", BrandDeal.objects.filter(agency=agency_a, creator_id__in=creator_ids))
    first("deliverable", Deliverable.objects.filter(deal__agency=agency_a, deal__creator_id__in=creator_ids))
    first("expense", DealExpense.objects.filter(deal__agency=agency_a, deal__creator_id__in=creator_ids))
    first("income_line", IncomeLine.objects.filter(agency=agency_a, creator_id__in=creator_ids))
    if creator is None:  # an exception line has no creator yet: the agency's
        first(
            "exception_line", IncomeLine.objects.filter(agency=agency_a, status=IncomeLine.Status.EXCEPTION)
        )
    first("journal_entry", JournalEntry.objects.filter(agency=agency_a, creator_id__in=creator_ids))
    first("statement", Statement.objects.filter(agency=agency_a, creator_id__in=creator_ids))
    first("dispute", Dispute.objects.filter(agency=agency_a, creator_id__in=creator_ids))
    for model_label, kind, filters in (
        ("disputes.DisputeAttachment", "dispute_file", {"message__dispute__creator_id__in": creator_ids}),
        (
            "evidence.EvidenceBundleBuild",
            "evidence_build",
            {"creator_id__in": creator_ids, "agency": agency_a},
        ),
        ("payouts.PayoutItem", "payout_item", {"creator_id__in": creator_ids, "batch__agency": agency_a}),
    ):
        first(kind, apps.get_model(model_label).objects.filter(**filters))
    if creator is None:
        tenant.objects["agency"] = str(agency_a.public_id)
        tenant.objects["period"] = PERIOD
        first("statement_import", StatementImport.objects.filter(agency=agency_a))
        for model_label, kind in (
            ("importmaps.ImportTemplate", "template"),
            ("invitations.Invitation", "invitation"),
            ("payouts.PayoutBatch", "payout_batch"),
        ):
            first(kind, apps.get_model(model_label).objects.filter(agency=agency_a))
    # Every public id of the tenant's rows, over the models that have one.
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        if "public_id" not in names:
            continue
        if creator is not None:
            if "creator" in names:
                rows = model.objects.filter(creator_id__in=creator_ids)
            elif model is Creator:
                rows = model.objects.filter(pk__in=creator_ids)
            else:
                continue
        elif "agency" in names:
            rows = model.objects.filter(agency=agency_a)
        elif model._meta.label == "agencies.Agency":
            rows = model.objects.filter(pk=agency_a.pk)
        else:
            continue
        tenant.secrets |= {str(p) for p in rows.values_list("public_id", flat=True)[:2000]}
    return tenant


# --- the requests --------------------------------------------------------------------------------


@dataclass
class Outcome:
    checked: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    by_role: dict[str, dict[int, int]] = field(default_factory=dict)
    routes: int = 0
    roles: int = 0
    findings: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    unfilled: dict[str, str] = field(default_factory=dict)  # pattern -> why it was probed with junk
    seconds: float = 0.0


def client_for(user: Any) -> Any:
    from django.test import Client

    client = Client(raise_request_exception=True)
    if user is not None:
        client.force_login(user)
        session = client.session
        session["fenrun_mfa_ok"] = time.time()  # passed the MFA check just now (tested on its own)
        session.save()
    return client


def _fill(route: Route, tenant: Tenant, kinds: dict[str, str]) -> tuple[str, bool] | None:
    """The route's URL with `tenant`'s objects, and whether every parameter is the tenant's."""
    values: dict[str, str] = {}
    for name, kind in kinds.items():
        if kind in FIXED:
            values[name] = FIXED[kind]
        elif kind in tenant.objects:
            values[name] = tenant.objects[kind]
        else:
            return None
    return route.fill(values), any(k not in FIXED for k in kinds.values())


def _junk_fill(route: Route) -> str:
    junk = {"uuid": str(uuid.UUID(int=0x5EED)), "int": "1", "slug": "rules", "path": "1", "str": "x" * 43}
    values = {name: junk.get(conv, "x") for conv, name in route.params}
    if "app_label" in values:
        values["app_label"] = "accounts"
    return route.fill(values)


def plan(
    world: AttackWorld, all_routes: list[Route], roles: list[str], *, writes: bool, families: bool
) -> Iterator[tuple[str, str, str, str, str, Tenant]]:
    """(role, method, url, expectation, route pattern, victim) for every request of the matrix.

    expectation: "denied" (no 2xx, no redirect into the object), "clean" (a 2xx may come, but
    naming nothing of the victim), "login" (non-staff on the admin: a redirect), "no5xx"."""
    operations = schema_operations()
    nobody = Tenant("nobody")
    for route in all_routes:
        family = family_of(route)
        if family is not None:
            if not families:
                continue
            url = _junk_fill(route) if route.params else route.fill({})
            for role in roles:
                if family == "admin/":
                    if role != "staff":
                        yield role, "GET", url, "login", route.pattern, nobody
                elif role in ("anonymous", "creator_b"):
                    yield role, "GET", url, "no5xx", route.pattern, nobody
            continue
        if not route.params:
            for role in roles:
                yield role, "GET", route.fill({}), "clean", route.pattern, world.victim_for(role)[0]
            continue
        if route.pattern in EXCLUDED:
            url = _junk_fill(route)
            for role in roles:
                yield role, "GET", url, "no5xx", route.pattern, nobody
            continue
        kinds = rule_for(route)
        if kinds is None:
            continue  # reported by unlisted_routes()
        methods = ["GET"]
        if writes:
            documented = operations.get(_schema_path(route)) if route.is_api else None
            if route.is_api:
                methods += [m.upper() for m in documented or [] if m != "get"]
            else:
                methods.append("POST")
        for role in roles:
            victim, _strict = world.victim_for(role)
            expectation = "denied"
            if role == "creator_2" and not set(kinds.values()) & CREATOR_KINDS:
                # Agency-level objects of creator 2's own agency: whatever the answer, it must
                # name nothing of agency A that is not creator 2's.
                victim, expectation = world.agency_a_for_creator_2, "clean"
                filled = _fill(route, world.agency_a, kinds)
            else:
                filled = _fill(route, victim, kinds)
            if filled is None and role in AGENCY_A_STAFF:
                # Agency B has no object of this kind: agency A's staff request agency A's own
                # (their own tenant: any answer but a 5xx).
                filled, expectation = _fill(route, world.agency_a, kinds), "no5xx"
            if filled is None:
                yield role, "GET", _junk_fill(route), "no5xx", route.pattern, nobody
                continue
            url, _ = filled
            for method in methods:
                if method != "GET" and expectation != "denied":
                    continue  # a tenant's own writes are the schema fuzz's and the tests' business
                yield role, method, url, expectation, route.pattern, victim


def run(
    world: AttackWorld,
    *,
    roles: list[str] | None = None,
    writes: bool = True,
    families: bool = True,
    only: Callable[[str], bool] | None = None,
) -> Outcome:
    """Send every request of the plan through Django's test client (the whole middleware stack,
    in this process: an exception is caught with its traceback)."""
    started = time.monotonic()
    outcome = Outcome()
    all_routes = routes()
    clients = {role: client_for(world.users[role]) for role in roles or ROLES}
    # Gets before writes: an outsider's write that wrongly succeeded must not hide a read.
    requests = sorted(
        plan(world, all_routes, list(clients), writes=writes, families=families), key=lambda r: r[1] != "GET"
    )
    for role, method, url, expectation, pattern, victim in requests:
        if only is not None and not only(pattern):
            continue
        client = clients[role]
        outcome.checked += 1
        try:
            call = getattr(client, method.lower())
            response = (
                call(url, data={} if method != "GET" else None, content_type="application/json")
                if method in ("PUT", "PATCH", "DELETE")
                else call(url)
            )
        except Exception:
            outcome.by_status[599] = outcome.by_status.get(599, 0) + 1
            outcome.findings.append(
                f"{role} {method} {url}: raised {traceback.format_exc(limit=1).splitlines()[-1]}"
            )
            outcome.tracebacks.append(f"{role} {method} {url}\n{traceback.format_exc()}")
            continue
        status = response.status_code
        outcome.by_status[status] = outcome.by_status.get(status, 0) + 1
        per_role = outcome.by_role.setdefault(role, {})
        per_role[status] = per_role.get(status, 0) + 1
        where = f"{role} {method} {url}"
        if status >= 500:
            outcome.findings.append(f"{where}: {status}")
            continue
        location = response.get("Location", "").split("?", 1)[0]
        if expectation == "login":
            if 200 <= status < 300 and not url.startswith(("/admin/login/", "/admin/logout/")):
                outcome.findings.append(f"{where}: {status}: the admin answered a non-staff user")
            continue
        if expectation == "no5xx":
            continue
        body = b"" if getattr(response, "streaming", False) else response.content
        text = body.decode("utf-8", "replace")
        named = sorted(s for s in victim.secrets if s in text)
        if expectation == "denied":
            if 200 <= status < 300:
                outcome.findings.append(
                    f"{where}: {status} for {victim.name}'s object"
                    + (f" (names {named[:2]})" if named else "")
                )
            elif status in (301, 302, 303, 307) and any(s in location for s in victim.secrets):
                outcome.findings.append(f"{where}: {status} into {victim.name}'s object ({location})")
        elif 200 <= status < 300 and named:
            outcome.findings.append(f"{where}: {status} names {victim.name}'s {named[:3]}")
    for route in all_routes:
        kinds = rule_for(route)
        if route.params and kinds and family_of(route) is None and route.pattern not in EXCLUDED:
            lacking = [
                k
                for k in kinds.values()
                if k not in FIXED and k not in world.agency_a.objects and k not in world.creator_1.objects
            ]
            if lacking:
                outcome.unfilled[route.pattern] = (
                    "the attack world has no " + ", ".join(lacking) + " of agency A"
                )
    outcome.routes = len({r[4] for r in requests})
    outcome.roles = len(clients)
    outcome.seconds = time.monotonic() - started
    return outcome
