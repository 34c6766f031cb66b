"""The transactional outbox: work that must survive a broker (Redis) outage.

    outbox_enqueue("matching.tasks.score_item", key=f"score:report:{report.pk}", item_type="report", item_id=report.pk)

writes an OutboxMessage in the caller's transaction (one INSERT ... ON CONFLICT DO NOTHING: the
same key pending twice is queued once), so the work exists exactly when the change that needs it
was committed. On commit it is published at once and marked sent with one UPDATE, with no
transaction of its own: a report submission costs two statements here, not eight. If the broker
is down, the request still succeeds and `outbox_publish_pending` (Celery beat, every minute, and
`manage.py publish_outbox` by hand or from cron) publishes it once the broker is back.

The sweep takes a message that failed at once, and one never tried only after
`OUTBOX_GRACE_SECONDS` (its on-commit publish may still be under way, or its process died
before it). Sweeps lock the rows they take (others skip them). Publishing comes before marking,
so a crash in between publishes twice rather than never; the tasks are idempotent (they claim
their work), so that does nothing twice.

Sent means published. A task that then fails for good in the worker (its retries used up, or an error
that no retry helps, such as a header Django refuses) reports back through its task id: its message
is marked failed and unsent (`outbox_mark_failed`, called by smartcity.celery.Task), so a lost email
shows in the admin instead of passing for sent. The sweep leaves failed messages to an operator.

A broker that is down costs a request one failed connection, not seconds: a publish connects
once, without kombu's retries (which slept about 6 s per publish), and after a failure this
process leaves on-commit publishing to the sweep for REDIS_BREAKER_SECONDS (the message is
marked tried, so the next sweep takes it). The sweep always tries.

Without REDIS_URL Celery runs tasks eagerly, so publishing runs the task in-process.
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from contextlib import nullcontext
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from smartcity.models import OutboxMessage

log = logging.getLogger(__name__)
# A message that failed this often is left for an operator (it shows in the admin and in the log).
MAX_ATTEMPTS = 50
SWEEP_BATCH = 500
TASK_ID_PREFIX = "outbox-"
TASK_ID = re.compile(rf"{TASK_ID_PREFIX}(\d+)-[0-9a-f]{{32}}")
# When a publish to the broker last failed in this process (time.monotonic()), or None.
_broker_failed_at: float | None = None


def outbox_enqueue(task: str, *, key: str | None = None, **kwargs) -> int | None:
    """Queue `task(**kwargs)` with the current transaction: the new message's id, or None when
    the same key is already pending (queued earlier, or by a concurrent transaction)."""
    connection = connections[router.db_for_write(OutboxMessage)]
    pk = _insert(connection, task, key, kwargs) if _returns_ids(connection) else _insert_in_savepoint(task, key, kwargs)
    if pk is not None:
        transaction.on_commit(lambda: _publish_one(pk, task, kwargs), using=connection.alias)
    return pk


def _insert(connection, task: str, key: str | None, kwargs: dict) -> int | None:
    """One statement; ON CONFLICT without a target covers the partial unique index on pending keys."""
    fields = OutboxMessage._meta
    values = [task, fields.get_field("kwargs").get_db_prep_save(kwargs, connection), key or None,
              fields.get_field("created_at").get_db_prep_save(timezone.now(), connection)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {fields.db_table} (task, kwargs, dedupe_key, created_at, attempts, last_error) "
            "VALUES (%s, %s, %s, %s, 0, '') ON CONFLICT DO NOTHING RETURNING id", values)
        row = cursor.fetchone()
    return row[0] if row else None


def _insert_in_savepoint(task: str, key: str | None, kwargs: dict) -> int | None:
    try:
        with transaction.atomic():
            return OutboxMessage.objects.create(task=task, kwargs=kwargs, dedupe_key=key or None).pk
    except IntegrityError:
        return None


def _returns_ids(connection) -> bool:
    """Whether INSERT ... RETURNING works here (not on SQLite before 3.35)."""
    return connection.features.can_return_columns_from_insert


def _task(name: str):
    module, function = name.rsplit(".", 1)
    return getattr(import_module(module), function)


def _publish(task_name: str, kwargs: dict, *, task_id: str) -> None:
    task = _task(task_name)
    if task.app.conf.task_always_eager:
        # Run in-process: a task that fails leaves no half-writes.
        with transaction.atomic() if settings.CELERY_TASK_ALWAYS_EAGER else nullcontext():
            task.apply_async(kwargs=kwargs, retry=False, task_id=task_id)
        return
    with task.app.producer_or_acquire() as producer:
        # One connection attempt. kombu would retry until broker_connection_timeout, sleeping in
        # between (about 6 s); retry=False below only turns off the retries of the publish itself.
        producer.connection.ensure_connection(max_retries=0)
        task.apply_async(kwargs=kwargs, retry=False, producer=producer, task_id=task_id)


def _send(pk: int, task: str, kwargs: dict, attempt: int) -> bool:
    """Publish one message and record the outcome; False when it could not be published.
    Never raises for a broker that is down: the message stays pending for the next sweep."""
    global _broker_failed_at
    try:
        _publish(task, kwargs, task_id=outbox_task_id(pk))
    except Exception as error:  # the broker is down, or (eager mode) the task failed
        log.warning("outbox: could not publish %s #%s (attempt %s): %s", task, pk, attempt, error)
        if not _task(task).app.conf.task_always_eager:
            _broker_failed_at = time.monotonic()
        OutboxMessage.objects.filter(pk=pk, sent_at__isnull=True).update(
            attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:500]
        )
        return False
    _broker_failed_at = None
    OutboxMessage.objects.filter(pk=pk, sent_at__isnull=True).update(sent_at=timezone.now(), attempts=F("attempts") + 1)
    return True


def outbox_task_id(pk: int) -> str:
    """The Celery task id of a message's publish: the task finds its message by it (outbox_mark_failed)."""
    return f"{TASK_ID_PREFIX}{pk}-{uuid.uuid4().hex}"


