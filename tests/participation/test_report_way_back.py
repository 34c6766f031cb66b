"""Residents find their way back (issue #17): the case reference, the private "manage my report" link, "send me my
reports", "still a problem?", duplicates that point on, and emails in the recipient's language, unescaped, one per
staff action."""
from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from participation import tokens, workflow
from participation.models import Comment, Follow, Report, ReporterContact, Support
from tests.participation.conftest import HAGUE, image_bytes, make_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def triager(civil_servant):
    """A civil servant of department A who also triages reports no department has yet."""
    civil_servant.is_triager = True
    civil_servant.save(update_fields=["is_triager"])
    return civil_servant

FORM = {"title": "Auto's rijden 's avonds te hard", "description": "Elke avond racen auto's door de straat.",
        "latitude": HAGUE[0], "longitude": HAGUE[1], "nearby_seen": "on"}


def links(body: str) -> list[str]:
    return re.findall(r"https?://\S+", body)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


# --- The case reference -------------------------------------------------------------------------------------------
def test_every_report_has_a_reference_with_the_prefix_the_year_and_its_number(settings):
    settings.REPORT_REFERENCE_PREFIX = "DH"
    report = make_report(created_at=datetime(2026, 3, 1, 12, tzinfo=UTC))
    assert report.case_reference == f"DH-2026-{report.pk:06d}"


def test_the_reference_finds_the_report_in_the_list_and_the_api(client, api_client):
    wanted, other = make_report(title="Lamp out"), make_report(title="Other lamp")
    html = client.get(reverse("participation:report-list"), {"q": wanted.case_reference}).content.decode()
    assert wanted.case_reference in html and "Other lamp" not in html
    body = api_client.get("/api/v1/reports", {"q": wanted.case_reference.lower()}).json()
    items = body.get("results", body) if isinstance(body, dict) else body
    assert [item["case_reference"] for item in items] == [wanted.case_reference]
    assert other.case_reference != wanted.case_reference


def test_the_api_keeps_an_integrations_reference_apart_from_the_citys(api_client):
    report = make_report(reference="fixmystreet-77")
    body = api_client.get(f"/api/v1/reports/{report.pk}").json()
    assert body["reference"] == "fixmystreet-77" and body["case_reference"] == report.case_reference


def test_another_citys_prefix_is_not_taken_for_ours(settings):
    settings.REPORT_REFERENCE_PREFIX = "DH"
    report = make_report()
    assert list(Report.objects.search(f"dh-2026-{report.pk:06d}")) == [report]
    assert list(Report.objects.search(f"STO-2026-{report.pk:06d}")) == []


# --- Submitting without an account: the email and its links -----------------------------------------------------------
def submit(client, **extra):
    return client.post(reverse("participation:report-create"), {**FORM, **extra}, follow=True)


def test_an_anonymous_reporter_sees_the_reference_and_gets_an_email_with_the_report_and_a_manage_link(
        client, settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://participatie.example.org"
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client, email="anna@example.org")
    report = Report.objects.get()
    html = response.content.decode()
    assert report.case_reference in html
    [message] = mail.outbox
    # Not HTML: the apostrophes stay apostrophes in the subject and the body.
    assert message.subject == f"Your report {report.case_reference}: \"Auto's rijden 's avonds te hard\""
    assert "&#x27;" not in message.body and "Auto's rijden 's avonds te hard" in message.body
    urls = links(message.body)
    assert all(url.startswith("https://participatie.example.org/") for url in urls)
    assert f"https://participatie.example.org{report.get_absolute_url()}" in urls
    assert any("/reports/manage/" in url for url in urls)


def test_the_email_is_in_the_language_the_resident_reported_in(django_capture_on_commit_callbacks):
    from django.test import Client

    with django_capture_on_commit_callbacks(execute=True):
        submit(Client(HTTP_ACCEPT_LANGUAGE="sv"), email="sven@example.org")
    contact = ReporterContact.objects.get()
    assert contact.language == "sv"
    assert "Tack" in mail.outbox[0].body


def manage_path(report, email="anna@example.org") -> str:
    return reverse("participation:report-manage", args=[tokens.manage_token(report.pk, email)])


@pytest.fixture
def anonymous_report():
    report = make_report()
    ReporterContact.objects.create(report=report, email="anna@example.org", language="en")
    return report


def test_the_manage_page_shows_the_status_and_the_citys_messages(client, anonymous_report, triager, department_a):
    workflow.act(report=anonymous_report, actor=triager, department=department_a, message="We send a team.",
                 version=None)
    html = client.get(manage_path(anonymous_report)).content.decode()
    assert anonymous_report.case_reference in html and "We send a team." in html and "Accepted" in html


