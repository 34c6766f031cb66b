"""The public hub pages render in every language, and errors are friendly and leak nothing."""
import pytest
from django.test import Client
from django.urls import reverse

from smartcity.models import Department, DepartmentChallenge, SocietalChallenge, Theme


@pytest.fixture
def hub(db):
    theme = Theme.objects.create(slug="mobility", name="Mobiliteit", name_nl="Mobiliteit", name_en="Mobility", name_sv="Mobilitet")
    challenge = SocietalChallenge.objects.create(title="Verkeersveiligheid rond scholen", description="Dubbel parkeren bij scholen.")
    challenge.themes.add(theme)
    department = Department.objects.create(slug="dso", name="Stedelijke Ontwikkeling")
    item = DepartmentChallenge.objects.create(title="Schoolzones herinrichten", description="Budget is beperkt.", department=department)
    item.societal_challenges.add(challenge)
    return challenge


PAGES = [
    ("smartcity:home", {}),
    ("account_login", {}),
    ("account_signup", {}),
    ("smartcity:theme-list", {}),
    ("smartcity:societal-challenge-list", {}),
    ("smartcity:accessibility", {}),
    ("smartcity:privacy", {}),
]

WORDS = {"nl": "Thema", "en": "Themes", "sv": "Teman"}


@pytest.mark.parametrize("language", ["nl", "en", "sv"])
@pytest.mark.parametrize("name,kwargs", PAGES)
def test_public_pages_render_in_each_language(client: Client, hub, language, name, kwargs):
    client.cookies["django_language"] = language
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{language}"' in html
    assert WORDS[language] in html  # the navigation is translated
    assert 'href="#main"' in html and 'id="main"' in html  # skip link and its target
    assert reverse("smartcity:accessibility") in html and reverse("smartcity:privacy") in html


def test_the_challenge_detail_shows_the_departments_working_on_it(client, hub):
    response = client.get(hub.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert "Verkeersveiligheid rond scholen" in html
    assert "Stedelijke Ontwikkeling" in html and "Schoolzones herinrichten" in html
    assert "Mobility" in html  # theme name in the reader's language


def test_theme_names_follow_the_language(client, hub):
    client.cookies["django_language"] = "sv"
    assert "Mobilitet" in client.get(reverse("smartcity:theme-list")).content.decode()


def test_proposed_challenges_are_not_public(client, db):
    proposed = SocietalChallenge.objects.create(title="Voorstel", description="x", status=SocietalChallenge.Status.PROPOSED)
    assert client.get(proposed.get_absolute_url()).status_code == 404
    assert "Voorstel" not in client.get(reverse("smartcity:societal-challenge-list")).content.decode()


def test_the_challenge_list_filters_by_text_and_theme(client, hub, db):
    SocietalChallenge.objects.create(title="Eenzaamheid onder ouderen", description="Ouderen alleen.")
    html = client.get(reverse("smartcity:societal-challenge-list"), {"q": "ouderen"}).content.decode()
    assert "Eenzaamheid onder ouderen" in html and "Verkeersveiligheid" not in html
    html = client.get(reverse("smartcity:societal-challenge-list"), {"theme": "mobility"}).content.decode()
    assert "Verkeersveiligheid" in html and "Eenzaamheid" not in html


def test_unknown_pages_get_a_friendly_404(client, db):
    response = client.get("/this/does/not/exist/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "Go to the home page" in response.content.decode()


def test_unknown_api_urls_get_problem_json(client, db):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_server_errors_get_a_500_page_that_leaks_nothing(db, settings, monkeypatch):
    def explode(request):
        raise RuntimeError("secret database password hunter2")

    from smartcity import urls

    for pattern in urls.hub_patterns[0]:
        if pattern.name == "theme-list":
            monkeypatch.setattr(pattern, "callback", explode)
    client = Client(raise_request_exception=False)
    response = client.get(reverse("smartcity:theme-list"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert "hunter2" not in html and "Traceback" not in html and "RuntimeError" not in html


def test_health_reports_the_database(client, db):
    assert client.get("/health").json() == {"status": "ok"}


def test_the_language_switcher_remembers_the_choice(client, db):
    response = client.post(reverse("set_language"), {"language": "sv", "next": "/"})
    assert response.status_code == 302
    assert '<html lang="sv"' in client.get("/").content.decode()


def test_the_privacy_statement_names_every_retention_rule(client, settings, db):
    settings.REPORTER_CONTACT_RETENTION_DAYS, settings.SUPPORTER_EMAIL_RETENTION_DAYS = 365, 180
    settings.OUTBOX_UNSENT_KEEP_DAYS = 30
    client.cookies["django_language"] = "en"
    html = client.get(reverse("smartcity:privacy")).content.decode()
    assert "removed 365 days after the report is closed" in html
    assert "the address is removed 180 days after the report is closed" in html
    assert "deleted from our system 30 days after we wrote it" in html
