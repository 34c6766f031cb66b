"""Reviewing the matching engine's flags in a real browser: start a run, see it finish, accept a flag."""
import pytest

from matching.models import Match, ReviewStatus
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
    assert page.get_by_role("cell", name="Done").first.is_visible()

    page.goto("/staff/matches/")
    check_accessibility(page, "staff-matches")
    flag = page.locator("article.site-flag").filter(has_text=challenge.title)
    assert flag.get_by_text("Riool overbelast bij extreme neerslag").is_visible()
    assert flag.get_by_text("Onderdoorgangen lopen onder bij wolkbreuken").is_visible()
    flag.get_by_label("Reason").fill("One sewer problem")
    flag.get_by_role("button", name="Accept and link").click()
    page.wait_for_load_state()
    assert page.get_by_text("Flag accepted").is_visible()
    match = Match.objects.get(societal_challenge=challenge)
    assert match.status == ReviewStatus.ACCEPTED and match.decision_reason == "One sewer problem"
