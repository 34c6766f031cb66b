"""Photos cost the server work (decoding) and disk (photos kept for a form shown again). Issue #14,
finding 5: an anonymous client over its limit, a form that is not complete, and a photo with too
many pixels get none of that work; what is kept per client is capped."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageFile

from participation.models import Report
from participation.photos import process_photo
from tests.participation.conftest import HAGUE, image_bytes, make_report

pytestmark = pytest.mark.django_db
URL = reverse("participation:report-create")


def _form(**overrides) -> dict:
    data = {"title": "Loose paving stones", "description": "Several stones are loose near the tram stop.",
            "latitude": str(HAGUE[0]), "longitude": str(HAGUE[1]), "theme": "", "nearby_seen": "on"}
    data.update(overrides)
    return data


def _photos(count: int = 3, size=(640, 480)) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(f"street-{n}.jpg", image_bytes("JPEG", size=size), content_type="image/jpeg")
            for n in range(count)]


def _pending_files(settings) -> list[Path]:
    pending = Path(settings.MEDIA_ROOT) / "pending"
    return [path for path in pending.rglob("*") if path.is_file()] if pending.exists() else []


@pytest.fixture
def opened(monkeypatch) -> list[str]:
    """Every photo Pillow is asked to open: empty means no photo work was done at all."""
    calls: list[str] = []
    real_open = Image.open

    def spy(*args, **kwargs):
        calls.append("open")
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", spy)
    return calls


# --- The rate limit comes before any photo work -------------------------------------------------
def test_a_client_over_its_hourly_limit_is_refused_before_any_photo_is_read_or_stored(client, settings, opened):
    settings.ANONYMOUS_REPORTS_PER_HOUR = 1
    assert client.post(URL, _form()).status_code == 302  # its one report this hour
    response = client.post(URL, {**_form(title="A second report"), "photos": _photos(3)})
    assert response.status_code == 429
    html = response.content.decode()
    assert "wait an hour" in html and "A second report" in html  # the text comes back
    assert "choose them again" in html  # and the resident is told the photos did not
    assert opened == [] and _pending_files(settings) == []
    assert Report.objects.count() == 1


def test_forms_that_are_not_complete_do_not_count_against_the_limit(client, settings):
    settings.ANONYMOUS_REPORTS_PER_HOUR = 2
    for _ in range(5):
        assert client.post(URL, _form(title="")).status_code == 200
    assert client.post(URL, _form()).status_code == 302


def test_every_complete_form_counts_once_including_the_already_reported_step(client, settings):
    """That step reads and keeps photos, so it is a real attempt; it costs a resident one of their ten."""
    settings.ANONYMOUS_REPORTS_PER_HOUR = 2
    make_report(title="Stones loose at the stop", latitude=HAGUE[0] + 0.0003)
    first = client.post(URL, {**_form(nearby_seen=""), "photos": _photos(1)})
    assert "Already reported?" in first.content.decode()
    assert client.post(URL, _form()).status_code == 302
    assert client.post(URL, _form(title="A third one")).status_code == 429


# --- Photos are read and kept only for a form that is otherwise valid ----------------------------
def test_a_form_with_an_empty_title_reads_and_keeps_none_of_its_photos(client, settings, opened):
    response = client.post(URL, {**_form(title=""), "photos": _photos(3)})
    assert response.status_code == 200
    html = response.content.decode()
    assert "This field is required." in html
    assert "Photos are kept only once the rest of the form is correct" in html
    assert 'name="kept_photos" value=""' in html
    assert opened == [] and _pending_files(settings) == []


def test_twenty_incomplete_posts_with_photos_leave_nothing_on_disk(client, settings):
    """The probe: 20 anonymous posts with an empty title and 3 large photos each put 166 MB in media/pending."""
    for _ in range(20):
        client.post(URL, {**_form(title=""), "photos": _photos(3, size=(1600, 1200))})
    assert _pending_files(settings) == []


def test_a_bad_photo_on_an_otherwise_valid_form_keeps_the_good_ones(client, settings):
    bad = SimpleUploadedFile("notes.jpg", b"this is not an image", content_type="image/jpeg")
    response = client.post(URL, {**_form(), "photos": [*_photos(2), bad]})
    html = response.content.decode()
    assert "notes.jpg is not a JPEG, PNG or WebP image" in html
    assert "Your 2 photos have been kept" in html
    assert len(_pending_files(settings)) == 2


# --- What is kept per client is capped ----------------------------------------------------------
def _post_to_the_already_reported_step(client, photos: int, **extra):
    response = client.post(URL, {**_form(nearby_seen=""), "photos": _photos(photos)}, **extra)
    assert "Already reported?" in response.content.decode()
    return response


@pytest.fixture
def nearby(db):
    return make_report(title="Stones loose at the stop", latitude=HAGUE[0] + 0.0003)


def test_photos_kept_per_client_stop_at_the_count_cap(client, settings, nearby):
    settings.PENDING_PHOTOS_PER_CLIENT = 4
    for _ in range(2):
        _post_to_the_already_reported_step(client, photos=2)
    response = _post_to_the_already_reported_step(client, photos=2)
    assert len(_pending_files(settings)) == 4
    html = response.content.decode()
    assert "could not be kept" in html and 'name="kept_photos" value=""' in html
    # Another client has a share of its own.
    _post_to_the_already_reported_step(client, photos=2, REMOTE_ADDR="192.0.2.7")
    assert len(_pending_files(settings)) == 6


def test_photos_kept_per_client_stop_at_the_byte_cap(client, settings, nearby):
    one_photo = len(process_photo(_photos(1)[0]).content)  # as it is stored
    settings.PENDING_PHOTO_BYTES_PER_CLIENT = int(one_photo * 2.5)
    response = _post_to_the_already_reported_step(client, photos=3)
    kept = _pending_files(settings)
    assert len(kept) == 2 and sum(path.stat().st_size for path in kept) <= settings.PENDING_PHOTO_BYTES_PER_CLIENT
    assert "One photo could not be kept" in response.content.decode()


def test_a_resident_who_sends_the_report_frees_their_share(client, settings, nearby):
    settings.PENDING_PHOTOS_PER_CLIENT = 3
    response = _post_to_the_already_reported_step(client, photos=3)
    kept = response.content.decode().split('name="kept_photos" value="')[1].split('"')[0]
    assert client.post(URL, {**_form(), "kept_photos": kept}).status_code == 302
    assert _pending_files(settings) == [] and Report.objects.get(title="Loose paving stones").photos.count() == 3
    _post_to_the_already_reported_step(client, photos=3)
    assert len(_pending_files(settings)) == 3


# --- Too many pixels: refused from the header, never decoded -------------------------------------
@pytest.fixture(scope="module")
def square_7745() -> bytes:
    """A real 7745 x 7745 JPEG (60 megapixels) of one colour: 0.7 MB on disk, 180 MB once decoded."""
    output = io.BytesIO()
    Image.new("L", (7745, 7745), 180).save(output, format="JPEG", quality=50)
    return output.getvalue()


@pytest.fixture
def no_decoding(monkeypatch):
    def load(self, *args, **kwargs):
        raise AssertionError("a photo was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    monkeypatch.setattr(Image.Image, "load", load)


def test_a_60_megapixel_jpeg_is_refused_from_its_header_without_decoding(client, square_7745, no_decoding):
    upload = SimpleUploadedFile("huge.jpg", square_7745, content_type="image/jpeg")
    response = client.post(URL, {**_form(), "photos": [upload]})
    assert response.status_code == 200
    html = response.content.decode()
    assert "huge.jpg has too many pixels" in html and "at most 40 megapixels" in html
    assert not Report.objects.exists()


def test_the_pixel_limit_is_a_setting_and_its_message_is_translated(client, settings):
    settings.PHOTO_MAX_PIXELS = 100_000
    def upload():
        return SimpleUploadedFile("straat.jpg", image_bytes("JPEG", size=(400, 300)), content_type="image/jpeg")

    response = client.post(URL, {**_form(), "photos": [upload()]}, HTTP_ACCEPT_LANGUAGE="nl")
    html = response.content.decode()
    assert "straat.jpg heeft te veel pixels" in html and "hoogstens 0,1 megapixel" in html
    assert not Report.objects.exists()
    settings.PHOTO_MAX_PIXELS = 120_000
    assert client.post(URL, {**_form(), "photos": [upload()]}).status_code == 302


def test_pillows_own_guard_is_the_same_limit(settings):
    assert Image.MAX_IMAGE_PIXELS == settings.PHOTO_MAX_PIXELS == 40_000_000
