"""{% invitations_waiting as invitations %}: the open invitations sent to the signed-in person's
verified addresses (the home page's pointer to them)."""

from __future__ import annotations

from typing import Any

from django import template

from apps.invitations.models import Invitation
from apps.invitations.selectors import invitation_list_for_invitee

register = template.Library()


@register.simple_tag(takes_context=True)
def invitations_waiting(context: dict[str, Any]) -> list[Invitation]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return list(invitation_list_for_invitee(user=user)[:20])
