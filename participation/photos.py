"""Residents' photos: accepted by content, re-encoded, scaled down and stripped of all metadata.

Re-encoding from pixels means nothing of the original file survives: no EXIF (GPS included),
no XMP or ICC profile, no trailing bytes. Decompression bombs and truncated files are refused
with a message a resident can act on.

Decoding is the expensive part (about 3 bytes of memory per pixel, and the time to match), so a
photo is refused from its header when it has more than PHOTO_MAX_PIXELS pixels, and a JPEG is
decoded at the smallest scale that still gives MAX_SIDE pixels. Photos kept for a form shown
again live under pending/, one folder per client, within PENDING_PHOTOS_PER_CLIENT and
PENDING_PHOTO_BYTES_PER_CLIENT.
"""
from __future__ import annotations

import io
import os
import time
import uuid
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.template.defaultfilters import floatformat
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 3
MAX_SIDE = 2048
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}


def use_pixel_limit() -> None:
    """Pillow's own guard, checked as it reads a header, at our limit (PHOTO_MAX_PIXELS): one number
    for every image this process opens. Called once, when the app is ready."""
    Image.MAX_IMAGE_PIXELS = settings.PHOTO_MAX_PIXELS


class PhotoError(ValueError):
    """A photo that cannot be used, with a message for the resident."""


@dataclass
class ProcessedPhoto:
    content: bytes
    width: int
    height: int

    def as_file(self) -> ContentFile:
        return ContentFile(self.content, name=f"{uuid.uuid4().hex}.jpg")


def process_photo(upload, name: str = "") -> ProcessedPhoto:
    """Validate one uploaded file by its content and return it as a clean JPEG of at most MAX_SIDE px."""
    name = name or getattr(upload, "name", "") or _("photo")
    if upload.size > MAX_BYTES:
        raise PhotoError(_("%(name)s is larger than 10 MB. Please choose a smaller photo.") % {"name": name})
    limit = settings.PHOTO_MAX_PIXELS
    too_many_pixels = PhotoError(
        _("%(name)s has too many pixels: we take photos of at most %(megapixels)s megapixels. "
          "Please choose a smaller version of it.") % {"name": name, "megapixels": floatformat(limit / 1e6, -1)}
    )
    upload.seek(0)
    data = upload.read()
    try:
        with warnings.catch_warnings():
            # Pillow warns between MAX_IMAGE_PIXELS and twice that; treat the warning as the error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # open() reads the header only (format and size); nothing is decoded before load().
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise PhotoError(
                    _("%(name)s is not a JPEG, PNG or WebP image.") % {"name": name}
                )
            if image.width * image.height > limit:
                raise too_many_pixels
            # A JPEG decodes at 1/2, 1/4 or 1/8 scale for a fraction of the work (no-op for PNG and
            # WebP); the scale still gives at least MAX_SIDE pixels, which is all we keep.
            image.draft(None, (MAX_SIDE, MAX_SIDE))
            image.load()
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many_pixels from None
    except UnidentifiedImageError:
        raise PhotoError(_("%(name)s is not a JPEG, PNG or WebP image.") % {"name": name}) from None
    except (OSError, SyntaxError, ValueError):
        # Truncated or corrupt image data.
        raise PhotoError(_("%(name)s is damaged or incomplete. Please choose it again or pick another photo.")
                         % {"name": name}) from None
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # A fresh image from the pixels alone: no info dict, no EXIF, no ICC profile goes along.
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    output = io.BytesIO()
    clean.save(output, format="JPEG", quality=85, optimize=True)
    return ProcessedPhoto(content=output.getvalue(), width=clean.width, height=clean.height)


PENDING_DIRECTORY = "pending"
# A form's signed list of kept photos expires after this; its files are of no use to anyone then.
PENDING_MAX_AGE = 24 * 3600


def pending_directory(owner: str) -> str:
    """The folder of one client's kept photos. A keyed hash of the owner ("address:..." or "user:..."):
    no IP address on disk, and counting a client's share is one listing of a small folder."""
    return f"{PENDING_DIRECTORY}/{salted_hmac('participation.pending-owner', owner).hexdigest()[:32]}"


def pending_keep(photos: list[ProcessedPhoto], *, owner: str) -> tuple[list[list], int]:
    """Store photos for a form that is shown again, as far as the owner's share allows.

    Returns [name, width, height] per stored photo, and how many did not fit. Two posts of one
    client at the same moment may both fit; the share is a bound on disk use, not an exact count."""
    directory = pending_directory(owner)
    count, size = _pending_usage(directory)
    kept: list[list] = []
    for photo in photos:
        if (count + 1 > settings.PENDING_PHOTOS_PER_CLIENT
                or size + len(photo.content) > settings.PENDING_PHOTO_BYTES_PER_CLIENT):
            continue
        name = default_storage.save(f"{directory}/{uuid.uuid4().hex}.jpg", ContentFile(photo.content))
        kept.append([name, photo.width, photo.height])
        count, size = count + 1, size + len(photo.content)
    return kept, len(photos) - len(kept)


def _pending_usage(directory: str) -> tuple[int, int]:
    """The files and bytes one client holds; expired files are deleted on the way (they would
    otherwise count until the daily clean-up)."""
    try:
        _directories, names = default_storage.listdir(directory)
    except FileNotFoundError:
        return 0, 0
    cutoff = time.time() - PENDING_MAX_AGE
    count = size = 0
    for name in names:
        path = f"{directory}/{name}"
        try:
            if default_storage.get_modified_time(path).timestamp() < cutoff:
                default_storage.delete(path)
                continue
            size += default_storage.size(path)
        except FileNotFoundError:
            continue  # sent with its report in the meantime
        count += 1
    return count, size


def delete_stale_pending_photos(*, older_than_seconds: int = 2 * 24 * 3600) -> int:
    """Photos kept for a form that was never sent again: delete them after two days."""
    return _delete_older_than(PENDING_DIRECTORY, time.time() - older_than_seconds)


def _delete_older_than(directory: str, cutoff: float) -> int:
    try:
        directories, names = default_storage.listdir(directory)
    except FileNotFoundError:
        return 0
    deleted = 0
    for name in names:
        path = f"{directory}/{name}"
        if default_storage.get_modified_time(path).timestamp() < cutoff:
            default_storage.delete(path)
            deleted += 1
    for name in directories:
        deleted += _delete_older_than(f"{directory}/{name}", cutoff)
        try:
            os.rmdir(default_storage.path(f"{directory}/{name}"))  # a client's folder once it is empty
        except (NotImplementedError, OSError):
            pass  # not empty, or object storage (which has no folders to remove)
    return deleted
