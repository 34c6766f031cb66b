"""The sign-in pages speak the site's language (issue #17): formal "u" in Dutch, the site's words, and a Swedish
login page whose sign-up line invites to sign up."""
from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_swedish_login_page_invites_to_sign_up_with_a_link_there():
    html = Client(HTTP_ACCEPT_LANGUAGE="sv").get("/accounts/login/").content.decode()
    assert "Har du redan ett konto" not in html
    assert "Har du inget konto än?" in html and 'href="/accounts/signup/' in html


def test_the_dutch_sign_in_pages_say_u_and_use_the_sites_words():
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    login = client.get("/accounts/login/").content.decode()
    signup = client.get("/accounts/signup/").content.decode()
    reset = client.get("/accounts/password/reset/").content.decode()
    assert "Hebt u nog geen account?" in login and "Inloggen" in login
    assert "Hebt u al een account?" in signup
    assert "uw e-mailadres" in reset
    for html in (login, signup, reset):
        main = html[html.index("<main"):html.index("</main>")]
        assert " je " not in main and " jouw " not in main and "Registreer" not in main
