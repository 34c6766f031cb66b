"""API authentication: DRF's tokens, which expire (issue #14).

Its own module because DRF imports the authentication classes while it loads its views: this one must
not import any view (smartcity/api.py does)."""
from __future__ import annotations

import functools
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, router
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


def token_expires_at(token) -> datetime | None:
    """When an API token stops working: API_TOKEN_DAYS after it was made (0: never)."""
    return token.created + timedelta(days=settings.API_TOKEN_DAYS) if settings.API_TOKEN_DAYS > 0 else None


@functools.cache
def _token_with_user_sql() -> tuple[str, list[str], list[str]]:
    """The SELECT of `Token.objects.select_related("user").get(key=…)`, written once per process: the ORM builds
    its 20-column join again for every API request (0.8 ms of CPU to authenticate with it, 0.2 with this)."""
    from rest_framework.authtoken.models import Token

    user_model = get_user_model()
    tokens, users = Token._meta.concrete_fields, user_model._meta.concrete_fields
    columns = [f't."{field.column}"' for field in tokens] + [f'u."{field.column}"' for field in users]
    sql = (f'SELECT {", ".join(columns)} FROM "{Token._meta.db_table}" t'
           f' JOIN "{user_model._meta.db_table}" u ON u."{user_model._meta.pk.column}" = t."{Token.user.field.column}"'
           f' WHERE t."{Token._meta.get_field("key").column}" = %s')
    return sql, [field.attname for field in tokens], [field.attname for field in users]


def token_with_user(key: str):
    """The token with this key and its user (as `select_related("user")` gives them), or None. The same row
    each time as the ORM's query: nothing is kept between requests, so a deleted token or a deactivated account
    is refused at its next request, however it was changed."""
    from rest_framework.authtoken.models import Token

    sql, token_names, user_names = _token_with_user_sql()
    using = router.db_for_read(Token)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    connection = connections[using]
    token = Token.from_db(using, token_names, _converted(Token, row[:len(token_names)], connection))
    user_model = get_user_model()
    token.user = user_model.from_db(using, user_names, _converted(user_model, row[len(token_names):], connection))
    return token


def _converted(model, values, connection) -> list:
    """A row's raw values as the ORM's query would give them: through the database's and each field's converters
    (SQLite returns a datetime without its time zone, which the expiry then cannot compare with now)."""
    out = list(values)
    for k, field, column in _with_converters(model, connection.alias):
        for converter in connection.ops.get_db_converters(column) + field.get_db_converters(connection):
            out[k] = converter(out[k], column, connection)
    return out


@functools.cache
def _with_converters(model, using: str) -> tuple:
    """The model's fields that the database ``using`` converts (none on PostgreSQL, a few on SQLite), as (position,
    field, column), found once per process: looking at every field on every request cost 45 µs."""
    connection = connections[using]
    found = []
    for k, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        if connection.ops.get_db_converters(column) + field.get_db_converters(connection):
            found.append((k, field, column))
    return tuple(found)


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's tokens, which otherwise never expire. An expired token is deleted when it is shown, so that
    `drf_create_token EMAIL` makes a fresh one; `drf_create_token -r EMAIL` renews one before it expires.
    A password change or reset deletes an account's tokens (User.save)."""

    def authenticate_credentials(self, key):
        token = token_with_user(key)
        if token is None or not token.user.is_active:
            return super().authenticate_credentials(key)  # DRF's own refusal, in the reader's language
        expires_at = token_expires_at(token)
        if expires_at is not None and expires_at <= timezone.now():
            token.delete()
            raise exceptions.AuthenticationFailed(
                f"This token expired on {expires_at:%Y-%m-%d} (tokens last {settings.API_TOKEN_DAYS} days). "
                "Ask an administrator for a new one (manage.py drf_create_token EMAIL)."
            )
        return token.user, token
