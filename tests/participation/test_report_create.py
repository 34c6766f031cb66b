"""Reporting a concern in the browser form: without JavaScript, with photos, the "already reported?" step,
the city's bounds, rate limits, and the confirmation of an anonymous email address."""
import io
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from participation.models import Follow, Report, ReporterContact, ReportPhoto
from tests.participation.conftest import HAGUE, image_bytes, make_report

pytestmark = pytest.mark.django_db
URL = reverse("participation:report-create")


def form_data(**overrides) -> dict:
    data = {"title": "Loose paving stones", "description": "Several stones are loose near the tram stop.",
            "latitude": str(HAGUE[0]), "longitude": str(HAGUE[1]), "address": "Spui 70", "theme": ""}
    data.update(overrides)
    return data


def photo(name="street.jpg", fmt="JPEG", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(fmt, **kwargs), content_type="image/jpeg")


def test_the_form_works_without_javascript_and_shows_coordinate_fields(client):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("title", "description", "latitude", "longitude", "address", "photos", "email"):
        assert f'name="{name}"' in html
    assert 'maxlength="120"' in html and 'data-map-picker' in html


def test_an_anonymous_resident_reports_with_a_photo_and_gets_a_confirmation_link(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {**form_data(email="Anna@Example.org"), "photos": [photo()]})
    report = Report.objects.get()
    assert response.status_code == 302 and response["Location"] == report.get_absolute_url()
    assert report.author is None and report.source == Report.Source.WEB and report.address == "Spui 70"
    assert ReportPhoto.objects.filter(report=report).count() == 1
    contact = ReporterContact.objects.get(report=report)
    assert contact.email == "anna@example.org" and contact.confirmed_at is None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["anna@example.org"]
    link = re.search(r"http://\S+/reports/confirm/\S+/", mail.outbox[0].body).group(0)
    path = link.split("localhost:8000")[-1]
    assert client.get(path).status_code == 200  # a page with a button: mail scanners do not confirm
    assert ReporterContact.objects.get(report=report).confirmed_at is None
    client.post(path)
    assert ReporterContact.objects.get(report=report).confirmed_at is not None


def test_a_logged_in_resident_follows_their_report_and_their_account_address_is_confirmed(client, resident):
    client.force_login(resident)
    client.post(URL, form_data())
    report = Report.objects.get()
    assert report.author == resident
    assert Follow.objects.filter(report=report, user=resident).exists()
    assert ReporterContact.objects.get(report=report).confirmed_at is not None


