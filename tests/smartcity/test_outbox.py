"""The outbox's own rules: one pending message per key, published on commit, and a sweep that
leaves a fresh message to its own publish but takes one whose publish never happened."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from smartcity.models import OutboxMessage
from smartcity.outbox import outbox_enqueue, outbox_publish_pending, outbox_purge, outbox_relay_batch

pytestmark = pytest.mark.django_db

EMAIL = {"to": ["anna@example.org"], "subject": "Hello", "body": "A crew comes on Tuesday."}


def test_the_same_key_is_queued_once_while_it_is_pending(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        first = outbox_enqueue("smartcity.tasks.send_email", key="mail:1", **EMAIL)
        second = outbox_enqueue("smartcity.tasks.send_email", key="mail:1", **EMAIL)
        other = outbox_enqueue("smartcity.tasks.send_email", key="mail:2", **EMAIL)
    assert isinstance(first, int) and second is None and other not in (None, first)
    assert OutboxMessage.objects.filter(dedupe_key="mail:1").count() == 1
    assert OutboxMessage.objects.get(pk=first).kwargs == EMAIL


def test_a_message_is_published_and_marked_sent_when_its_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pk = outbox_enqueue("smartcity.tasks.send_email", key="mail:1", **EMAIL)
    message = OutboxMessage.objects.get(pk=pk)
    assert message.sent_at is not None and message.attempts == 1
    assert [m.to for m in mail.outbox] == [["anna@example.org"]]
    # once sent, the key is free for new work
    with django_capture_on_commit_callbacks(execute=False):
        assert outbox_enqueue("smartcity.tasks.send_email", key="mail:1", **EMAIL) is not None


def test_a_rolled_back_transaction_leaves_no_message(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            outbox_enqueue("smartcity.tasks.send_email", key="mail:1", **EMAIL)
            raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists() and mail.outbox == []


def test_the_sweep_leaves_a_fresh_message_to_its_own_publish_and_takes_it_after_the_grace(
    settings, django_capture_on_commit_callbacks
):
    settings.OUTBOX_GRACE_SECONDS = 60
    # committed, but its process died before the on-commit publish ran
    with django_capture_on_commit_callbacks(execute=False):
        pk = outbox_enqueue("smartcity.tasks.send_email", key="mail:1", **EMAIL)
    assert outbox_publish_pending() == 0
    assert mail.outbox == []
    OutboxMessage.objects.filter(pk=pk).update(created_at=timezone.now() - timedelta(seconds=61))
    assert outbox_publish_pending() == 1
    assert outbox_publish_pending() == 0
    assert len(mail.outbox) == 1 and OutboxMessage.objects.get(pk=pk).sent_at is not None


def test_sent_messages_are_purged_after_the_keeping_period_and_unsent_ones_after_theirs(settings):
    """Issue #15: an unsent email's body holds an address and a text; it is not kept for ever either."""
    settings.OUTBOX_KEEP_DAYS, settings.OUTBOX_UNSENT_KEEP_DAYS = 7, 30
    now = timezone.now()
    old_sent = OutboxMessage.objects.create(task="smartcity.tasks.send_email", kwargs=EMAIL, sent_at=now - timedelta(days=8))
    recent_sent = OutboxMessage.objects.create(task="smartcity.tasks.send_email", kwargs=EMAIL, sent_at=now - timedelta(days=6))
    pending = OutboxMessage.objects.create(task="smartcity.tasks.send_email", kwargs=EMAIL, attempts=3)
    old_pending = OutboxMessage.objects.create(task="smartcity.tasks.send_email", kwargs=EMAIL, attempts=50)
    old_failed = OutboxMessage.objects.create(task="smartcity.tasks.send_email", kwargs=EMAIL, failed_at=now)
    OutboxMessage.objects.filter(pk=pending.pk).update(created_at=now - timedelta(days=29))
    OutboxMessage.objects.filter(pk__in=[old_pending.pk, old_failed.pk]).update(created_at=now - timedelta(days=31))
    assert outbox_purge(batch=1) == 3
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent_sent.pk, pending.pk}
    assert not OutboxMessage.objects.filter(pk=old_sent.pk).exists()


def test_without_insert_returning_the_same_rules_hold(monkeypatch, django_capture_on_commit_callbacks):
    """Databases that cannot return ids from an INSERT (SQLite before 3.35) take the savepoint path."""
    monkeypatch.setattr("smartcity.outbox._returns_ids", lambda connection: False)
    with django_capture_on_commit_callbacks(execute=True):
        first = outbox_enqueue("smartcity.tasks.send_email", key="mail:1", **EMAIL)
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        again = outbox_enqueue("smartcity.tasks.send_email", key="mail:2", **EMAIL)
        duplicate = outbox_enqueue("smartcity.tasks.send_email", key="mail:2", **EMAIL)
    assert OutboxMessage.objects.get(pk=first).sent_at is not None and len(mail.outbox) == 1
    assert isinstance(again, int) and duplicate is None


