"""Retention: reporter contact details are erased a configurable number of days after a report closed."""
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from participation.models import Report, ReporterContact
from participation.tasks import erase_expired_reporter_contacts
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db


@override_settings(REPORTER_CONTACT_RETENTION_DAYS=30)
def test_contacts_are_erased_only_after_the_retention_period_of_a_closed_report():
    now = timezone.now()
    old = make_report(status=Report.Status.RESOLVED, closed_at=now - timedelta(days=31))
    recent = make_report(status=Report.Status.RESOLVED, closed_at=now - timedelta(days=29))
    still_open = make_report(created_at=now - timedelta(days=400))
    for report in (old, recent, still_open):
        ReporterContact.objects.create(report=report, email="someone@example.org", name="Some One", phone="0612345678")
    assert erase_expired_reporter_contacts() == 1
    erased = ReporterContact.objects.get(report=old)
    assert (erased.email, erased.name, erased.phone) == ("", "", "") and erased.erased_at is not None
    assert ReporterContact.objects.get(report=recent).email == "someone@example.org"
    assert ReporterContact.objects.get(report=still_open).email == "someone@example.org"
    assert erase_expired_reporter_contacts() == 0  # idempotent


def test_the_task_is_scheduled_by_celery_beat():
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "participation.tasks.erase_expired_reporter_contacts" in tasks
