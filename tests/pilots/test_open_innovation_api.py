"""/api/v1/calls, /api/v1/proposals (partner-scoped) and /api/v1/pilots/{id}/feedback (issue #21)."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from pilots.models import Call, FeedbackQuestion, Proposal, Stage


def test_anyone_reads_published_calls_but_not_drafts(api_client, call, innovation_member):
    Call.objects.create(title="Hidden draft", description="d", criteria="", deadline=call.deadline)
    response = api_client.get("/api/v1/calls")
    assert response.status_code == 200
    assert [item["title"] for item in response.json()["results"]] == ["Quieter evenings"]


def test_the_team_creates_and_publishes_a_call(token_client_for, innovation_member, challenge):
    client = token_client_for(innovation_member)
    deadline = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    response = client.post("/api/v1/calls", {"title": "Cleaner air", "description": "Ideas", "criteria": "Cost",
                                             "deadline": deadline, "societal_challenges": [challenge.pk]}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "draft"
    pk = response.json()["id"]
    response = client.patch(f"/api/v1/calls/{pk}", {"status": "published"}, format="json")
    assert response.json()["status"] == "published" and response.json()["published_at"]


def test_a_call_is_not_written_by_others(token_client_for, partner, challenge):
    response = token_client_for(partner).post("/api/v1/calls", {"title": "x"}, format="json")
    assert response.status_code == 403


def test_a_call_needs_a_public_challenge_and_a_sane_budget(token_client_for, innovation_member, challenge):
    response = token_client_for(innovation_member).post("/api/v1/calls", {
        "title": "x", "description": "d", "criteria": "", "deadline": "2030-01-01", "societal_challenges": [],
        "budget_min": 10, "budget_max": 5}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    names = {param["name"] for param in response.json()["invalidParams"]}
    assert "societal_challenges" in names


def test_proposals_are_scoped_to_the_partners_organisation(token_client_for, draft, partner, other_partner, innovation_member):
    assert [p["id"] for p in token_client_for(partner).get("/api/v1/proposals").json()["results"]] == [draft.pk]
    assert token_client_for(other_partner).get("/api/v1/proposals").json()["results"] == []
    assert token_client_for(other_partner).get(f"/api/v1/proposals/{draft.pk}").status_code == 404
    assert token_client_for(innovation_member).get("/api/v1/proposals").json()["results"] == []  # a draft
    draft.submit(by=partner)
    assert [p["id"] for p in token_client_for(innovation_member).get("/api/v1/proposals").json()["results"]] == [draft.pk]


def test_a_partner_writes_a_draft_and_submits_it_which_locks_it(token_client_for, call, partner, other_challenge):
    client = token_client_for(partner)
    response = client.post("/api/v1/proposals", {"call": call.pk, "title": "Planters", "solution": "Green",
                                                 "societal_challenges": [other_challenge.pk],
                                                 "scaling_changes": "Maintenance"}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "draft"
    pk = response.json()["id"]
    assert client.patch(f"/api/v1/proposals/{pk}", {"status": "submitted"}, format="json").json()["status"] == "submitted"
    assert client.patch(f"/api/v1/proposals/{pk}", {"title": "Changed"}, format="json").status_code == 403


def test_an_unverified_partner_cannot_submit_through_the_api(token_client_for, call, unverified_partner):
    client = token_client_for(unverified_partner)
    pk = client.post("/api/v1/proposals", {"call": call.pk, "title": "T", "solution": "S"}, format="json").json()["id"]
    response = client.patch(f"/api/v1/proposals/{pk}", {"status": "submitted"}, format="json")
    assert response.status_code == 409 and response["Content-Type"].startswith("application/problem+json")
    assert Proposal.objects.get(pk=pk).status == Proposal.Status.DRAFT


def test_a_partner_cannot_write_for_another_organisation(token_client_for, call, partner, other_partner):
    other = other_partner.organisations.get()
    response = token_client_for(partner).post("/api/v1/proposals", {"call": call.pk, "organisation": other.pk,
                                                                    "title": "T", "solution": "S"}, format="json")
    assert response.status_code == 400 and not Proposal.objects.exists()


def test_nobody_without_an_account_reads_proposals(api_client, submitted):
    assert api_client.get("/api/v1/proposals").status_code in (401, 403)


def test_residents_answer_feedback_through_the_api_only_at_pilot_and_scaling(token_client_for, api_client, pilot, resident):
    question = FeedbackQuestion.objects.create(pilot=pilot, text="Is it quieter in the evening?")
    client = token_client_for(resident)
    url = f"/api/v1/pilots/{pilot.pk}/feedback"
    assert client.post(url, {"question": question.pk, "value": 4}, format="json").status_code == 403  # stage idea
    pilot.__class__.objects.filter(pk=pilot.pk).update(stage=Stage.PILOT)
    response = client.post(url, {"question": question.pk, "value": 4, "comment": "Much better"}, format="json")
    assert response.status_code == 200 and response.json()["value"] == 4
    client.post(url, {"question": question.pk, "value": 2}, format="json")  # changed, not a second answer
    summary = client.get(url).json()["results"][0]
    assert (summary["answers"], summary["your_answer"], summary["share_positive"]) == (1, 2, 0.0)
    anonymous = api_client.__class__()
    assert anonymous.post(url, {"question": question.pk, "value": 5}, format="json").status_code in (401, 403)
    assert anonymous.get(url).json()["results"][0]["answers"] == 1


def test_a_feedback_value_outside_1_to_5_is_a_400(token_client_for, pilot, resident):
    pilot.__class__.objects.filter(pk=pilot.pk).update(stage=Stage.PILOT)
    question = FeedbackQuestion.objects.create(pilot=pilot, text="Quieter?")
    response = token_client_for(resident).post(f"/api/v1/pilots/{pilot.pk}/feedback",
                                               {"question": question.pk, "value": 6}, format="json")
    assert response.status_code == 400


def test_the_new_resources_are_in_the_openapi_document(api_client):
    paths = api_client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/calls", "/calls/{id}", "/proposals", "/proposals/{id}", "/pilots/{id}/feedback"} <= set(paths)
