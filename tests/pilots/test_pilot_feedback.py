"""Residents' feedback on a running pilot: one answer per account, changeable, rate-limited, moderated, only at
stages pilot and scaling; the answers become two KPI series of the pilot and show on the scaling gate."""
from __future__ import annotations

import re
import time
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse

from pilots import permissions, services
from pilots.models import FeedbackAnswer, FeedbackQuestion, Measurement, Pilot, Stage


@pytest.fixture
def client():
    from django.test import Client

    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def question(pilot):
    Pilot.objects.filter(pk=pilot.pk).update(stage=Stage.PILOT)
    pilot.refresh_from_db()
    return FeedbackQuestion.objects.create(pilot=pilot, text="Has it become quieter in the evening?")


def _answer(client, question, value, comment=""):
    return client.post(reverse("pilots:feedback-answer", args=[question.pk]),
                       {f"q{question.pk}-value": value, f"q{question.pk}-comment": comment})


@pytest.mark.parametrize("stage, allowed", [
    (Stage.IDEA, False), (Stage.PROOF_OF_CONCEPT, False), (Stage.PILOT, True), (Stage.SCALING, True),
    (Stage.OPERATIONAL, False), (Stage.STOPPED, False),
])
def test_residents_answer_only_at_stages_pilot_and_scaling(client, question, resident, stage, allowed):
    Pilot.objects.filter(pk=question.pilot_id).update(stage=stage)
    client.force_login(resident)
    response = _answer(client, question, 4)
    assert (response.status_code == 302) is allowed
    assert FeedbackAnswer.objects.exists() is allowed
    question.pilot.refresh_from_db()
    assert permissions.can_answer_feedback(resident, question.pilot) is allowed


def test_a_visitor_without_an_account_answers_only_with_an_email_address(client, question):
    response = _answer(client, question, 5)
    assert response.status_code == 302
    assert "This field is required" in client.get(response["Location"]).content.decode()
    assert not FeedbackAnswer.objects.exists()


def _answer_by_email(client, question, value, email, comment="", capture=None):
    with capture(execute=True):
        response = client.post(reverse("pilots:feedback-answer", args=[question.pk]),
                               {f"q{question.pk}-value": value, f"q{question.pk}-comment": comment,
                                f"q{question.pk}-email": email})
    assert response.status_code == 302
    return response


def _link(message) -> str:
    return re.search(r"https?://[^/\s]+(/pilots/feedback/confirm/\S+/)", message.body).group(1)


def test_an_answer_by_email_counts_only_once_the_address_is_confirmed(client, question,
                                                                         django_capture_on_commit_callbacks):
    _answer_by_email(client, question, 5, "Bo@Example.org", "Much quieter", capture=django_capture_on_commit_callbacks)
    assert not FeedbackAnswer.objects.exists()  # nothing stored, nothing counted before the confirmation
    assert not Measurement.objects.filter(kpi=question.kpi_responses).exists()
    assert [message.to for message in mail.outbox] == [["Bo@Example.org"]]
    link = _link(mail.outbox[0])
    page = client.get(link)  # mail scanners follow links: a GET only asks
    assert page.status_code == 200 and "5 out of 5" in page.content.decode() and not FeedbackAnswer.objects.exists()
    client.post(link)
    client.post(link)  # the same link twice: still one answer
    answer = FeedbackAnswer.objects.get()
    assert (answer.email, answer.user, answer.value, answer.comment) == ("bo@example.org", None, 5, "Much quieter")
    assert Measurement.objects.get(kpi=question.kpi_responses).value == 1.0
    assert "1 answer, 100.0% positive" in client.get(question.pilot.get_absolute_url()).content.decode()


