"""Celery tasks of participation: thin, idempotent adapters that take ids (STYLE.md rule 8)."""
from __future__ import annotations

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from participation.models import Report, StatusChange


@shared_task(soft_time_limit=120, time_limit=150)
def send_report_update(*, report_id: int, status_change_id: int) -> int:
    """Email one public status change or message to the reporter and followers. Returns the emails queued.

    Claims the history row by setting notified_at once, so a retried or duplicated task sends nothing twice.
    """
    from participation.services import render_update_email, update_recipients
    from smartcity.outbox import outbox_enqueue

    # The claim and the emails it queues commit together: a crash in between sends nothing and claims nothing.
    with transaction.atomic():
        claimed = StatusChange.objects.filter(
            pk=status_change_id, report_id=report_id, is_public=True, notified_at__isnull=True
        ).update(notified_at=timezone.now())
        if not claimed:
            return 0
        change = StatusChange.objects.select_related("report").get(pk=status_change_id)
        report: Report = change.report
        if report.is_hidden:
            return 0
        queued = 0
        for email, token in update_recipients(report):
            subject, body = render_update_email(report=report, change=change, unsubscribe_token=token)
            outbox_enqueue("smartcity.tasks.send_email", to=[email], subject=subject, body=body)
            queued += 1
    return queued


@shared_task(soft_time_limit=300, time_limit=330)
def erase_expired_personal_data() -> dict[str, int]:
    """Retention (Celery beat; `manage.py erase_expired_personal_data` by hand or from cron)."""
    from participation.services import personal_data_erase_expired

    return personal_data_erase_expired()


@shared_task(soft_time_limit=3600, time_limit=3660)
def dump_open_data() -> list[str]:
    """The daily open-data dump (Celery beat; `manage.py dump_open_data`): public reports as CSV and GeoJSON,
    with the data dictionary."""
    from participation.exports import open_data_dump

    return open_data_dump()


@shared_task(soft_time_limit=300, time_limit=330)
def delete_stale_pending_photos() -> int:
    """Photos kept server-side for a report form that was never sent again: deleted after two days
    (Celery beat; `manage.py delete_stale_pending_photos`)."""
    from participation.photos import delete_stale_pending_photos as delete

    return delete()
