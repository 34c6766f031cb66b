"""The photo view (/media/reports/...): the one route into MEDIA_ROOT. Photos of public reports for
everyone, of hidden reports for staff only; pending photos and the rest of MEDIA_ROOT never. Behind the
proxy (X_ACCEL_REDIRECT) nginx sends the file; the proxy itself is tested in tests/faults/test_proxy.py."""
from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from participation.models import ReportPhoto
from tests.participation.conftest import image_bytes, make_report

pytestmark = pytest.mark.django_db


def add_photo(report) -> ReportPhoto:
    photo = ReportPhoto(report=report, width=64, height=48)
    photo.image.save("photo.jpg", ContentFile(image_bytes()), save=False)
    photo.save()
    return photo


def test_a_public_reports_photo_is_served_at_its_url(client):
    photo = add_photo(make_report())

    response = client.get(photo.image.url)

    assert photo.image.url.startswith("/media/reports/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == image_bytes()
    assert response["Cache-Control"] == "public, max-age=86400"
    assert client.head(photo.image.url).status_code == 200
    assert client.post(photo.image.url).status_code == 405


def test_behind_the_proxy_django_only_says_which_file_and_nginx_sends_it(client, settings):
    settings.X_ACCEL_REDIRECT = True
    photo = add_photo(make_report())

    response = client.get(photo.image.url)

    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/_protected/media/{photo.image.name}"
    assert response["Content-Type"] == "image/jpeg"


def test_a_hidden_reports_photo_is_for_staff_only(client, civil_servant, resident):
    photo = add_photo(make_report(is_hidden=True, hidden_reason="a face in the picture"))

    assert client.get(photo.image.url).status_code == 404
    client.force_login(resident)
    assert client.get(photo.image.url).status_code == 404
    client.force_login(civil_servant)
    response = client.get(photo.image.url)
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"


def test_pending_photos_and_the_rest_of_media_root_are_never_served(client):
    pending = default_storage.save("pending/abc.jpg", ContentFile(image_bytes()))
    default_storage.save("matching/engine.pickle", ContentFile(b"the fitted model"))
    photo = add_photo(make_report())

    for path in (f"/media/{pending}", "/media/matching/engine.pickle", "/media/reports/../pending/abc.jpg",
                 "/media/reports/2026/01/nothing.jpg", f"/media/{photo.image.name}x"):
        assert client.get(path).status_code == 404, path


def test_a_photo_whose_file_is_gone_is_a_404_not_an_error(client):
    photo = add_photo(make_report())
    default_storage.delete(photo.image.name)

    assert client.get(photo.image.url).status_code == 404
