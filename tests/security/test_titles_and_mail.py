"""Titles are one line of plain text wherever they come in, and an email that cannot be sent is never
recorded as sent (issue #14: the API kept bidi overrides and newlines in titles; a newline made the
confirmation email fail with BadHeaderError while the outbox had marked it sent, so the mail was lost)."""
from __future__ import annotations

import time

import pytest
from django.core import mail

from participation.models import Report
from pilots.models import Pilot
from smartcity.models import DepartmentChallenge, OutboxMessage, SocietalChallenge
from smartcity.outbox import outbox_enqueue
from smartcity.tasks import send_email

pytestmark = pytest.mark.django_db
HOSTILE_TITLE = "Pot\u202ehole\r\nBcc: everyone@evil.example\u2066 \x07on the corner"
CLEAN_TITLE = "Pothole Bcc: everyone@evil.example on the corner"
REPORT = {"description": "Deep hole.\r\nIt \u202egrows\u202c every day.", "latitude": 52.0799, "longitude": 4.3113}


def test_the_api_cleans_a_report_title_to_one_line_as_the_web_form_does(api_client, client, django_capture_on_commit_callbacks):
    response = api_client.post("/api/v1/reports", {**REPORT, "title": HOSTILE_TITLE}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["title"] == CLEAN_TITLE
    report = Report.objects.get()
    assert report.title == CLEAN_TITLE
    assert report.description == "Deep hole.\nIt grows every day."  # lines kept, bidi controls gone

    client.post("/reports/new/", {**REPORT, "title": HOSTILE_TITLE, "nearby_seen": "1"})
    assert Report.objects.order_by("-pk").first().title == CLEAN_TITLE


@pytest.mark.parametrize("title", ["\u202e\u202e\u202e\u202e", " \r\n\u2066 "])
def test_a_title_of_nothing_but_control_characters_is_refused(api_client, client, title):
    response = api_client.post("/api/v1/reports", {**REPORT, "title": title}, format="json")
    assert response.status_code == 400 and response.json()["invalidParams"][0]["name"] == "title"
    assert client.post("/reports/new/", {**REPORT, "title": title, "nearby_seen": "1"}).status_code == 200
    assert not Report.objects.exists()


def test_the_staff_apis_clean_titles_too(token_client_for, admin_user, department_a):
    api = token_client_for(admin_user)
    posts = {
        "/api/v1/societal-challenges": {"title": HOSTILE_TITLE, "description": "Hot \u202estreets."},
        "/api/v1/department-challenges": {"title": HOSTILE_TITLE, "description": "Full.", "department": department_a.slug},
        "/api/v1/pilots": {"title": HOSTILE_TITLE, "description": "Green roofs."},
    }
    for path, body in posts.items():
        response = api.post(path, body, format="json")
        assert response.status_code == 201, (path, response.content)
        assert response.json()["title"] == CLEAN_TITLE, path
    for model in (SocietalChallenge, DepartmentChallenge, Pilot):
        assert model.objects.get().title == CLEAN_TITLE
    assert SocietalChallenge.objects.get().description == "Hot streets."


def test_the_confirmation_email_of_a_report_with_a_hostile_title_is_sent_with_a_one_line_subject(
    api_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/v1/reports", {**REPORT, "title": "Pot & hole", "email": "anna@example.org"},
                                   format="json")
    assert response.status_code == 201
    [message] = mail.outbox
    assert '"Pot & hole"' in message.subject  # plain text: not &amp;
    assert OutboxMessage.objects.get(task="smartcity.tasks.send_email").sent_at is not None


def test_the_email_task_sends_a_subject_with_line_breaks_on_one_line():
    """A message queued before titles were cleaned still goes out."""
    send_email(to=["anna@example.org"], subject="Update on\r\nBcc: x@evil.example\n", body="Resolved.")
    assert [message.subject for message in mail.outbox] == ["Update on Bcc: x@evil.example"]
    assert "evil" not in str(mail.outbox[0].bcc)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_send_that_fails_in_the_worker_marks_its_outbox_message_failed_not_sent(
    needs_postgres, celery_worker_process, tmp_path
):
    celery_worker_process(EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                          EMAIL_FILE_PATH=str(tmp_path / "mail"))
    # An address no mail server would take: Django refuses it (ValueError), so no retry can help.
    failing = outbox_enqueue("smartcity.tasks.send_email", to=["anna@example.org\nBcc: x@evil.example"],
                             subject="Hello", body="x")
    working = outbox_enqueue("smartcity.tasks.send_email", to=["bob@example.org"], subject="Hello", body="y")
    log = tmp_path / "worker.log"

    def worker_is_done() -> bool:  # the failure is logged after the task has reported it
        return (OutboxMessage.objects.filter(pk=working, sent_at__isnull=False).exists()
                and log.exists() and "raised unexpected" in log.read_text())

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not worker_is_done():
        time.sleep(0.25)
    message = OutboxMessage.objects.get(pk=failing)
    assert message.sent_at is None, "the mail was lost, but its outbox message says sent\n" + log.read_text()[-3000:]
    assert message.failed_at is not None
    assert "ValueError" in message.last_error or "BadHeaderError" in message.last_error
    assert OutboxMessage.objects.get(pk=working).sent_at is not None
    # the sweep leaves a failed message to an operator instead of sending it again and again
    from smartcity.outbox import outbox_publish_pending

    assert outbox_publish_pending() == 0
