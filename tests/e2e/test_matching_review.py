"""Reviewing the matching engine's flags in a real browser: start a run, see it finish, accept a flag."""
import pytest
from playwright.sync_api import expect

from matching.models import Match, NoChallengeDecision, ReviewStatus, Suggestion
from participation.models import Report
from smartcity.models import DepartmentChallenge, SocietalChallenge
from tests.e2e.conftest import check_accessibility, log_in
from tests.matching.test_engine import CHALLENGES, REPORTS

pytestmark = pytest.mark.services


def test_a_civil_servant_starts_a_run_and_accepts_a_flag(page, transactional_db, civil_servant, department_a, department_b):
    for c in CHALLENGES:
        SocietalChallenge.objects.create(title=c.title, description=c.description)
    challenge = SocietalChallenge.objects.get(title=CHALLENGES[0].title)  # flooding
    for i, doc in enumerate(REPORTS):
        Report.objects.create(title=doc.title, description=doc.description, latitude=52.07 + i / 1000, longitude=4.3)
    DepartmentChallenge.objects.create(department=department_a, title="Riool overbelast bij extreme neerslag",
                                       description="Bij extreme neerslag raakt het riool vol en stroomt regenwater de straten en kelders in.")
    DepartmentChallenge.objects.create(department=department_b, title="Onderdoorgangen lopen onder bij wolkbreuken",
                                       description="Bij wolkbreuken lopen onderdoorgangen onder water en komen auto's vast te staan.")

    log_in(page, civil_servant.email)
    page.goto("/staff/matching/")
    check_accessibility(page, "staff-matching-runs")
    page.get_by_role("button", name="Start a full run").click()
    page.wait_for_load_state()
    expect(page.get_by_role("cell", name="Done").first).to_be_visible()

    page.goto("/staff/matches/")
    check_accessibility(page, "staff-matches")
    flag = page.locator("article.site-flag").filter(has_text=challenge.title)
    expect(flag.get_by_text("Riool overbelast bij extreme neerslag")).to_be_visible()
    expect(flag.get_by_text("Onderdoorgangen lopen onder bij wolkbreuken")).to_be_visible()
    flag.get_by_label("Reason").fill("One sewer problem")
    flag.get_by_role("button", name="Accept and link").click()
    page.wait_for_load_state()
    expect(page.get_by_text("Flag accepted")).to_be_visible()
    match = Match.objects.get(societal_challenge=challenge)
    assert match.status == ReviewStatus.ACCEPTED and match.decision_reason == "One sewer problem"


def test_a_civil_servant_marks_a_report_as_about_no_challenge_and_undoes_it(page, transactional_db, civil_servant,
                                                                             department_a):
    """Issue 19: the suggestion goes, the decision shows who and when, undo brings the choice back; axe on both."""
    challenge = SocietalChallenge.objects.create(title="Wateroverlast", description="Water op straat en in kelders.")
    report = Report.objects.create(title="Paraplu laten liggen in tram 9", description="Een zwarte paraplu.",
                                   latitude=52.07, longitude=4.3, department=department_a)
    Suggestion.objects.update_or_create(report=report, societal_challenge=challenge,  # saving it scored it already
                                        defaults={"score": 0.55, "reasons": [{"code": "meaning", "values": [], "count": 0}]})
    log_in(page, civil_servant.email)
    page.goto(f"/staff/reports/{report.pk}/")
    expect(page.get_by_role("button", name="Link Wateroverlast")).to_be_visible()
    check_accessibility(page, "staff-report-no-challenge-before")
    page.get_by_label("Reason").fill("Lost property")
    page.get_by_role("button", name="About no societal challenge").click()
    page.wait_for_load_state()
    expect(page.get_by_text("Marked as about no societal challenge")).to_be_visible()
    assert page.get_by_role("button", name="Link Wateroverlast").count() == 0
    page.get_by_text("History: about no societal challenge").click()
    check_accessibility(page, "staff-report-no-challenge-decided")
    page.get_by_role("button", name="Undo: it may be about a societal challenge").click()
    page.wait_for_load_state()
    expect(page.get_by_role("button", name="About no societal challenge")).to_be_visible()
    assert list(NoChallengeDecision.objects.values_list("reason", "undone_by")) == [("Lost property", civil_servant.pk)]
