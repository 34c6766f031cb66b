"""Requests carrying NUL characters are refused with 400 before any view sees them (issue #8).

PostgreSQL cannot store or even compare text with NUL (0x00): a lookup such as
`Theme.objects.get(slug="\x00")` raises DataError, a 500. Django's and DRF's CharFields refuse NUL
already, but slug and choice lookups, filters from the query string and hand-written lookups do not.
Fuzzing the API (tests/security/test_api_fuzzing.py) found it; this closes it for every path.
"""
from __future__ import annotations

import io
from collections.abc import Callable

from django.conf import settings
from django.core.files.uploadhandler import load_handler
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.http.multipartparser import MultiPartParser

from smartcity.middleware import API_PREFIX
from smartcity.problems import problem

MESSAGE = "The request contains a NUL (0x00) character, which no field accepts."


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Paths whose clients expect errors in a format of their own (Open311's GeoReport error body): the app that
# serves them registers it from its apps.py, so the hub needs no import of that app.
ERROR_FORMATS: dict[str, Callable[[HttpRequest, int, str], HttpResponse]] = {}


def register_error_format(prefix: str, render: Callable[[HttpRequest, int, str], HttpResponse]) -> None:
    """`render(request, status, message)` answers the hub's refusals of requests under `prefix`."""
    ERROR_FORMATS[prefix] = render


def _form_fields(request: HttpRequest) -> QueryDict:
    """The text fields of a form body, whatever the method. Django parses a form body for POST only; DRF
    parses a PATCH's or PUT's itself, later. Here such a body is read once (DATA_UPLOAD_MAX_MEMORY_SIZE
    applies) and parsed from a copy, so DRF still reads it afterwards. Files are not fields: a photo
    holds NUL bytes by nature."""
    if request.method == "POST":
        return request.POST
    body = request.body
    if request.content_type == "multipart/form-data":
        handlers = [load_handler(path, request) for path in settings.FILE_UPLOAD_HANDLERS]
        fields, _files = MultiPartParser(request.META, io.BytesIO(body), handlers, request.encoding).parse()
        return fields
    return QueryDict(body, encoding=request.encoding)


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
        return True
    content_type = request.content_type or ""
    if content_type in FORM_TYPES:
        return any("\x00" in key or any("\x00" in value for value in values if isinstance(value, str))
                   for key, values in _form_fields(request).lists())
    if content_type.endswith("json"):
        body = request.body  # JSON bodies are small (DATA_UPLOAD_MAX_MEMORY_SIZE applies)
        return b"\\u0000" in body.lower() or b"\x00" in body
    return False


class RejectNulMiddleware:
    """Every method: a body may come with any of them (a form-encoded PATCH slipped through when only POST
    bodies were read)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            if request.path.startswith(API_PREFIX):
                return problem(400, MESSAGE)
            for prefix, render in ERROR_FORMATS.items():
                if request.path.startswith(prefix):
                    return render(request, 400, MESSAGE)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
