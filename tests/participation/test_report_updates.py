"""Email updates: reporter (confirmed address or account) and followers, once, with an unsubscribe link."""
import re

import pytest
from django.core import mail
from django.utils import timezone

from participation.models import Follow, ReporterContact, StatusChange
from participation.services import report_notify_public_update
from participation.tasks import send_report_update
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db


def announce(report, django_capture_on_commit_callbacks, **fields) -> StatusChange:
    with django_capture_on_commit_callbacks(execute=True):
        change = StatusChange.objects.create(report=report, from_status="new", to_status="accepted", **fields)
        report_notify_public_update(report_id=report.pk, status_change_id=change.pk)
    return change


def test_followers_and_the_confirmed_reporter_get_one_email_each(django_capture_on_commit_callbacks, resident, civil_servant):
    report = make_report()
    ReporterContact.objects.create(report=report, email="anon@example.org", confirmed_at=timezone.now())
    Follow.objects.create(report=report, user=resident)
    announce(report, django_capture_on_commit_callbacks, message="We will fix it next week.")
    assert sorted(message.to[0] for message in mail.outbox) == ["anon@example.org", "resident@example.org"]
    body = mail.outbox[0].body
    assert "We will fix it next week." in body and "/reports/unsubscribe/" in body


def test_an_unconfirmed_address_gets_nothing(django_capture_on_commit_callbacks):
    report = make_report()
    ReporterContact.objects.create(report=report, email="unconfirmed@example.org")
    announce(report, django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_an_internal_change_sends_nothing_and_a_change_is_announced_only_once(django_capture_on_commit_callbacks, resident):
    report = make_report()
    Follow.objects.create(report=report, user=resident)
    announce(report, django_capture_on_commit_callbacks, is_public=False)
    assert mail.outbox == []
    change = announce(report, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    assert send_report_update(report_id=report.pk, status_change_id=change.pk) == 0  # a retry sends nothing
    assert len(mail.outbox) == 1


def test_the_unsubscribe_link_stops_a_followers_emails(client, django_capture_on_commit_callbacks, resident):
    report = make_report()
    Follow.objects.create(report=report, user=resident)
    announce(report, django_capture_on_commit_callbacks)
    path = re.search(r"https?://[^/]+(/reports/unsubscribe/\S+/)", mail.outbox[0].body).group(1)
    assert client.get(path).status_code == 200 and Follow.objects.exists()  # GET only asks
    client.post(path)
    assert not Follow.objects.exists()
    announce(report, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1


def test_the_unsubscribe_link_stops_an_anonymous_reporters_emails(client, django_capture_on_commit_callbacks):
    report = make_report()
    ReporterContact.objects.create(report=report, email="anon@example.org", confirmed_at=timezone.now())
    announce(report, django_capture_on_commit_callbacks)
    path = re.search(r"https?://[^/]+(/reports/unsubscribe/\S+/)", mail.outbox[0].body).group(1)
    client.post(path)
    assert ReporterContact.objects.get().unsubscribed_at is not None
    announce(report, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1


def test_following_and_unfollowing_from_the_report_page(client, resident):
    from django.urls import reverse

    report = make_report()
    client.force_login(resident)
    url = reverse("participation:report-follow", args=[report.pk])
    client.post(url, {"action": "follow"})
    client.post(url, {"action": "follow"})
    assert Follow.objects.filter(report=report, user=resident).count() == 1
    client.post(url, {"action": "unfollow"})
    assert not Follow.objects.exists()


def test_a_reporter_with_an_account_who_unfollows_gets_no_more_emails(django_capture_on_commit_callbacks, resident):
    from participation.services import report_create

    report = report_create(title="Broken bench", description="The bench is broken.", latitude=52.08,
                           longitude=4.31, author=resident)
    Follow.objects.filter(report=report, user=resident).delete()
    announce(report, django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_an_integration_token_is_not_stored_as_the_reporters_contact(civil_servant):
    from participation.models import Report
    from participation.services import report_create

    report = report_create(title="Imported", description="From another system.", latitude=52.08, longitude=4.31,
                           author=civil_servant, source=Report.Source.API)
    assert not ReporterContact.objects.filter(report=report).exists()
    assert not Follow.objects.filter(report=report).exists()
