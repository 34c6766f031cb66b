"""The hub's Celery tasks: thin adapters around domain functions (STYLE.md, rule 8)."""
from __future__ import annotations

import math
import smtplib

from celery import shared_task
from celery.exceptions import MaxRetriesExceededError
from django.core.mail import send_mail
from django.db import InterfaceError, OperationalError

from smartcity.text import clean_line


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=10,
    soft_time_limit=50,
    time_limit=60,
)
def send_email(*, to: list[str], subject: str, body: str) -> int:
    """Send one plain-text email. A mail server that is down is retried with back-off; any other failure
    is final and reported to the task's outbox message (smartcity.celery.Task). The subject is made one
    line here, whatever built it: a line break in a header makes Django refuse the whole email."""
    return send_mail(clean_line(subject), body, None, to)


@shared_task(
    bind=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=5,
    acks_late=True,
)
def run_matching(self, *, run_id: int) -> dict | None:
    """A full matching run. Claiming the run row makes a redelivered or duplicate task a no-op.

    While another run holds the lock, try again every few seconds (a fraction of the stale
    threshold, so a dead run's successor starts soon after it goes stale), for as long as a
    running run may live (MatchingRun.longest_wait_seconds()); then give the run up as failed
    rather than leave it queued for ever."""
    from django.conf import settings
    from django.utils import timezone, translation
    from django.utils.translation import gettext

    from smartcity.models import MatchingRun
    from smartcity.services import matching_run_execute

    run = matching_run_execute(run_id=run_id)
    if run is None and MatchingRun.objects.filter(pk=run_id, status=MatchingRun.Status.QUEUED).exists():
        countdown = max(1, min(30, settings.MATCHING_RUN_STALE_SECONDS // 4))
        try:
            raise self.retry(countdown=countdown,
                             max_retries=math.ceil(MatchingRun.longest_wait_seconds() / countdown) + 1)
        except MaxRetriesExceededError:
            with translation.override(settings.LANGUAGE_CODE):
                error = gettext("The task gave up waiting for the run before it.")
            MatchingRun.objects.filter(pk=run_id, status=MatchingRun.Status.QUEUED).update(
                status=MatchingRun.Status.FAILED, finished_at=timezone.now(), error=error)
            return None
    return run.counts if run else None


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=2, max_retries=5, time_limit=120,
             soft_time_limit=100)
def score_item(*, item_type: str, item_id: int) -> int:
    """Score one saved report, department challenge or pilot against the latest model."""
    from smartcity.services import matching_score_item

    return matching_score_item(item_type=item_type, item_id=item_id)


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=5, max_retries=5)
def start_matching_run() -> int:
    """For Celery beat: queue a full run (or find the one already queued)."""
    from smartcity.services import matching_run_start

    return matching_run_start(by=None).pk


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=5, max_retries=3, time_limit=300,
             soft_time_limit=280)
def publish_outbox() -> int:
    """For Celery beat, every minute: publish the work queued while the broker was down."""
    from smartcity.outbox import outbox_publish_pending

    return outbox_publish_pending()


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=5, max_retries=3, time_limit=600,
             soft_time_limit=580)
def purge_outbox() -> int:
    """For Celery beat, daily: delete sent outbox messages older than OUTBOX_KEEP_DAYS."""
    from smartcity.outbox import outbox_purge_sent

    return outbox_purge_sent()
