"""The staff report page: what it shows, its actions, and what happens when two civil servants act at once."""
from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from participation.models import InternalNote, Report
from smartcity.models import SocietalChallenge
from tests.participation.staff_factories import make_report

S = Report.Status


def url(name: str, report: Report) -> str:
    return reverse(f"participation:staff-report-{name}", args=[report.pk])


@pytest.fixture
def member(client, civil_servant):
    client.force_login(civil_servant)
    return client


@pytest.fixture
def routed(department_a):
    return make_report("Overflowing bin", status=S.ACCEPTED, department=department_a, contact_email="rita@example.org")


def test_the_page_shows_the_report_history_comments_notes_and_contact(member, routed, civil_servant, resident):
    InternalNote.objects.create(report=routed, author=civil_servant, text="Contractor called.")
    routed.comments.create(author=resident, text="Still full today.")
    routed.comments.create(author=resident, text="Rude words", is_hidden=True)
    html = member.get(url("detail", routed)).content.decode()
    for text in ["Overflowing bin", "Still full today.", "Contractor called.", "rita@example.org", "070 123 4567",
                 "History", "Change status", "Answer the reporter", "Merge as a duplicate"]:
        assert text in html, text
    assert "Rude words" not in html


def test_a_public_message_is_published_and_emailed(member, routed, resident, django_capture_on_commit_callbacks):
    routed.follows.create(user=resident)
    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(url("message", routed), {"message": "Emptied this morning.", "version": 1})
    assert response.status_code == 302
    assert routed.history.filter(message="Emptied this morning.", is_public=True).exists()
    assert sorted(message.to[0] for message in mail.outbox) == [resident.email, "rita@example.org"]


def test_an_empty_message_is_a_form_error_and_writes_nothing(member, routed):
    response = member.post(url("message", routed), {"message": " ", "version": 1})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert routed.history.count() == 1


def test_closing_without_a_message_is_refused_with_the_reason(member, routed):
    response = member.post(url("status", routed), {"to_status": S.RESOLVED, "message": "", "version": 1})
    assert response.status_code == 400
    assert "Closing a report needs a public message" in response.content.decode()
    routed.refresh_from_db()
    assert routed.status == S.ACCEPTED


def test_the_second_of_two_civil_servants_is_told_the_report_changed(routed, civil_servant, admin_user):
    first, second = Client(HTTP_ACCEPT_LANGUAGE="en"), Client(HTTP_ACCEPT_LANGUAGE="en")
    first.force_login(civil_servant)
    second.force_login(admin_user)
    # both loaded the page at version 1
    assert first.post(url("status", routed), {"to_status": S.IN_PROGRESS, "version": 1}).status_code == 302
    response = second.post(url("status", routed), {"to_status": S.NOT_ACTIONABLE, "message": "Not ours.", "version": 1})
    assert response.status_code == 409
    html = response.content.decode()
    assert "changed by someone else" in html and "It is now “in progress”" in html
    assert 'name="version" value="2"' in html  # the form now acts on the state shown
    assert "Not ours." in html  # the civil servant's text is kept
    routed.refresh_from_db()
    assert (routed.status, routed.version) == (S.IN_PROGRESS, 2)


def test_someone_who_lost_the_report_to_another_department_is_told_it_changed(member, routed, department_b, admin_user):
    Client().force_login(admin_user)
    routed.department, routed.version = department_b, 2
    routed.save()
    response = member.post(url("message", routed), {"message": "Hello", "version": 1})
    assert response.status_code == 409
    assert "Veiligheid" in response.content.decode()


def test_merging_from_the_page_redirects_to_the_report_kept(member, routed, department_a):
    duplicate = make_report("Bin full again", status=S.ACCEPTED, department=department_a)
    response = member.post(url("merge", duplicate), {"target": routed.pk, "message": "Same bin.", "version": 1})
    assert response.status_code == 302 and response["Location"] == url("detail", routed)
    duplicate.refresh_from_db()
    assert duplicate.duplicate_of == routed


def test_merging_into_a_report_that_does_not_exist_is_a_form_error(member, routed):
    response = member.post(url("merge", routed), {"target": 99999, "message": "Same.", "version": 1})
    assert response.status_code == 400
    assert "There is no report with number 99999." in response.content.decode()


def test_linking_and_unlinking_societal_challenges(member, routed):
    keep, drop, new = (SocietalChallenge.objects.create(title=t, description="d") for t in ("Keep", "Drop", "New"))
    closed = SocietalChallenge.objects.create(title="Closed", description="d", status=SocietalChallenge.Status.CLOSED)
    routed.societal_challenges.add(keep, drop, closed)
    member.post(url("challenges", routed), {"societal_challenges": [keep.pk, new.pk]})
    # a closed challenge is not on the form, so its link stays
    assert set(routed.societal_challenges.values_list("title", flat=True)) == {"Keep", "New", "Closed"}


def test_the_page_takes_a_bounded_number_of_queries_however_long_the_history(member, routed, civil_servant,
                                                                             django_assert_max_num_queries):
    from participation import workflow

    for number in range(15):
        workflow.post_message(report=routed, actor=civil_servant, message=f"Update {number}", version=routed.version + number)
        InternalNote.objects.create(report=routed, author=civil_servant, text=f"Note {number}")
        make_report(f"Duplicate {number}", status=S.DUPLICATE, duplicate_of=routed)
        routed.societal_challenges.add(SocietalChallenge.objects.create(title=f"Challenge {number}", description="d"))
        routed.comments.create(author=civil_servant, text=f"Comment {number}")
    with django_assert_max_num_queries(25):
        response = member.get(url("detail", routed))
    assert "Update 14" in response.content.decode() and "Duplicate 14" in response.content.decode()


def test_the_status_form_offers_only_the_allowed_transitions(member, routed, client, admin_user):
    html = member.get(url("detail", routed)).content.decode()
    status_form = html[html.index('id="status-heading"'):html.index("</form>", html.index('id="status-heading"'))]
    assert 'value="in_progress"' in status_form and 'value="resolved"' in status_form
    assert 'value="new"' not in status_form and 'value="duplicate"' not in status_form
    client.force_login(admin_user)
    unrouted = make_report("Unrouted")
    html = client.get(url("detail", unrouted), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    status_form = html[html.index('id="status-heading"'):html.index("</form>", html.index('id="status-heading"'))]
    assert 'value="not_actionable"' in status_form and 'value="accepted"' not in status_form  # accepting is routing
