"""The NL GOV API Design Rules, checked over every route of the OpenAPI document.

A new endpoint is checked without anyone adding it here: kebab-case plural nouns, no trailing slash
(404, not a redirect), problem+json on every error with status/title/detail, the API-Version header,
ISO 8601 timestamps in UTC, CORS for public reads, security headers.
"""
from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.urls import path

from participation.models import Report
from smartcity.models import DepartmentChallenge, SocietalChallenge, Theme
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db

PROBLEM_JSON = "application/problem+json"
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PARAMETER = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_]*\}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
# Segments that are not resource names: the document itself.
NOT_RESOURCES = {"openapi.json"}
UNUSED_ID = "987654321"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttles count in the cache; every test starts at zero."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200, "the OpenAPI document must be public"
    return response.json()


@pytest.fixture
def data(db, department_a):
    theme = Theme.objects.create(slug="mobility", name="Mobility")
    challenge = SocietalChallenge.objects.create(title="Safe cycling", description="Cycling routes feel unsafe.")
    DepartmentChallenge.objects.create(title="Bike racks", description="Too few bike racks near stations.",
                                       department=department_a)
    make_report(theme=theme, status=Report.Status.RESOLVED)
    return challenge


def base_path(schema: dict) -> str:
    """The document's paths are relative to its server, SITE_URL + /api/v1."""
    return urlparse(schema["servers"][0]["url"]).path


def routes(schema: dict):
    """(the path as a client requests it, its path item)."""
    for route, item in schema["paths"].items():
        yield base_path(schema) + route, item


def operations(schema: dict):
    for route, item in routes(schema):
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                yield route, method


def concrete(route: str) -> str:
    return re.sub(r"\{[^}]+\}", UNUSED_ID, route)


def existing(client, route: str, headers: dict) -> str:
    """The route with its first parameter filled from its collection's first item, when there is one."""
    match = re.search(r"\{([^}]+)\}", route)
    if not match:
        return route
    collection = route[: match.start() - 1]
    response = client.get(collection, **headers)
    results = response.json().get("results", []) if response.status_code == 200 else []
    if results and match.group(1) in results[0]:
        return concrete(route.replace(match.group(0), str(results[0][match.group(1)]), 1))
    return concrete(route)


def assert_problem(response, where: str) -> dict:
    assert response["Content-Type"].startswith(PROBLEM_JSON), f"{where}: {response.status_code} is not problem+json"
    body = response.json()
    assert {"status", "title", "detail"} <= set(body), f"{where}: problem lacks status/title/detail: {body}"
    assert body["status"] == response.status_code, where
    return body


def test_the_openapi_document_is_public_openapi_3_with_a_contact(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["contact"]
    assert schema["info"]["version"] == settings.API_VERSION


def test_the_openapi_document_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "openapi.yaml"))


def test_every_path_is_lower_kebab_case_plural_nouns_without_a_trailing_slash(schema):
    assert schema["servers"] == [{"url": settings.SITE_URL + "/api/v1", "description": settings.SITE_NAME}]
    problems = []
    for route, _item in routes(schema):
        assert route.startswith("/api/v1/"), route
        if route.endswith("/"):
            problems.append(f"{route}: trailing slash")
        segments = route.removeprefix("/api/v1/").split("/")
        for index, segment in enumerate(segments):
            if segment in NOT_RESOURCES or PARAMETER.match(segment):
                continue
            if not KEBAB.match(segment):
                problems.append(f"{route}: {segment!r} is not lower kebab-case")
            followed_by_id = index + 1 < len(segments) and PARAMETER.match(segments[index + 1])
            if followed_by_id and not segment.endswith("s"):
                problems.append(f"{route}: {segment!r} names a collection but is not plural")
        if "{" in segments[0]:
            problems.append(f"{route}: starts with a parameter")
    assert problems == []


def test_new_query_parameters_are_camel_case_or_single_words(schema):
    # Filters that existed before the rules (snake_case) are listed; new ones must be camelCase.
    problems = []
    for route, item in routes(schema):
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and "_" in parameter["name"]:
                    problems.append(f"{method.upper()} {route}: query key {parameter['name']!r} is not camelCase")
    assert problems == []


@pytest.mark.parametrize("who", ["anonymous", "administrator"])
def test_every_route_answers_with_the_api_version_and_problem_json_errors(client, schema, data, admin_user, who):
    from rest_framework.authtoken.models import Token

    headers = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=admin_user).key}"} if who != "anonymous" else {}
    for route, method in operations(schema):
        url = existing(client, route, headers) if who != "anonymous" else concrete(route)
        response = getattr(client, method)(url, data={} if method != "get" else None, content_type="application/json",
                                           **headers)
        where = f"{who}: {method.upper()} {url}"
        assert response.status_code < 500, f"{where}: {response.status_code}"
        assert response["API-Version"] == settings.API_VERSION, where
        if response.status_code >= 400:
            assert_problem(response, where)


