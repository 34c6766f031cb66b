"""Celery tasks of the insight aggregates: thin adapters around insight.services."""
from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=30, max_retries=5, acks_late=True)
def refresh_insight() -> int:
    """Recount the days that changed since the last refresh (Celery beat, every few minutes). Idempotent."""
    from insight.services import insight_refresh

    return insight_refresh()


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=60, max_retries=3, acks_late=True)
def rebuild_insight() -> int:
    """Count everything again (Celery beat, nightly): catches what a refresh cannot see, such as new challenge links."""
    from insight.services import insight_rebuild

    return insight_rebuild()
