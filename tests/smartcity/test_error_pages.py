"""The 403 pages (issue #17): styled, in the visitor's language, saying what to do, never a bare "403 Forbidden"."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from participation.models import Report
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db


def test_an_action_on_another_departments_report_gets_the_sites_own_403_page_in_dutch(other_civil_servant,
                                                                                     department_a):
    report = make_report(department=department_a, status=Report.Status.ACCEPTED)
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    client.force_login(other_civil_servant)
    response = client.post(reverse("participation:staff-report-route", args=[report.pk]),
                           {"department": department_a.pk, "version": report.version})
    html = response.content.decode()
    assert response.status_code == 403
    assert '<html lang="nl"' in html and "Geen toegang" in html and "utrecht-heading-1" in html
    assert "Forbidden" not in html


def test_a_refused_form_token_explains_itself_in_the_visitors_language():
    client = Client(HTTP_ACCEPT_LANGUAGE="sv", enforce_csrf_checks=True)
    response = client.post(reverse("participation:my-reports-request"), {"email": "a@example.org"})
    html = response.content.decode()
    assert response.status_code == 403 and '<html lang="sv"' in html and "utrecht-heading-1" in html
    assert "CSRF" not in html and "Forbidden" not in html


def test_the_api_still_answers_403_as_problem_json(api_client, resident):
    api_client.force_authenticate(resident)
    response = api_client.post("/api/v1/pilots", {"title": "x", "description": "y"}, format="json")
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
