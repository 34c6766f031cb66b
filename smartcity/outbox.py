"""The transactional outbox: work that must survive a broker (Redis) outage.

    outbox_enqueue("smartcity.tasks.score_item", key=f"score:report:{report.pk}", item_type="report", item_id=report.pk)

writes an OutboxMessage in the caller's transaction, so the work exists exactly when the change
that needs it was committed. On commit it is published at once; if the broker is down, the
request still succeeds and `outbox_publish_pending` (Celery beat, every minute, and
`manage.py shell -c "from smartcity.outbox import outbox_publish_pending; outbox_publish_pending()"`
by hand) publishes it once the broker is back. Each message is published by one publisher only
(a row lock that others skip), and marked sent. The tasks themselves are idempotent (they claim
their work), so even the rare publish-then-crash-before-marking case does nothing twice.

Without REDIS_URL Celery runs tasks eagerly, so publishing runs the task in-process.
"""
from __future__ import annotations

import logging
from importlib import import_module

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from smartcity.models import OutboxMessage

log = logging.getLogger(__name__)
# A message that failed this often is left for an operator (it shows in the admin and in the log).
MAX_ATTEMPTS = 50
SWEEP_BATCH = 500


def outbox_enqueue(task: str, *, key: str | None = None, **kwargs) -> OutboxMessage | None:
    """Queue `task(**kwargs)` with the current transaction. None when the same key is already pending."""
    if key and OutboxMessage.objects.filter(dedupe_key=key, sent_at__isnull=True).exists():
        return None
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(task=task, kwargs=kwargs, dedupe_key=key or None)
    except IntegrityError:
        return None  # queued by a concurrent transaction a moment ago
    transaction.on_commit(lambda: outbox_publish(message_ids=[message.pk]))
    return message


def _task(name: str):
    module, function = name.rsplit(".", 1)
    return getattr(import_module(module), function)


def outbox_publish(*, message_ids: list[int] | None = None) -> int:
    """Publish unsent messages (the given ones, or the oldest pending). Returns how many were sent.

    Never raises for a broker that is down: the message stays pending for the next sweep."""
    sent = 0
    with transaction.atomic():
        pending = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
            sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS
        )
        if message_ids is not None:
            pending = pending.filter(pk__in=message_ids)
        for message in pending.order_by("pk")[:SWEEP_BATCH]:
            try:
                with transaction.atomic():  # a savepoint: a task run eagerly that fails leaves no half-writes
                    _task(message.task).apply_async(kwargs=message.kwargs, retry=False)
            except Exception as error:  # the broker is down, or (eager mode) the task failed
                log.warning("outbox: could not publish %s #%s (attempt %s): %s", message.task, message.pk,
                            message.attempts + 1, error)
                OutboxMessage.objects.filter(pk=message.pk).update(
                    attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:500]
                )
                if message_ids is None:
                    break  # the broker is down: the rest would fail the same way; the next sweep tries again
                continue
            OutboxMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now(), attempts=F("attempts") + 1)
            sent += 1
    return sent


def outbox_publish_pending() -> int:
    """The sweep: publish whatever is still pending, oldest first."""
    return outbox_publish()
