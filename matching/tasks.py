"""The matching's Celery tasks: thin adapters around matching.services (STYLE.md, rule 8).

The outbox (smartcity/outbox.py) publishes them by name, "matching.tasks.score_item": the hub never imports them."""
from __future__ import annotations

import math

from celery import shared_task
from celery.exceptions import MaxRetriesExceededError
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone, translation
from django.utils.translation import gettext

from matching import services
from matching.models import MatchingRun


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
    run = services.matching_run_execute(run_id=run_id)
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
    return services.matching_score_item(item_type=item_type, item_id=item_id)


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=5, max_retries=5)
def start_matching_run() -> int:
    """For Celery beat: queue a full run (or find the one already queued)."""
    return services.matching_run_start(by=None).pk


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=2, max_retries=5)
def settle_links(*, item_type: str, item_ids: list[int], challenge_ids: list[int]) -> None:
    """What a new link settles (a "none" decision undone, the pair's open suggestion gone), when it had to wait."""
    services.settle_links(item_type=item_type, item_ids=item_ids, challenge_ids=challenge_ids)
