"""allauth's account adapter, changed in one place: the client's address."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from apps.common.ratelimit import client_ip


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        # The login and reset limits count per client behind the trusted proxy, by the same rule
        # as the API throttles and the signature record (and never answer 500 on a bad header).
        return client_ip(request)