def test_the_reporter_adds_information_and_a_photo(client, anonymous_report):
    photo = SimpleUploadedFile("more.jpg", image_bytes(), content_type="image/jpeg")
    response = client.post(manage_path(anonymous_report), {"action": "add", "add-text": "It is worse at night.",
                                                           "add-photo": photo})
    assert response.status_code == 302
    addition = Comment.objects.get(report=anonymous_report)
    assert addition.by_reporter and addition.text == "It is worse at night."
    assert anonymous_report.photos.count() == 1
    assert ReporterContact.objects.get().confirmed_at is not None  # using the link proves the address
    assert "The reporter adds" in client.get(anonymous_report.get_absolute_url()).content.decode()


def test_an_empty_addition_is_refused_and_a_non_image_too(client, anonymous_report):
    empty = client.post(manage_path(anonymous_report), {"action": "add", "add-text": " "})
    assert empty.status_code == 200 and "Write something or choose a photo." in empty.content.decode()
    fake = SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")
    refused = client.post(manage_path(anonymous_report), {"action": "add", "add-photo": fake})
    assert refused.status_code == 200 and "is not a JPEG, PNG or WebP image" in refused.content.decode()
    assert not Comment.objects.exists() and anonymous_report.photos.count() == 0


def test_the_reporter_withdraws_the_report(client, anonymous_report):
    client.post(manage_path(anonymous_report), {"action": "withdraw", "withdraw-reason": "Fixed by a neighbour."})
    anonymous_report.refresh_from_db()
    assert anonymous_report.status == Report.Status.NOT_ACTIONABLE and anonymous_report.closed_at
    assert "withdrew" in anonymous_report.history.last().message


def test_the_reporter_stops_the_emails_from_the_page(client, anonymous_report):
    client.post(manage_path(anonymous_report), {"action": "unsubscribe"})
    assert ReporterContact.objects.get().unsubscribed_at is not None


def test_a_forged_an_expired_or_an_erased_link_does_not_open_the_page(client, anonymous_report, settings):
    assert client.get(manage_path(anonymous_report, "eve@example.org")).status_code == 400
    assert client.get(manage_path(anonymous_report)[:-3] + "xyz/").status_code == 400
    with mock.patch("django.core.signing.time.time", return_value=time.time() - (settings.MANAGE_LINK_DAYS + 1) * 86400):
        old = manage_path(anonymous_report)
    expired = client.get(old)
    assert expired.status_code == 410 and "Send me my reports" in expired.content.decode()
    ReporterContact.objects.all().erase(timezone.now())
    assert client.get(manage_path(anonymous_report)).status_code == 400


def test_send_me_my_reports_mails_the_links_without_telling_who_has_reports(client, anonymous_report,
                                                                          django_capture_on_commit_callbacks):
    url = reverse("participation:my-reports-request")
    with django_capture_on_commit_callbacks(execute=True):
        with_reports = client.post(url, {"email": "Anna@Example.org"}, follow=True).content.decode()
        without = client.post(url, {"email": "nobody@example.org"}, follow=True).content.decode()
    def same(html: str, email: str) -> str:
        return re.sub(r'value="[A-Za-z0-9]{64}"', "", html.replace(email, "X"))

    assert same(with_reports, "Anna@Example.org") == same(without, "nobody@example.org")
    [message] = mail.outbox
    assert message.to == ["anna@example.org"] and anonymous_report.case_reference in message.body
    manage = [url for url in links(message.body) if "/reports/manage/" in url][0]
    assert client.get(path_of(manage)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"email": "anna@example.org"})
    assert len(mail.outbox) == 1  # one email per address and hour, whoever asks


# --- Nobody supports their own report; duplicates point on ---------------------------------------------------------
def test_the_reporter_is_not_invited_to_support_their_own_report(client, resident):
    report = make_report(author=resident)
    client.force_login(resident)
    html = client.get(report.get_absolute_url()).content.decode()
    assert "I have this problem too" not in html and "This is your report." in html
    client.post(reverse("participation:report-support", args=[report.pk]))
    assert not Support.objects.exists()


def test_a_reporter_without_an_account_who_opened_their_page_is_not_invited_either(client, anonymous_report):
    client.get(manage_path(anonymous_report))
    html = client.get(anonymous_report.get_absolute_url()).content.decode()
    assert "I have this problem too" not in html and "/reports/manage/" in html


def test_a_duplicate_links_to_the_report_that_stays_open_and_offers_no_support(client, civil_servant, department_a):
    stays = make_report(title="Pothole Keizerstraat", department=department_a, status=Report.Status.ACCEPTED)
    duplicate = make_report(title="Gat in de weg", department=department_a, status=Report.Status.ACCEPTED)
    workflow.merge(report=duplicate, target=stays, actor=civil_servant, message="Same hole.", version=None)
    html = client.get(duplicate.get_absolute_url()).content.decode()
    assert stays.get_absolute_url() in html and stays.case_reference in html
    assert "I have this problem too" not in html
    response = client.post(reverse("participation:report-support", args=[duplicate.pk]), {"email": "x@example.org"})
    assert response["Location"] == stays.get_absolute_url()


