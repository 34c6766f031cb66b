"""The outbox relay (`manage.py relay_outbox`) as production runs it: a web request only writes its outbox
rows, the relay process publishes them through Redis, a worker process does the work. Real PostgreSQL, Redis
and processes; skipped without them (failed under REQUIRE_SERVICES=1)."""
from __future__ import annotations

import re

import pytest

from participation.models import Report
from smartcity.models import OutboxMessage
from smartcity.outbox import RELAY_APPLICATION_NAME
from tests.faults.conftest import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_new_report_is_published_by_the_relay_within_a_second_then_scored_and_confirmed(
    celery_worker_process, outbox_relay_process, client, tmp_path
):
    mail_dir = tmp_path / "mail"
    queue = celery_worker_process(CELERY_TASK_LOG_LEVEL="INFO", EMAIL_FILE_PATH=str(mail_dir),
                                  EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend")
    # A poll of 30 s: only the NOTIFY of the report's own commit can wake the relay within a second.
    relay = outbox_relay_process(queue, OUTBOX_RELAY_POLL_SECONDS="30")
    worker_log, relay_log = tmp_path / "worker.log", tmp_path / "relay.log"
    wait_until(lambda: "ready" in worker_log.read_text(), timeout=60, what="the worker to start")
    wait_until(lambda: "relay started" in relay_log.read_text(), timeout=60, what="the relay to start")

    response = client.post("/reports/new/", {
        "title": "Overvolle afvalbak", "description": "De afvalbak bij de tramhalte is al dagen vol.",
        "latitude": "52.0799", "longitude": "4.3113", "theme": "", "email": "anna@example.org", "nearby_seen": "on",
    })
    assert response.status_code == 302
    report = Report.objects.get()
    # The request's own messages, by id: the worker's work may queue messages of its own meanwhile.
    messages = OutboxMessage.objects.filter(
        pk__in=list(OutboxMessage.objects.filter(created_at__gte=report.created_at).values_list("pk", flat=True)))
    assert sorted(messages.values_list("task", flat=True)) == ["matching.tasks.score_item", "smartcity.tasks.send_email"]
    wait_until(lambda: not messages.filter(sent_at__isnull=True).exists(), timeout=10,
               what="the relay to publish\n" + relay_log.read_text())
    delays = [(message.sent_at - message.created_at).total_seconds() for message in messages]
    assert max(delays) < 1.0, delays
    assert all(message.attempts == 1 and not message.last_error for message in messages)

    scored = re.compile(rf"Task matching\.tasks\.score_item\[outbox-{messages.get(task__endswith='score_item').pk}-")
    wait_until(lambda: bool(scored.search(worker_log.read_text())), timeout=60, what="the worker to score the report")
    # the file backend creates the message's file before it writes the message: wait for its text
    wait_until(lambda: mail_dir.exists() and any("anna@example.org" in mail.read_text() for mail in mail_dir.iterdir()),
               timeout=60, what="the confirmation email to anna@example.org")

    relay.terminate()  # SIGTERM: it finishes what it has and stops
    assert relay.wait(timeout=10) == 0
    assert "relay stopped" in relay_log.read_text()


def test_a_task_the_relay_published_that_fails_in_the_worker_marks_its_message_failed_not_sent(
    celery_worker_process, outbox_relay_process, tmp_path
):
    from smartcity.outbox import outbox_enqueue, outbox_publish_pending, outbox_relay_batch

    queue = celery_worker_process(EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                                  EMAIL_FILE_PATH=str(tmp_path / "mail"))
    outbox_relay_process(queue)
    # An address no mail server would take: Django refuses it (ValueError), so no retry can help.
    failing = outbox_enqueue("smartcity.tasks.send_email", to=["anna@example.org\nBcc: x@evil.example"],
                             subject="Hello", body="x")
    working = outbox_enqueue("smartcity.tasks.send_email", to=["bob@example.org"], subject="Hello", body="y")
    log = tmp_path / "worker.log"
    wait_until(lambda: (OutboxMessage.objects.filter(pk=working, sent_at__isnull=False).exists()
                        and log.exists() and "raised unexpected" in log.read_text()), timeout=120,
               what="the worker to send one and refuse the other")
    message = OutboxMessage.objects.get(pk=failing)
    assert message.sent_at is None and message.failed_at is not None, log.read_text()[-3000:]
    assert "ValueError" in message.last_error or "BadHeaderError" in message.last_error
    # neither the relay nor the sweep sends it again: it is left to an operator
    assert outbox_relay_batch() == (0, 0, False) and outbox_publish_pending() == 0


def test_the_relay_listens_again_after_the_database_dropped_its_connection(
    celery_worker_process, outbox_relay_process, tmp_path
):
    from django.db import connection

    from smartcity.outbox import outbox_enqueue

    relay_log = tmp_path / "relay.log"
    outbox_relay_process(celery_worker_process(), OUTBOX_RELAY_POLL_SECONDS="30")
    wait_until(lambda: "relay started" in relay_log.read_text(), timeout=60, what="the relay to start")
    wait_until(lambda: _listening(connection), timeout=10, what="the relay to LISTEN")
    with connection.cursor() as cursor:  # a database restart, as the relay sees it
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
                       " AND datname = current_database()", [RELAY_APPLICATION_NAME])
    wait_until(lambda: "relay: OperationalError" in relay_log.read_text(), timeout=10, what="the relay to notice")
    wait_until(lambda: _listening(connection), timeout=10, what="the relay to LISTEN again")
    pk = outbox_enqueue("smartcity.tasks.send_email", to=["bob@example.org"], subject="Hello", body="y")
    wait_until(lambda: OutboxMessage.objects.filter(pk=pk, sent_at__isnull=False).exists(), timeout=3,
               what="the relay to publish after reconnecting (its poll is 30 s: only the NOTIFY wakes it)")


def _listening(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                       " AND datname = current_database()", [RELAY_APPLICATION_NAME])
        return cursor.fetchone()[0] > 0
