"""A mail server that fails: the status change is kept and the email is retried until it goes out, once."""
from __future__ import annotations

import pytest
from django.core import mail

from participation import workflow
from participation.models import Report, StatusChange
from smartcity.models import OutboxMessage
from smartcity.outbox import outbox_publish_pending
from tests.faults.flaky_mail import FlakyEmailBackend
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def flaky_mail(settings):
    settings.EMAIL_BACKEND = "tests.faults.flaky_mail.FlakyEmailBackend"
    FlakyEmailBackend.attempts = 0
    yield FlakyEmailBackend
    FlakyEmailBackend.attempts = 0


def test_a_status_change_is_kept_and_its_email_retried_until_the_server_takes_it(
    flaky_mail, civil_servant, department_a, resident, django_capture_on_commit_callbacks
):
    report = make_report(status=Report.Status.ACCEPTED, department=department_a)
    report.follows.create(user=resident)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.change_status(report=report, actor=civil_servant, to_status=Report.Status.IN_PROGRESS,
                               message="A crew comes on Tuesday.", version=report.version)
    report.refresh_from_db()
    assert report.status == Report.Status.IN_PROGRESS
    change = StatusChange.objects.get(report=report, to_status=Report.Status.IN_PROGRESS)
    assert change.notified_at is not None
    # The server refused: the email waits in the outbox. (A worker retries it itself with back-off; in-process,
    # as here and under `make run`, the outbox sweep is the retry.)
    assert flaky_mail.attempts == 1 and mail.outbox == []
    pending = OutboxMessage.objects.get(task="smartcity.tasks.send_email", sent_at__isnull=True)
    assert "SMTPServerDisconnected" in pending.last_error
    assert outbox_publish_pending() == 0  # refused again
    assert outbox_publish_pending() == 1  # delivered
    assert outbox_publish_pending() == 0  # and never again
    assert flaky_mail.attempts == 3
    assert [m.to for m in mail.outbox] == [[resident.email]] and "A crew comes on Tuesday." in mail.outbox[0].body
    # (the report's own scoring task, queued when make_report saved it outside a request, is not an email)
    assert not OutboxMessage.objects.filter(task="smartcity.tasks.send_email", sent_at__isnull=True).exists()


def test_the_send_task_retries_with_back_off_on_smtp_and_network_errors():
    import smtplib

    from smartcity.tasks import send_email

    assert set(send_email.autoretry_for) == {smtplib.SMTPException, OSError}
    assert send_email.max_retries >= 5 and send_email.retry_backoff
