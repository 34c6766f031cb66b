"""Open innovation in a real browser (issue #21), the three flows of the issue, axe on every page:
1. a company registers, is verified and submits a proposal (Dutch);
2. the team scores it and turns it into a pilot (English);
3. a resident near the pilot is told when it starts, answers its question and sees the KPI move (Swedish, phone).
The forms are driven by field names, so the flows read the same in every language."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from participation.models import Follow, Report
from pilots.models import Call, FeedbackQuestion, Organisation, Pilot, Proposal, Stage
from smartcity.models import Area, SocietalChallenge
from tests.conftest import _user
from tests.e2e.conftest import PHONE, check_accessibility, log_in
from tests.pilots.conftest import ALL_ANSWERS, PDF

pytestmark = pytest.mark.services


@pytest.fixture
def open_call(transactional_db, innovation_member):
    from pilots.criteria import ensure_default_criteria
    from pilots.models import GateCriterion

    ensure_default_criteria(GateCriterion)
    boulevard = SocietalChallenge.objects.create(title="Liveable boulevard", description="Noise in the evening.")
    SocietalChallenge.objects.create(title="Clean streets", description="Litter after the weekend.")
    call = Call.objects.create(title="Quieter evenings", description="Ideas for a quieter boulevard.",
                               criteria="Feasibility", deadline=timezone.localdate() + dt.timedelta(days=20),
                               status=Call.Status.PUBLISHED)
    call.societal_challenges.add(boulevard)
    return call


def _context(browser, live_server, locale: str, **extra):
    context = browser.new_context(base_url=live_server.url, locale=locale, **extra)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def _submit(page, button: str = "main form button[type=submit]") -> None:
    page.locator(button).first.click()
    page.wait_for_load_state()


def test_a_company_registers_is_verified_and_submits_a_proposal(browser, live_server, open_call, innovation_member, tmp_path):
    _user("pia@quietco.example", display_name="Pia")
    company, page = _context(browser, live_server, "nl-NL")
    log_in(page, "pia@quietco.example")
    page.goto(open_call.get_absolute_url())
    check_accessibility(page, "call-detail-nl")
    page.goto("/pilots/organisations/new/")
    page.fill("input[name=name]", "QuietCo")
    page.locator("input[name=kind][value=company]").check()
    check_accessibility(page, "organisation-form-nl")
    _submit(page)
    organisation = Organisation.objects.get(name="QuietCo")
    check_accessibility(page, "organisation-detail-unverified-nl")

    team, staff = _context(browser, live_server, "nl-NL")
    log_in(staff, innovation_member.email)
    staff.goto("/pilots/organisations/")
    check_accessibility(staff, "organisation-list-nl")
    staff.goto(organisation.get_absolute_url())
    staff.locator("input[name=status][value=verified]").check()
    staff.fill("input[name=note]", "KvK gecontroleerd")
    _submit(staff)
    organisation.refresh_from_db()
    assert organisation.is_verified and organisation.verifications.count() == 1
    team.close()

    page.goto(f"/pilots/calls/{open_call.pk}/proposals/new/")
    page.fill("input[name=title]", "Sound-absorbing planters")
    page.fill("textarea[name=solution]", "Planters with a sound-absorbing wall along the terraces.")
    page.fill("textarea[name=expected_effects]", "Noise complaints per week; complaints; 40; 25")
    page.fill("textarea[name=scaling_changes]", "Maintenance contracts must include the planters.")
    page.get_by_label("Clean streets").check()  # beyond the call's own challenge (a title, not a translation)
    check_accessibility(page, "proposal-form-nl")
    _submit(page)
    proposal = Proposal.objects.get(title="Sound-absorbing planters")
    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(PDF)
    page.set_input_files("input[name=file]", str(pdf))
    page.locator("form[enctype] button[type=submit]").click()
    page.wait_for_load_state()
    assert proposal.attachments.count() == 1
    check_accessibility(page, "proposal-draft-nl")
    page.locator(f"form[action$='/proposals/{proposal.pk}/submit/'] button").click()
    page.wait_for_load_state()
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.SUBMITTED
    assert any("QuietCo" in m.body or "Sound-absorbing planters" in m.subject for m in mail.outbox)
    check_accessibility(page, "proposal-submitted-nl")
    company.close()


def test_the_team_scores_the_proposal_and_turns_it_into_a_pilot(browser, live_server, open_call, innovation_member):
    organisation = Organisation.objects.create(name="QuietCo", status=Organisation.Status.VERIFIED)
    proposal = Proposal.objects.create(call=open_call, organisation=organisation, title="Sound-absorbing planters",
                                       solution="Planters.", expected_effects="Noise complaints per week; complaints; 40; 25")
    proposal.submit(by=None)
    context, page = _context(browser, live_server, "en-GB")
    log_in(page, innovation_member.email)
    page.goto("/pilots/proposals/")
    check_accessibility(page, "proposal-list-en")
    page.goto(proposal.get_absolute_url())
    check_accessibility(page, "proposal-assess-en")
    page.goto(f"/pilots/proposals/{proposal.pk}/assessment/")
    for index in range(2):
        page.select_option(f"select[name=score_{index}]", "4")
    check_accessibility(page, "assessment-form-en")
    _submit(page)
    page.locator("input[name=decision][value=accept]").check()
    page.locator("input[name=stage][value=proof_of_concept]").check()
    page.fill("textarea[name=reason]", "Broad and feasible.")
    page.locator("form[action$='/decision/'] button").click()
    page.wait_for_load_state()
    proposal.refresh_from_db()
    assert proposal.pilot and page.url.endswith(proposal.pilot.get_absolute_url())
    assert proposal.pilot.stage == Stage.PROOF_OF_CONCEPT and proposal.pilot.kpis.count() == 1
    assert page.get_by_role("link", name="Sound-absorbing planters").count() >= 1  # back to the proposal
    check_accessibility(page, "pilot-from-proposal-en")
    context.close()


def test_a_resident_near_the_pilot_is_told_answers_and_sees_the_kpi_move(browser, live_server, open_call, innovation_member):
    challenge = open_call.societal_challenges.get()
    area = Area.objects.create(slug="boulevard", name="Boulevard", geometry={"type": "Polygon", "coordinates": [[
        [4.270, 52.110], [4.280, 52.110], [4.280, 52.115], [4.270, 52.115], [4.270, 52.110]]]},
        min_longitude=4.270, min_latitude=52.110, max_longitude=4.280, max_latitude=52.115)
    pilot = Pilot.objects.create(title="Sound sensors", description="Sensors on the boulevard.",
                                 stage=Stage.PROOF_OF_CONCEPT, area=area)
    pilot.societal_challenges.add(challenge)
    question = FeedbackQuestion.objects.create(pilot=pilot, text="Has it become quieter in the evening?")
    resident = _user("rosa@example.org", display_name="Rosa")
    report = Report.objects.create(title="Noise at night", description="Loud music.", latitude=52.112, longitude=4.275)
    report.societal_challenges.add(challenge)
    Follow.objects.create(report=report, user=resident)

    team, staff = _context(browser, live_server, "sv-SE")
    log_in(staff, innovation_member.email)
    staff.goto(f"/pilots/{pilot.pk}/gate/")
    for key, answer in ALL_ANSWERS.items():
        field = staff.locator(f"[name=answer_{key}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(answer)
        else:
            field.fill(answer)
    staff.locator("input[name=decision][value=go]").check()
    staff.fill("textarea[name=public_message]", "We start in May.")
    check_accessibility(staff, "gate-form-sv")
    _submit(staff)
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PILOT
    team.close()

    [message] = [m for m in mail.outbox if m.to == ["rosa@example.org"]]
    link = re.search(r"https?://\S+", message.body).group(0)
    context, page = _context(browser, live_server, "sv-SE", viewport=PHONE, is_mobile=True, has_touch=True)
    log_in(page, "rosa@example.org")
    page.goto(link.replace(link.split("/pilots/")[0], live_server.url))
    check_accessibility(page, "pilot-feedback-sv-phone")
    page.locator(f"input[name=q{question.pk}-value][value='5']").check()
    page.fill(f"textarea[name=q{question.pk}-comment]", "Mycket tystare.")
    page.locator(f"form[action$='/feedback/{question.pk}/'] button").click()
    page.wait_for_load_state()
    question.refresh_from_db()
    assert question.kpi_positive.measurements.get().value == 100.0
    assert "100" in page.locator(f"#kpi-{question.kpi_positive_id}").inner_text()
    check_accessibility(page, "pilot-feedback-answered-sv-phone")
    page.goto(open_call.get_absolute_url())
    assert page.locator(".leaflet-marker-icon, .leaflet-interactive").count() >= 1  # the report behind the call
    check_accessibility(page, "call-detail-sv-phone")
    for language in ("nl-NL", "en-GB"):
        other, other_page = _context(browser, live_server, language)
        other_page.goto(pilot.get_absolute_url())
        check_accessibility(other_page, f"pilot-feedback-{language[:2]}")
        other_page.goto(open_call.get_absolute_url())
        check_accessibility(other_page, f"call-detail-{language[:2]}")
        other.close()
    context.close()


def test_a_visitor_answers_by_confirmed_email_and_the_team_lands_on_the_pilots_awaiting_a_decision(
        browser, live_server, transactional_db, innovation_member):
    """Issue 21: a resident without an account answers with an email address, on a phone in Dutch, and the answer
    counts once the link is confirmed. Issue 18: the innovation team lands on the flags and the pilots waiting for a
    gate decision (English, desktop). Axe on every page."""
    pilot = Pilot.objects.create(title="Sound sensors", description="Sensors on the boulevard.", stage=Stage.PILOT,
                                 end_date=timezone.localdate() - dt.timedelta(days=2))
    question = FeedbackQuestion.objects.create(pilot=pilot, text="Has it become quieter in the evening?")
    context, page = _context(browser, live_server, "nl-NL", viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(pilot.get_absolute_url() + "#feedback")
    check_accessibility(page, "pilot-feedback-by-email-nl-phone")
    page.locator(f"input[name=q{question.pk}-value][value='4']").check()
    page.fill(f"input[name=q{question.pk}-email]", "bo@example.org")
    page.locator(f"form[action$='/feedback/{question.pk}/'] button").click()
    page.wait_for_load_state()
    assert not question.answers.exists()
    [message] = [m for m in mail.outbox if m.to == ["bo@example.org"]]
    path = re.search(r"https?://[^/\s]+(/\S+/)", message.body).group(1)
    page.goto(path)
    check_accessibility(page, "pilot-feedback-confirm-nl-phone")
    _submit(page)
    assert question.answers.get().email == "bo@example.org"
    assert "1 antwoord" in page.locator("#feedback").inner_text()
    context.close()

    context, staff = _context(browser, live_server, "en-GB", viewport={"width": 1366, "height": 900})
    log_in(staff, innovation_member.email)
    staff.goto("/staff/")
    assert staff.url.endswith("/staff/matches/")
    assert "1 pilot waits for a gate decision" in staff.content() and "Sound sensors" in staff.content()
    check_accessibility(staff, "innovation-landing-en-desktop")
    context.close()
