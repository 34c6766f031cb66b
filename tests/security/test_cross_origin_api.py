"""The API's writes are not open to other origins' browsers (docs/api.md; issue #14: a form-encoded POST
from `Origin: https://evil.example` to /api/v1/reports gave 201).

A browser sends a cross-origin request without asking first (no CORS preflight) only with a "simple"
body: form-encoded, multipart or text/plain, and no Authorization header. The API refuses those
bodies on writes unless a token comes with them (415), and refuses writes that name another origin
(403). JSON from our own pages and anything with a token keep working."""
from __future__ import annotations

import pytest

from participation.models import Report

pytestmark = pytest.mark.django_db

REPORT = {"title": "Overvolle afvalbak", "description": "Al dagen vol, echt waar.", "latitude": 52.08, "longitude": 4.31}
EVIL = "https://evil.example"


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"])
def test_a_simple_cross_origin_post_creates_nothing(client, content_type):
    from urllib.parse import urlencode

    if content_type == "multipart/form-data":
        response = client.post("/api/v1/reports", REPORT, HTTP_ORIGIN=EVIL)  # the test client encodes multipart
    elif content_type == "text/plain":
        response = client.post("/api/v1/reports", '{"title": "Overvolle afvalbak"}', content_type="text/plain",
                               HTTP_ORIGIN=EVIL)
    else:
        response = client.post("/api/v1/reports", urlencode(REPORT), content_type=content_type, HTTP_ORIGIN=EVIL)
    assert response.status_code in (403, 415)
    assert response["Content-Type"] == "application/problem+json"
    assert not Report.objects.exists()


def test_a_form_encoded_post_without_a_token_is_refused_even_without_an_origin(client):
    """Some browsers leave Origin out (privacy settings, old versions); the body type alone decides."""
    from urllib.parse import urlencode

    response = client.post("/api/v1/reports", urlencode(REPORT), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert not Report.objects.exists()


def test_json_naming_another_origin_is_refused(client):
    response = client.post("/api/v1/reports", REPORT, content_type="application/json", HTTP_ORIGIN=EVIL)
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    assert not Report.objects.exists()


def test_our_own_pages_post_json_as_before(client, settings):
    settings.SITE_URL = "https://participatie.example.org"
    response = client.post("/api/v1/reports", REPORT, content_type="application/json", HTTP_ORIGIN="http://testserver")
    assert response.status_code == 201
    response = client.post("/api/v1/reports", REPORT, content_type="application/json")  # a script: no Origin
    assert response.status_code == 201


def test_an_integration_with_a_token_may_still_post_a_form(token_client_for, civil_servant):
    client = token_client_for(civil_servant)
    response = client.post("/api/v1/reports", REPORT, format="multipart")
    assert response.status_code == 201
    response = client.post("/api/v1/reports", {**REPORT, "title": "Tweede melding"}, HTTP_ORIGIN=EVIL, format="json")
    assert response.status_code == 201, "a token never rides along with a browser's cross-origin request"


def test_reading_from_any_origin_stays_open(client):
    response = client.get("/api/v1/reports", HTTP_ORIGIN=EVIL)
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*"
