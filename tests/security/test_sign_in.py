"""Sign-in under attack (issue #14, findings 2 and 3).

- `/admin/login/` is no second password form: it sends staff to the one sign-in page (allauth, with
  OIDC when configured), which has the limits.
- Failed sign-ins lock per (account, client address): a stranger who fails against a civil servant's
  address does not lock her out from her own. The per-address limit counts the real client behind our
  proxy, so one attacker does not lock out everyone who shares the proxy's address.
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
PROXY = "10.0.0.2"


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- /admin/login/ ---------------------------------------------------------------------------------

def test_twenty_wrong_admin_passwords_and_then_the_right_one_do_not_sign_in_at_the_admin(client, admin_user):
    for _ in range(20):
        client.post("/admin/login/", {"username": admin_user.email, "password": "guess"})
        assert not _signed_in(client)
    response = client.post("/admin/login/?next=/admin/", {"username": admin_user.email, "password": PASSWORD})
    assert not _signed_in(client)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_the_admin_sends_staff_to_the_one_sign_in_page_and_back(client, admin_user):
    response = client.get("/admin/")
    assert response.status_code == 302
    response = client.get(response.url)
    assert response.status_code == 302 and response.url == "/accounts/login/?next=%2Fadmin%2F"
    signed_in = client.post(response.url, {"login": admin_user.email, "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_sign_in_limits_hold_for_staff_who_want_the_admin(client, admin_user):
    for _ in range(5):
        client.post("/accounts/login/?next=/admin/", {"login": admin_user.email, "password": "guess"})
    response = client.post("/accounts/login/?next=/admin/", {"login": admin_user.email, "password": PASSWORD})
    assert not _signed_in(client)
    assert "Too many failed login attempts" in response.content.decode()


def test_a_signed_in_resident_at_the_admin_gets_a_403_not_a_redirect_loop(client, resident):
    client.force_login(resident)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) <= 2


def test_a_superuser_created_on_the_command_line_can_sign_in_at_once(client):
    from django.core.management import call_command

    call_command("createsuperuser", email="root@example.org", interactive=False, verbosity=0)
    from smartcity.models import User

    user = User.objects.get(email="root@example.org")
    user.set_password(PASSWORD)
    user.save()
    response = client.post("/accounts/login/?next=/admin/", {"login": "root@example.org", "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/admin/"
    assert _signed_in(client)


# --- Lockout per (account, client address) ---------------------------------------------------------

def test_a_stranger_failing_five_times_does_not_lock_the_civil_servant_out_from_her_own_address(client, civil_servant):
    from django.test import Client

    for _ in range(6):
        client.post("/accounts/login/", {"login": civil_servant.email, "password": "guess"}, REMOTE_ADDR="203.0.113.9")
    refused = client.post("/accounts/login/", {"login": civil_servant.email, "password": PASSWORD},
                          REMOTE_ADDR="203.0.113.9")
    assert not _signed_in(client) and "Too many failed login attempts" in refused.content.decode()

    her_browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = her_browser.post("/accounts/login/", {"login": civil_servant.email, "password": PASSWORD},
                                REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302 and _signed_in(her_browser)


def test_behind_our_proxy_one_attacker_does_not_lock_everyone_out(client, settings, civil_servant, resident):
    from django.test import Client

    settings.TRUSTED_PROXY_COUNT = 1
    # Ten failed sign-ins a minute per address: the attacker tries many accounts, all through the proxy.
    for number in range(12):
        client.post("/accounts/login/", {"login": f"someone{number}@example.org", "password": "guess"},
                    REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9")
    refused = client.post("/accounts/login/", {"login": resident.email, "password": PASSWORD},
                          REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert not _signed_in(client) and "Too many failed login attempts" in refused.content.decode()

    for email, address in [(civil_servant.email, "198.51.100.7"), (resident.email, "192.0.2.44")]:
        browser = Client(HTTP_ACCEPT_LANGUAGE="en")
        response = browser.post("/accounts/login/", {"login": email, "password": PASSWORD},
                                REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=address)
        assert response.status_code == 302 and _signed_in(browser), email


def test_forging_x_forwarded_for_behind_our_proxy_does_not_buy_more_guesses(client, settings, resident):
    settings.TRUSTED_PROXY_COUNT = 1
    for number in range(6):
        client.post("/accounts/login/", {"login": resident.email, "password": "guess"},
                    REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"6.6.6.{number}, 203.0.113.9")
    response = client.post("/accounts/login/", {"login": resident.email, "password": PASSWORD},
                           REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="6.6.6.99, 203.0.113.9")
    assert not _signed_in(client) and "Too many failed login attempts" in response.content.decode()


def _ceiling(settings, amount: int) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed_account": f"{amount}/h/key"}


def test_many_addresses_failing_against_one_account_meet_an_account_wide_ceiling(client, settings, resident):
    """Guessing one account's password from a botnet is slowed down too: past LOGIN_FAILURES_PER_ACCOUNT_HOUR
    failures from all addresses together, the account takes no more password guesses that hour."""
    from django.test import Client

    _ceiling(settings, 8)
    for number in range(8):
        Client().post("/accounts/login/", {"login": resident.email, "password": "guess"}, REMOTE_ADDR=f"203.0.113.{number}")
    response = client.post("/accounts/login/", {"login": resident.email, "password": PASSWORD}, REMOTE_ADDR="192.0.2.1")
    assert not _signed_in(client) and "Too many failed login attempts" in response.content.decode()


def test_a_password_reset_lifts_the_account_wide_ceiling(client, settings, resident):
    from django.test import Client

    from tests.security.conftest import reset_password

    _ceiling(settings, 3)
    for number in range(3):
        Client().post("/accounts/login/", {"login": resident.email, "password": "guess"}, REMOTE_ADDR=f"203.0.113.{number}")
    reset_password(Client(REMOTE_ADDR="192.0.2.1"), resident.email, "a brand new passphrase")
    response = client.post("/accounts/login/", {"login": resident.email, "password": "a brand new passphrase"},
                           REMOTE_ADDR="192.0.2.1")
    assert response.status_code == 302 and _signed_in(client)


def test_successful_sign_ins_do_not_count_against_the_account(settings, resident):
    from django.test import Client

    _ceiling(settings, 3)
    for number in range(6):
        browser = Client()
        browser.post("/accounts/login/", {"login": resident.email, "password": PASSWORD}, REMOTE_ADDR=f"192.0.2.{number}")
        assert _signed_in(browser)
