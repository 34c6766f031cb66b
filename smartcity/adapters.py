"""allauth adapters.

Residents sign up with email and password. Staff may also sign in with the city's
OpenID Connect provider; their email is verified by that provider, and their roles are
still given by an administrator (smartcity/permissions.py), never by the provider.

Failed sign-ins are limited per client address (settings.ACCOUNT_RATE_LIMITS): the address
smartcity/clientip.py trusts.
"""
from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.http import HttpRequest

from smartcity.clientip import client_address


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        """allauth's "ip" rate limits and its records of sessions count the address our proxies vouch for."""
        return client_address(request)


class StaffOpenIDConnectAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.display_name = (data.get("name") or " ".join(filter(None, [data.get("first_name"), data.get("last_name")])))[:80]
        return user
