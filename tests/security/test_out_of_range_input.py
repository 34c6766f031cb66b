"""Page numbers and dates far outside any real list or calendar are a 400 or an empty page, never a 500
(issue #14: a page number past the database's bigint, and dates whose window overflows Python's calendar)."""
from __future__ import annotations

import pytest

from smartcity.models import Theme
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db

HUGE_PAGES = ("9223372036854775807", "99999999999999999999", "-9223372036854775809", "1e400", "0")
PAGED_LISTS = ("/reports/", "/reports/map/", "/challenges/", "/pilots/", "/department-challenges/")
PAGED_API = ("/api/v1/reports", "/api/v1/pilots", "/api/v1/societal-challenges", "/api/v1/department-challenges",
             "/api/v1/themes", "/api/v1/departments")


@pytest.fixture(autouse=True)
def some_reports(db):
    Theme.objects.create(slug="afval", name="Afval")
    for i in range(3):
        make_report(title=f"Report {i}")


@pytest.mark.parametrize("path", PAGED_LISTS)
@pytest.mark.parametrize("page", HUGE_PAGES)
def test_a_page_number_past_any_list_shows_a_page_not_an_error(client, path, page):
    response = client.get(path, {"page": page})
    assert response.status_code == 200


def test_the_reports_list_past_its_end_shows_its_last_page(client):
    html = client.get("/reports/", {"page": "9223372036854775807"}).content.decode()
    assert "Report 0" in html and "Report 2" in html


@pytest.mark.parametrize("path", PAGED_API)
def test_an_api_page_number_past_any_list_is_a_problem_not_a_server_error(api_client, path):
    # Past the end: no such page (404). Not a whole number from 1: invalid input (400, issue #20).
    expected = {"9223372036854775807": 404, "99999999999999999999": 404, "-9223372036854775809": 400, "1e400": 400,
                "0": 400}
    for page in HUGE_PAGES:
        response = api_client.get(path, {"page": page})
        assert response.status_code == expected[page], (path, page, response.status_code)
        assert response["Content-Type"] == "application/problem+json"


def test_the_staff_queue_survives_a_huge_page_number(client, civil_servant):
    client.force_login(civil_servant)
    assert client.get("/staff/", {"page": "9223372036854775807"}).status_code == 200


@pytest.mark.parametrize("query", [
    "start_date=9999-12-31T00:00:00Z", "end_date=0001-01-01", "start_date=0001-01-01", "end_date=9999-12-31",
    "start_date=9999-12-01&end_date=9999-12-31", "start_date=0001-01-01T00:00:00%2B14:00",
    "end_date=0001-01-01T00:00:00-12:00",
])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_dates_outside_the_calendar_are_a_400_in_open311s_error_format(client, query, fmt):
    response = client.get(f"/open311/v2/requests.{fmt}?{query}")
    assert response.status_code == 400
    body = response.content.decode()
    assert ("description" in body) and ("must lie between" in body)


def test_open311_dates_in_a_normal_window_still_work(client):
    response = client.get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-03-01T00:00:00Z")
    assert response.status_code == 200


@pytest.mark.parametrize("query", [
    "end=0001-01-01", "start=0001-01-01", "end=9999-12-31", "start=9999-12-01&end=9999-12-31",
    "start=9999-12-01&end=9999-12-31&interval=week",
])
@pytest.mark.parametrize("path", ["/statistics/", "/statistics/societal-challenges.csv",
                                  "/statistics/reports-over-time.csv"])
def test_statistics_dates_outside_the_calendar_are_a_400(client, path, query):
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert "Ensure this value is" in response.content.decode()
