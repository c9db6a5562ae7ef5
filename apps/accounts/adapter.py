"""allauth's account adapter, changed in two places: the client's address, and the address an
invitation vouches for."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from apps.common.ratelimit import client_ip

# The email address whose invitation link this browser opened (set by apps/invitations' page).
# The link was mailed to that address alone, so opening it proves the address as allauth's own
# verification link would: signing up with exactly that address needs no second email.
INVITED_EMAIL_SESSION_KEY = "fenrun_invited_email"


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        # The login and reset limits count per client behind the trusted proxy, by the same rule
        # as the API throttles and the signature record (and never answer 500 on a bad header).
        return client_ip(request)

    def is_email_verified(self, request: HttpRequest, email: str) -> bool:
        # Unlike allauth's stash_verified_email, which adds the stashed address to whatever
        # address the person signs up with, this verifies only an identical address.
        invited = request.session.get(INVITED_EMAIL_SESSION_KEY) if hasattr(request, "session") else None
        if isinstance(invited, str) and invited.lower() == email.lower():
            return True
        return super().is_email_verified(request, email)
