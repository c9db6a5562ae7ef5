"""Invitations fixtures: invitations made through the real services, and the link they carry."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from django.core import mail

from apps.invitations.services import (
    CreatedInvitation,
    invitation_create_for_creator,
    invitation_create_for_member,
)

BASE_URL = "http://testserver/"
_LINK = re.compile(r"https?://\S+/invitations/t/[A-Za-z0-9_-]+/")


def path_of(link: str) -> str:
    return urlparse(link).path


def mailed_link(to: str) -> str:
    """The invitation link in the last message to `to` (the test reads the mail as the invitee would)."""
    messages = [message for message in mail.outbox if to in message.to]
    assert messages, f"no mail to {to}"
    found = _LINK.search(messages[-1].body)
    assert found, messages[-1].body
    return path_of(found.group(0))


def token_of(path: str) -> str:
    return path.rstrip("/").split("/")[-1]


def invite_creator(agency: Any, actor: Any, **fields: Any) -> CreatedInvitation:
    return invitation_create_for_creator(agency=agency, actor=actor, base_url=BASE_URL, **fields)


def invite_member(agency: Any, actor: Any, **fields: Any) -> CreatedInvitation:
    return invitation_create_for_member(agency=agency, actor=actor, base_url=BASE_URL, **fields)
