"""The hub's Celery tasks: thin adapters around domain functions (STYLE.md, rule 8)."""
from __future__ import annotations

import smtplib

from celery import shared_task
from django.core.mail import send_mail


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=10,
    soft_time_limit=50,
    time_limit=60,
)
def send_email(*, to: list[str], subject: str, body: str) -> int:
    """Send one plain-text email. A mail server that is down is retried with back-off."""
    return send_mail(subject, body, None, to)
