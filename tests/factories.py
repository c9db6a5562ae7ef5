"""factory_boy factories. Objects with rules (agencies, creators, memberships) go through services."""

from __future__ import annotations

import datetime

import factory
from allauth.account.models import EmailAddress

from apps.accounts.models import User
from apps.agencies.models import Agency, Membership
from apps.agencies.services import agency_create, membership_set, representation_open
from apps.creators.models import Creator
from apps.creators.services import creator_create, platform_account_add

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    name = factory.Faker("name")

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


def agency_with_owner(*, name: str = "Agency", owner: User | None = None) -> Agency:
    return agency_create(owner=owner or UserFactory.create(), name=name, legal_name=f"{name} Ltd.")


def member(agency: Agency, role: str, user: User | None = None) -> User:
    user = user or UserFactory.create()
    membership_set(agency=agency, user=user, role=role)
    return user


def creator_for(
    *,
    agency: Agency | None = None,
    platform: str = "douyin",
    account_id: str | None = None,
    user: User | None = None,
    name: str = "Creator",
) -> Creator:
    user = user or UserFactory.create()
    creator = creator_create(user=user, display_name=name, legal_name=f"{name} legal")
    platform_account_add(
        creator=creator, actor=None, platform=platform, account_id=account_id or f"acc_{creator.pk}"
    )
    if agency is not None:
        representation_open(agency=agency, creator=creator, started_on=datetime.date(2026, 1, 1))
    return creator


Role = Membership.Role
