"""Privacy: a reporter's contact details (email, phone, name) appear in no public page, API response,
export, Open311 answer or log line. The test reports with distinctive details, then searches for them."""
from __future__ import annotations

import logging

import pytest
from django.http import StreamingHttpResponse

from participation.models import Report, ReporterContact

pytestmark = pytest.mark.django_db
EMAIL = "xanthippe.q8@privacy-probe.example"
PHONE = "+31 6 8181 7272"
NAME = "Xanthippe Quaadvliegh"
SECRETS = (EMAIL, "xanthippe.q8", "privacy-probe", PHONE, "8181 7272", "81817272", NAME, "Quaadvliegh")


def _text(response) -> str:
    if isinstance(response, StreamingHttpResponse):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def _assert_absent(where: str, text: str) -> None:
    found = [secret for secret in SECRETS if secret.lower() in text.lower()]
    assert found == [], f"{where} shows the reporter's contact details: {found}"


def test_contact_details_appear_in_no_public_answer_and_no_log_line(
    client, api_client, token_client_for, civil_servant, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/reports/new/", {
            "title": "Losliggende stoeptegels", "description": "Een paar tegels liggen los bij de tramhalte.",
            "latitude": "52.0799", "longitude": "4.3113", "theme": "", "email": EMAIL,
        })
    assert response.status_code == 302
    report = Report.objects.get()
    ReporterContact.objects.filter(report=report).update(name=NAME, phone=PHONE)
    assert ReporterContact.objects.get(report=report).email == EMAIL  # it is stored, apart from the record

    public = [
        "/", "/reports/", "/reports/map/", report.get_absolute_url(), "/reports.geojson?bbox=4.2,52.0,4.4,52.2",
        "/reports/nearby/?latitude=52.0799&longitude=4.3113&title=stoeptegels",
        "/open-data/", "/open-data/reports.csv", "/open-data/reports.geojson",
        "/open311/v2/requests.json", "/open311/v2/requests.xml",
        f"/open311/v2/requests/{report.pk}.json", f"/open311/v2/requests/{report.pk}.xml",
    ]
    for path in public:
        answer = client.get(path)
        assert answer.status_code == 200, path
        _assert_absent(path, _text(answer))
    for path in ("/api/v1/reports", f"/api/v1/reports/{report.pk}"):
        answer = api_client.get(path)
        assert answer.status_code == 200, path
        _assert_absent(f"{path} (anonymous)", _text(answer))
    staff_api = token_client_for(civil_servant)
    for path in ("/api/v1/reports", f"/api/v1/reports/{report.pk}"):
        _assert_absent(f"{path} (staff token)", _text(staff_api.get(path)))
    _assert_absent("the log", caplog.text)
    for record in caplog.records:
        _assert_absent(f"log record {record.name}", repr(record.args) + str(record.msg))


def test_a_log_line_of_a_failing_contact_email_does_not_name_the_address(caplog, settings, django_capture_on_commit_callbacks,
                                                                          client):
    """The outbox logs a task that could not be published by its name and id, not by its arguments."""
    from tests.faults.flaky_mail import FlakyEmailBackend

    settings.EMAIL_BACKEND = "tests.faults.flaky_mail.FlakyEmailBackend"
    FlakyEmailBackend.attempts = 0
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/reports/new/", {
            "title": "Losliggende stoeptegels", "description": "Een paar tegels liggen los bij de tramhalte.",
            "latitude": "52.0799", "longitude": "4.3113", "theme": "", "email": EMAIL,
        })
    FlakyEmailBackend.attempts = 0
    assert "could not publish smartcity.tasks.send_email" in caplog.text
    _assert_absent("the log", caplog.text)
