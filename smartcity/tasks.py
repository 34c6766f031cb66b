"""The hub's Celery tasks: thin adapters around domain functions (STYLE.md, rule 8)."""
from __future__ import annotations

import smtplib

from celery import shared_task
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


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=5, max_retries=3, time_limit=300,
             soft_time_limit=280)
def publish_outbox() -> int:
    """For Celery beat, every minute (`manage.py publish_outbox`): publish the work queued while the broker was down."""
    from smartcity.outbox import outbox_publish_pending

    return outbox_publish_pending()


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=5, max_retries=3, time_limit=600,
             soft_time_limit=580)
def purge_outbox() -> int:
    """For Celery beat, daily (`manage.py purge_outbox`): delete sent messages after OUTBOX_KEEP_DAYS, unsent
    ones after OUTBOX_UNSENT_KEEP_DAYS."""
    from smartcity.outbox import outbox_purge

    return outbox_purge()
