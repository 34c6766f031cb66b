"""allauth adapters.

Residents sign up with email and password. Staff may also sign in with the city's
OpenID Connect provider; their email is verified by that provider, and their roles are
still given by an administrator (smartcity/permissions.py), never by the provider.

Failed sign-ins are limited per client address, per (account, client address) and per account
(settings.ACCOUNT_RATE_LIMITS); the client address is the one smartcity/clientip.py trusts.
"""
from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import ratelimit
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.http import HttpRequest

from smartcity.clientip import client_address, client_network

# The account-wide ceiling on failed sign-ins (an action of our own in ACCOUNT_RATE_LIMITS).
ACCOUNT_CEILING = "login_failed_account"


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        """allauth's "ip" rate limits and its records of sessions count the address our proxies vouch for."""
        return client_address(request)

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """allauth's `key` for `login_failed` is the login alone: five failures by anyone lock the account
        for everyone. With the client's address (its /64 for IPv6) in it, a stranger's failures lock only
        the stranger out. allauth uses this one key when counting, on success and after a password reset.
        (A private hook of allauth 65.22; tests/security/test_sign_in.py proves it still works.)"""
        return f"{super()._get_login_attempts_cache_key(request, **credentials)}:{client_network(request)}"

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        super().pre_authenticate(request, **credentials)
        if not ratelimit.consume(request, action=ACCOUNT_CEILING, key=_account_key(credentials), dry_run=True):
            raise self.validation_error("too_many_login_attempts")

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        super().authentication_failed(request, **credentials)
        ratelimit.consume(request, action=ACCOUNT_CEILING, key=_account_key(credentials))

    def _delete_login_attempts_cached_email(self, request: HttpRequest, **credentials: Any) -> None:
        """After a password reset (its owner read the mail) the account takes passwords again from anywhere."""
        super()._delete_login_attempts_cached_email(request, **credentials)
        ratelimit.clear(request, action=ACCOUNT_CEILING, key=_account_key(credentials))


def _account_key(credentials: dict[str, Any]) -> str:
    return (credentials.get("email") or credentials.get("username") or "").lower()


class StaffOpenIDConnectAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.display_name = (data.get("name") or " ".join(filter(None, [data.get("first_name"), data.get("last_name")])))[:80]
        return user
