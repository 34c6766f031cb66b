"""Small helpers for the resident side of participation."""
from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from PIL import Image

from participation.models import Report
from smartcity.models import Theme

# A point in the centre of The Hague, inside the default CITY_BOUNDS.
HAGUE = (52.0799, 4.3113)


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    """Uploaded and kept photos go to a folder of the test's own, not to the project's media/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and throttles count in the cache; every test starts at zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def theme(db) -> Theme:
    return Theme.objects.create(slug="mobility", name="Mobility", name_nl="Mobiliteit", name_sv="Mobilitet")


def make_report(**fields) -> Report:
    values = {"title": "Broken streetlight", "description": "The streetlight has been out for a week.",
              "latitude": HAGUE[0], "longitude": HAGUE[1]}
    values.update(fields)
    return Report.objects.create(**values)


def image_bytes(fmt: str = "JPEG", size=(64, 48), exif: bytes | None = None, mode: str = "RGB") -> bytes:
    image = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None)
    output = io.BytesIO()
    kwargs = {"exif": exif} if exif else {}
    image.save(output, format=fmt, **kwargs)
    return output.getvalue()


@pytest.fixture
def client():
    """The test client in English, so assertions on texts read the msgids whatever LANGUAGE_CODE is."""
    from django.test import Client

    return Client(HTTP_ACCEPT_LANGUAGE="en")
