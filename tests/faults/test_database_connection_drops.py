"""A database that drops its connection: the request gets a friendly 503 (HTML, or problem+json from
the API), and the next request works."""
from __future__ import annotations

import pytest
from django.db import OperationalError, connection

from tests.conftest import postgres_in_use
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db


class DropOnce:
    """An execute wrapper: the next query finds the connection gone."""

    def __init__(self):
        self.dropped = False

    def __call__(self, execute, sql, params, many, context):
        if not self.dropped:
            self.dropped = True
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


def test_a_page_gets_a_friendly_503_and_the_next_request_works(client):
    make_report(title="Broken bench")
    with connection.execute_wrapper(DropOnce()):
        response = client.get("/reports/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "Briefly unavailable" in html and 'href="/reports/"' in html and "Traceback" not in html
    assert "Broken bench" in client.get("/reports/").content.decode()


def test_the_api_answers_503_as_problem_json_and_the_next_request_works(client):
    make_report()
    with connection.execute_wrapper(DropOnce()):
        response = client.get("/api/v1/reports")
    assert response.status_code == 503 and response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 503 and "unavailable" in response.json()["detail"]
    assert client.get("/api/v1/reports").status_code == 200


def test_a_submission_that_hits_the_drop_is_not_half_saved(client):
    from participation.models import Report, StatusChange

    def drop_at_the_history_row(execute, sql, params, many, context):
        # The report row is written by then, inside the same transaction.
        if sql.startswith('INSERT INTO "participation_statuschange"'):
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(drop_at_the_history_row):
        response = client.post("/reports/new/", {"title": "Pothole", "description": "A deep one near the tram stop.",
                                                  "latitude": "52.0799", "longitude": "4.3113", "theme": ""})
    assert response.status_code == 503
    assert not Report.objects.exists() and not StatusChange.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_terminated_backend_gives_503_then_a_fresh_connection(client, needs_postgres):
    """The real thing: an administrator (or a failover) kills our server process in the middle of a request."""
    import psycopg

    make_report(title="Broken bench")
    client.get("/reports/")  # an open, healthy connection
    settings = connection.settings_dict
    killed = {}

    def terminate_our_backend(execute, sql, params, many, context):
        if not killed:
            pid = connection.connection.info.backend_pid
            with psycopg.connect(host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
                                 user=settings["USER"], password=settings["PASSWORD"] or None,
                                 dbname=settings["NAME"], autocommit=True) as admin:
                killed["ok"] = admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        return execute(sql, params, many, context)

    assert postgres_in_use()
    with connection.execute_wrapper(terminate_our_backend):
        response = client.get("/reports/", HTTP_ACCEPT_LANGUAGE="en")
    assert killed["ok"] is True
    assert response.status_code == 503 and "Briefly unavailable" in response.content.decode()
    assert "Broken bench" in client.get("/reports/").content.decode()
    assert client.get("/api/v1/reports").status_code == 200
