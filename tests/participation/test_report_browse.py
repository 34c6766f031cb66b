"""Finding reports: the list and the map's GeoJSON, with filters, a feature cap and a fixed number of queries."""
import pytest
from django.urls import reverse

from participation import views
from participation.models import Report
from smartcity.models import Area
from tests.participation.conftest import HAGUE, make_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def area(db) -> Area:
    return Area.objects.create(slug="centrum", name="Centrum", geometry={"type": "Polygon", "coordinates": []},
                               min_longitude=4.3, min_latitude=52.07, max_longitude=4.32, max_latitude=52.09)


def test_the_list_filters_by_theme_status_neighbourhood_and_text(client, theme, area):
    make_report(title="Bike lane blocked", theme=theme, area=area)
    make_report(title="Bike rack full", status=Report.Status.RESOLVED, theme=theme)
    make_report(title="Graffiti on the wall", area=area)
    url = reverse("participation:report-list")

    def titles(**params) -> set[str]:
        page = client.get(url, params).context["page"]
        return {report.title for report in page}

    assert titles(theme="mobility") == {"Bike lane blocked", "Bike rack full"}
    assert titles(status="resolved") == {"Bike rack full"}
    assert titles(neighbourhood="centrum") == {"Bike lane blocked", "Graffiti on the wall"}
    assert titles(q="bike BLOCKED") == {"Bike lane blocked"}
    assert titles(q="graffiti", theme="mobility") == set()


def test_the_list_is_paginated_and_needs_the_same_few_queries_for_many_reports(client, theme, area,
                                                                               django_assert_max_num_queries):
    for index in range(45):
        make_report(title=f"Report number {index}", theme=theme, area=area)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("participation:report-list"))
    assert len(response.context["page"]) == views.REPORTS_PER_PAGE
    assert response.context["page"].paginator.num_pages == 3
    assert client.get(reverse("participation:report-list"), {"page": 3}).status_code == 200


