"""Retention: reporter contact details and anonymous supporters' addresses are erased a configurable number of
days after a report closed."""
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from participation.models import Report, ReporterContact, Support
from participation.tasks import erase_expired_personal_data
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
    assert erase_expired_personal_data()["reporter_contacts"] == 1
    erased = ReporterContact.objects.get(report=old)
    assert (erased.email, erased.name, erased.phone) == ("", "", "") and erased.erased_at is not None
    assert ReporterContact.objects.get(report=recent).email == "someone@example.org"
    assert ReporterContact.objects.get(report=still_open).email == "someone@example.org"
    assert erase_expired_personal_data()["reporter_contacts"] == 0  # idempotent


@override_settings(SUPPORTER_EMAIL_RETENTION_DAYS=30)
def test_anonymous_supporters_addresses_are_erased_after_their_period_and_their_support_still_counts(resident):
    now = timezone.now()
    old = make_report(status=Report.Status.RESOLVED, closed_at=now - timedelta(days=31))
    recent = make_report(status=Report.Status.RESOLVED, closed_at=now - timedelta(days=29))
    for report in (old, recent):
        report.add_support(email="bo@example.org")
        report.add_support(user=resident)
    assert erase_expired_personal_data()["supporter_emails"] == 1
    erased = Support.objects.get(report=old, user__isnull=True)
    assert erased.email is None and erased.erased_at is not None
    assert Support.objects.get(report=recent, user__isnull=True).email == "bo@example.org"
    old.refresh_from_db()
    assert old.support_count == 2 and old.supports.count() == 2
    assert erase_expired_personal_data()["supporter_emails"] == 0


def test_the_task_is_scheduled_by_celery_beat():
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "participation.tasks.erase_expired_personal_data" in tasks


def test_photos_kept_for_an_abandoned_form_are_deleted_after_two_days(settings, tmp_path):
    import os
    import time

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from participation.tasks import delete_stale_pending_photos

    settings.MEDIA_ROOT = str(tmp_path)
    old = default_storage.save("pending/old.jpg", ContentFile(b"old"))
    fresh = default_storage.save("pending/fresh.jpg", ContentFile(b"fresh"))
    three_days_ago = time.time() - 3 * 24 * 3600
    os.utime(default_storage.path(old), (three_days_ago, three_days_ago))
    assert delete_stale_pending_photos() == 1
    assert not default_storage.exists(old) and default_storage.exists(fresh)


def test_photos_kept_in_a_clients_folder_are_deleted_after_two_days_and_the_empty_folder_too(settings, tmp_path):
    import os
    import time

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from participation.photos import pending_directory
    from participation.tasks import delete_stale_pending_photos

    settings.MEDIA_ROOT = str(tmp_path)
    folder = pending_directory("address:192.0.2.1")
    old = default_storage.save(f"{folder}/old.jpg", ContentFile(b"old"))
    other = pending_directory("address:192.0.2.2")
    fresh = default_storage.save(f"{other}/fresh.jpg", ContentFile(b"fresh"))
    three_days_ago = time.time() - 3 * 24 * 3600
    os.utime(default_storage.path(old), (three_days_ago, three_days_ago))
    assert delete_stale_pending_photos() == 1
    assert not os.path.exists(default_storage.path(folder)) and default_storage.exists(fresh)
    assert "192.0.2" not in folder  # the folder is named by a keyed hash, not by the address
