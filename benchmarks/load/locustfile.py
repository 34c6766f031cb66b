"""Load scenarios for the platform (run them with benchmarks/load/run.py, which sets the environment).

- Browsing: residents browse: home, the list with filters, the map's GeoJSON by bounding box, report pages.
- Baseline: the same requests answered by the bare baseline view (benchmarks/load/baseline_urls.py).
- Submitting: residents' reports come in through POST /api/v1/reports (an integration's staff token),
  each with a unique reference that is written to BENCH_SUBMITTED when the answer is 201.
- FormSubmitting: residents send the web form without photos (anonymously, past the "already reported
  nearby?" step), each with a unique title written to BENCH_SUBMITTED_FORM when the answer is the redirect
  to the new report. The form page is read once per user (its CSRF token), so the figures are the POST's.
- Triage: civil servants work the queue: the queue with filters, its map and the report's staff page.
- TriageQueue, TriageMap: the queue page alone and the queue's map alone, for their own CPU and p95.
"""
from __future__ import annotations

import os
import random
import re
import uuid
from http.cookiejar import Cookie
from urllib.parse import urlsplit

from locust import FastHttpUser, constant, task

MIN_ID = int(os.environ.get("BENCH_MIN_ID", "1"))
MAX_ID = int(os.environ.get("BENCH_MAX_ID", "1000"))
THEMES = [value for value in os.environ.get("BENCH_THEMES", "").split(",") if value]
STATUSES = ["new", "accepted", "in_progress", "resolved"]
BOUNDS = (4.18, 52.00, 4.42, 52.14)


def _bbox() -> str:
    """A street-level map view (about 1 km across) somewhere in the city."""
    west = random.uniform(BOUNDS[0], BOUNDS[2] - 0.015)
    south = random.uniform(BOUNDS[1], BOUNDS[3] - 0.009)
    return f"{west:.5f},{south:.5f},{west + 0.015:.5f},{south + 0.009:.5f}"


def _list_query() -> str:
    parts = [f"status={random.choice(STATUSES)}"]
    if THEMES and random.random() < 0.5:
        parts.append(f"theme={random.choice(THEMES)}")
    if random.random() < 0.3:
        parts.append(f"page={random.randint(2, 5)}")
    return "&".join(parts)


class Browsing(FastHttpUser):
    wait_time = constant(0)

    @task(1)
    def home(self):
        self.client.get("/", name="home")

    @task(3)
    def report_list(self):
        self.client.get(f"/reports/?{_list_query()}", name="list with filters")

    @task(3)
    def map_geojson(self):
        self.client.get(f"/reports.geojson?bbox={_bbox()}", name="map GeoJSON (bbox)")

    @task(3)
    def report_page(self):
        with self.client.get(f"/reports/{random.randint(MIN_ID, MAX_ID)}/", name="report page",
                             catch_response=True) as response:
            if response.status_code == 404:
                response.success()  # a hidden or removed report: a correct answer


class Baseline(FastHttpUser):
    """The same mix of requests, answered by the bare view that runs the same SQL."""
    wait_time = constant(0)

    @task(1)
    def home(self):
        self.client.get("/bench/baseline/home", name="baseline home")

    @task(3)
    def report_list(self):
        self.client.get(f"/bench/baseline/list?{_list_query().split('&page')[0]}", name="baseline list")

    @task(3)
    def map_geojson(self):
        self.client.get(f"/bench/baseline/geojson?bbox={_bbox()}", name="baseline GeoJSON")

    @task(3)
    def report_page(self):
        with self.client.get(f"/bench/baseline/report?id={random.randint(MIN_ID, MAX_ID)}", name="baseline report",
                             catch_response=True) as response:
            if response.status_code == 404:
                response.success()


class Submitting(FastHttpUser):
    wait_time = constant(0)
    batch = os.environ.get("BENCH_RUN", uuid.uuid4().hex[:8])

    def on_start(self):
        self.headers = {"Authorization": f"Token {os.environ['BENCH_TOKEN']}"}
        self.log = open(os.environ["BENCH_SUBMITTED"], "a", buffering=1)

    @task
    def submit(self):
        reference = f"bench-{self.batch}-{uuid.uuid4().hex[:12]}"
        west, south, east, north = BOUNDS
        body = {
            "title": "Losliggende stoeptegels", "description": "Een paar tegels liggen los bij de tramhalte.",
            "latitude": round(random.uniform(south, north), 6), "longitude": round(random.uniform(west, east), 6),
            "reference": reference,
        }
        with self.client.post("/api/v1/reports", json=body, headers=self.headers, name="submit report",
                              catch_response=True) as response:
            if response.status_code == 201:
                self.log.write(reference + "\n")
            else:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")