@pytest.fixture
def relayed(settings):
    """OUTBOX_RELAY on, with a broker (tasks not eager): the relay publishes, not the request."""
    from smartcity.celery import app

    settings.OUTBOX_RELAY = True
    app.conf.task_always_eager = False  # the eager_tasks fixture puts it back


def test_with_the_relay_a_message_is_only_written_nothing_is_published_on_commit(
    relayed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        pk = outbox_enqueue("smartcity.tasks.send_email", key="mail:1", **EMAIL)
        again = outbox_enqueue("smartcity.tasks.send_email", key="mail:1", **EMAIL)
    assert callbacks == [] and again is None  # the same key pending is still queued once
    message = OutboxMessage.objects.get(pk=pk)
    assert message.sent_at is None and message.attempts == 0 and mail.outbox == []


def test_tasks_that_run_eagerly_run_on_commit_even_with_the_relay_on(settings, django_capture_on_commit_callbacks):
    """No REDIS_URL (`make run`, the fast tests): no relay runs, so the writing process runs its tasks."""
    settings.OUTBOX_RELAY = True
    with django_capture_on_commit_callbacks(execute=True):
        pk = outbox_enqueue("smartcity.tasks.send_email", key="mail:1", **EMAIL)
    assert OutboxMessage.objects.get(pk=pk).sent_at is not None
    assert [m.to for m in mail.outbox] == [["anna@example.org"]]


def test_the_relay_takes_fresh_messages_at_once_and_marks_the_batch_sent(django_capture_on_commit_callbacks, settings):
    settings.OUTBOX_GRACE_SECONDS = 60
    with django_capture_on_commit_callbacks(execute=False):  # written, not yet published by anyone
        first = outbox_enqueue("smartcity.tasks.send_email", key="mail:1", **EMAIL)
        second = outbox_enqueue("smartcity.tasks.send_email", key="mail:2", **{**EMAIL, "to": ["bob@example.org"]})
    assert outbox_relay_batch() == (2, 2, False)  # no grace: the relay is their publisher
    assert outbox_relay_batch() == (0, 0, False)
    assert sorted(m.to[0] for m in mail.outbox) == ["anna@example.org", "bob@example.org"]
    sent = OutboxMessage.objects.filter(pk__in=[first, second])
    assert all(message.sent_at is not None and message.attempts == 1 for message in sent)
    assert outbox_publish_pending() == 0  # and the sweep finds nothing left


def test_the_relay_records_a_message_it_cannot_publish_and_publishes_the_others(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        gone = outbox_enqueue("smartcity.tasks.no_such_task", key="gone:1", x=1)
        failing = outbox_enqueue("smartcity.tasks.send_email", to=["anna@example.org\nBcc: x@evil.example"],
                                 subject="Hello", body="x")
        working = outbox_enqueue("smartcity.tasks.send_email", **EMAIL)
    assert outbox_relay_batch() == (3, 1, False)
    assert OutboxMessage.objects.get(pk=working).sent_at is not None and len(mail.outbox) == 1
    for pk, error in ((gone, "AttributeError"), (failing, "Error")):
        message = OutboxMessage.objects.get(pk=pk)
        assert message.sent_at is None and message.attempts == 1 and error in message.last_error
    assert outbox_relay_batch() == (2, 0, False)  # tried again, up to MAX_ATTEMPTS, never marked sent


@pytest.mark.django_db(transaction=True)
def test_with_the_relay_on_postgresql_the_insert_notifies_the_relay_at_the_commit_once(needs_postgres, relayed):
    import psycopg
    from django.db import connection

    from smartcity.outbox import NOTIFY_CHANNEL

    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, dbname=db["NAME"], user=db["USER"],
                         password=db["PASSWORD"] or None, autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        with transaction.atomic():
            outbox_enqueue("smartcity.tasks.send_email", key="mail:1", **EMAIL)
            outbox_enqueue("smartcity.tasks.send_email", key="mail:2", **EMAIL)
            assert list(listener.notifies(timeout=0.2)) == []  # nothing before the commit
        assert [notice.channel for notice in listener.notifies(timeout=2)] == [NOTIFY_CHANNEL]  # once for both
        with transaction.atomic():
            assert outbox_enqueue("smartcity.tasks.send_email", key="mail:1", **EMAIL) is None  # pending already
        assert list(listener.notifies(timeout=0.2)) == []  # nothing written, nobody woken
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox_enqueue("smartcity.tasks.send_email", key="mail:3", **EMAIL)
            raise RuntimeError("the change failed")
        assert list(listener.notifies(timeout=0.2)) == []  # rolled back: no message, no notice
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 2
