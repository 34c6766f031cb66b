"""Every cell of docs/permissions.md, "Open innovation", through the pages (one test per role and action)."""
from __future__ import annotations

import pytest
from django.urls import reverse

from pilots import services
from pilots.models import Call, FeedbackQuestion, Organisation, Pilot, Proposal, Stage

ROLES = ["visitor", "resident", "unverified_partner", "partner", "civil_servant", "innovation_member"]
# role -> (read call, write call, register organisation, verify, read own draft, edit own draft, submit own draft,
#          read another organisation's proposal, read submitted proposals of others, assess, answer feedback,
#          hide a comment)
MATRIX = {
    "visitor":            (1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0),  # answers with a confirmed email address
    "resident":           (1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0),
    "unverified_partner": (1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1, 0),
    "partner":            (1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0),
    "civil_servant":      (1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0),
    "innovation_member":  (1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1),
}
ACTIONS = ["read_call", "write_call", "register", "verify", "read_own_draft", "edit_own_draft", "submit_own_draft",
           "read_other_draft", "read_submitted", "assess", "answer_feedback", "hide_comment"]


@pytest.fixture
def client():
    from django.test import Client

    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def world(call, partner, unverified_partner, other_partner, resident, innovation_member):
    """A draft of the role's own organisation (for partners; another's for everyone else), a submitted proposal of a
    third organisation, and a running pilot with a question and a comment."""
    def draft_of(user):
        organisation = user.organisations.first() if user and user.is_authenticated else None
        organisation = organisation or other_partner.organisations.get()
        return Proposal.objects.create(call=call, organisation=organisation, title=f"Draft {organisation}", solution="S")
    submitted = Proposal.objects.create(call=call, organisation=other_partner.organisations.get(), title="Submitted",
                                        solution="S")
    submitted.submit(by=other_partner)
    pilot = Pilot.objects.create(title="Running", description="d", stage=Stage.PILOT)
    question = FeedbackQuestion.objects.create(pilot=pilot, text="Quieter?")
    from pilots.services import feedback_answer
    answer = feedback_answer(question=question, user=resident, value=2, comment="Rude words")
    return {"draft_of": draft_of, "submitted": submitted, "question": question, "answer": answer}


def _act(client, action, user, world, call) -> bool:
    if action == "read_call":
        return client.get(call.get_absolute_url()).status_code == 200
    if action == "write_call":
        return client.get(reverse("pilots:call-create")).status_code == 200
    if action == "register":
        return client.post(reverse("pilots:organisation-create"), {"name": "New org", "kind": "company"}).status_code == 302 \
            and Organisation.objects.filter(name="New org").exists()
    if action == "verify":
        organisation = Organisation.objects.get(name="NewCo")
        client.post(organisation.get_absolute_url(), {"status": "verified"})
        organisation.refresh_from_db()
        return organisation.is_verified
    own_partner = user is not None and user.organisation_memberships.exists()
    if action in ("read_own_draft", "edit_own_draft", "submit_own_draft"):
        if not own_partner:
            return False  # nothing of their own: the column is about a partner's own drafts
        draft = world["draft_of"](user)
        if action == "read_own_draft":
            return client.get(draft.get_absolute_url()).status_code == 200
        if action == "edit_own_draft":
            client.post(reverse("pilots:proposal-edit", args=[draft.pk]), {"title": "Edited", "solution": "S"})
            draft.refresh_from_db()
            return draft.title == "Edited"
        client.post(reverse("pilots:proposal-submit", args=[draft.pk]))
        draft.refresh_from_db()
        return draft.status == Proposal.Status.SUBMITTED
    if action == "read_other_draft":
        other = Proposal.objects.create(call=call, organisation=Organisation.objects.get(name="OtherCorp"),
                                        title="Other's draft", solution="S")
        return client.get(other.get_absolute_url()).status_code == 200
    if action == "read_submitted":
        return client.get(world["submitted"].get_absolute_url()).status_code == 200
    if action == "assess":
        return client.get(reverse("pilots:assessment-edit", args=[world["submitted"].pk])).status_code == 200
    if action == "answer_feedback":
        question = world["question"]
        if user is None:  # without an account: with an email address, counted once the emailed link is followed
            client.post(reverse("pilots:feedback-answer", args=[question.pk]),
                        {f"q{question.pk}-value": 4, f"q{question.pk}-email": "visitor@example.org"})
            token = services.feedback_token(question=question, email="visitor@example.org", value=4, comment="")
            client.post(reverse("pilots:feedback-confirm", args=[token]))
            return question.answers.filter(email="visitor@example.org", value=4).exists()
        client.post(reverse("pilots:feedback-answer", args=[question.pk]), {f"q{question.pk}-value": 4})
        return question.answers.filter(user=user, value=4).exists()
    if action == "hide_comment":
        client.post(reverse("pilots:feedback-hide", args=[world["answer"].pk]), {"reason": "Rude"})
        world["answer"].refresh_from_db()
        return world["answer"].is_hidden
    raise AssertionError(action)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
def test_the_open_innovation_matrix(client, request, world, call, role, action):
    user = None if role == "visitor" else request.getfixturevalue(role)
    if user is not None:
        client.force_login(user)
    expected = bool(MATRIX[role][ACTIONS.index(action)])
    assert _act(client, action, user, world, call) is expected


def test_feedback_is_refused_outside_pilot_and_scaling_for_every_role(client, request, world):
    question = world["question"]
    Pilot.objects.filter(pk=question.pilot_id).update(stage=Stage.PROOF_OF_CONCEPT)
    for role in ROLES[1:]:
        client.force_login(request.getfixturevalue(role))
        assert client.post(reverse("pilots:feedback-answer", args=[question.pk]), {f"q{question.pk}-value": 4}).status_code == 403
    assert question.answers.count() == 1


def test_a_draft_call_is_read_only_by_the_team(client, request, call):
    Call.objects.filter(pk=call.pk).update(status=Call.Status.DRAFT)
    for role in ROLES:
        client.logout()
        if role != "visitor":
            client.force_login(request.getfixturevalue(role))
        assert (client.get(call.get_absolute_url()).status_code == 200) is (role == "innovation_member")
