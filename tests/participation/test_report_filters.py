"""One report filter (participation/filters.py) for the public list, the map's GeoJSON, the reports API and the
triage queue: the same parameters everywhere, and an invalid value is refused, never read as "all reports"."""
import pytest
from django.urls import reverse

from participation.models import Report
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db

INVALID = [
    ("bbox=x", "bbox"),
    ("bbox=1,2", "bbox"),
    ("bbox=4.2,52.0,4.4,nan", "bbox"),
    ("bbox=4.2,52.0,4.4,1e3", "bbox"),
    ("status=bogus", "status"),
    ("theme=no%20such%20theme", "theme"),
    ("neighbourhood=%3Cb%3E", "neighbourhood"),
    ("q=" + "x" * 201, "q"),
]


@pytest.mark.parametrize(("query", "name"), INVALID)
def test_the_api_answers_an_invalid_filter_with_400_problem_json_naming_it(api_client, query, name):
    make_report()
    response = api_client.get(f"/api/v1/reports?{query}")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Invalid input" and [p["name"] for p in body["invalidParams"]] == [name]


@pytest.mark.parametrize(("query", "name"), INVALID)
def test_the_map_geojson_answers_an_invalid_filter_with_400_problem_json(client, query, name):
    make_report()
    response = client.get(f"{reverse('participation:report-geojson')}?{query}")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert [p["name"] for p in response.json()["invalidParams"]] == [name]


@pytest.mark.parametrize("query", ["theme=ghosts", "neighbourhood=atlantis", "bbox=4.4,52.1,4.2,52.0",
                                   "bbox=200,52.0,210,52.1"])
def test_a_well_formed_value_that_names_nothing_matches_no_report(api_client, client, query):
    make_report()
    assert api_client.get(f"/api/v1/reports?{query}").json()["results"] == []
    assert client.get(f"{reverse('participation:report-geojson')}?{query}").json()["features"] == []


def test_several_invalid_values_are_listed_at_once(api_client):
    response = api_client.get("/api/v1/reports?status=bogus&bbox=1,2&theme=ghost!")
    assert {p["name"] for p in response.json()["invalidParams"]} == {"status", "bbox", "theme"}


def test_the_same_filters_narrow_the_list_the_api_and_the_geojson_alike(client, api_client, theme):
    wanted = make_report(title="Bike lane blocked", theme=theme, latitude=52.08, longitude=4.31,
                         status=Report.Status.IN_PROGRESS)
    make_report(title="Bike rack resolved", theme=theme, status=Report.Status.RESOLVED)
    make_report(title="Bike far away", theme=theme, latitude=52.13, longitude=4.40)
    query = {"theme": "mobility", "status": "open", "q": "bike", "bbox": "4.30,52.07,4.32,52.09"}
    assert [r["id"] for r in api_client.get("/api/v1/reports", query).json()["results"]] == [wanted.pk]
    assert [f["id"] for f in client.get(reverse("participation:report-geojson"), query).json()["features"]] == [wanted.pk]
    assert list(client.get(reverse("participation:report-list"), query).context["page"]) == [wanted]


def test_a_report_number_with_a_hash_finds_that_report_and_plain_digits_are_words_for_residents(api_client):
    numbered = make_report(title="Lamp post 987654 is out")
    other = make_report(title="Bench")
    numbers = {r["id"] for r in api_client.get("/api/v1/reports", {"q": f"#{other.pk}"}).json()["results"]}
    assert numbers == {other.pk}
    words = {r["id"] for r in api_client.get("/api/v1/reports", {"q": "987654"}).json()["results"]}
    assert words == {numbered.pk}


def test_the_queue_shows_an_invalid_filter_as_a_form_error_and_no_reports(client, civil_servant):
    civil_servant.is_triager = True
    civil_servant.save()
    client.force_login(civil_servant)
    make_report()
    response = client.get(reverse("participation:staff-report-list"), {"status": "", "department": "nowhere"})
    assert list(response.context["page"]) == [] and response.context["form"].errors["department"]
    assert response.context["overdue_count"] == 0


@pytest.mark.django_db(transaction=True)  # real commits: the version moves after the write's commit
def test_the_public_filter_form_is_kept_until_a_theme_or_neighbourhood_changes(client, settings):
    from participation.models import QUEUE_CHOICES_VERSION
    from smartcity import pagecache
    from smartcity.models import Area, Theme

    settings.PUBLIC_PAGE_CACHE_SECONDS = 60  # versions in use (Redis, or this process's own cache)
    Theme.objects.create(slug="roads", name="Roads")
    for path in ("/reports/?status=new", "/reports/map/?status=new"):
        assert ">Roads</option>" in client.get(path).content.decode()
    assert pagecache.kept_count(QUEUE_CHOICES_VERSION) == 1  # per query string and language: the list and map share it
    Theme.objects.filter(slug="roads").update(name="Streets")
    Area.objects.create(slug="centrum", name="Centrum", geometry={}, min_longitude=0, min_latitude=0,
                        max_longitude=1, max_latitude=1)
    for path in ("/reports/?status=new", "/reports/map/?status=new"):
        html = client.get(path).content.decode()
        assert ">Streets</option>" in html and ">Roads</option>" not in html and ">Centrum</option>" in html
