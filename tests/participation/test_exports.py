"""Open data: CSV and GeoJSON exports of public reports, anonymised, filterable, streamed; the daily dump."""
from __future__ import annotations

import csv
import io
import json

import pytest
from django.conf import settings
from django.http import StreamingHttpResponse
from django.test import override_settings

from participation import exports
from participation.models import Comment, Report, ReporterContact
from participation.tasks import dump_open_data
from smartcity.models import Area, Theme
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db


def body(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response))))


@pytest.fixture
def area(db) -> Area:
    return Area.objects.create(slug="centrum", name="Centrum", geometry={"type": "Polygon", "coordinates": []},
                               min_longitude=4.30, min_latitude=52.07, max_longitude=4.32, max_latitude=52.09)


def test_the_csv_holds_public_reports_without_author_contact_or_hidden_text(client, resident, theme):
    report = make_report(theme=theme, author=resident, title="Loose paving stone", description="Near the school.")
    ReporterContact.objects.create(report=report, email="secret@example.org", name="Secret Name", phone="0612345678")
    Comment.objects.create(report=report, author=resident, text="Visible comment")
    Comment.objects.create(report=report, author=resident, text="Rude words", is_hidden=True)
    make_report(title="Hidden report", is_hidden=True, hidden_reason="personal data", description="Hidden text.")

    response = client.get("/open-data/reports.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    text = body(client.get("/open-data/reports.csv"))
    for private in ("secret@example.org", "Secret Name", "0612345678", "Rosa", "resident@example.org",
                    "Rude words", "Visible comment", "Hidden report", "personal data"):
        assert private not in text
    [row] = csv_rows(response)
    assert list(row) == exports.FIELD_NAMES
    assert (row["id"], row["title"], row["theme"], row["comment_count"]) == (str(report.pk), "Loose paving stone",
                                                                            "mobility", "1")
    assert row["url"] == f"{settings.SITE_URL}/reports/{report.pk}/"
    assert row["created_at"].endswith("Z") and row["is_open"] == "true"


def test_cells_that_a_spreadsheet_would_run_as_formulas_get_an_apostrophe(client):
    make_report(title="=HYPERLINK(\"http://evil\")", description="+1+1", address="@SUM(A1)")
    make_report(title="-2 degrees and icy", description="\tTabbed", address="\rReturn")
    make_report(title="Plain title", description="a = b", address="Keizerstraat 1", latitude=52.05, longitude=4.25)

    rows = {row["title"]: row for row in csv_rows(client.get("/open-data/reports.csv"))}

    assert set(rows) == {"'=HYPERLINK(\"http://evil\")", "'-2 degrees and icy", "Plain title"}
    assert rows["'=HYPERLINK(\"http://evil\")"]["description"] == "'+1+1"
    assert rows["'=HYPERLINK(\"http://evil\")"]["address"] == "'@SUM(A1)"
    assert rows["'-2 degrees and icy"]["description"] == "'\tTabbed"
    assert rows["'-2 degrees and icy"]["address"] == "'\rReturn"
    assert rows["Plain title"]["description"] == "a = b"
    assert rows["Plain title"]["longitude"] == "4.25"  # numbers are never prefixed



def test_the_geojson_is_a_feature_collection_of_points_with_the_same_properties(client, theme):
    report = make_report(theme=theme, status=Report.Status.RESOLVED)

    response = client.get("/open-data/reports.geojson")

    assert response["Content-Type"] == "application/geo+json"
    data = json.loads(body(response))
    assert (data["type"], data["licence"]) == ("FeatureCollection", "CC0-1.0")
    [feature] = data["features"]
    assert feature["id"] == report.pk
    assert feature["geometry"] == {"type": "Point", "coordinates": [report.longitude, report.latitude]}
    assert set(feature["properties"]) == set(exports.FIELD_NAMES) - {"latitude", "longitude"}
    assert (feature["properties"]["status"], feature["properties"]["is_open"]) == ("resolved", False)


def test_an_empty_export_is_still_valid(client):
    assert json.loads(body(client.get("/open-data/reports.geojson")))["features"] == []
    assert body(client.get("/open-data/reports.csv")).splitlines() == [",".join(exports.FIELD_NAMES)]


def test_exports_filter_like_the_list(client, theme, area):
    other = Theme.objects.create(slug="waste", name="Waste")
    wanted = make_report(theme=theme, title="Broken bicycle rack", area=area, latitude=52.08, longitude=4.31)
    make_report(theme=other, title="Broken bin", area=area, latitude=52.08, longitude=4.31)
    make_report(theme=theme, title="Broken bicycle lane", status=Report.Status.RESOLVED, latitude=52.01, longitude=4.20)

    query = "?theme=mobility&status=new&neighbourhood=centrum&q=bicycle&bbox=4.30,52.07,4.32,52.09"
    assert [row["id"] for row in csv_rows(client.get("/open-data/reports.csv" + query))] == [str(wanted.pk)]
    features = json.loads(body(client.get("/open-data/reports.geojson" + query)))["features"]
    assert [feature["id"] for feature in features] == [wanted.pk]
    assert len(csv_rows(client.get("/open-data/reports.csv?status=resolved"))) == 1


def test_invalid_filters_get_a_clear_400(client):
    response = client.get("/open-data/reports.csv?theme=ghosts!&status=sleeping")  # not a slug, not a status
    assert response.status_code == 400
    text = response.content.decode()
    assert "theme:" in text and "status:" in text


def test_the_body_leaves_in_pieces_as_the_rows_come(client):
    for number in range(5):
        make_report(title=f"Report number {number}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exports, "CHUNK_ROWS", 2)
        patch.setattr(exports, "FLUSH_BYTES", 10)
        response = client.get("/open-data/reports.csv")
        chunks = list(response.streaming_content)
    assert len(chunks) >= 5  # the body leaves in pieces as the rows come
    assert b"".join(chunks).decode().count("Report number") == 5


@pytest.fixture
def dump_storage(tmp_path):
    storages = {**settings.STORAGES, "open_data": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}}}
    with override_settings(STORAGES=storages):
        yield tmp_path


