"""API tokens expire, die with a password change or reset, and an administrator sees and revokes them
(issue #14, "DRF tokens never expire and survive a password change")."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tests.security.conftest import reset_password

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def _get(api_client, key: str):
    return api_client.get("/api/v1/matching/runs", HTTP_AUTHORIZATION=f"Token {key}")


def test_a_token_works_until_api_token_days_have_passed_then_it_is_a_401_problem(api_client, settings, civil_servant):
    settings.API_TOKEN_DAYS = 90
    token = Token.objects.create(user=civil_servant)
    assert _get(api_client, token.key).status_code == 200
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(days=89, hours=23))
    assert _get(api_client, token.key).status_code == 200
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(days=90, minutes=1))
    response = _get(api_client, token.key)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert "expired" in response.json()["detail"] and "drf_create_token" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Token")


def test_drf_create_token_gives_a_working_token_also_after_the_old_one_expired(api_client, civil_servant, capsys):
    call_command("drf_create_token", civil_servant.email)
    key = capsys.readouterr().out.split()[2]
    assert _get(api_client, key).status_code == 200
    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(days=400))
    assert _get(api_client, key).status_code == 401
    call_command("drf_create_token", civil_servant.email)
    fresh = capsys.readouterr().out.split()[2]
    assert fresh != key and _get(api_client, fresh).status_code == 200


def test_changing_the_password_revokes_the_accounts_tokens(client, api_client, civil_servant):
    token = Token.objects.create(user=civil_servant)
    client.force_login(civil_servant)
    response = client.post("/accounts/password/change/", {
        "oldpassword": PASSWORD, "password1": "another long passphrase", "password2": "another long passphrase"})
    assert response.status_code == 302
    assert not Token.objects.filter(user=civil_servant).exists()
    assert _get(api_client, token.key).status_code == 401


def test_resetting_the_password_revokes_the_accounts_tokens(client, api_client, civil_servant):
    token = Token.objects.create(user=civil_servant)
    reset_password(client, civil_servant.email, "another long passphrase")
    assert _get(api_client, token.key).status_code == 401


def test_an_administrator_setting_a_password_in_the_admin_revokes_the_tokens(client, admin_user, civil_servant):
    Token.objects.create(user=civil_servant)
    client.force_login(admin_user)
    response = client.post(f"/admin/smartcity/user/{civil_servant.pk}/password/", {
        "password1": "another long passphrase", "password2": "another long passphrase", "usable_password": "true"})
    assert response.status_code == 302
    assert not Token.objects.filter(user=civil_servant).exists()


def test_signing_in_keeps_the_tokens(client, civil_servant):
    """A password hash upgraded at sign-in is no password change."""
    Token.objects.create(user=civil_servant)
    client.post("/accounts/login/", {"login": civil_servant.email, "password": PASSWORD})
    assert "_auth_user_id" in client.session
    assert Token.objects.filter(user=civil_servant).exists()


def test_an_administrator_lists_tokens_with_their_expiry_and_revokes_one(client, settings, admin_user, civil_servant,
                                                                        other_civil_servant):
    settings.API_TOKEN_DAYS = 90
    old = Token.objects.create(user=civil_servant)
    Token.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=100))
    current = Token.objects.create(user=other_civil_servant)
    client.force_login(admin_user)
    listing = client.get("/admin/authtoken/tokenproxy/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert civil_servant.email in page and other_civil_servant.email in page
    assert "Expires" in page and "expired" in page.lower()
    assert current.key not in page, "the list does not show whole keys to whoever looks over a shoulder"
    assert client.get("/admin/authtoken/tokenproxy/?q=other@").status_code == 200

    change = f"/admin/authtoken/tokenproxy/{other_civil_servant.pk}/change/"
    assert change in page and client.get(change).status_code == 200
    response = client.post(f"/admin/authtoken/tokenproxy/{other_civil_servant.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Token.objects.filter(pk=current.pk).exists() and Token.objects.filter(pk=old.pk).exists()


def test_a_token_deleted_through_a_queryset_is_refused_at_its_next_request(api_client, civil_servant):
    token = Token.objects.create(user=civil_servant)
    assert _get(api_client, token.key).status_code == 200
    Token.objects.filter(user=civil_servant).delete()
    response = api_client.get("/api/v1/matching/runs", HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401 and response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "Invalid token."


def test_an_account_deactivated_through_a_queryset_update_is_refused_at_its_next_request(api_client, civil_servant):
    token = Token.objects.create(user=civil_servant)
    assert _get(api_client, token.key).status_code == 200
    type(civil_servant).objects.filter(pk=civil_servant.pk).update(is_active=False)
    response = api_client.get("/api/v1/matching/runs", HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401 and response.json()["detail"] == "User inactive or deleted."


def test_the_written_token_query_gives_the_token_and_user_the_orm_gives(civil_servant):
    from smartcity.api_auth import token_with_user

    token = Token.objects.create(user=civil_servant)
    found = token_with_user(token.key)
    expected = Token.objects.select_related("user").get(key=token.key)
    assert _fields(found) == _fields(expected) and _fields(found.user) == _fields(expected.user)
    assert found.user.is_authenticated and not found._state.adding and found.user._state.db == "default"
    assert token_with_user(token.key[:-1] + "x") is None


def _fields(row) -> dict:
    return {field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}
