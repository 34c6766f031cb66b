"""The transactional outbox: work that must survive a broker (Redis) outage.

    outbox_enqueue("matching.tasks.score_item", key=f"score:report:{report.pk}", item_type="report", item_id=report.pk)

writes an OutboxMessage in the caller's transaction (one INSERT ... ON CONFLICT DO NOTHING: the
same key pending twice is queued once), so the work exists exactly when the change that needs it
was committed. Who publishes it:

- With OUTBOX_RELAY (production: docker-compose.yml's `relay`), the relay (`manage.py relay_outbox`,
  `outbox_relay`): the request only writes the row, and on PostgreSQL the same statement sends a
  NOTIFY that PostgreSQL delivers at the commit, which wakes the relay at once (elsewhere it looks
  every OUTBOX_RELAY_POLL_SECONDS). The relay publishes what is pending in batches, each marked sent
  with one UPDATE. The request never talks to the broker, so a broker that is down costs it nothing.
- Otherwise, and always when tasks run eagerly (no REDIS_URL: `make run`, the tests), on commit in
  the process that wrote it, marked sent with one UPDATE and no transaction of its own.

If the broker is down, the request still succeeds and the message waits: the relay tries again every
REDIS_BREAKER_SECONDS (an outage is no attempt of any message), and `outbox_publish_pending` (Celery beat, every minute, and
`manage.py publish_outbox` by hand or from cron) publishes it once the broker is back, with or
without a relay.

The sweep takes a message that failed at once, and one never tried only after
`OUTBOX_GRACE_SECONDS` (its on-commit publish or the relay may still be on it, or its process died
before it). The relay takes every pending message. Sweeps and relays lock the rows they take
(others skip them). Publishing comes before marking,
so a crash in between publishes twice rather than never; the tasks are idempotent (they claim
their work), so that does nothing twice.

Sent means published. A task that then fails for good in the worker (its retries used up, or an error
that no retry helps, such as a header Django refuses) reports back through its task id: its message
is marked failed and unsent (`outbox_mark_failed`, called by smartcity.celery.Task), so a lost email
shows in the admin instead of passing for sent. The sweep leaves failed messages to an operator.

Without the relay, a broker that is down costs a request one failed connection, not seconds: a publish connects
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
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from importlib import import_module

from celery import current_app as celery_app  # the project's (smartcity.celery), which our shared tasks use
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connections, router, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from smartcity.models import OutboxMessage

log = logging.getLogger(__name__)
# A message that failed this often is left for an operator (it shows in the admin and in the log).
MAX_ATTEMPTS = 50
SWEEP_BATCH = 500
RELAY_BATCH = 500
# The relay LISTENs here; a message written for the relay NOTIFYs it (PostgreSQL delivers that at the commit).
NOTIFY_CHANNEL = "smartcity_outbox"
RELAY_APPLICATION_NAME = "smartcity outbox relay"
TASK_ID_PREFIX = "outbox-"
TASK_ID = re.compile(rf"{TASK_ID_PREFIX}(\d+)-[0-9a-f]{{32}}")
# When a publish to the broker last failed in this process (time.monotonic()), or None.
_broker_failed_at: float | None = None


def outbox_enqueue(task: str, *, key: str | None = None, **kwargs) -> int | None:
    """Queue `task(**kwargs)` with the current transaction: the new message's id, or None when
    the same key is already pending (queued earlier, or by a concurrent transaction)."""
    connection = connections[router.db_for_write(OutboxMessage)]
    relayed = outbox_relayed()
    if _returns_ids(connection):
        pk = _insert(connection, task, key, kwargs, notify=relayed and connection.vendor == "postgresql")
    else:
        pk = _insert_in_savepoint(task, key, kwargs)
    if pk is not None and not relayed:
        transaction.on_commit(lambda: _publish_one(pk, task, kwargs), using=connection.alias)
    return pk


def outbox_relayed() -> bool:
    """Whether the relay publishes new messages (OUTBOX_RELAY), not the process that wrote them. Tasks that
    run eagerly (no broker) always run on commit in the writing process: no relay would run them."""
    return settings.OUTBOX_RELAY and not celery_app.conf.task_always_eager


def _insert(connection, task: str, key: str | None, kwargs: dict, *, notify: bool = False) -> int | None:
    """One statement; ON CONFLICT without a target covers the partial unique index on pending keys. With
    `notify`, the same statement wakes the relay (only when a row was written; at the commit, once per
    transaction however many messages it writes)."""
    fields = OutboxMessage._meta
    values = [task, fields.get_field("kwargs").get_db_prep_save(kwargs, connection), key or None,
              fields.get_field("created_at").get_db_prep_save(timezone.now(), connection)]
    insert = (f"INSERT INTO {fields.db_table} (task, kwargs, dedupe_key, created_at, attempts, last_error) "
              "VALUES (%s, %s, %s, %s, 0, '') ON CONFLICT DO NOTHING RETURNING id")
    if notify:
        insert = f"WITH message AS ({insert}) SELECT id, pg_notify('{NOTIFY_CHANNEL}', '') FROM message"
    with connection.cursor() as cursor:
        cursor.execute(insert, values)
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
        if not _task(task).app.conf.task_always_eager:
            _broker_failed_at = time.monotonic()
        _record_failure(pk, task, error, attempt)
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


def outbox_relay_batch(limit: int = RELAY_BATCH) -> tuple[int, int, bool]:
    """The relay's step: publish up to `limit` pending messages (fresh ones too), oldest first, and mark
    the published ones sent with one UPDATE. Returns (taken, sent, whether the broker failed): it stops
    when the broker fails (no attempt of any message); a message that fails on its own (its task no longer
    exists, say) is recorded as tried and passed."""
    with transaction.atomic():
        taken = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True, failed_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
            .order_by("created_at")  # the partial index outbox_unsent: only the pending rows
            .values_list("pk", "task", "kwargs", "attempts")[:limit]
        )
        sent, broker_failed = _publish_batch(taken) if taken else ([], False)
        if sent:
            OutboxMessage.objects.filter(pk__in=sent).update(sent_at=timezone.now(), attempts=F("attempts") + 1)
    return len(taken), len(sent), broker_failed


def _publish_batch(messages: list[tuple[int, str, dict, int]]) -> tuple[list[int], bool]:
    """Publish messages through one broker connection: (the ids published, whether the broker failed).
    A broker that cannot be reached at all is no attempt of any message: the relay asks again every
    REDIS_BREAKER_SECONDS, and an outage of some minutes must not use up MAX_ATTEMPTS."""
    sent: list[int] = []
    eager = celery_app.conf.task_always_eager
    with nullcontext(None) if eager else celery_app.producer_or_acquire() as producer:
        if producer is not None:
            try:
                producer.connection.ensure_connection(max_retries=0)  # one try, as _publish
            except Exception as error:
                log.warning("outbox relay: the broker is unreachable, %s messages wait: %s", len(messages), error)
                return sent, True
        for pk, name, kwargs, attempts in messages:
            try:
                task = _task(name)
            except (ImportError, AttributeError, ValueError) as error:  # a task that no longer exists
                _record_failure(pk, name, error, attempts + 1)
                continue
            try:
                if eager:
                    with transaction.atomic():  # a task that fails leaves no half-writes
                        task.apply_async(kwargs=kwargs, retry=False, task_id=outbox_task_id(pk))
                else:
                    task.apply_async(kwargs=kwargs, retry=False, producer=producer, task_id=outbox_task_id(pk))
            except Exception as error:
                if not eager and isinstance(error, _broker_errors(producer)):  # a pooled connection that died
                    log.warning("outbox relay: the broker failed, %s messages wait: %s", len(messages) - len(sent), error)
                    return sent, True
                _record_failure(pk, name, error, attempts + 1)  # this message's own failure: the others may go
                continue
            sent.append(pk)
    return sent, False


def _broker_errors(producer) -> tuple[type[BaseException], ...]:
    return (OSError, KombuOperationalError, *producer.connection.connection_errors)


def _record_failure(pk: int, task: str, error: BaseException, attempt: int) -> None:
    log.warning("outbox: could not publish %s #%s (attempt %s): %s", task, pk, attempt, error)
    OutboxMessage.objects.filter(pk=pk, sent_at__isnull=True).update(
        attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:500])


def outbox_relay(*, stop: Callable[[], bool] = lambda: False) -> None:
    """Publish new messages as they are committed, until stop() (`manage.py relay_outbox`).

    On PostgreSQL it LISTENs for the writers' NOTIFY and wakes at once; elsewhere, and as a safety net, it
    looks every OUTBOX_RELAY_POLL_SECONDS. Batches start at most every OUTBOX_RELAY_GATHER_SECONDS, so under
    load one batch publishes what came in meanwhile instead of one statement set per report. When the broker
    fails it waits REDIS_BREAKER_SECONDS; when the database fails it reconnects."""
    connection = connections[router.db_for_write(OutboxMessage)]
    listening_on = None  # the database connection that LISTENs (a new one must LISTEN again)
    last_batch = 0.0
    while not stop():
        try:
            connection.ensure_connection()
            if connection.vendor == "postgresql" and listening_on is not connection.connection:
                with connection.cursor() as cursor:
                    cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    cursor.execute(f"SET application_name = '{RELAY_APPLICATION_NAME}'")  # pg_stat_activity shows it
                listening_on = connection.connection
            time.sleep(max(0.0, last_batch + settings.OUTBOX_RELAY_GATHER_SECONDS - time.monotonic()))
            if listening_on is not None:
                _wait_for_notice(listening_on, 0)  # what came before this batch is in it
            last_batch = time.monotonic()
            broker_failed = False
            while not stop():
                taken, _sent, broker_failed = outbox_relay_batch()
                if broker_failed or taken < RELAY_BATCH:
                    break
            if broker_failed:
                _sleep(settings.REDIS_BREAKER_SECONDS, stop)
            elif listening_on is not None:
                _wait_for_notice(listening_on, settings.OUTBOX_RELAY_POLL_SECONDS, stop)
            else:
                _sleep(settings.OUTBOX_RELAY_POLL_SECONDS, stop)
        # The database went away (Django's errors, or the driver's own from the LISTEN wait): connect again.
        except (OperationalError, InterfaceError, connection.Database.Error) as error:
            log.warning("outbox relay: %s: %s", type(error).__name__, error)
            connection.close()
            listening_on = None
            _sleep(1, stop)


def _wait_for_notice(raw_connection, seconds: float, stop: Callable[[], bool] = lambda: False) -> None:
    """Wait until a NOTIFY arrives, `seconds` pass or stop(); then take every notice already there. In slices of
    at most half a second: a signal does not interrupt psycopg's wait."""
    until = time.monotonic() + seconds
    woken = False
    while not woken and not stop():
        left = until - time.monotonic()
        if left <= 0:
            break
        for _notice in raw_connection.notifies(timeout=min(left, 0.5), stop_after=1):
            woken = True
    for _notice in raw_connection.notifies(timeout=0):
        pass


def _sleep(seconds: float, stop: Callable[[], bool]) -> None:
    until = time.monotonic() + seconds
    while not stop() and time.monotonic() < until:
        time.sleep(min(0.2, max(0.0, until - time.monotonic())))


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
