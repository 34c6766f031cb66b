"""The public hub pages in a real browser: they render, switch language and pass axe-core."""
import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from smartcity.models import SocietalChallenge
from tests.e2e.conftest import check_accessibility

pytestmark = pytest.mark.services


@pytest.fixture
def demo(transactional_db, settings):
    # These pages are not about the matching: its demo run goes on words alone, without
    # encoding every demo text again for each test (tests/smartcity covers the vectors).
    settings.MATCHING_SEMANTIC = False
    call_command("load_demo", verbosity=0)


PAGES = [
    ("home", "/"),
    ("login", "/accounts/login/"),
    ("signup", "/accounts/signup/"),
    ("themes", "/themes/"),
    ("challenges", "/challenges/"),
    ("accessibility", "/accessibility/"),
    ("privacy", "/privacy/"),
    ("not-found", "/no/such/page/"),
]


@pytest.mark.parametrize("name,path", PAGES)
def test_hub_pages_pass_axe_on_a_phone(phone_page, demo, name, path):
    phone_page.goto(path)
    check_accessibility(phone_page, f"hub-{name}-phone")


def test_the_challenge_page_in_three_languages(page, demo):
    challenge = SocietalChallenge.objects.get(reference="demo-sc-boulevard")
    page.goto(challenge.get_absolute_url())
    for language, heading in [("sv", "Förvaltningar som arbetar med det"), ("nl", "Afdelingen die eraan werken"),
                              ("en", "Departments working on it")]:
        page.locator(f"button[name=language][value={language}]").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == language
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        check_accessibility(page, f"hub-challenge-{language}")


def test_the_skip_link_moves_focus_to_the_main_content(page, demo):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.locator("a.utrecht-skip-link")
    assert skip.evaluate("el => el === document.activeElement")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