def test_the_daily_dump_writes_the_data_the_data_dictionary_and_the_licence(dump_storage, theme):
    import datetime

    make_report(theme=theme, title="Dumped")
    (dump_storage / "reports-2020-01-01.csv").write_text("old")

    written = dump_open_data.delay().get()

    today = datetime.date.today()
    assert sorted(written) == sorted([f"reports-{today:%Y-%m-%d}.csv", "reports.csv", f"reports-{today:%Y-%m-%d}.geojson",
                                      "reports.geojson", "datapackage.json", "LICENCE.txt"])
    assert "Dumped" in (dump_storage / "reports.csv").read_text()
    assert json.loads((dump_storage / "reports.geojson").read_text())["features"][0]["properties"]["title"] == "Dumped"
    package = json.loads((dump_storage / "datapackage.json").read_text())
    assert package["licenses"][0]["name"] == "CC0-1.0"
    fields = package["resources"][0]["schema"]["fields"]
    assert [field["name"] for field in fields] == exports.FIELD_NAMES and all(field["description"] for field in fields)
    assert "CC0-1.0" in (dump_storage / "LICENCE.txt").read_text()
    assert not (dump_storage / "reports-2020-01-01.csv").exists()  # old dated dumps are pruned
    # Idempotent: a second run rewrites the same names instead of adding copies.
    dump_open_data.delay().get()
    assert sorted(path.name for path in dump_storage.iterdir()) == sorted(written)


@override_settings(OPEN_DATA_LICENCE="CC-BY-4.0", OPEN_DATA_LICENCE_URL="https://creativecommons.org/licenses/by/4.0/")
def test_the_licence_is_configurable(dump_storage, client):
    exports.open_data_dump()
    assert json.loads((dump_storage / "datapackage.json").read_text())["licenses"] == [
        {"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/"}]
    assert "CC0" not in (dump_storage / "LICENCE.txt").read_text()
    assert json.loads(body(client.get("/open-data/reports.geojson")))["licence"] == "CC-BY-4.0"


def test_the_dump_runs_every_day_from_celery_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["participation-dump-open-data"]
    assert entry["task"] == "participation.tasks.dump_open_data"
    assert entry["schedule"].hour == {4}


def test_the_open_data_page_explains_the_columns_and_links_the_files(client, dump_storage):
    page = client.get("/open-data/").content.decode()
    assert "The first daily file has not been made yet." in page
    assert "comment_count" in page and "CC0-1.0" in page

    exports.open_data_dump()
    page = client.get("/open-data/").content.decode()
    assert 'href="/open-data/dump/reports.csv"' in page
    response = client.get("/open-data/dump/reports.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert b"".join(response.streaming_content).decode().startswith("id,url,")
    assert client.get("/open-data/dump/..%2Fsecret.txt").status_code == 404
    assert client.get("/open-data/dump/settings.py").status_code == 404


def test_a_live_export_of_more_reports_than_the_limit_points_to_the_daily_file(client, settings, theme):
    settings.OPEN_DATA_LIVE_MAX_ROWS = 2
    for title in ("One", "Two", "Three"):
        make_report(title=title, theme=theme if title != "Three" else None)

    for path in ("/open-data/reports.csv", "/open-data/reports.geojson"):
        response = client.get(path)
        page = response.content.decode()
        assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
        assert "More than 2 reports match" in page and "daily file" in page
    assert [row["title"] for row in csv_rows(client.get("/open-data/reports.csv?theme=mobility"))] == ["One", "Two"]


def test_behind_the_proxy_the_dump_is_sent_by_nginx(client, settings, dump_storage):
    settings.X_ACCEL_REDIRECT = True
    (dump_storage / "reports.csv").write_text("id,url\n")

    response = client.get("/open-data/dump/reports.csv")

    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == "/_protected/open-data/reports.csv"
    assert response["Content-Disposition"] == 'attachment; filename="reports.csv"'
    assert client.get("/open-data/dump/missing.csv").status_code == 404
