"""API authentication: DRF's tokens, which expire (issue #14).

Its own module because DRF imports the authentication classes while it loads its views: this one must
not import any view (smartcity/api.py does)."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


def token_expires_at(token) -> datetime | None:
    """When an API token stops working: API_TOKEN_DAYS after it was made (0: never)."""
    return token.created + timedelta(days=settings.API_TOKEN_DAYS) if settings.API_TOKEN_DAYS > 0 else None


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's tokens, which otherwise never expire. An expired token is deleted when it is shown, so that
    `drf_create_token EMAIL` makes a fresh one; `drf_create_token -r EMAIL` renews one before it expires.
    A password change or reset deletes an account's tokens (User.save)."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        expires_at = token_expires_at(token)
        if expires_at is not None and expires_at <= timezone.now():
            token.delete()
            raise exceptions.AuthenticationFailed(
                f"This token expired on {expires_at:%Y-%m-%d} (tokens last {settings.API_TOKEN_DAYS} days). "
                "Ask an administrator for a new one (manage.py drf_create_token EMAIL)."
            )
        return user, token
