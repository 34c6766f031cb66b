"""Sending a stored file (a resident's photo, a file of the open-data dump) once a view decided it may go.

Behind the reverse proxy (deploy/nginx/, `X_ACCEL_REDIRECT=1`) Django answers at once with an empty
body and `X-Accel-Redirect`, and nginx sends the file from disk at the client's pace: a slow reader
holds an nginx connection, not a gunicorn worker. Without the proxy (gunicorn alone, `runserver`,
a storage that is not on local disk) Django streams the file itself.
"""
from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.http import FileResponse, Http404, HttpResponse

# The proxy's internal locations, one per storage root (deploy/nginx/default.conf.template); a client
# asking for these paths itself gets a 404 from nginx.
MEDIA_LOCATION = "/_protected/media/"
OPEN_DATA_LOCATION = "/_protected/open-data/"


def stored_file_response(storage: Storage, name: str, *, location: str, content_type: str,
                         download_as: str = "") -> HttpResponse | FileResponse:
    """`name` from `storage`, whose root the proxy maps at `location`. Raises Http404 for a missing file."""
    if settings.X_ACCEL_REDIRECT and isinstance(storage, FileSystemStorage):
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = location + quote(name)
    else:
        try:
            response = FileResponse(storage.open(name, "rb"), content_type=content_type)
        except FileNotFoundError:
            raise Http404 from None
    if download_as:
        response["Content-Disposition"] = f'attachment; filename="{download_as}"'
    return response
