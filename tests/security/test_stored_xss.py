"""Stored XSS: markup that residents and staff type (titles, descriptions, comments, names, messages)
is rendered inert in HTML, emails, GeoJSON and the API; our JavaScript never turns it into HTML."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core import mail

from participation import workflow
from participation.models import Comment, Report
from smartcity.models import SocietalChallenge
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db
MARKUP = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
STATIC_JS = Path(__file__).resolve().parents[2] / "static" / "js"


@pytest.fixture
def hostile(resident, civil_servant, department_a, django_capture_on_commit_callbacks):
    resident.display_name = MARKUP
    resident.save(update_fields=["display_name"])
    report = make_report(title=MARKUP[:120], description=MARKUP, address=MARKUP, status=Report.Status.ACCEPTED,
                         department=department_a, author=resident)
    report.follows.create(user=resident)
    Comment.objects.create(report=report, author=resident, text=MARKUP)
    challenge = SocietalChallenge.objects.create(title=MARKUP, description=MARKUP)
    report.societal_challenges.add(challenge)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.post_message(report=report, actor=civil_servant, message=MARKUP, version=report.version)
    return report, challenge


def _assert_inert(html: str) -> None:
    assert MARKUP not in html and "<script>alert" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;" in html


def test_public_pages_show_the_markup_as_text(client, hostile):
    report, challenge = hostile
    for path in (report.get_absolute_url(), "/reports/", "/reports/map/", challenge.get_absolute_url(), "/challenges/"):
        response = client.get(path)
        assert response.status_code == 200, path
        _assert_inert(response.content.decode())


def test_staff_pages_show_the_markup_as_text(client, hostile, civil_servant):
    report, _ = hostile
    client.force_login(civil_servant)
    for path in (f"/staff/reports/{report.pk}/", "/staff/?status=accepted"):
        response = client.get(path)
        assert response.status_code == 200, path
        _assert_inert(response.content.decode())


def test_the_update_email_is_plain_text_only(hostile):
    message = mail.outbox[-1]
    assert MARKUP in message.body  # the text as written: a plain-text mail cannot run it
    assert message.content_subtype == "plain" and getattr(message, "alternatives", []) == []


def test_geojson_and_the_api_return_it_as_json_strings_that_no_browser_renders(client, hostile):
    report, _ = hostile
    geojson = client.get("/reports.geojson?bbox=4.2,52.0,4.4,52.2")
    assert geojson["Content-Type"] == "application/geo+json" and geojson["X-Content-Type-Options"] == "nosniff"
    assert json.loads(geojson.content)["features"][0]["properties"]["title"] == MARKUP[:120]
    api = client.get(f"/api/v1/reports/{report.pk}")
    assert api["Content-Type"].startswith("application/json") and api["X-Content-Type-Options"] == "nosniff"
    assert api["Content-Security-Policy"].startswith("default-src 'none'")
    assert api.json()["description"] == MARKUP


def test_our_javascript_puts_text_in_the_page_never_html():
    for script in STATIC_JS.glob("*.js"):
        source = script.read_text()
        assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", source), script.name
        # Leaflet treats a string as HTML: popups and tooltips get elements or text nodes, also when the text is
        # put together ("number: " + title).
        for call in re.findall(r"\.bind(?:Popup|Tooltip)\(([^;]*)", source):
            assert call.startswith(("document.createTextNode(", "popup(")) or not re.search(
                r"\b(title|name|description|message)\b", call), (script.name, call)
