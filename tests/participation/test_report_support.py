"""Support ("me too"): one per account or per confirmed email address, idempotent, rate-limited without an account."""
import re

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from participation.models import Support
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db


def test_a_resident_supports_once_however_often_they_press(client, resident):
    report = make_report()
    client.force_login(resident)
    for _ in range(3):
        response = client.post(reverse("participation:report-support", args=[report.pk]))
        assert response.status_code == 302
    report.refresh_from_db()
    assert report.support_count == 1 and Support.objects.filter(report=report).count() == 1


def test_an_anonymous_supporter_counts_only_after_confirming_their_address(client, django_capture_on_commit_callbacks):
    report = make_report()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("participation:report-support", args=[report.pk]), {"email": "Bo@Example.org"})
    report.refresh_from_db()
    assert report.support_count == 0
    path = re.search(r"https?://[^/]+(/\S+/)", mail.outbox[0].body).group(1)
    client.post(path)
    client.post(path)  # the same link twice: still one support
    report.refresh_from_db()
    assert report.support_count == 1
    assert Support.objects.get(report=report).email == "bo@example.org"


def test_a_tampered_support_link_is_refused(client):
    report = make_report()
    response = client.post(reverse("participation:support-confirm", args=["nonsense:abc:def"]))
    assert response.status_code == 400
    report.refresh_from_db()
    assert report.support_count == 0


def test_an_invalid_email_gets_a_form_error(client):
    report = make_report()
    response = client.post(reverse("participation:report-support", args=[report.pk]), {"email": "not-an-email"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


@override_settings(ANONYMOUS_SUPPORTS_PER_HOUR=2)
def test_anonymous_support_requests_are_rate_limited_with_the_address_kept(client, django_capture_on_commit_callbacks):
    report = make_report()
    url = reverse("participation:report-support", args=[report.pk])
    with django_capture_on_commit_callbacks(execute=True):
        for index in range(2):
            assert client.post(url, {"email": f"p{index}@example.org"}).status_code == 302
        response = client.post(url, {"email": "third@example.org"})
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many requests" in html and "third@example.org" in html
    assert len(mail.outbox) == 2


def test_a_hidden_report_cannot_be_supported(client, resident):
    report = make_report(is_hidden=True, hidden_reason="spam")
    client.force_login(resident)
    assert client.post(reverse("participation:report-support", args=[report.pk])).status_code == 404
