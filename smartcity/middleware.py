"""The NL GOV API Design Rules that no single API view can keep by itself (issue #7).

For every request under /api/:
- an `API-Version` header on every response (API-57);
- timestamps in UTC: DRF renders datetimes in the active time zone, so the API runs in UTC;
- errors as application/problem+json, also those that never reach DRF's exception handler: a path
  that does not exist (with a trailing slash too: 404, never the APPEND_SLASH redirect), a server error;
- a Content-Security-Policy that forbids everything on JSON answers: nothing in them should ever run;
- writes are not open to other origins' browsers (docs/api.md, issue #14), see `_cross_origin_write`.

Views keep their own problem+json bodies (smartcity/problems.py); this only fills the gaps.
"""
from __future__ import annotations

import json
from datetime import UTC
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, HttpResponseRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.utils import timezone

from smartcity.problems import PROBLEM_JSON, flatten_errors, invalid_detail, phrase, problem

API_PREFIX = "/api/"
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary")


def _detail(request: HttpRequest, status: int) -> str:
    if status == 404 and request.path.endswith("/") and len(request.path) > len(API_PREFIX):
        return f"There is no resource at this address: API paths have no trailing slash ({request.path.rstrip('/')})."
    if status == 404:
        return "There is no resource at this address."
    if status == 405:
        return f"Method {request.method} is not allowed here."
    if status >= 500:
        return "Something went wrong on our side. It has been logged; please try again later."
    return phrase(status)


# The bodies a browser sends to another origin without asking first (no CORS preflight): an HTML form's.
SIMPLE_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _own_origins(request: HttpRequest) -> set[str]:
    parts = urlsplit(settings.SITE_URL)
    return {f"{request.scheme}://{request.get_host()}", f"{parts.scheme}://{parts.netloc}", *settings.CSRF_TRUSTED_ORIGINS}


def _cross_origin_write(request: HttpRequest) -> JsonResponse | None:
    """Another site's page must not write through its visitors' browsers (their addresses, their cookies).

    CORS lets other origins read only, so a browser asks first (a preflight, which we refuse) before any
    cross-origin write, except for a "simple" request: a form-encoded, multipart or text/plain body and
    no Authorization header. So a write without a token must be JSON, and must not name another origin.
    A token never rides along with a browser's cross-origin request, so integrations keep every format."""
    if request.method not in UNSAFE_METHODS or request.headers.get("Authorization", "").startswith("Token "):
        return None
    origin = request.headers.get("Origin")
    if origin is not None and origin not in _own_origins(request):
        refusal = problem(403, f"Writes from pages of other origins ({origin[:100]}) are not accepted.")
    elif (request.content_type or "").lower() in SIMPLE_CONTENT_TYPES:
        refusal = problem(415, "Send the body as application/json (form bodies are accepted only with a token).")
    else:
        return None
    try:
        resolve(request.path_info)
    except Resolver404:
        return None  # nothing is there to write to: the 404 says more
    return refusal


class ApiConventionsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        with timezone.override(UTC):
            response = _cross_origin_write(request) or self.get_response(request)
        response = self._as_problem(request, response)
        response["API-Version"] = settings.API_VERSION
        if response.get("Content-Type", "").startswith(("application/json", PROBLEM_JSON)):
            response.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        return response

    def _as_problem(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        content_type = response.get("Content-Type", "")
        if isinstance(response, (HttpResponsePermanentRedirect, HttpResponseRedirect)):
            # CommonMiddleware's APPEND_SLASH: the API has no trailing slashes, so that path does not exist.
            if response.url.split("?", 1)[0] == request.path + "/":
                return problem(404, _detail(request, 404))
            return response
        if response.status_code < 400 or content_type.startswith(PROBLEM_JSON):
            return response
        headers = {name: response[name] for name in KEPT_HEADERS if name in response}
        detail, invalid = _detail(request, response.status_code), []
        if content_type.startswith("application/json") and not getattr(response, "streaming", False):
            detail, invalid = _from_json(response.content, detail)
        return problem(response.status_code, detail, headers, invalid=invalid)


def _from_json(content: bytes, fallback: str) -> tuple[str, list[dict]]:
    """A plain JSON error body of a view: keep its `detail`, or list its field errors as invalidParams."""
    try:
        data = json.loads(content)
    except ValueError:
        return fallback, []
    if isinstance(data, dict) and isinstance(data.get("detail"), str):
        return data["detail"], []
    if isinstance(data, (dict, list)) and data:
        invalid = flatten_errors(data)
        return invalid_detail(invalid), invalid
    return fallback, []
