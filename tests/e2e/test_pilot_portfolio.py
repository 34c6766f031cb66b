"""The innovation team runs a pilot from idea to scaling in a real browser; the portfolio pages pass axe-core."""
import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from pilots.models import Pilot
from tests.e2e.conftest import check_accessibility, log_in

pytestmark = pytest.mark.services


@pytest.fixture
def demo(transactional_db, settings):
    # These pages are not about the matching: its demo run goes on words alone, without
    # encoding every demo text again for each test (tests/smartcity covers the vectors).
    settings.MATCHING_SEMANTIC = False
    call_command("load_demo", verbosity=0)
    call_command("load_demo_pilots", verbosity=0)


def _record_gate(page, answers: dict[str, str], choices: dict[str, str] | None = None) -> None:
    for question, answer in answers.items():
        page.get_by_label(question).fill(answer)
    for question, option in (choices or {}).items():
        page.get_by_label(question).select_option(option)
    page.get_by_label("go", exact=True).check()
    page.get_by_role("button", name="Record the gate").click()
    page.wait_for_load_state()


def test_an_innovation_team_member_runs_a_pilot_from_idea_to_scaling(page, demo, innovation_member):
    log_in(page, innovation_member.email)
    page.goto("/pilots/")
    page.get_by_role("link", name="New pilot").first.click()
    page.get_by_label("Title").fill("Noise sensors at the harbour")
    page.get_by_label("What is tried").fill("Sensors measure noise at night so enforcement comes at the right time.")
    page.get_by_label("Drukte en overlast rond boulevard en haven in het hoogseizoen").check()
    page.get_by_label("Zwerfafval en volle containers in de wijk").check()
    check_accessibility(page, "pilot-form")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    pilot = Pilot.objects.get(title="Noise sensors at the harbour")
    assert page.url.endswith(pilot.get_absolute_url())

    # Idea -> proof of concept: a go without the required answers is refused, field by field.
    page.get_by_role("link", name="Gate to “proof of concept”").click()
    # expect() waits for the page the click opens; is_visible() answered for the page still shown
    expect(page.get_by_text("This pilot serves 2 societal challenges.")).to_be_visible()
    page.get_by_label("go", exact=True).check()
    page.get_by_role("button", name="Record the gate").click()
    page.wait_for_load_state()
    # two answers missing, each said at its field and in the error summary above the form
    assert page.get_by_text("This answer is required before the pilot can move on.").count() == 4
    check_accessibility(page, "pilot-gate-form-errors")
    _record_gate(page, {
        "For which societal challenges and for whom does it create value?": "Residents near the harbour; enforcement.",
        "What are the success criteria, and what is the baseline?": "Night-time complaints: 30 a week, target 15.",
    })
    expect(page.get_by_text("Go: the pilot is now in stage “proof of concept”.")).to_be_visible()

    # Proof of concept -> pilot: earlier answers are filled in already; two more are needed now.
    page.get_by_role("link", name="Gate to “pilot”").click()
    assert page.get_by_label("What are the success criteria, and what is the baseline?").input_value().startswith("Night-time")
    _record_gate(page, {
        "Who in the line organisation owns it after the experiment?": "Team lead, Stadsdeel Scheveningen.",
        "Data and privacy: is the DPIA done, and what is measured?": "DPIA done; decibels only, no audio.",
    })

    # Pilot -> scaling: funding and the kind of scaling.
    page.get_by_role("link", name="Gate to “scaling”").click()
    _record_gate(page, {"How is it funded after the experiment, and what is the business model?": "District budget."},
                 {"Which kind of scaling is intended?": "replication"})
    pilot.refresh_from_db()
    assert pilot.stage == "scaling"
    assert list(pilot.gates.values_list("to_stage", "decision")) == [
        ("idea", "go"), ("proof_of_concept", "go"), ("pilot", "go"), ("scaling", "go")]
    assert page.locator(".pilot-stages [aria-current=step]").inner_text() == "Scaling"
    check_accessibility(page, "pilot-detail-internal")

    page.goto("/pilots/portfolio/")
    expect(page.get_by_role("heading", name="Stranded pilots")).to_be_visible()
    check_accessibility(page, "pilot-portfolio-dashboard")


def test_the_public_portfolio_and_a_pilot_page_pass_axe_on_a_phone(phone_page, demo):
    phone_page.goto("/pilots/")
    check_accessibility(phone_page, "pilot-list-phone")
    phone_page.goto(Pilot.objects.get(reference="demo-pilot-drukte").get_absolute_url())
    # Two KPIs of the departments and two from the residents' feedback (load_demo_calls).
    assert phone_page.locator("svg.pilot-chart[role=img]").count() == 4
    check_accessibility(phone_page, "pilot-detail-phone")


def test_the_pilot_forms_pass_axe_with_their_error_messages(page, admin_user, demo):
    from django.urls import reverse

    pilot = Pilot.objects.get(reference="demo-pilot-containers")
    kpi = pilot.kpis.get()
    log_in(page, admin_user.email)
    page.goto(reverse("pilots:pilot-edit", args=[pilot.pk]))
    check_accessibility(page, "pilot-edit-with-partners")
    page.goto(reverse("pilots:pilot-stop", args=[pilot.pk]))
    page.get_by_role("button", name="Stop the pilot").click()
    page.wait_for_load_state()
    assert page.locator(".utrecht-form-field-error-message").count() == 1
    check_accessibility(page, "pilot-stop-errors")
    page.goto(reverse("pilots:kpi-create", args=[pilot.pk]))
    check_accessibility(page, "pilot-kpi-form")
    page.goto(reverse("pilots:measurement-create", args=[kpi.pk]))
    check_accessibility(page, "pilot-measurement-form")
    page.goto(reverse("pilots:measurement-import", args=[kpi.pk]))
    page.set_input_files("input[name=file]", files=[{
        "name": "counts.csv", "mimeType": "text/csv",
        "buffer": b"measured_at,value\n2026-05-01T09:00,12\nnot a time,3\n2026-05-02T09:00,x\n"}])
    page.get_by_role("button", name="Import").click()
    page.wait_for_load_state()
    assert page.get_by_role("table").locator("tbody tr").count() == 2
    check_accessibility(page, "pilot-measurement-import-result")
