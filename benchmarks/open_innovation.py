"""Queries and render time of the open-innovation pages on the demo data (issue #21).

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/DB MATCHING_SEMANTIC=0 python manage.py migrate
    DEBUG=1 DATABASE_URL=... MATCHING_SEMANTIC=0 python manage.py load_demo
    DEBUG=1 DATABASE_URL=... ALLOWED_HOSTS='*' python manage.py shell < benchmarks/open_innovation.py

Each page is requested once cold, then ten times; it prints the queries per request and the mean time.
"""
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pilots.models import Call, Pilot, Proposal
from smartcity.models import User

RUNS = 10
visitor = Client(HTTP_ACCEPT_LANGUAGE="en", SERVER_NAME="localhost")
team = Client(HTTP_ACCEPT_LANGUAGE="en", SERVER_NAME="localhost")
team.force_login(User.objects.get(email="innovatie@example.org"))
pilot = Pilot.objects.get(reference="demo-pilot-drukte")
PAGES = [
    ("call detail", visitor, Call.objects.published().order_by("pk").first().get_absolute_url()),
    ("call list", visitor, "/pilots/calls/"),
    ("pilot with residents' feedback", visitor, pilot.get_absolute_url()),
    ("proposal (team, engine suggestions)", team, Proposal.objects.filter(status="submitted").first().get_absolute_url()),
    ("GET /api/v1/pilots/{id}/feedback", visitor, f"/api/v1/pilots/{pilot.pk}/feedback"),
]
for name, client, url in PAGES:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        for _ in range(RUNS):
            response = client.get(url)
        mean_ms = (time.perf_counter() - started) * 1000 / RUNS
    print(f"{name:40} {response.status_code}  {len(queries) // RUNS:3d} queries  {mean_ms:6.1f} ms")
