"""Residents' photos: accepted by content, re-encoded, scaled down and stripped of all metadata.

Re-encoding from pixels means nothing of the original file survives: no EXIF (GPS included),
no XMP or ICC profile, no trailing bytes. Decompression bombs and truncated files are refused
with a message a resident can act on.
"""
from __future__ import annotations

import io
import uuid
import warnings
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 3
MAX_SIDE = 2048
# A 10 MB photo is at most about 50 megapixels; anything bigger is refused before decoding.
MAX_PIXELS = 60_000_000
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
# Pillow's own guard, checked when it reads the header: a warning above this, an error above twice it.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


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
    upload.seek(0)
    data = upload.read()
    try:
        with warnings.catch_warnings():
            # Pillow warns between MAX_IMAGE_PIXELS and twice that; treat the warning as the error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise PhotoError(
                    _("%(name)s is not a JPEG, PNG or WebP image.") % {"name": name}
                )
            if image.width * image.height > MAX_PIXELS:
                raise Image.DecompressionBombError("too many pixels")
            image.load()
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(_("%(name)s has too many pixels to process safely.") % {"name": name}) from None
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


def delete_stale_pending_photos(*, older_than_seconds: int = 2 * 24 * 3600) -> int:
    """Photos kept for a form that was never sent again: delete them after two days."""
    import time

    from django.core.files.storage import default_storage

    try:
        _directories, names = default_storage.listdir(PENDING_DIRECTORY)
    except FileNotFoundError:
        return 0
    cutoff = time.time() - older_than_seconds
    deleted = 0
    for name in names:
        path = f"{PENDING_DIRECTORY}/{name}"
        if default_storage.get_modified_time(path).timestamp() < cutoff:
            default_storage.delete(path)
            deleted += 1
    return deleted
