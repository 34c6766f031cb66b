"""The reports API: public fields only, problem+json errors, throttling of anonymous clients, not of staff."""
import pytest
from django.test import override_settings

from participation.models import Report, ReporterContact
from tests.participation.conftest import HAGUE, make_report

pytestmark = pytest.mark.django_db

VALID = {"reference": "ext-1", "title": "Overflowing bin", "description": "The bin on the corner overflows daily.",
         "latitude": 52.07, "longitude": 4.30}


def test_staff_with_a_token_creates_a_report_and_gets_its_reference_back(token_client_for, civil_servant, theme):
    client = token_client_for(civil_servant)
    response = client.post("/api/v1/reports", {**VALID, "theme": "mobility", "email": "x@example.org"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == "ext-1"
    assert body["theme"] == "mobility"
    assert "email" not in body
    report = Report.objects.get(reference="ext-1")
    assert report.source == Report.Source.API
    assert ReporterContact.objects.get(report=report).email == "x@example.org"


def test_a_blank_reference_is_stored_as_none(api_client):
    response = api_client.post("/api/v1/reports", {**VALID, "reference": "  "}, format="json")
    assert response.status_code == 201
    assert response.json()["reference"] is None


def test_it_lists_every_problem_at_once_as_problem_json(api_client):
    make_report(reference="taken")
    response = api_client.post(
        "/api/v1/reports", {"reference": "taken", "title": "", "latitude": 59.33, "longitude": 18.06}, format="json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    names = {problem["name"] for problem in response.json()["invalidParams"]}
    assert {"reference", "title", "description"} <= names


def test_a_point_outside_the_city_bounds_is_refused(api_client):
    response = api_client.post("/api/v1/reports", {**VALID, "latitude": 59.33, "longitude": 18.06}, format="json")
    assert response.status_code == 400
    names = {problem["name"] for problem in response.json()["invalidParams"]}
    assert names == {"latitude", "longitude"}


def test_the_public_api_never_shows_contact_details_or_hidden_reports(api_client):
    visible = make_report(title="Visible one")
    ReporterContact.objects.create(report=visible, email="secret@example.org", name="Secret Name")
    make_report(title="Hidden one", is_hidden=True, hidden_reason="abuse")
    response = api_client.get("/api/v1/reports")
    assert response.status_code == 200
    text = response.content.decode()
    assert "secret@example.org" not in text and "Secret Name" not in text
    assert [item["title"] for item in response.json()["results"]] == ["Visible one"]
    detail = api_client.get(f"/api/v1/reports/{visible.pk}").json()
    assert "contact" not in detail and "email" not in detail


def test_the_list_is_paginated_drf_style_and_filters_by_bbox(api_client):
    for index in range(3):
        make_report(title=f"Report number {index}", latitude=HAGUE[0] + index * 0.01)
    page = api_client.get("/api/v1/reports?bbox=4.3,52.07,4.32,52.085").json()
    assert page["count"] == 1 and "next" in page and "results" in page


@override_settings(REPORT_API_RATES={"anonymous": "2/hour", "resident": "2/hour", "staff": "1000/hour"})
def test_anonymous_clients_are_throttled_with_a_429_problem(api_client):
    statuses = [
        api_client.post("/api/v1/reports", {**VALID, "reference": f"a{i}"}, format="json").status_code for i in range(3)
    ]
    assert statuses == [201, 201, 429]
    response = api_client.post("/api/v1/reports", {**VALID, "reference": "a9"}, format="json")
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 429


@override_settings(REPORT_API_RATES={"anonymous": "2/hour", "resident": "2/hour", "staff": "1000/hour"})
def test_staff_tokens_are_not_throttled_like_anonymous_clients(token_client_for, civil_servant):
    client = token_client_for(civil_servant)
    statuses = {client.post("/api/v1/reports", {**VALID, "reference": f"s{i}"}, format="json").status_code
                for i in range(5)}
    assert statuses == {201}


@pytest.mark.parametrize("latitude", ["NaN", "Infinity", "52,07"])
def test_nonsense_coordinates_are_refused_as_problem_json(api_client, latitude):
    response = api_client.post("/api/v1/reports", {**VALID, "latitude": latitude}, format="json")
    assert response.status_code == 400
    assert "latitude" in {problem["name"] for problem in response.json()["invalidParams"]}
    assert not Report.objects.exists()


def test_the_throttle_counts_in_fixed_windows_and_says_when_the_window_ends(api_client, settings, monkeypatch):
    settings.REPORT_API_RATES = {**settings.REPORT_API_RATES, "anonymous": "2/minute"}
    clock = [630.0]  # half a minute into a one-minute window
    monkeypatch.setattr("participation.ratelimit.time.time", lambda: clock[0])
    sent = iter(range(100))

    def post():
        return api_client.post("/api/v1/reports", {**VALID, "reference": f"w{next(sent)}"}, format="json")

    assert [post().status_code for _ in range(3)] == [201, 201, 429]
    clock[0] = 645.0
    refused = post()
    assert refused.status_code == 429 and refused["Retry-After"] == "15"
    clock[0] = 660.0  # the next window
    assert post().status_code == 201


def test_each_serializer_gets_its_own_copy_of_the_fields_built_once(api_client):
    from participation.api import ReportSerializer

    first, second = ReportSerializer(), ReportSerializer()
    first.fields["title"].min_length = 50  # what a view may do to its own serializer's fields
    assert second.fields["title"] is not first.fields["title"]
    assert second.fields["theme"].parent is second
    assert second.fields["title"].min_length == 3
    # And the built fields still say in each reader's language what is wrong (labels and messages stay lazy, and
    # the messages DRF formats once are each serializer's own): the first reader's language is not the next one's.
    for language, english in [("nl", False), ("en", True), ("nl", False), ("en", True)]:
        response = api_client.post("/api/v1/reports", {**VALID, "title": "ab", "latitude": 91}, format="json",
                                   HTTP_ACCEPT_LANGUAGE=language)
        reasons = {problem["name"]: problem["reason"] for problem in response.json()["invalidParams"]}
        assert "3" in reasons["title"] and ("Ensure" in reasons["title"]) is english, (language, reasons)
        assert "90" in reasons["latitude"] and ("Ensure" in reasons["latitude"]) is english, (language, reasons)
