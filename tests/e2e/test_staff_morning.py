"""A civil servant's morning in a real browser: log in, route three new reports, merge a duplicate,
answer a reporter, link a report to a societal challenge and post a department challenge.
Every staff page on the way passes axe-core (WCAG 2.1 A/AA)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

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


def _no_tiles(page) -> None:
    """The test machine has no internet: answer tile requests at once instead of letting them hang."""
    page.route("**/*.png", lambda route: route.fulfill(status=204) if "tile" in route.request.url else route.continue_())


def test_a_civil_servants_morning(page, morning):
    first, second, third = morning["reports"]
    duplicate = morning["duplicate"]
    page.set_viewport_size({"width": 1366, "height": 900})
    _no_tiles(page)

    # 1. log in and land on the new reports, oldest first, the overdue one marked in words; no header breaks a word
    log_in(page, "triage@example.org")
    page.get_by_role("link", name="Staff workspace").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Triage queue")).to_be_visible()
    first_row = page.locator("tbody tr").first
    assert "Loose paving stone" in first_row.inner_text() and "Overdue" in first_row.inner_text()
    for header in page.locator("thead th").all():  # one line each: no "Numme r" or "Statu s"
        box = header.bounding_box()
        assert box is None or box["height"] < 40, header.inner_text()
    check_accessibility(page, "staff-queue")

    # 2. switch to the map: the filter's four reports, clustered
    page.get_by_role("link", name="Map", exact=True).click()
    page.wait_for_selector("#queue-map[data-loaded='4']")
    check_accessibility(page, "staff-queue-map")
    page.get_by_role("link", name="List", exact=True).click()
    page.wait_for_load_state()

    # the keyboard: "?" lists the shortcuts; j moves to the first report, o opens it; never inside a field
    page.get_by_label("Search").focus()
    page.keyboard.type("jo")
    assert page.get_by_label("Search").input_value() == "jo" and "/staff/reports/" not in page.url
    page.get_by_label("Search").fill("")
    page.locator("h1").click()
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    check_accessibility(page, "staff-queue-shortcuts")
    page.keyboard.press("Escape")

    # 3. open the oldest report
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url(f"**/staff/reports/{first.pk}/")
    expect(page.get_by_role("heading", name=first.title, level=1)).to_be_visible()
    page.wait_for_selector("#report-map .leaflet-marker-icon")
    check_accessibility(page, "staff-report-new")

    # empty textareas look empty: no error colour before the form was sent
    colours = page.evaluate("""() => [...document.querySelectorAll('#message-message, #route-message')]
        .map((el) => getComputedStyle(el).borderColor)""")
    assert colours[0] == colours[1], colours

    # 4. its nearby duplicate is listed first; merge it into this one
    candidates = page.locator(".site-candidate")
    assert duplicate.title in candidates.first.inner_text()
    assert "Merging makes report" in candidates.first.inner_text()
    page.get_by_role("button", name=f"Merge report {duplicate.pk} into this one").click()
    page.wait_for_load_state()
    expect(page.get_by_text(f"Report {duplicate.pk} was merged into this report.")).to_be_visible()
    duplicate.refresh_from_db()
    assert duplicate.duplicate_of_id == first.pk and duplicate.status == Report.Status.DUPLICATE

    # 5. correct it: high priority, and the location by dragging the pin; each leaves a history row
    page.select_option("#priority-priority", "high")
    page.get_by_role("button", name="Set priority").click()
    page.wait_for_load_state()
    expect(page.get_by_text("Priority: normal → high")).to_be_visible()
    pin = page.locator("#report-map .leaflet-marker-icon").bounding_box()
    page.mouse.move(pin["x"] + pin["width"] / 2, pin["y"] + pin["height"] - 4)
    page.mouse.down()
    page.mouse.move(pin["x"] + 80, pin["y"] + 10, steps=8)
    page.mouse.up()
    assert page.input_value("#location-longitude") != "4.3"
    page.get_by_role("button", name="Correct the location").click()
    page.wait_for_load_state()
    expect(page.get_by_text("The location was corrected.")).to_be_visible()
    first.refresh_from_db()
    assert first.priority == "high" and first.longitude > 4.3 and first.corrections.count() == 2
    check_accessibility(page, "staff-report-corrected")

    # 6. route three reports in bulk: the action says how many, and runs when confirmed
    page.goto("/staff/?status=new")
    for report in (first, second, third):
        page.get_by_label(f"Select report {report.pk}", exact=True).check()
    expect(page.get_by_text("The selected reports (3 selected)")).to_be_visible()
    page.select_option("#bulk-action", "route")
    page.select_option("#bulk-department", label="Stadsbeheer")
    page.fill("#bulk-message", "Stadsbeheer will look at this.")
    page.get_by_role("button", name="Apply to the selected reports").click()
    page.wait_for_load_state()
    expect(page.get_by_text("This routes 3 reports to Stadsbeheer.")).to_be_visible()
    check_accessibility(page, "staff-bulk-confirm")
    page.get_by_role("button", name="Confirm: change 3 reports").click()
    page.wait_for_load_state()
    expect(page.get_by_text("3 reports changed.")).to_be_visible()
    for report in (first, second, third):
        report.refresh_from_db()
        assert (report.status, report.department_id) == (Report.Status.ACCEPTED, morning["department"].pk)

    # 7. answer the reporter (the contact is shown to the triager)
    page.goto(f"/staff/reports/{first.pk}/")
    expect(page.get_by_text("rita@example.org")).to_be_visible()
    page.fill("#message-message", "We will fix the stone this week.")
    page.get_by_role("button", name="Publish and email").click()
    page.wait_for_load_state()
    expect(page.locator(".site-history").get_by_text("We will fix the stone this week.")).to_be_visible()

    # then: link the report to a societal challenge
    page.get_by_label("Safe and accessible pavements").check()
    page.get_by_role("button", name="Save links").click()
    page.wait_for_load_state()
    assert first.societal_challenges.filter(pk=morning["challenge"].pk).exists()
    check_accessibility(page, "staff-report-accepted")

    # and post a department challenge
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
    expect(page.get_by_text("1 resident report is linked to this challenge.")).to_be_visible()
    expect(page.get_by_role("link", name=posted.title)).to_be_visible()
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


def test_a_department_members_morning_on_a_phone(phone_page, morning):
    """A department member on a 390-px phone (in Dutch): lands on the department's open work as cards, opens a
    report, takes it in hand and answers the reporter."""
    page = phone_page
    _no_tiles(page)
    member = User.objects.create_user(email="stadsbeheer@example.org", password=PASSWORD, display_name="Sam Stadsbeheer")
    member.emailaddress_set.create(email=member.email, verified=True, primary=True)
    Membership.objects.create(user=member, department=morning["department"])
    ours = make_report("Kapotte lantaarnpaal Dunne Bierkade", status=Report.Status.ACCEPTED,
                       department=morning["department"], days_old=2, contact_email="sam@example.org")
    make_report("Not ours", status=Report.Status.ACCEPTED, department=Department.objects.get(slug="veiligheid"))

    log_in(page, member.email)
    page.goto("/staff/")
    rows = page.locator("[data-queue] [data-row]")
    assert rows.count() == 1 and ours.title in rows.first.inner_text()
    card = rows.first.bounding_box()
    assert card["width"] <= 390 and page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    assert not page.locator("[data-filters] form[role=search]").is_visible()  # the filters fold away on a phone
    check_accessibility(page, "staff-queue-phone")

    rows.first.locator("[data-open]").click()
    page.wait_for_url(f"**/staff/reports/{ours.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    check_accessibility(page, "staff-report-phone")
    page.select_option("#status-to_status", "in_progress")
    page.locator("form[action$='/status/'] button[type=submit]").click()
    page.wait_for_load_state()
    page.fill("#message-message", "We komen morgen kijken.")
    page.locator("form[action$='/message/'] button[type=submit]").click()
    page.wait_for_load_state()
    ours.refresh_from_db()
    assert ours.status == Report.Status.IN_PROGRESS
    assert ours.history.filter(message="We komen morgen kijken.").exists()
    check_accessibility(page, "staff-report-phone-answered")
