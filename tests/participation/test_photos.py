"""Photos are accepted by content, re-encoded, scaled down and stripped of metadata; bad files get a clear error."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from participation.photos import MAX_SIDE, PhotoError, process_photo
from tests.participation.conftest import image_bytes


@pytest.fixture(autouse=True)
def _in_english():
    """The messages are checked by their English text, whatever LANGUAGE_CODE is."""
    with translation.override("en"):
        yield


def upload(content: bytes, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def gps_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 4.0, 48.0), "E", (4.0, 18.0, 40.0)
    return exif.tobytes()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_become_a_clean_jpeg(fmt):
    photo = process_photo(upload(image_bytes(fmt), f"photo.{fmt.lower()}"))
    image = Image.open(io.BytesIO(photo.content))
    assert image.format == "JPEG" and (photo.width, photo.height) == (64, 48)


def test_gps_and_other_metadata_are_stripped():
    original = image_bytes("JPEG", exif=gps_exif())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    photo = process_photo(upload(original))
    clean = Image.open(io.BytesIO(photo.content))
    assert dict(clean.getexif()) == {}
    assert b"PhoneMaker" not in photo.content
    assert "exif" not in clean.info and "icc_profile" not in clean.info


def test_large_photos_are_scaled_to_at_most_2048_pixels():
    photo = process_photo(upload(image_bytes("PNG", size=(4000, 1000))))
    assert (photo.width, photo.height) == (MAX_SIDE, 512)


def test_a_file_that_is_not_an_image_is_refused_whatever_its_name():
    with pytest.raises(PhotoError, match="not a JPEG, PNG or WebP"):
        process_photo(upload(b"%PDF-1.4 not an image", "photo.jpg"))


def test_a_gif_is_refused_by_its_content():
    with pytest.raises(PhotoError, match="not a JPEG, PNG or WebP"):
        process_photo(upload(image_bytes("GIF", mode="P"), "photo.jpg"))


def test_a_truncated_file_gets_a_clear_error():
    data = image_bytes("JPEG", size=(400, 300))
    with pytest.raises(PhotoError, match="damaged or incomplete"):
        process_photo(upload(data[: len(data) // 2]))


def test_a_decompression_bomb_is_refused_before_decoding():
    # A PNG header claiming 20000 x 20000 pixels: tiny file, 400 megapixels.
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, format="PNG")
    with pytest.raises(PhotoError, match="too many pixels"):
        process_photo(upload(bomb.getvalue(), "bomb.png"))


def test_a_file_over_10_mb_is_refused():
    big = SimpleUploadedFile("big.jpg", b"\xff" * (10 * 1024 * 1024 + 1), content_type="image/jpeg")
    with pytest.raises(PhotoError, match="larger than 10 MB"):
        process_photo(big)