def outbox_mark_failed(*, task_id: str, error: BaseException) -> bool:
    """A task published from the outbox failed for good: its message is failed, not sent. False for a task
    that did not come from the outbox (Celery beat's, or one queued with .delay())."""
    found = TASK_ID.fullmatch(task_id or "")
    if not found:
        return False
    log.error("outbox: task #%s failed for good: %s: %s", found[1], type(error).__name__, error)
    return bool(OutboxMessage.objects.filter(pk=int(found[1])).update(
        sent_at=None, failed_at=timezone.now(), last_error=f"{type(error).__name__}: {error}"[:500]))


def _broker_resting() -> bool:
    """Whether a publish failed in this process less than REDIS_BREAKER_SECONDS ago."""
    return _broker_failed_at is not None and time.monotonic() - _broker_failed_at < settings.REDIS_BREAKER_SECONDS


def _publish_one(pk: int, task: str, kwargs: dict) -> None:
    """The on-commit publish of a message just written: what it needs is in memory, so no read.
    While the broker rests, the message is only marked tried: the next sweep takes it."""
    if _broker_resting():
        OutboxMessage.objects.filter(pk=pk, sent_at__isnull=True).update(
            attempts=F("attempts") + 1,
            last_error=f"not tried: a publish failed less than {settings.REDIS_BREAKER_SECONDS} s ago",
        )
        return
    _send(pk, task, kwargs, attempt=1)


def outbox_publish_pending() -> int:
    """The sweep: publish what is still pending, oldest first (see the module's docstring for
    which messages it takes). Returns how many were sent."""
    sent = 0
    grace = timezone.now() - timedelta(seconds=settings.OUTBOX_GRACE_SECONDS)
    with transaction.atomic():
        pending = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
            Q(attempts__gt=0) | Q(created_at__lt=grace), sent_at__isnull=True, failed_at__isnull=True,
            attempts__lt=MAX_ATTEMPTS,
        )
        for message in pending.order_by("pk")[:SWEEP_BATCH]:
            if not _send(message.pk, message.task, message.kwargs, attempt=message.attempts + 1):
                break  # the broker is down: the rest would fail the same way; the next sweep tries again
            sent += 1
    return sent


def outbox_purge(batch: int = 10_000) -> int:
    """Delete sent messages older than OUTBOX_KEEP_DAYS, and messages never sent (failed for good, or waiting
    still) older than OUTBOX_UNSENT_KEEP_DAYS, in batches: one row per report and email would otherwise pile
    up forever, and an unsent email's body holds an address and a text. Returns how many went."""
    now = timezone.now()
    expired = (Q(sent_at__lt=now - timedelta(days=settings.OUTBOX_KEEP_DAYS))
               | Q(sent_at__isnull=True, created_at__lt=now - timedelta(days=settings.OUTBOX_UNSENT_KEEP_DAYS)))
    deleted = 0
    while True:
        ids = list(OutboxMessage.objects.filter(expired).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        for task, count in (OutboxMessage.objects.filter(pk__in=ids, sent_at__isnull=True).values_list("task")
                            .annotate(n=Count("pk")).order_by()):
            log.warning("outbox: %s unsent %s message(s) older than %s days deleted", count, task,
                        settings.OUTBOX_UNSENT_KEEP_DAYS)
        deleted += OutboxMessage.objects.filter(pk__in=ids).delete()[0]
