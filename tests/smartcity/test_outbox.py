"""The outbox's own rules: one pending message per key, published on commit, and a sweep that
leaves a fresh message to its own publish but takes one whose publish never happened."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from smartcity.models import OutboxMessage
from smartcity.outbox import outbox_enqueue, outbox_publish_pending, outbox_purge

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