def test_the_list_counts_only_up_to_a_cap_and_still_pages_past_it(client, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(views, "REPORTS_PER_PAGE", 2)
    monkeypatch.setattr(views, "REPORTS_COUNT_CAP", 5)
    for index in range(12):
        make_report(title=f"Report number {index}")
    url = reverse("participation:report-list")

    with CaptureQueriesContext(connection) as queries:
        first = client.get(url)
    count_sql = [query["sql"] for query in queries if "COUNT(" in query["sql"].upper()]
    assert count_sql and all("LIMIT 6" in sql for sql in count_sql)
    html = first.content.decode()
    assert "More than 5 reports" in html and "Page 1<" in html and 'rel="next"' in html

    # Past the cap the pager keeps going: page 4 still has a next page, without a total.
    html = client.get(url, {"page": 4}).content.decode()
    assert "More than 5 reports" in html and "Page 4<" in html and 'rel="next"' in html
    # Near the end the count is exact again.
    html = client.get(url, {"page": 6}).content.decode()
    assert "12 reports" in html and "Page 6 of 6" in html and 'rel="next"' not in html


def test_the_list_shows_the_exact_count_below_the_cap(client):
    for index in range(3):
        make_report(title=f"Report number {index}")
    html = client.get(reverse("participation:report-list")).content.decode()
    assert "3 reports" in html and "More than" not in html


def test_the_map_page_lists_the_reports_as_its_text_alternative(client):
    make_report(title="Dumped mattress")
    html = client.get(reverse("participation:report-map")).content.decode()
    assert "data-report-map" in html and "Dumped mattress" in html


def test_geojson_filters_by_bbox_and_hides_hidden_reports(client, django_assert_max_num_queries):
    inside = make_report(title="Inside", latitude=HAGUE[0], longitude=HAGUE[1])
    make_report(title="Outside", latitude=52.11, longitude=4.25)
    make_report(title="Hidden", is_hidden=True)
    with django_assert_max_num_queries(3):
        response = client.get(reverse("participation:report-geojson"), {"bbox": "4.30,52.07,4.32,52.09"})
    data = response.json()
    assert response["Content-Type"] == "application/geo+json"
    assert [feature["properties"]["title"] for feature in data["features"]] == ["Inside"]
    assert data["features"][0]["geometry"]["coordinates"] == [HAGUE[1], HAGUE[0]]
    assert data["truncated"] is False and data["limit"] == views.GEOJSON_MAX_FEATURES
    # Only what the map shows, to keep a street-level view light.
    assert data["features"][0]["properties"] == {
        "title": "Inside", "status": "new", "status_label": str(Report.Status.NEW.label), "support_count": 0, "url": inside.get_absolute_url(), "place": "",
    }


def test_geojson_caps_the_number_of_features_and_says_so(client, monkeypatch):
    monkeypatch.setattr(views, "GEOJSON_MAX_FEATURES", 3)
    for index in range(5):
        make_report(title=f"Report number {index}")
    data = client.get(reverse("participation:report-geojson")).json()
    assert len(data["features"]) == 3 and data["truncated"] is True and data["limit"] == 3


def test_the_report_page_shows_status_timeline_and_challenges_without_contact_details(client):
    from participation.models import ReporterContact, StatusChange
    from smartcity.models import SocietalChallenge

    report = make_report(title="Flooded tunnel", status=Report.Status.IN_PROGRESS)
    ReporterContact.objects.create(report=report, email="private@example.org", name="Private Person")
    StatusChange.objects.create(report=report, from_status="new", to_status="in_progress", message="Pump ordered.")
    StatusChange.objects.create(report=report, message="Internal only", is_public=False)
    challenge = SocietalChallenge.objects.create(title="Flooding after heavy rain", description="...")
    report.societal_challenges.add(challenge)
    html = client.get(report.get_absolute_url()).content.decode()
    assert "Flooded tunnel" in html and "Pump ordered." in html and "Flooding after heavy rain" in html
    assert "Internal only" not in html and "private@example.org" not in html and "Private Person" not in html


def test_the_report_page_shows_the_pilots_that_tackle_its_challenges_in_a_fixed_number_of_queries(
        client, resident, django_assert_max_num_queries):
    from participation.models import Comment, ReportPhoto, StatusChange
    from pilots.models import Pilot
    from smartcity.models import SocietalChallenge

    report = make_report(title="Heat in the street")
    for index in range(3):
        challenge = SocietalChallenge.objects.create(title=f"Heat challenge {index}", description="...")
        report.societal_challenges.add(challenge)
        Pilot.objects.create(title=f"Cool roofs {index}", description="Green roofs.").societal_challenges.add(challenge)
        Comment.objects.create(report=report, author=resident, text=f"Comment {index}")
        StatusChange.objects.create(report=report, message=f"Message {index}")
        ReportPhoto.objects.create(report=report, image=f"reports/p{index}.jpg", width=10, height=10)
    with django_assert_max_num_queries(10):
        html = client.get(report.get_absolute_url()).content.decode()
    assert "Cool roofs 2" in html and "Heat challenge 2" in html and "Comment 2" in html and "Message 2" in html


def test_an_unknown_filter_value_matches_nothing_and_the_form_says_why(client):
    make_report(title="Bike lane blocked")
    response = client.get(reverse("participation:report-list"), {"status": "bogus"})
    assert list(response.context["page"]) == []
    assert "Select a valid choice" in response.content.decode()


def test_resident_pages_have_no_inline_scripts_so_a_strict_csp_can_come(client):
    import re

    report = make_report()
    for url in [reverse("participation:report-create"), reverse("participation:report-list"),
                reverse("participation:report-map"), report.get_absolute_url()]:
        html = client.get(url).content.decode()
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert all("src=" in tag for tag in scripts), url
        assert "onclick=" not in html and "javascript:" not in html


def test_report_links_follow_the_script_prefix_of_a_site_served_under_a_path(db):
    from django.urls import set_script_prefix

    report = make_report()
    assert report.get_absolute_url() == reverse("participation:report-detail", args=[report.pk])
    set_script_prefix("/city/")
    try:
        assert report.get_absolute_url() == f"/city/reports/{report.pk}/"
    finally:
        set_script_prefix("/")
    assert report.get_absolute_url() == f"/reports/{report.pk}/"