# --- Still a problem? -------------------------------------------------------------------------------------------------
def resolved(report, actor, department, days_ago: int = 0):
    workflow.act(report=report, actor=actor, department=department, version=None)
    workflow.change_status(report=report, actor=actor, to_status=Report.Status.RESOLVED, message="Fixed.", version=None)
    Report.objects.filter(pk=report.pk).update(closed_at=timezone.now() - timedelta(days=days_ago))
    report.refresh_from_db()
    return report


def test_still_a_problem_reopens_a_resolved_report_with_the_reason(client, anonymous_report, triager, department_a):
    resolved(anonymous_report, triager, department_a)
    assert "Still a problem?" in client.get(manage_path(anonymous_report)).content.decode()
    assert "This field is required." in client.post(manage_path(anonymous_report),
                                                    {"action": "reopen", "reopen-reason": ""}).content.decode()
    client.post(manage_path(anonymous_report), {"action": "reopen", "reopen-reason": "The lamp is out again."})
    anonymous_report.refresh_from_db()
    assert anonymous_report.status == Report.Status.ACCEPTED and anonymous_report.closed_at is None
    assert "The lamp is out again." in anonymous_report.history.last().message


def test_still_a_problem_is_offered_only_for_the_configured_days(client, resident, triager, department_a, settings):
    settings.REOPEN_REQUEST_DAYS = 14
    report = resolved(make_report(author=resident), triager, department_a, days_ago=15)
    client.force_login(resident)
    assert "Still a problem?" not in client.get(report.get_absolute_url()).content.decode()
    client.post(reverse("participation:report-reopen", args=[report.pk]), {"reopen-reason": "Again."})
    report.refresh_from_db()
    assert report.status == Report.Status.RESOLVED
    recent = resolved(make_report(author=resident), triager, department_a, days_ago=2)
    assert "Still a problem?" in client.get(recent.get_absolute_url()).content.decode()
    client.post(reverse("participation:report-reopen", args=[recent.pk]), {"reopen-reason": "Again."})
    recent.refresh_from_db()
    assert recent.status == Report.Status.ACCEPTED


# --- Emails: the recipient's language, one per staff action --------------------------------------------------------
def test_one_staff_action_that_routes_changes_the_status_and_answers_sends_one_email(
        django_capture_on_commit_callbacks, anonymous_report, triager, department_a):
    ReporterContact.objects.update(confirmed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        workflow.act(report=anonymous_report, actor=triager, department=department_a,
                     to_status=Report.Status.IN_PROGRESS, message="A team comes on Monday.", version=None)
    [message] = mail.outbox
    assert "In progress" in message.body or "in progress" in message.body
    assert department_a.name in message.body and "A team comes on Monday." in message.body
    assert anonymous_report.case_reference in message.subject
    assert "/reports/manage/" in message.body


def test_a_bulk_action_sends_each_reporter_one_email(django_capture_on_commit_callbacks, triager, department_a):
    reports = [make_report(), make_report()]
    for number, report in enumerate(reports):
        ReporterContact.objects.create(report=report, email=f"r{number}@example.org", confirmed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = workflow.bulk(reports=[(report.pk, None) for report in reports], actor=triager,
                                 department=department_a, to_status=Report.Status.IN_PROGRESS, message="On it.")
    assert all(outcome.ok for outcome in outcomes)
    assert all(report.history.count() == 1 for report in reports)  # the one action: one history row
    assert sorted(message.to[0] for message in mail.outbox) == ["r0@example.org", "r1@example.org"]


def test_updates_go_out_in_each_recipients_own_language(django_capture_on_commit_callbacks, resident, civil_servant,
                                                        department_a):
    report = make_report(title="Auto's te hard", department=department_a, status=Report.Status.ACCEPTED)
    ReporterContact.objects.create(report=report, email="anna@example.org", confirmed_at=timezone.now(), language="en")
    Follow.objects.create(report=report, user=resident, language="sv")
    with translation.override("nl"), django_capture_on_commit_callbacks(execute=True):
        workflow.post_message(report=report, actor=civil_servant, message="Morgen.", version=None)
    by_address = {message.to[0]: message for message in mail.outbox}
    assert by_address["anna@example.org"].subject.startswith("Update on your report")
    assert "Auto's te hard" in by_address["anna@example.org"].subject
    assert not by_address[resident.email].subject.startswith("Update on your report")
    assert not by_address[resident.email].subject.startswith("Update over")
