"""A category's questions in the browser: hidden until the category that asks them is chosen, answered, and read
by staff on the report page. axe on the form with the questions shown and on the staff page."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from participation.models import Category, Report, ServiceQuestion
from smartcity.models import Department, Membership, User
from tests.e2e.conftest import check_accessibility, log_in

pytestmark = pytest.mark.services

PASSWORD = "correct horse battery staple"


@pytest.fixture
def questions(transactional_db):
    works = Department.objects.create(slug="stadsbeheer", name="Stadsbeheer")
    lighting = Category.objects.create(slug="lighting", name="Straatverlichting", name_en="Street lighting",
                                       department=works)
    Category.objects.create(slug="lamp", name="Lamp kapot", name_en="Lamp out", parent=lighting)
    Category.objects.create(slug="bench", name="Bankje kapot", name_en="Broken bench", department=works)
    ServiceQuestion.objects.create(category=lighting, code="paalnummer", required=True,
                                   description="Welk nummer staat op de paal?",
                                   description_en="What number is on the lamp post?",
                                   datatype_description_en="On a plate on the post, for example 123-45.")
    triager = User.objects.create_user(email="triage@example.org", password=PASSWORD, is_triager=True)
    triager.emailaddress_set.create(email=triager.email, verified=True, primary=True)
    Membership.objects.create(user=triager, department=works)


def test_the_chosen_categorys_question_appears_is_required_and_reaches_staff(page, questions):
    page.route("**/*.png", lambda route: route.fulfill(status=204) if "tile" in route.request.url else route.continue_())
    page.goto("/reports/new/")
    page.wait_for_selector(".leaflet-container")
    question = page.get_by_label("What number is on the lamp post?")
    expect(question).to_be_hidden()
    page.select_option("select[name=category]", label="Broken bench")
    expect(question).to_be_hidden()
    page.select_option("select[name=category]", label="Lamp out")
    expect(question).to_be_visible()
    expect(page.get_by_text("Only if you chose this category above.")).to_be_hidden()
    check_accessibility(page, "report-form-category-question")
    page.fill("input[name=title]", "Lamp kapot")
    page.fill("textarea[name=description]", "De lamp voor de deur brandt al een week niet meer.")
    page.evaluate("""() => { document.querySelector('input[name=latitude]').value = '52.0799';
                             document.querySelector('input[name=longitude]').value = '4.3113'; }""")
    page.locator("#report-form button[type=submit]").last.click()
    expect(page.get_by_text("Please answer this question for the category “Lamp out”.")).to_be_visible()
    assert not Report.objects.exists()
    page.get_by_label("What number is on the lamp post?").fill("123-45")
    page.locator("#report-form button[type=submit]").last.click()
    page.wait_for_url("**/reports/*/")
    report = Report.objects.get()
    assert report.answers == {"paalnummer": "123-45"}

    log_in(page, "triage@example.org")
    page.goto(f"/staff/reports/{report.pk}/")
    expect(page.locator("dd", has_text="123-45")).to_be_visible()
    check_accessibility(page, "staff-report-category-answer")
