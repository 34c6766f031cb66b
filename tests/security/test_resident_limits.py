"""Signed-in residents have limits too (issue #14, "Logged-in residents have no limits"): per account,
whatever address they come from; staff are not counted. A form error in the resident's language and a
429 with Retry-After; the API answers problem+json."""
from __future__ import annotations

import pytest

from participation.models import Comment, Report, Support
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db


def _report_form(number: int) -> dict:
    return {"title": f"Kapotte lantaarnpaal {number}", "description": "De lantaarnpaal brandt al een week niet.",
            "latitude": str(52.05 + number * 0.005), "longitude": "4.3113", "theme": "", "nearby_seen": "on"}


def test_a_resident_placing_comments_in_a_flood_is_stopped_at_the_hourly_limit(client, settings, resident):
    settings.RESIDENT_COMMENTS_PER_HOUR = 5
    report = make_report()
    client.force_login(resident)
    answers = [client.post(f"/reports/{report.pk}/comments/", {"text": f"Nog steeds kapot, dag {number}."},
                           REMOTE_ADDR=f"203.0.113.{number}") for number in range(8)]
    assert [answer.status_code for answer in answers] == [302] * 5 + [429] * 3
    assert Comment.objects.count() == 5
    refused = answers[-1]
    assert 0 < int(refused["Retry-After"]) <= 3600
    page = refused.content.decode()
    assert "You have placed many comments in a short time" in page
    assert "Nog steeds kapot, dag 7." in page  # what they typed is kept


def test_the_limit_message_is_translated(settings, resident):
    from django.test import Client

    settings.RESIDENT_COMMENTS_PER_HOUR = 0
    report = make_report()
    dutch = Client(HTTP_ACCEPT_LANGUAGE="nl")
    dutch.force_login(resident)
    refused = dutch.post(f"/reports/{report.pk}/comments/", {"text": "Nog steeds kapot."})
    assert refused.status_code == 429
    assert "U heeft in korte tijd veel reacties geplaatst" in refused.content.decode()


def test_a_resident_sending_reports_in_a_flood_is_stopped_at_the_hourly_limit(client, settings, resident):
    settings.RESIDENT_REPORTS_PER_HOUR = 3
    client.force_login(resident)
    answers = [client.post("/reports/new/", _report_form(number)) for number in range(5)]
    assert [answer.status_code for answer in answers] == [302] * 3 + [429] * 2
    assert Report.objects.filter(author=resident).count() == 3
    assert "You have sent many reports in a short time" in answers[-1].content.decode()
    assert int(answers[-1]["Retry-After"]) > 0


def test_a_resident_supporting_in_a_flood_is_stopped_at_the_hourly_limit(client, settings, resident):
    settings.RESIDENT_SUPPORTS_PER_HOUR = 3
    reports = [make_report(title=f"Losse stoeptegel {number}") for number in range(5)]
    client.force_login(resident)
    codes = [client.post(f"/reports/{report.pk}/support/").status_code for report in reports]
    assert codes == [302] * 3 + [429] * 2
    assert Support.objects.filter(user=resident).count() == 3


def test_staff_are_not_counted(client, settings, civil_servant):
    settings.RESIDENT_COMMENTS_PER_HOUR = 1
    settings.RESIDENT_REPORTS_PER_HOUR = 1
    report = make_report()
    client.force_login(civil_servant)
    assert {client.post(f"/reports/{report.pk}/comments/", {"text": f"Ingepland, stap {number}."}).status_code
            for number in range(3)} == {302}
    assert {client.post("/reports/new/", _report_form(number)).status_code for number in range(3)} == {302}


def test_the_defaults_are_sensible():
    from django.conf import settings

    assert (settings.RESIDENT_REPORTS_PER_HOUR, settings.RESIDENT_COMMENTS_PER_HOUR,
            settings.RESIDENT_SUPPORTS_PER_HOUR) == (20, 30, 60)


def test_a_resident_flooding_the_api_gets_a_429_problem_with_retry_after(client, settings, resident):
    settings.REPORT_API_RATES = {**settings.REPORT_API_RATES, "resident": "2/hour"}
    client.force_login(resident)
    answers = [client.post("/api/v1/reports", {"title": "Overvolle afvalbak", "description": "Al dagen vol, echt waar.",
                                               "latitude": 52.08, "longitude": 4.31}, content_type="application/json",
                           REMOTE_ADDR=f"203.0.113.{number}") for number in range(3)]
    assert [answer.status_code for answer in answers] == [201, 201, 429]
    assert answers[-1]["Content-Type"] == "application/problem+json" and int(answers[-1]["Retry-After"]) > 0
