"""Hostile uploads through the report form: each bad file gets a clear error on the form, never a 500,
and nothing is saved."""
from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from participation.models import Report, ReportPhoto
from tests.participation.conftest import HAGUE, image_bytes

pytestmark = pytest.mark.django_db
URL = "/reports/new/"


def _form(upload) -> dict:
    return {"title": "Loose paving stones", "description": "Several stones are loose near the tram stop.",
            "latitude": str(HAGUE[0]), "longitude": str(HAGUE[1]), "theme": "", "photos": [upload]}


def _png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas: the pixels are never sent, only the promise."""
    data = bytearray(image_bytes("PNG", size=(1, 1)))
    data[16:20], data[20:24] = width.to_bytes(4, "big"), height.to_bytes(4, "big")
    return bytes(data)


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def _truncated() -> bytes:
    return image_bytes("JPEG", size=(400, 300))[:600]


def _bomb() -> bytes:
    """A real, highly compressible PNG of 12,000 x 12,000 pixels: a few hundred kB that decode to 430 MB."""
    output = io.BytesIO()
    Image.new("L", (12_000, 12_000)).save(output, format="PNG", optimize=True)
    return output.getvalue()


@pytest.mark.parametrize(("name", "content", "content_type", "error"), [
    ("street.jpg", SVG, "image/jpeg", "is not a JPEG, PNG or WebP image"),
    ("street.jpg", HTML, "image/jpeg", "is not a JPEG, PNG or WebP image"),
    ("street.svg", SVG, "image/svg+xml", "is not a JPEG, PNG or WebP image"),
    ("street.jpg", b"", "image/jpeg", ""),
    ("street.jpg", None, "image/jpeg", ""),  # truncated
    ("street.png", "bomb", "image/png", ""),
    ("street.png", "huge", "image/png", ""),
    ("street.jpg", image_bytes("GIF"), "image/jpeg", "is not a JPEG, PNG or WebP image"),
    ("photo.exe", b"MZ\x90\x00" + b"\x00" * 200, "application/octet-stream", "is not a JPEG, PNG or WebP image"),
], ids=["svg-renamed-jpg", "html-renamed-jpg", "svg", "empty", "truncated", "decompression-bomb",
        "huge-dimensions-claimed", "gif-claiming-jpeg", "executable"])
def test_a_bad_file_gets_a_clear_form_error_and_nothing_is_saved(client, name, content, content_type, error):
    if content is None:
        content = _truncated()
    elif content == "bomb":
        content = _bomb()
    elif content == "huge":
        content = _png_header_claiming(100_000, 100_000)
    response = client.post(URL, _form(SimpleUploadedFile(name, content, content_type=content_type)))
    assert response.status_code == 200  # the form again, with the error: not a 500, not a redirect
    html = response.content.decode()
    assert "utrecht-form-field-error-message" in html or "error" in html.lower()
    if error:
        assert error in html
    assert not Report.objects.exists() and not ReportPhoto.objects.exists()
    assert "Loose paving stones" in html  # the resident's text is kept


def test_an_upload_bigger_than_the_request_limit_is_refused_calmly(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    big = SimpleUploadedFile("big.jpg", image_bytes("JPEG", size=(64, 48)) + b"\x00" * (11 * 1024 * 1024),
                             content_type="image/jpeg")
    response = client.post(URL, _form(big))
    assert response.status_code in (200, 400, 413)
    assert not Report.objects.exists()
