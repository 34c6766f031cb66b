"""Fuzzing: schemathesis generates requests from /api/v1/openapi.json for every operation, as an
administrator with a token (so writes get past authentication), and checks that no answer is a server
error and that every answer keeps to the document's own schema. Bounded: FUZZ_EXAMPLES per operation
(default 12), derandomized so CI is repeatable; set FUZZ_EXAMPLES higher for a deeper local run."""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from participation.models import Report
from smartcity.models import Theme

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


def _load_schema():
    """The document as the API serves it, loaded once at collection (schemathesis' lazy fixture loader
    does not run under pytest 9); requests then go to the WSGI application in this process."""
    import json

    from django.core.wsgi import get_wsgi_application
    from django.test import Client, override_settings

    with override_settings(ALLOWED_HOSTS=["testserver"]):
        document = json.loads(Client().get("/api/v1/openapi.json").content)
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = get_wsgi_application()
    loaded.location = "/api/v1/openapi.json"
    return loaded


schema = _load_schema()


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
def test_no_generated_request_gets_a_server_error_or_an_answer_outside_the_schema(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"},
                           checks=[not_a_server_error, response_schema_conformance])