class FormSubmitting(FastHttpUser):
    wait_time = constant(0)
    batch = os.environ.get("BENCH_RUN", uuid.uuid4().hex[:8])

    def on_start(self):
        page = self.client.get("/reports/new/", name="report form (page)")
        self.token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        self.log = open(os.environ["BENCH_SUBMITTED_FORM"], "a", buffering=1)

    @task
    def submit(self):
        title = f"Losse tegels bench-{self.batch}-{uuid.uuid4().hex[:12]}"
        west, south, east, north = BOUNDS
        body = {
            "csrfmiddlewaretoken": self.token, "submission_key": str(uuid.uuid4()), "nearby_seen": "on",
            "notice_seen": "on", "title": title, "description": "Een paar tegels liggen los bij de tramhalte.",
            "category": os.environ.get("BENCH_CATEGORY", ""), "theme": THEMES[0] if THEMES else "",
            "latitude": f"{random.uniform(south, north):.6f}", "longitude": f"{random.uniform(west, east):.6f}",
        }
        with self.client.post("/reports/new/", data=body, headers={"Referer": self.host + "/reports/new/"},
                              name="submit report (web form)", allow_redirects=False, catch_response=True) as response:
            if response.status_code == 302 and "/reports/" in (response.headers.get("Location") or ""):
                self.log.write(title + "\n")
            else:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
        # A browser follows the redirect to the report's page, which shows the thank-you message and clears it;
        # without that, every earlier message would be sent back and stored again in the cookie.
        for cookie in [cookie for cookie in self.client.cookiejar if cookie.name == "messages"]:
            self.client.cookiejar.clear(cookie.domain, cookie.path, cookie.name)


class _Staff(FastHttpUser):
    """A civil servant, signed in: with the session run.py made (BENCH_STAFF_SESSION, name=key), so the password's
    hash (about 0.2 s of CPU per sign-in) is not counted as the scenario's pages; else through the sign-in form."""
    abstract = True
    wait_time = constant(0)

    def on_start(self):
        if os.environ.get("BENCH_STAFF_SESSION"):
            name, key = os.environ["BENCH_STAFF_SESSION"].split("=", 1)
            host = urlsplit(self.host).hostname or ""
            self.client.cookiejar.set_cookie(Cookie(
                0, name, key, None, False, host, False, False, "/", True, False, None, False, None, None, {}))
            return
        page = self.client.get("/accounts/login/", name="log in (form)")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        self.client.post("/accounts/login/", data={"csrfmiddlewaretoken": token, "login": os.environ["BENCH_STAFF_EMAIL"],
                                                   "password": os.environ["BENCH_STAFF_PASSWORD"]},
                         headers={"Referer": self.host + "/accounts/login/"}, name="log in")

    def _queue(self):
        query = random.choice(["", "status=accepted", "status=in_progress", "status=open&age=overdue", "page=2",
                               "status=open&sort=priority", "status=open&sort=supports"])
        with self.client.get(f"/staff/?{query}", name="triage queue", catch_response=True) as response:
            if "/accounts/login/" in response.url:
                response.failure("not logged in")

    def _map(self):
        query = random.choice(["status=new", "status=open&department=stadsbeheer"])
        with self.client.get(f"/staff/reports/markers.json?{query}", name="triage queue map", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")

    def _report(self):
        with self.client.get(f"/staff/reports/{random.randint(MIN_ID, MAX_ID)}/", name="staff report page",
                             catch_response=True) as response:
            if response.status_code == 404:
                response.success()


class Triage(_Staff):
    """The mix: the queue, its map and report pages."""

    @task(3)
    def queue(self):
        self._queue()

    @task(1)
    def queue_map(self):
        self._map()

    @task(2)
    def report(self):
        self._report()


class TriageQueue(_Staff):
    """The queue page alone: its own CPU per page and p95."""

    @task
    def queue(self):
        self._queue()


class TriageMap(_Staff):
    """The queue's map alone: its own CPU per request and p95."""

    @task
    def queue_map(self):
        self._map()
