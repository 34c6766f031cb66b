"""Open calls, partner organisations, proposals, assessment and the step from proposal to pilot (issue #21)."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from pilots import permissions
from pilots.models import (
    KPI,
    Assessment,
    Call,
    Gate,
    Organisation,
    OrganisationVerification,
    Partner,
    Proposal,
    ProposalAttachment,
    Stage,
)
from tests.pilots.conftest import PDF


@pytest.fixture
def client():
    from django.test import Client

    return Client(HTTP_ACCEPT_LANGUAGE="en")


# --- partner organisations -----------------------------------------------------------------------------
def test_a_person_registers_an_organisation_and_acts_for_it_unverified(client, resident):
    client.force_login(resident)
    response = client.post(reverse("pilots:organisation-create"), {"name": "Lab BV", "kind": "company"})
    organisation = Organisation.objects.get(name="Lab BV")
    assert response.status_code == 302 and organisation.status == Organisation.Status.PENDING
    assert list(organisation.members.all()) == [resident]


def test_verifying_is_an_explicit_staff_action_with_history(client, unverified_partner, innovation_member, resident):
    organisation = unverified_partner.organisations.get()
    url = reverse("pilots:organisation-detail", args=[organisation.pk])
    client.force_login(unverified_partner)
    assert client.post(url, {"status": "verified"}).status_code == 403  # not by the partner itself
    client.force_login(resident)
    assert client.get(url).status_code == 403  # nor seen by others
    client.force_login(innovation_member)
    client.post(url, {"status": "verified", "note": "Chamber of Commerce checked"})
    organisation.refresh_from_db()
    assert organisation.is_verified
    row = OrganisationVerification.objects.get(organisation=organisation)
    assert (row.from_status, row.to_status, row.by, row.note) == ("pending", "verified", innovation_member,
                                                                  "Chamber of Commerce checked")


# --- the permission matrix (docs/permissions.md, "Open innovation") ---------------------------------------
def test_a_partner_sees_and_edits_only_their_organisations_drafts(client, draft, partner, other_partner, innovation_member):
    detail, edit = reverse("pilots:proposal-detail", args=[draft.pk]), reverse("pilots:proposal-edit", args=[draft.pk])
    client.force_login(partner)
    assert client.get(detail).status_code == 200 and client.get(edit).status_code == 200
    client.force_login(other_partner)
    assert client.get(detail).status_code == 404  # confidential: not even its existence
    assert client.post(edit, {"title": "Taken over", "solution": "x"}).status_code == 404
    client.force_login(innovation_member)
    assert client.get(detail).status_code == 404  # a draft is the organisation's own
    draft.refresh_from_db()
    assert draft.title == "Sound-absorbing planters"


def test_the_matrix_functions_agree_with_the_pages(draft, partner, other_partner, unverified_partner, innovation_member, resident):
    assert [permissions.can_edit_proposal(u, draft) for u in (partner, other_partner, innovation_member, resident)] == [
        True, False, False, False]
    assert [permissions.can_view_proposal(u, draft) for u in (partner, other_partner, innovation_member, resident)] == [
        True, False, False, False]
    draft.submit(by=partner)
    assert [permissions.can_view_proposal(u, draft) for u in (partner, other_partner, innovation_member, resident)] == [
        True, False, True, False]
    assert not permissions.can_edit_proposal(partner, draft)  # submitting locks it


def test_an_unverified_partner_cannot_submit(client, call, unverified_partner):
    proposal = Proposal.objects.create(call=call, organisation=unverified_partner.organisations.get(), title="T",
                                       solution="S")
    client.force_login(unverified_partner)
    response = client.post(reverse("pilots:proposal-submit", args=[proposal.pk]), follow=True)
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.DRAFT
    assert "must be verified" in response.content.decode()
    assert not permissions.can_submit_proposal(unverified_partner, proposal)


def test_submitting_locks_the_proposal_and_confirms_its_receipt(client, draft, partner, mailoutbox,
                                                                 django_capture_on_commit_callbacks):
    client.force_login(partner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("pilots:proposal-submit", args=[draft.pk]))
        client.post(reverse("pilots:proposal-submit", args=[draft.pk]))  # a second click sends no second mail
    draft.refresh_from_db()
    assert draft.status == Proposal.Status.SUBMITTED and draft.submitted_at
    assert client.post(reverse("pilots:proposal-edit", args=[draft.pk]), {"title": "Changed", "solution": "x"}).status_code == 403
    assert [m.to for m in mailoutbox] == [["pia@quietco.example"]]
    assert "Proposal received" in mailoutbox[0].subject


def test_a_closed_call_takes_no_submission(draft, partner):
    Call.objects.filter(pk=draft.call_id).update(status=Call.Status.CLOSED)
    with pytest.raises(Exception, match="closed"):
        draft.submit(by=partner)


# --- attachments -----------------------------------------------------------------------------------------
def test_a_pdf_is_attached_and_served_only_to_those_who_may_read_the_proposal(client, draft, partner, other_partner):
    client.force_login(partner)
    client.post(reverse("pilots:attachment-upload", args=[draft.pk]),
                {"file": SimpleUploadedFile("plan.pdf", PDF, content_type="application/pdf")})
    attachment = ProposalAttachment.objects.get(proposal=draft)
    url = reverse("pilots:attachment-download", args=[attachment.pk])
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF-")
    client.force_login(other_partner)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("name, content", [
    ("plan.pdf", b"<html><script>alert(1)</script></html>"),  # a PDF by name only
    ("plan.pdf", b"%PDF-1.4 but cut off before its end"),
])
def test_an_attachment_is_checked_by_content_not_by_name(client, draft, partner, name, content):
    client.force_login(partner)
    response = client.post(reverse("pilots:attachment-upload", args=[draft.pk]),
                           {"file": SimpleUploadedFile(name, content, content_type="application/pdf")}, follow=True)
    assert not ProposalAttachment.objects.exists()
    assert "not a PDF" in response.content.decode()


def test_an_attachment_over_the_size_limit_is_refused(client, draft, partner, monkeypatch):
    monkeypatch.setattr(ProposalAttachment, "MAX_BYTES", len(PDF) - 1)
    client.force_login(partner)
    response = client.post(reverse("pilots:attachment-upload", args=[draft.pk]),
                           {"file": SimpleUploadedFile("plan.pdf", PDF, content_type="application/pdf")}, follow=True)
    assert not ProposalAttachment.objects.exists()
    assert "larger than 10 MB" in response.content.decode()


def test_a_submitted_proposal_takes_no_more_files(client, submitted, partner):
    client.force_login(partner)
    response = client.post(reverse("pilots:attachment-upload", args=[submitted.pk]),
                           {"file": SimpleUploadedFile("plan.pdf", PDF, content_type="application/pdf")})
    assert response.status_code == 403 and not ProposalAttachment.objects.exists()


# --- assessment ---------------------------------------------------------------------------------------------
def _assess(client, proposal, **fields):
    return client.post(reverse("pilots:assessment-edit", args=[proposal.pk]), fields)


def test_assessors_scores_stay_private_until_the_decision(client, submitted, innovation_member, second_assessor, partner):
    client.force_login(innovation_member)
    assert _assess(client, submitted, score_0="4", score_1="3", score_2="5").status_code == 302
    client.force_login(second_assessor)
    _assess(client, submitted, score_0="2", score_1="2", score_2="2")
    page = client.get(reverse("pilots:proposal-detail", args=[submitted.pk])).content.decode()
    assert "total 6" in page and "total 12" not in page  # only their own
    client.force_login(partner)
    assert "total" not in client.get(reverse("pilots:proposal-detail", args=[submitted.pk])).content.decode()
    submitted.reject(by=innovation_member, reason="Too costly to maintain.")
    client.force_login(second_assessor)
    page = client.get(reverse("pilots:proposal-detail", args=[submitted.pk])).content.decode()
    assert "total 6" in page and "total 12" in page  # together, once decided
    mine = Assessment.objects.get(assessor=innovation_member)
    assert mine.scores == {"challenges": 4, "Feasibility": 3, "Cost": 5}
    assert permissions.can_see_assessment(second_assessor, mine)


def test_the_built_in_criterion_is_how_many_challenges_it_credibly_serves(client, submitted, innovation_member):
    client.force_login(innovation_member)
    page = client.get(reverse("pilots:assessment-edit", args=[submitted.pk])).content.decode()
    assert "How many societal challenges it credibly serves" in page and "Feasibility" in page


def test_an_assessor_scores_every_criterion_or_declares_a_conflict(client, submitted, innovation_member, second_assessor):
    client.force_login(innovation_member)
    assert _assess(client, submitted, score_0="4").status_code == 200  # incomplete
    assert _assess(client, submitted, score_0="4", score_1="3", score_2="5",
                   conflict_of_interest="My brother works there").status_code == 200  # both
    assert _assess(client, submitted, conflict_of_interest="My brother works there").status_code == 302
    client.force_login(second_assessor)
    page = client.get(reverse("pilots:proposal-detail", args=[submitted.pk])).content.decode()
    assert "My brother works there" in page  # staff see conflicts declared per assessor


def test_nobody_outside_the_team_assesses(client, submitted, partner, civil_servant):
    for user in (partner, civil_servant):
        client.force_login(user)
        assert client.get(reverse("pilots:assessment-edit", args=[submitted.pk])).status_code in (403, 404)
    assert not Assessment.objects.exists()


# --- from proposal to pilot -----------------------------------------------------------------------------
def test_an_accepted_proposal_becomes_a_pilot_with_its_challenges_kpis_and_partner(
        client, submitted, innovation_member, challenge, other_challenge, mailoutbox, django_capture_on_commit_callbacks):
    client.force_login(innovation_member)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("pilots:proposal-decide", args=[submitted.pk]),
                               {"decision": "accept", "stage": Stage.PROOF_OF_CONCEPT, "reason": "Strong and broad."})
    submitted.refresh_from_db()
    pilot = submitted.pilot
    assert response.status_code == 302 and response["Location"] == pilot.get_absolute_url()
    assert submitted.status == Proposal.Status.ACCEPTED and pilot.stage == Stage.PROOF_OF_CONCEPT
    assert set(pilot.societal_challenges.all()) == {challenge, other_challenge}
    kpi = KPI.objects.get(pilot=pilot)
    assert (kpi.name, kpi.unit, kpi.baseline, kpi.target) == ("Noise complaints per week", "complaints", 40.0, 25.0)
    partner_row = Partner.objects.get(pilot=pilot)
    assert partner_row.organisation == submitted.organisation and partner_row.kind == "company"
    gate = Gate.objects.get(pilot=pilot)
    assert "Sound-absorbing planters" in gate.notes  # the history links both ways
    page = client.get(pilot.get_absolute_url()).content.decode()
    assert submitted.get_absolute_url() in page and "Quieter evenings" in page
    assert [m.to for m in mailoutbox] == [["pia@quietco.example"]] and "accepted" in mailoutbox[0].body


def test_the_decision_is_written_in_the_language_the_partner_submitted_in(
        client, draft, partner, innovation_member, mailoutbox, django_capture_on_commit_callbacks):
    from django.utils import translation

    client.force_login(partner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("pilots:proposal-submit", args=[draft.pk]), HTTP_ACCEPT_LANGUAGE="sv")
    draft.refresh_from_db()
    assert draft.language == "sv"
    client.force_login(innovation_member)
    with translation.override("nl"), django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("pilots:proposal-decide", args=[draft.pk]), {"decision": "reject", "reason": "Te duur."},
                    HTTP_ACCEPT_LANGUAGE="nl")
    decision = [m for m in mailoutbox if "Sound-absorbing planters" in m.subject][-1]
    assert decision.subject == "Beslut om ditt förslag: Sound-absorbing planters"


def test_a_rejection_needs_a_reason_that_the_partner_sees(client, submitted, innovation_member, partner):
    client.force_login(innovation_member)
    client.post(reverse("pilots:proposal-decide", args=[submitted.pk]), {"decision": "reject", "reason": ""})
    submitted.refresh_from_db()
    assert submitted.status == Proposal.Status.SUBMITTED
    client.post(reverse("pilots:proposal-decide", args=[submitted.pk]), {"decision": "reject", "reason": "Not feasible here."})
    submitted.refresh_from_db()
    assert submitted.status == Proposal.Status.REJECTED
    client.force_login(partner)
    assert "Not feasible here." in client.get(submitted.get_absolute_url()).content.decode()


def test_a_proposal_is_decided_once(submitted, innovation_member):
    submitted.reject(by=innovation_member, reason="No.")
    with pytest.raises(Exception, match="once"):
        submitted.accept(by=innovation_member, stage=Stage.IDEA)


def test_an_accepted_proposal_starts_only_as_an_idea_or_a_proof_of_concept(submitted, innovation_member):
    with pytest.raises(Exception, match="idea or a proof of concept"):
        submitted.accept(by=innovation_member, stage=Stage.PILOT)


# --- calls ------------------------------------------------------------------------------------------------
def test_a_draft_call_is_seen_only_by_the_team(client, call, innovation_member, resident):
    Call.objects.filter(pk=call.pk).update(status=Call.Status.DRAFT)
    assert client.get(call.get_absolute_url()).status_code == 404
    client.force_login(innovation_member)
    assert client.get(call.get_absolute_url()).status_code == 200


def test_the_challenge_hub_shows_the_published_calls(client, call, challenge):
    page = client.get(challenge.get_absolute_url()).content.decode()
    assert call.title in page and call.get_absolute_url() in page


def test_only_the_team_writes_calls(client, resident, partner, challenge):
    for user in (resident, partner):
        client.force_login(user)
        assert client.get(reverse("pilots:call-create")).status_code == 403


def test_the_team_does_not_see_a_drafts_title_on_the_organisations_page(client, draft, innovation_member):
    client.force_login(innovation_member)
    page = client.get(draft.organisation.get_absolute_url()).content.decode()
    assert draft.title not in page
    assert draft.title not in client.get(reverse("pilots:proposal-list")).content.decode()


def test_the_call_page_counts_and_maps_the_reports_behind_it(client, call, challenge):
    from participation.models import Report

    shown = Report.objects.create(title="Music until 2 am", description="d", latitude=52.11, longitude=4.27)
    hidden = Report.objects.create(title="Hidden one", description="d", latitude=52.12, longitude=4.28, is_hidden=True)
    for report in (shown, hidden):
        report.societal_challenges.add(challenge)
    page = client.get(call.get_absolute_url()).content.decode()
    assert "1 report from residents" in page
    assert "Music until 2 am" in page and "Hidden one" not in page  # the map's points