def test_a_point_outside_the_city_gets_a_clear_error_and_the_text_is_kept(client):
    response = client.post(URL, form_data(latitude="59.3293", longitude="18.0686"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "lies outside" in html
    assert "Loose paving stones" in html and "Several stones are loose" in html
    assert not Report.objects.exists()


def test_a_bad_photo_gets_a_clear_error_and_the_good_photo_and_the_text_are_kept(client):
    bad = SimpleUploadedFile("notes.jpg", b"this is not an image", content_type="image/jpeg")
    response = client.post(URL, {**form_data(), "photos": [photo(), bad]})
    html = response.content.decode()
    assert response.status_code == 200 and "notes.jpg is not a JPEG, PNG or WebP image" in html
    assert "Loose paving stones" in html
    kept = re.search(r'name="kept_photos" value="([^"]+)"', html).group(1)
    assert "you do not need to choose it again" in html
    response = client.post(URL, {**form_data(), "kept_photos": kept})
    report = Report.objects.get()
    assert report.photos.count() == 1


def test_a_forged_kept_photos_value_is_ignored(client):
    client.post(URL, {**form_data(), "kept_photos": '[["../../settings.py", 1, 1]]'})
    assert Report.objects.get().photos.count() == 0


def test_more_than_three_photos_are_refused(client):
    response = client.post(URL, {**form_data(), "photos": [photo(f"p{i}.jpg") for i in range(4)]})
    assert "Choose at most 3 photos" in response.content.decode()
    assert not Report.objects.exists()


def test_the_already_reported_step_shows_nearby_open_reports_without_javascript(client):
    nearby = make_report(title="Stones loose at the stop", latitude=HAGUE[0] + 0.0003)
    make_report(title="Far away", latitude=HAGUE[0] + 0.02)
    make_report(title="Closed nearby", status=Report.Status.RESOLVED)
    response = client.post(URL, form_data())
    html = response.content.decode()
    assert "Already reported?" in html and nearby.title in html
    assert "Far away" not in html and "Closed nearby" not in html
    assert Report.objects.count() == 3
    client.post(URL, {**form_data(), "nearby_seen": "on"})
    assert Report.objects.count() == 4


def test_the_htmx_partial_lists_similar_reports_and_marks_the_step_as_seen(client):
    make_report(title="Paving stones loose again", latitude=HAGUE[0] + 0.001)  # about 110 m, similar title
    response = client.get(reverse("participation:report-nearby"),
                          {"latitude": HAGUE[0], "longitude": HAGUE[1], "title": "Loose paving"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Paving stones loose again" in html and 'name="nearby_seen"' in html


@override_settings(ANONYMOUS_REPORTS_PER_HOUR=2)
def test_anonymous_submissions_are_rate_limited_with_a_message_and_nothing_lost(client):
    for index in range(2):
        client.post(URL, form_data(title=f"Report number {index}", nearby_seen="on",
                                   latitude=str(HAGUE[0] + index * 0.01)))
    response = client.post(URL, form_data(title="The third report", nearby_seen="on", latitude="52.05"))
    assert response.status_code == 429
    html = response.content.decode()
    assert "wait an hour" in html and "The third report" in html
    assert Report.objects.count() == 2


@override_settings(ANONYMOUS_REPORTS_PER_HOUR=1)
def test_residents_with_an_account_are_not_rate_limited(client, resident):
    client.force_login(resident)
    for index in range(3):
        client.post(URL, form_data(title=f"Report number {index}", nearby_seen="on"))
    assert Report.objects.count() == 3


def test_control_characters_are_stripped_from_the_text(client):
    client.post(URL, form_data(title="Loose\x07 stones\u202e here", nearby_seen="on"))
    assert Report.objects.get().title == "Loose stones here"


def test_the_stored_photo_has_no_gps_data(client):
    exif = Image.Exif()
    exif.get_ifd(0x8825)[2] = (52.0, 4.0, 48.0)
    client.post(URL, {**form_data(), "photos": [SimpleUploadedFile("gps.jpg", image_bytes(exif=exif.tobytes()))]})
    stored = Report.objects.get().photos.get()
    with stored.image.open() as handle:
        assert dict(Image.open(io.BytesIO(handle.read())).getexif()) == {}


@pytest.mark.parametrize("latitude", ["inf", "nan", "north", ""])
def test_the_nearby_partial_takes_nonsense_coordinates_calmly(client, latitude):
    response = client.get(reverse("participation:report-nearby"), {"latitude": latitude, "longitude": "4.31"})
    assert response.status_code == 200 and "Already reported?" not in response.content.decode()


@pytest.mark.django_db(transaction=True)  # real commits: the neighbourhoods' version moves after the write's commit
def test_a_new_report_finds_its_neighbourhood_among_those_kept_until_one_is_written(settings):
    from participation import services
    from smartcity import pagecache
    from smartcity.models import Area

    settings.PUBLIC_PAGE_CACHE_SECONDS = 60  # versions in use (Redis, or this process's own cache)
    square = {"type": "Polygon", "coordinates": [[[4.2, 52.0], [4.4, 52.0], [4.4, 52.2], [4.2, 52.2], [4.2, 52.0]]]}

    def posted(lat, lon):
        return services.report_create(title="Loose tiles", description="By the tram stop.", latitude=lat, longitude=lon)

    assert posted(52.1, 4.3).area is None and pagecache.kept_count(services.AREAS_VERSION) == 1  # none yet, and that is kept
    centrum = Area.objects.create(slug="centrum", name="Centrum", geometry=square, min_longitude=4.2,
                                  min_latitude=52.0, max_longitude=4.4, max_latitude=52.2)
    assert posted(52.1, 4.3).area == centrum  # written: read again
    assert posted(52.3, 4.3).area is None  # outside its polygon and box
    Area.objects.filter(pk=centrum.pk).update(max_latitude=52.05)  # a write past the models: seen all the same
    assert posted(52.1, 4.3).area is None
