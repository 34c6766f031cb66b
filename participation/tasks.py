"""Celery tasks of participation: thin, idempotent adapters that take ids (STYLE.md rule 8)."""
from __future__ import annotations

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from participation.models import Report, StatusChange


@shared_task(soft_time_limit=120, time_limit=150)
def send_report_update(*, report_id: int, status_change_id: int) -> int:
    """Email a report's public changes to the reporter and followers. Returns the emails queued.

    Claims the history row by setting notified_at once, so a retried or duplicated task sends nothing twice.
    It claims the report's other public rows not yet announced with it: changes made in one go (a route, a
    status and a reply) give each recipient one email, whoever's task runs first.
    """
    from participation.services import render_update_email, update_recipients
    from smartcity.outbox import outbox_enqueue

    # The claim and the emails it queues commit together: a crash in between sends nothing and claims nothing.
    with transaction.atomic():
        pending = StatusChange.objects.select_for_update().filter(
            report_id=report_id, is_public=True, notified_at__isnull=True)
        ids = list(pending.values_list("pk", flat=True))
        if status_change_id not in ids:
            return 0
        StatusChange.objects.filter(pk__in=ids).update(notified_at=timezone.now())
        changes = list(StatusChange.objects.filter(pk__in=ids).select_related("to_department").order_by("created_at", "pk"))
        report = Report.objects.get(pk=report_id)
        if report.is_hidden:
            return 0
        queued = 0
        for recipient in update_recipients(report):
            subject, body = render_update_email(report=report, changes=changes, recipient=recipient)
            outbox_enqueue("smartcity.tasks.send_email", to=[recipient.email], subject=subject, body=body)
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
