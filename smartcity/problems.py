"""application/problem+json (RFC 9457): the one module for error bodies of the API.

- DRF views raise as usual; `exception_handler` (REST_FRAMEWORK["EXCEPTION_HANDLER"]) turns every error
  into problem+json, with every invalid field at once in `invalidParams` (NL GOV API Design Rules);
- `Conflict` is the 409 of a decision made before or a reference just taken;
- `invalid_params(form)` lists a Django form's errors (a filter form) the same way: a DRF view raises
  `InvalidQuery(invalid_params(form))`, a plain view returns `problem(400, ..., invalid=...)`;
- `problem(...)` is the body for plain Django views and middleware (404, 405, 500, 503 under /api/),
  `problem_response(...)` the same as a DRF Response.
"""
from __future__ import annotations

from http import HTTPStatus

from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

PROBLEM_JSON = "application/problem+json"
# The titles of DRF's errors; other statuses take the HTTP reason phrase.
TITLES = {
    400: "Invalid input",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    415: "Unsupported media type",
    429: "Too many requests",
}
HEADERS_KEPT = ("Retry-After", "WWW-Authenticate", "Allow")


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _body(status: int, title: str, detail: str, invalid: list[dict] | None) -> dict:
    body: dict = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if invalid:
        body["invalidParams"] = invalid
    return body


def invalid_detail(invalid: list[dict]) -> str:
    return f"{len(invalid)} problem(s) in the request; see invalidParams."


def problem(status: int, detail: str, headers: dict | None = None, *, invalid: list[dict] | None = None,
            title: str | None = None) -> JsonResponse:
    """A problem+json answer for plain Django views and middleware."""
    response = JsonResponse(_body(status, title or phrase(status), detail, invalid), status=status,
                            content_type=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def problem_response(status_code: int, title: str, detail: str, invalid_params: list[dict] | None = None,
                     headers: dict | None = None) -> Response:
    """The same answer as a DRF Response (its renderer and content negotiation)."""
    return Response(_body(status_code, title, detail, invalid_params), status=status_code, content_type=PROBLEM_JSON,
                    headers=headers)


def flatten_errors(detail, prefix: str = "") -> list[dict]:
    """DRF's nested error dict (or a list, or one message) -> a flat list of {name, code, reason}."""
    problems: list[dict] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key) if key not in ("non_field_errors", "__all__") else ""  # a list's errors come keyed by index
            problems += flatten_errors(value, f"{prefix}.{name}" if prefix and name else prefix or name)
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                problems += flatten_errors(value, f"{prefix}.{index}" if prefix else str(index))
            else:
                problems += flatten_errors(value, prefix)
    else:
        problems.append({"name": prefix or "body", "code": getattr(detail, "code", "invalid"), "reason": str(detail)})
    return problems


def invalid_params(form) -> list[dict]:
    """A bound Django form's errors as invalidParams, named by the form's field names (its query parameters)."""
    return [{"name": name if name != "__all__" else "query", "code": error.code or "invalid", "reason": message}
            for name, errors in form.errors.as_data().items() for error in errors for message in error.messages]


def invalid_query(form) -> JsonResponse:
    """The 400 of a plain view whose filter form refused the query string."""
    invalid = invalid_params(form)
    return problem(400, invalid_detail(invalid), invalid=invalid, title=TITLES[400])


class Conflict(exceptions.APIException):
    """The request collides with the resource's current state (a decision already made, a reference just
    taken by another request): 409 problem+json, with the fields concerned in invalidParams when given."""

    status_code = 409
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"

    def __init__(self, detail=None, *, invalid_params: list[dict] | None = None):
        super().__init__(detail)
        self.invalid_params = invalid_params


class InvalidQuery(exceptions.ValidationError):
    """400 for query parameters a filter form refused (`invalid_params(form)`): listed as given."""

    def __init__(self, invalid: list[dict]):
        super().__init__({item["name"]: [item["reason"]] for item in invalid})
        self.invalid_params = invalid


def exception_handler(exc, context) -> Response | None:
    """Every API error becomes application/problem+json (REST_FRAMEWORK["EXCEPTION_HANDLER"])."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    headers = {key: value for key, value in response.headers.items() if key in HEADERS_KEPT}
    if isinstance(exc, exceptions.ValidationError):
        invalid = getattr(exc, "invalid_params", None) or flatten_errors(exc.detail)
        return problem_response(response.status_code, TITLES[400], invalid_detail(invalid), invalid, headers)
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
    title = TITLES.get(response.status_code, "Error")
    return problem_response(response.status_code, title, str(detail), getattr(exc, "invalid_params", None), headers)
