"""Forms a resident can correct (issue #17): the error summary links to each field, "outside the city" names the
city once, and a measurement starts at now."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pilots.models import KPI, Pilot

pytestmark = pytest.mark.django_db


def test_the_error_summary_links_to_the_field_it_is_about(client):
    response = client.post(reverse("participation:my-reports-request"), {"email": "not an address"})
    html = response.content.decode()
    summary = html[html.index("data-error-summary"):html.index("</ul>", html.index("data-error-summary"))]
    assert 'href="#id_email"' in summary and 'tabindex="-1"' in html
    assert 'id="id_email"' in html and 'aria-invalid="true"' in html


def test_a_place_outside_the_city_names_the_city_not_the_site_and_says_it_once(client, settings):
    settings.CITY_NAME, settings.SITE_NAME = "Den Haag", "Stadslab"
    html = client.post(reverse("participation:report-create"), {
        "title": "Losse stoeptegels", "description": "Er liggen losse tegels op de stoep.",
        "latitude": "59.3293", "longitude": "18.0686"}).content.decode()
    assert html.count("This place lies outside Den Haag.") == 1
    assert "outside Stadslab" not in html


def test_a_new_measurement_starts_at_now(department_a, civil_servant):
    pilot = Pilot.objects.create(title="Crowd sensors", description="Counting visitors.", lead_department=department_a)
    kpi = KPI.objects.create(pilot=pilot, name="Visitors", unit="people")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(civil_servant)
    html = client.get(reverse("pilots:measurement-create", args=[kpi.pk])).content.decode()
    now = timezone.localtime()
    assert f'value="{now:%Y-%m-%dT%H:}' in html or f'value="{now:%Y-%m-%d}' in html
