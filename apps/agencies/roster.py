"""The agency console's reads: the roster and one creator's page.

Above agencies' own selectors (which contracts, ledger and statements build on), this module
gathers from each app's selectors what the console shows, in bulk: one query per kind of fact
for a whole page of creators, never one per creator. Only the console's views import it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from apps.agencies.models import Agency, Membership, Representation
from apps.agencies.selectors import representation_list_for_actor
from apps.common.exceptions import NotFound
from apps.common.tenancy import scope_for
from apps.contracts.models import ContractVersion
from apps.contracts.selectors import contract_list_for_actor, contract_versions_in_force_many
from apps.creators.models import Creator, PlatformAccount
from apps.creators.selectors import creator_get_for_actor, creator_list_for_actor
from apps.invitations.models import Invitation
from apps.invitations.selectors import invitation_list_for_actor
from apps.ledger.models import Account
from apps.ledger.selectors import ledger_balances_of_creators
from apps.statements.models import Statement
from apps.statements.selectors import statement_list_for_actor

Role = Membership.Role
ROSTER_PAGE_SIZE = 50
OPEN_INVITATIONS_SHOWN = 100
MANAGERS = (Role.OWNER, Role.MANAGER)


@dataclass(frozen=True)
class Amount:
    minor: int
    currency: str


@dataclass(frozen=True)
class RosterEntry:
    creator: Creator
    started_on: Any
    accounts: list[PlatformAccount]
    contracts: list[ContractVersion]  # in force, the soonest end first
    owed: list[Amount]  # the creator payable balance, per currency (owed to the creator positive)
    last_statement: Statement | None


@dataclass(frozen=True)
class Roster:
    agency: Agency
    role: str
    can_manage: bool
    entries: list[RosterEntry]
    page: Page
    open_invitations: list[Invitation] = field(default_factory=list)


def _represented(*, actor: Any, agency: Agency) -> QuerySet[Creator]:
    """The creators the agency represents now, with the accounts the actor may see."""
    return creator_list_for_actor(actor=actor).filter(
        representations__agency=agency, representations__ended_on__isnull=True
    )


def _owed(*, agency: Agency, creator_ids: list[int]) -> dict[int, list[Amount]]:
    balances = ledger_balances_of_creators(
        agency_id=agency.pk, purpose=Account.Purpose.CREATOR_PAYABLE, creator_ids=creator_ids
    )
    owed: dict[int, list[Amount]] = defaultdict(list)
    for (creator_id, currency), balance in sorted(balances.items()):
        # Creator payable is a liability: a credit balance (negative in the ledger's signs) is owed.
        owed[creator_id].append(Amount(minor=-balance, currency=currency))
    return owed


def _last_statements(*, actor: Any, agency: Agency, creator_ids: list[int]) -> dict[int, Statement]:
    """Each creator's latest published statement (the latest month; a correction over its
    original), in one query: statements' own scoped selector, narrowed and DISTINCT ON creator."""
    if not creator_ids:
        return {}
    statements = (
        statement_list_for_actor(actor=actor, agency_id=agency.pk)
        .filter(creator_id__in=creator_ids, status=Statement.Status.PUBLISHED)
        .order_by("creator_id", "-period", "-number")
        .distinct("creator_id")
    )
    return {statement.creator_id: statement for statement in statements}


def _entries(*, actor: Any, agency: Agency, creators: list[Creator]) -> list[RosterEntry]:
    ids = [creator.pk for creator in creators]
    contracts = contract_versions_in_force_many(agency_id=agency.pk, creator_ids=ids)
    owed = _owed(agency=agency, creator_ids=ids)
    statements = _last_statements(actor=actor, agency=agency, creator_ids=ids)
    entries = []
    for creator in creators:
        spans = [r for r in creator.representations.all() if r.agency_id == agency.pk and r.ended_on is None]
        entries.append(
            RosterEntry(
                creator=creator,
                started_on=spans[0].started_on if spans else None,
                accounts=list(creator.platform_accounts.all()),
                contracts=contracts.get(creator.pk, []),
                owed=owed.get(creator.pk, []),
                last_statement=statements.get(creator.pk),
            )
        )
    return entries


def roster_for_actor(*, actor: Any, agency: Agency, page_number: Any = 1) -> Roster:
    """One page of the creators `agency` represents now, each with what the roster shows, and the
    agency's open creator invitations: a fixed number of queries whatever the page holds."""
    role = scope_for(actor).agency_roles.get(agency.pk)
    if role is None:
        raise NotFound()
    page = Paginator(_represented(actor=actor, agency=agency), ROSTER_PAGE_SIZE).get_page(page_number)
    invitations = invitation_list_for_actor(
        actor=actor, agency_id=agency.pk, kind=Invitation.Kind.CREATOR, state="open"
    )[:OPEN_INVITATIONS_SHOWN]
    return Roster(
        agency=agency,
        role=role,
        can_manage=role in MANAGERS,
        entries=_entries(actor=actor, agency=agency, creators=list(page.object_list)),
        page=page,
        open_invitations=list(invitations),
    )


@dataclass(frozen=True)
class CreatorPage:
    entry: RosterEntry
    is_represented: bool
    spans: list[Representation]
    contracts: list[Any]
    statements: list[Statement]
    can_manage: bool


def roster_creator_for_actor(*, actor: Any, agency: Agency, public_id: Any) -> CreatorPage:
    """One creator as the agency's console shows them; 404 unless the agency represents or
    represented them (another agency's creator is not found here, even for a member of both)."""
    role = scope_for(actor).agency_roles.get(agency.pk)
    if role is None:
        raise NotFound()
    creator = creator_get_for_actor(actor=actor, public_id=public_id)
    spans = list(
        representation_list_for_actor(actor=actor)
        .filter(agency=agency, creator=creator)
        .order_by("-started_on")
    )
    if not spans:
        raise NotFound()
    (entry,) = _entries(actor=actor, agency=agency, creators=[creator])
    open_span = next((span for span in spans if span.ended_on is None), None)
    if open_span is not None:
        entry = RosterEntry(**{**entry.__dict__, "started_on": open_span.started_on})
    contracts = list(contract_list_for_actor(actor=actor).filter(agency=agency, creator=creator))
    statements = list(statement_list_for_actor(actor=actor, agency_id=agency.pk).filter(creator=creator)[:12])
    return CreatorPage(
        entry=entry,
        is_represented=open_span is not None,
        spans=spans,
        contracts=contracts,
        statements=statements,
        can_manage=role in MANAGERS,
    )