def test_a_path_with_a_trailing_slash_is_a_404_problem_not_a_redirect(client, schema, data):
    for route, method in operations(schema):
        url = concrete(route) + "/"
        response = getattr(client, method)(url)
        assert response.status_code == 404, f"{method.upper()} {url}: {response.status_code}"
        assert_problem(response, url)
        assert response["API-Version"] == settings.API_VERSION


def test_an_unknown_method_is_a_405_problem_with_allow(client, schema, data):
    for route, item in routes(schema):
        missing = [method for method in ("delete", "put", "patch", "post") if method not in item]
        if not missing:
            continue
        response = getattr(client, missing[0])(concrete(route))
        where = f"{missing[0].upper()} {route}"
        # The object may not exist (404) or the caller may not be allowed (401/403) before 405 is decided.
        assert response.status_code in (401, 403, 404, 405), f"{where}: {response.status_code}"
        assert_problem(response, where)
        if response.status_code == 405:
            assert response["Allow"], where


def test_an_invalid_token_is_a_401_problem(client, schema):
    response = client.post("/api/v1/reports", {}, content_type="application/json", HTTP_AUTHORIZATION="Token wrong")
    assert response.status_code == 401
    assert_problem(response, "invalid token")
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_forbidden_write_is_a_403_problem(token_client_for, resident):
    response = token_client_for(resident).post("/api/v1/themes", {"slug": "x", "name": "X"}, format="json")
    assert response.status_code == 403
    assert_problem(response, "resident writes a theme")
    assert response["API-Version"] == settings.API_VERSION


def test_invalid_input_lists_every_invalid_field_at_once(client):
    response = client.post("/api/v1/reports", {"latitude": "north"}, content_type="application/json")
    body = assert_problem(response, "POST /api/v1/reports")
    names = {problem["name"] for problem in body["invalidParams"]}
    assert {"title", "description", "latitude", "longitude"} <= names


def test_too_many_requests_is_a_429_problem_with_retry_after(client, settings):
    settings.REPORT_API_RATES = {**settings.REPORT_API_RATES, "anonymous": "1/hour"}
    payload = {"title": "Broken lamp", "description": "The lamp is broken since Monday.", "latitude": 52.08,
               "longitude": 4.31}
    client.post("/api/v1/reports", payload, content_type="application/json")
    response = client.post("/api/v1/reports", payload, content_type="application/json")
    assert response.status_code == 429
    assert_problem(response, "throttled")
    assert int(response["Retry-After"]) > 0


def _raise(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/v1/boom", _raise)]


@pytest.mark.urls("tests.smartcity.test_api_rules")
def test_a_server_error_under_the_api_is_a_500_problem(client):
    client.raise_request_exception = False
    response = client.get("/api/v1/boom")
    assert response.status_code == 500
    body = assert_problem(response, "server error")
    assert "boom" not in body["detail"]
    assert response["API-Version"] == settings.API_VERSION


def _datetimes(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _datetimes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _datetimes(item)
    elif isinstance(value, str) and DATETIME.match(value):
        yield value


def test_timestamps_are_iso_8601_in_utc(client, schema, data):
    seen = []
    for route, method in operations(schema):
        if method != "get" or "{" in route or route.endswith(".json"):
            continue
        response = client.get(route)
        if response.status_code == 200:
            seen += list(_datetimes(response.json()))
    assert seen, "the fixture data should produce timestamps"
    assert [value for value in seen if not value.endswith("Z")] == []


def test_public_reads_are_open_to_other_origins_but_writes_are_not(client, schema):
    response = client.get("/api/v1/themes", HTTP_ORIGIN="https://app.example.org")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "API-Version" in response["Access-Control-Expose-Headers"]
    preflight = client.options("/api/v1/reports", HTTP_ORIGIN="https://app.example.org",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "POST" not in preflight.get("Access-Control-Allow-Methods", "")
    assert client.get("/open311/v2/services.json", HTTP_ORIGIN="https://x.example")["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in client.get("/", HTTP_ORIGIN="https://x.example")


@pytest.mark.parametrize("url", ["/api/v1/themes", "/api/v1/nothing", "/api/v1/docs", "/open311/v2/services.xml",
                                 "/open-data/reports.csv", "/", "/health"])
def test_every_response_carries_the_security_headers(client, url):
    response = client.get(url)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    if url.startswith("/api/") and response["Content-Type"].startswith(("application/json", PROBLEM_JSON)):
        assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_the_browsable_docs_list_every_operation_and_load_nothing_from_elsewhere(client, schema):
    page = client.get("/api/v1/docs").content.decode()
    for route, method in operations(schema):
        assert f"<code>{method.upper()} {route}</code>" in page
    assert "/api/v1/openapi.json" in page
    assert re.findall(r'src="(?:https?:)?//|<link[^>]+href="(?:https?:)?//', page) == []
