"""Fuzzing with schemathesis' conformance checks: it generates requests from /api/v1/openapi.json for every
operation, valid ones and invalid ones, as an administrator with a token (so writes get past authentication),
and holds every answer to the document:
- no server error; the status code, content type, headers (API-Version) and body are the documented ones;
- a request the document calls invalid is refused (negative data), one it calls valid is accepted (positive);
- an operation that needs a token refuses a request without one (public reads document the token as optional).

A few refusals of valid requests are intended, because the rule behind them cannot be said in JSON Schema
(docs/api.md, "What the document cannot say"); `intended_refusal` names each one and nothing else. Bounded:
FUZZ_EXAMPLES per operation (default 12), derandomized so CI is repeatable; set FUZZ_EXAMPLES higher for a
deeper local run. `st run` against a running server runs the stateful phase too (docs/api.md)."""
from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from participation.models import Report
from smartcity.models import Theme
from smartcity.text import clean_line

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
# The API refuses a NUL character anywhere with a 400 (smartcity/hostile_input.py), a rule of the whole API
# that the document states once (docs/api.md) rather than as a pattern on every string.
CONFIG = SchemathesisConfig.from_dict({"generation": {"allow-x00": False}})


def _load_schema():
    """The document as the API serves it, loaded once at collection (schemathesis' lazy fixture loader
    does not run under pytest 9); requests then go to the WSGI application in this process."""
    from django.core.wsgi import get_wsgi_application
    from django.test import Client, override_settings

    with override_settings(ALLOWED_HOSTS=["testserver"]):
        document = json.loads(Client().get("/api/v1/openapi.json").content)
    loaded = schemathesis.openapi.from_dict(document, config=CONFIG)
    loaded.app = get_wsgi_application()
    loaded.location = "/api/v1/openapi.json"
    return loaded


schema = _load_schema()

# Rules that need the database, or more than one field, to decide.
NEEDS_THE_DATABASE = {
    "does_not_exist",  # a slug or id that names no theme, department, challenge or area
    "unique",  # a slug, reference or KPI name already taken
}


def _problem(response) -> dict:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _text_cleaned_too_short(case, problem: dict) -> bool:
    """Text is cleaned as the website cleans it before its minimum length is checked (docs/api.md): a title of
    only control characters or spaces meets the document's minLength but is blank once cleaned."""
    if problem.get("code") not in {"blank", "min_length"} or not isinstance(case.body, dict):
        return False
    sent = case.body.get(problem["name"])
    return isinstance(sent, str) and len(clean_line(sent)) < len(sent)


def _cross_field_rule(case, problem: dict) -> bool:
    """Pilots: an end date before the start date; gate answers without a stage change."""
    return case.operation.path.startswith("/pilots") and problem["name"] in {"end_date", "answers"}


def intended_refusal(case, response) -> bool:
    problems = _problem(response).get("invalidParams") or []
    return response.status_code == 400 and bool(problems) and all(
        problem.get("code") in NEEDS_THE_DATABASE or _text_cleaned_too_short(case, problem)
        or _cross_field_rule(case, problem)
        for problem in problems
    )


def positive_data_acceptance_but_intended(ctx, response, case):
    try:
        return positive_data_acceptance(ctx, response, case)
    except Failure:
        if intended_refusal(case, response):
            return None
        raise


CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
    response_schema_conformance, positive_data_acceptance_but_intended, negative_data_rejection,
    missing_required_header, unsupported_method, ignored_auth,
]


@pytest.fixture(autouse=True)
def _any_host(settings):
    settings.ALLOWED_HOSTS = ["*"]


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Requests go through the real WSGI handler, whose request_finished signal would close the test's
    connection (it is inside the test transaction); Django's own test client detaches it the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(admin_user, db) -> str:
    from rest_framework.authtoken.models import Token

    theme = Theme.objects.create(slug="mobility", name="Mobility")
    Report.objects.create(title="Loose paving stones", description="Near the tram stop.", latitude=52.08,
                          longitude=4.31, theme=theme)
    return Token.objects.get_or_create(user=admin_user)[0].key


@schema.parametrize()
@hypothesis_settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(HealthCheck))
def test_every_generated_request_gets_the_answer_the_document_promises(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"}, checks=CHECKS)
