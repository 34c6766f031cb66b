"""Parallel posts with one `reference`: one is created, every other gets a 4xx problem+json, none a 500
(issue #14: ten parallel posts gave two IntegrityErrors). Two requests can both find the reference free
and then meet at the database's unique constraint; that meeting is a 409.

Real concurrency on PostgreSQL: threads with their own connections. To make the race certain rather
than likely, a first transaction takes the reference and holds it uncommitted until every request is
waiting for it at the unique index (read from pg_stat_activity), then commits."""
from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from participation.models import Report
from pilots.models import Pilot
from smartcity.models import DepartmentChallenge, SocietalChallenge

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
PARALLEL = 10
REFERENCE = "ext-42"


def _bodies(*, department) -> dict:
    return {
        "/api/v1/reports": (Report, {"title": "Overflowing bin", "description": "The bin on the corner overflows daily.",
                                     "latitude": 52.0799, "longitude": 4.3113}),
        "/api/v1/societal-challenges": (SocietalChallenge, {"title": "Heat", "description": "Hot streets."}),
        "/api/v1/department-challenges": (DepartmentChallenge, {"title": "Sewers", "description": "Full.",
                                                                "department": getattr(department, "slug", None)}),
        "/api/v1/pilots": (Pilot, {"title": "Cool roofs", "description": "Green roofs on schools."}),
    }


def _post_in_parallel(path: str, body: dict, token: str) -> list:
    """PARALLEL clients post at once; returns their responses."""
    start = threading.Barrier(PARALLEL)
    responses: list = [None] * PARALLEL

    def post(i: int) -> None:
        client = APIClient(raise_request_exception=False)  # a 500 is an answer here, not an exception
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            start.wait(10)
            responses[i] = client.post(path, {**body, "reference": REFERENCE}, format="json")
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return responses


def _waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock' AND query ILIKE 'INSERT%%'")
        return cursor.fetchone()[0]


@pytest.mark.parametrize("path", ["/api/v1/reports", "/api/v1/societal-challenges", "/api/v1/department-challenges",
                                  "/api/v1/pilots"])
def test_requests_that_meet_at_the_unique_constraint_get_a_409(needs_postgres, path, admin_user, department_a):
    model, body = _bodies(department=department_a)[path]
    token = Token.objects.create(user=admin_user).key
    holds, commit = threading.Event(), threading.Event()

    def first_taker() -> None:
        try:
            with transaction.atomic():
                fields = {key: value for key, value in body.items() if key not in ("department",)}
                if model is DepartmentChallenge:
                    fields["department"] = department_a
                model.objects.create(reference=REFERENCE, **fields)
                holds.set()
                commit.wait(30)
        finally:
            connection.close()

    taker = threading.Thread(target=first_taker)
    taker.start()
    assert holds.wait(10)
    results: list = []
    posting = threading.Thread(target=lambda: results.extend(_post_in_parallel(path, body, token)))
    posting.start()
    deadline = time.monotonic() + 30
    while _waiting_for_a_lock() < PARALLEL and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _waiting_for_a_lock() == PARALLEL, "every request should be waiting at the unique index"
    commit.set()
    taker.join(10)
    posting.join(60)

    assert [r.status_code for r in results] == [409] * PARALLEL
    assert all(r["Content-Type"] == "application/problem+json" for r in results)
    assert results[0].json()["invalidParams"][0]["name"] == "reference"
    assert model.objects.filter(reference=REFERENCE).count() == 1


def test_ten_parallel_posts_with_one_reference_create_one_report_and_no_500(needs_postgres, admin_user):
    token = Token.objects.create(user=admin_user).key
    _model, body = _bodies(department=None)["/api/v1/reports"]
    statuses = sorted(r.status_code for r in _post_in_parallel("/api/v1/reports", body, token))
    assert statuses.count(201) == 1 and set(statuses) <= {201, 400, 409}, statuses
    assert Report.objects.filter(reference=REFERENCE).count() == 1