def test_one_answer_per_confirmed_email_which_can_be_changed_but_not_undone_by_an_old_link(
        client, question, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    _answer_by_email(client, question, 5, "bo@example.org", capture=capture)
    first = _link(mail.outbox[0])
    _answer_by_email(client, question, 1, "BO@example.org", "Noisy again", capture=capture)
    second = _link(mail.outbox[1])
    client.post(second)
    response = client.post(first, follow=True)  # an older link does not overwrite the newer answer
    assert "your newer answer stays" in response.content.decode()
    answer = FeedbackAnswer.objects.get()
    assert (answer.value, answer.comment) == (1, "Noisy again")


def test_an_email_answer_and_an_account_answer_are_two_answers(client, question, resident,
                                                               django_capture_on_commit_callbacks):
    _answer_by_email(client, question, 2, "bo@example.org", capture=django_capture_on_commit_callbacks)
    client.post(_link(mail.outbox[0]))
    client.force_login(resident)
    _answer(client, question, 4)
    assert sorted(FeedbackAnswer.objects.values_list("value", flat=True)) == [2, 4]


def test_a_tampered_or_old_feedback_link_is_refused(client, question, django_capture_on_commit_callbacks):
    _answer_by_email(client, question, 5, "bo@example.org", capture=django_capture_on_commit_callbacks)
    link = _link(mail.outbox[0])
    tampered = link.replace("/confirm/", "/confirm/x")
    assert client.post(tampered).status_code == 400
    later = time.time() + 8 * 24 * 3600
    with mock.patch("django.core.signing.time", mock.Mock(time=lambda: later)):
        assert client.post(link).status_code == 400
    assert not FeedbackAnswer.objects.exists()


def test_a_confirmation_link_does_not_count_once_the_pilot_stopped_asking(client, question,
                                                                          django_capture_on_commit_callbacks):
    _answer_by_email(client, question, 5, "bo@example.org", capture=django_capture_on_commit_callbacks)
    Pilot.objects.filter(pk=question.pilot_id).update(stage=Stage.OPERATIONAL)
    client.post(_link(mail.outbox[0]))
    assert not FeedbackAnswer.objects.exists()
    response = client.post(reverse("pilots:feedback-answer", args=[question.pk]),
                           {f"q{question.pk}-value": 4, f"q{question.pk}-email": "bo@example.org"})
    assert response.status_code == 403 and len(mail.outbox) == 1


def test_confirmation_emails_are_rate_limited_per_connection_and_answers_per_address(
        client, question, settings, django_capture_on_commit_callbacks):
    settings.PILOT_FEEDBACK_RATE_PER_HOUR = 2
    capture = django_capture_on_commit_callbacks
    for n in range(3):
        response = _answer_by_email(client, question, 3, f"p{n}@example.org", capture=capture)
    assert len(mail.outbox) == 2
    assert "Too many requests" in client.get(response["Location"]).content.decode()
    for message in mail.outbox:
        client.post(_link(message))
    assert FeedbackAnswer.objects.count() == 2
    # per address, whatever the connection: p0 answered once; one change more, then the hour's limit holds
    services.feedback_answer(question=question, email="p0@example.org", value=4)
    with pytest.raises(services.TooManyAnswers):
        services.feedback_answer(question=question, email="P0@example.org", value=1)
    assert FeedbackAnswer.objects.get(email="p0@example.org").value == 4


def test_one_answer_per_account_which_can_be_changed(client, question, resident):
    client.force_login(resident)
    _answer(client, question, 5, "Much quieter")
    _answer(client, question, 2, "Noisy again")
    answer = FeedbackAnswer.objects.get()
    assert (answer.value, answer.comment) == (2, "Noisy again")


def test_the_answers_become_a_kpi_series_of_the_pilot(client, question, resident, civil_servant, innovation_member):
    for user, value in ((resident, 5), (civil_servant, 4), (innovation_member, 1)):
        client.force_login(user)
        _answer(client, question, value)
    question.refresh_from_db()
    share = Measurement.objects.get(kpi=question.kpi_positive)
    count = Measurement.objects.get(kpi=question.kpi_responses)
    assert (share.value, count.value, share.source) == (66.7, 3.0, "residents")
    page = client.get(question.pilot.get_absolute_url()).content.decode()
    assert "3 answers, 66.7% positive" in page


def test_the_scaling_gate_shows_what_residents_say(client, question, resident, innovation_member):
    client.force_login(resident)
    _answer(client, question, 5)
    client.force_login(innovation_member)
    page = client.get(reverse("pilots:gate-create", args=[question.pilot_id])).content.decode()
    assert "What residents say" in page and "1 answer, 100.0% positive" in page


def test_answers_are_rate_limited_per_account(client, question, resident, settings):
    settings.PILOT_FEEDBACK_RATE_PER_HOUR = 2
    client.force_login(resident)
    for value in (1, 2, 3):
        response = _answer(client, question, value)
    assert "try again later" in client.get(response["Location"]).content.decode()
    assert FeedbackAnswer.objects.get().value == 2


def test_a_comment_is_moderated_like_a_reports_comment(client, question, resident, other_civil_servant, innovation_member):
    client.force_login(resident)
    _answer(client, question, 1, "Call me on 0612345678")
    answer = FeedbackAnswer.objects.get()
    hide = reverse("pilots:feedback-hide", args=[answer.pk])
    client.force_login(other_civil_servant)
    assert client.post(hide, {"reason": "Personal data"}).status_code == 403
    client.force_login(innovation_member)
    client.post(hide, {"reason": "Personal data"})
    answer.refresh_from_db()
    assert answer.is_hidden and answer.hidden_by == innovation_member
    client.logout()
    assert "0612345678" not in client.get(question.pilot.get_absolute_url()).content.decode()


def test_a_pilot_asks_at_most_two_questions(client, question, innovation_member):
    FeedbackQuestion.objects.create(pilot=question.pilot, text="Is it cleaner?")
    client.force_login(innovation_member)
    client.post(reverse("pilots:feedback-question-create", args=[question.pilot_id]), {"text": "A third?"})
    assert question.pilot.feedback_questions.count() == 2


def test_only_the_team_sets_questions(client, pilot, civil_servant):
    client.force_login(civil_servant)
    assert client.post(reverse("pilots:feedback-question-create", args=[pilot.pk]), {"text": "Q?"}).status_code == 403
