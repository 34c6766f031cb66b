"""A civil servant's morning in a real browser: log in, route three new reports, merge a duplicate,
answer a reporter, link a report to a societal challenge and post a department challenge.
Every staff page on the way passes axe-core (WCAG 2.1 A/AA)."""
from __future__ import annotations

import pytest

from participation.models import Report
from smartcity.models import Department, DepartmentChallenge, Membership, SocietalChallenge, Theme, User
from tests.e2e.conftest import check_accessibility, log_in
from tests.participation.staff_factories import make_report

pytestmark = pytest.mark.services
PASSWORD = "correct horse battery staple"


@pytest.fixture
def morning(transactional_db):
    stadsbeheer = Department.objects.create(slug="stadsbeheer", name="Stadsbeheer")
    Department.objects.create(slug="veiligheid", name="Veiligheid")
    triager = User.objects.create_user(email="triage@example.org", password=PASSWORD, is_triager=True, display_name="Tess Triage")
    triager.emailaddress_set.create(email=triager.email, verified=True, primary=True)
    Membership.objects.create(user=triager, department=stadsbeheer)
    roads = Theme.objects.create(slug="roads", name="Roads", name_en="Roads", target_days=3)
    reports = [
        make_report("Loose paving stone on Prinsegracht", theme=roads, days_old=6, contact_email="rita@example.org"),
        make_report("Streetlight out on Dunne Bierkade", theme=roads, days_old=2),
        make_report("Overflowing bin at Grote Markt", days_old=1),
    ]
    duplicate = make_report("Paving stone sticks out, Prinsegracht 12", theme=roads)
    challenge = SocietalChallenge.objects.create(title="Safe and accessible pavements", description="People trip and fall.")
    return {"reports": reports, "duplicate": duplicate, "challenge": challenge, "department": stadsbeheer}


def test_a_civil_servants_morning(page, morning):
    first, second, third = morning["reports"]
    duplicate = morning["duplicate"]

    # 1. log in and open the queue: the new reports, oldest first, the overdue one marked in words
    log_in(page, "triage@example.org")
    page.get_by_role("link", name="Staff workspace").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Triage queue").is_visible()
    first_row = page.locator("tbody tr").first
    assert "Loose paving stone" in first_row.inner_text() and "Overdue" in first_row.inner_text()
    check_accessibility(page, "staff-queue")

    # 2. route three new reports at once
    for report in (first, second, third):
        page.get_by_label(f"Select report {report.pk}", exact=True).check()
    page.select_option("#bulk-action", "route")
    page.select_option("#bulk-department", label="Stadsbeheer")
    page.fill("#bulk-message", "Stadsbeheer will look at this.")
    page.get_by_role("button", name="Apply to the selected reports").click()
    page.wait_for_load_state()
    assert page.get_by_text(f"Report {first.pk}: done").is_visible()
    for report in (first, second, third):
        report.refresh_from_db()
        assert (report.status, report.department_id) == (Report.Status.ACCEPTED, morning["department"].pk)

    # 3. merge a duplicate into the first report
    page.get_by_role("link", name=duplicate.title).click()
    page.wait_for_load_state()
    check_accessibility(page, "staff-report-new")
    page.fill("#merge-target", str(first.pk))
    page.get_by_role("button", name="Merge into that report").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=first.title, level=1).is_visible()
    duplicate.refresh_from_db()
    assert duplicate.duplicate_of_id == first.pk and duplicate.status == Report.Status.DUPLICATE

    # 4. answer the reporter (the contact is shown to the triager)
    assert page.get_by_text("rita@example.org").is_visible()
    page.fill("#message-message", "We will fix the stone this week.")
    page.get_by_role("button", name="Publish and email").click()
    page.wait_for_load_state()
    assert page.locator(".site-history").get_by_text("We will fix the stone this week.").is_visible()

    # 5. link the report to a societal challenge
    page.get_by_label("Safe and accessible pavements").check()
    page.get_by_role("button", name="Save links").click()
    page.wait_for_load_state()
    assert first.societal_challenges.filter(pk=morning["challenge"].pk).exists()
    check_accessibility(page, "staff-report-accepted")

    # 6. post a department challenge
    page.goto("/department-challenges/")
    check_accessibility(page, "department-challenge-list")
    page.get_by_role("link", name="Post a department challenge").click()
    page.wait_for_load_state()
    check_accessibility(page, "department-challenge-form")
    page.get_by_label("Title").fill("Loose paving stones after tree roots lift them")
    page.get_by_label("Description").fill("Tree roots lift paving stones in old streets; residents trip.")
    page.get_by_label("Safe and accessible pavements").check()
    page.get_by_role("button", name="Publish").click()
    page.wait_for_load_state()
    posted = DepartmentChallenge.objects.get(title="Loose paving stones after tree roots lift them")
    assert posted.department == morning["department"] and posted.created_by.email == "triage@example.org"
    assert list(posted.societal_challenges.all()) == [morning["challenge"]]
    check_accessibility(page, "department-challenge-detail-staff")

    # the hub page now shows the linked report and the department's challenge
    page.goto(morning["challenge"].get_absolute_url())
    assert page.get_by_text("1 resident report is linked to this challenge.").is_visible()
    assert page.get_by_role("link", name=posted.title).is_visible()
    check_accessibility(page, "societal-challenge-hub")


def test_the_innovation_team_curates_societal_challenges(page, transactional_db):
    curator = User.objects.create_user(email="innovation@example.org", password=PASSWORD, is_innovation_team=True)
    curator.emailaddress_set.create(email=curator.email, verified=True, primary=True)
    Theme.objects.create(slug="mobility", name="Mobility", name_en="Mobility")
    log_in(page, curator.email)
    page.goto("/staff/societal-challenges/")
    check_accessibility(page, "societal-challenge-manage")
    page.get_by_role("link", name="New societal challenge").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Save").click()  # empty: the errors are announced and the page still passes
    page.wait_for_load_state()
    check_accessibility(page, "societal-challenge-form-errors")
    page.get_by_label("Title").fill("Safe school streets")
    page.get_by_label("Description").fill("Parents park on the bike lane at school time.")
    page.get_by_label("Mobility").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert SocietalChallenge.objects.filter(title="Safe school streets", themes__slug="mobility").exists()
