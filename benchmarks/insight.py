#!/usr/bin/env python3
"""Render time of the statistics page and the staff dashboards over 1,000,000 reports.

    python benchmarks/insight.py [--reports 1000000] [--runs 15] [--database-url postgres://postgres@127.0.0.1:5432/bench_insight] [--keep]

It creates a PostgreSQL database of its own (dropped at the end unless --keep; with --keep a second
run reuses the data), migrates it, and writes with COPY: 44 neighbourhoods (The Hague has 44
districts), 5 themes with targets, 8 departments, 30 societal challenges (a fifth of the reports
linked to one), reports spread over three years with a believable mix of outcomes, and a public
history per report (created, first answer, closed). Then it times `rebuild_insight` and renders every
page with the Django test client: one cold request, then the median of --runs warm ones.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_insight"
BATCH = 50_000
YEARS = 3
# status, weight; closed reports get a first answer and a closing row, open ones sometimes an answer
OUTCOMES = [("new", 2), ("accepted", 3), ("in_progress", 4), ("resolved", 70), ("not_actionable", 13), ("duplicate", 8)]


def psql(url: str, sql: str) -> None:
    parsed = urlparse(url)
    admin = parsed._replace(path="/postgres").geturl()
    subprocess.run(["psql", admin, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True)


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "benchmark-only-key")
    os.environ["DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["DJANGO_SETTINGS_MODULE"] = "smartcity.settings"
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def reference_data(rng: random.Random):
    from django.conf import settings

    from pilots.models import Pilot, Stage
    from smartcity.geo import bounding_box
    from smartcity.models import Area, Department, DepartmentChallenge, Membership, SocietalChallenge, Theme, User

    themes = [Theme.objects.create(slug=f"theme-{i}", name=name, target_days=target) for i, (name, target) in enumerate([
        ("Veiligheid en leefbaarheid", 5), ("Mobiliteit", 10), ("Duurzaamheid en milieu", 15),
        ("Participatie en economie", 20), ("Toerisme en recreatie", 10)])]
    departments = [Department.objects.create(slug=f"department-{i}", name=f"Afdeling {i}") for i in range(8)]
    min_lon, min_lat, max_lon, max_lat = settings.CITY_BOUNDS
    areas = []
    cols, rows = 11, 4
    for r in range(rows):
        for c in range(cols):
            lon0 = min_lon + (max_lon - min_lon) * c / cols
            lat0 = min_lat + (max_lat - min_lat) * r / rows
            lon1, lat1 = lon0 + (max_lon - min_lon) / cols, lat0 + (max_lat - min_lat) / rows
            ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
            geometry = {"type": "Polygon", "coordinates": [ring]}
            a, b, c2, d = bounding_box(geometry)
            areas.append(Area.objects.create(slug=f"wijk-{r}-{c}", name=f"Wijk {r * cols + c + 1}", geometry=geometry,
                                             min_longitude=a, min_latitude=b, max_longitude=c2, max_latitude=d))
    challenges = [SocietalChallenge.objects.create(title=f"Opgave {i}", description="…") for i in range(30)]
    for i, challenge in enumerate(challenges):
        for department in rng.sample(departments, 1 + i % 4):
            dc = DepartmentChallenge.objects.create(title=f"{department.name}: {challenge.title}", description="…",
                                                    department=department)
            dc.societal_challenges.add(challenge)
    for i in range(8):
        pilot = Pilot.objects.create(title=f"Pilot {i}", description="…", stage=rng.choice(list(Stage.values)))
        pilot.societal_challenges.add(*rng.sample(challenges, 2))
    staff = User.objects.create_user(email="bench@example.org", password="x", is_innovation_team=True)
    Membership.objects.create(user=staff, department=departments[0])
    return themes, departments, areas, challenges


def generate(count: int, seed: int) -> None:
    from django.db import connection, transaction
    from tqdm import tqdm

    rng = random.Random(seed)
    themes, departments, areas, challenges = reference_data(rng)
    theme_departments = {theme.pk: departments[i % len(departments)::len(themes)] or [departments[0]]
                         for i, theme in enumerate(themes)}
    now = dt.datetime.now(dt.UTC)
    span = YEARS * 365 * 86400
    statuses, weights = zip(*OUTCOMES)
    report_columns = ["id", "title", "description", "theme_id", "latitude", "longitude", "address", "area_id", "status",
                      "department_id", "duplicate_of_id", "source", "support_count", "is_hidden", "hidden_reason",
                      "version", "created_at", "updated_at", "closed_at"]
    history_columns = ["report_id", "created_at", "from_status", "to_status", "message", "is_public"]
    with tqdm(total=count, unit="report", desc="reports") as bar:
        for first in range(1, count + 1, BATCH):
            ids = range(first, min(first + BATCH, count + 1))
            reports, history, links = [], [], []
            for pk in ids:
                # Older reports are fewer: the city grows its reach. Seconds back from now.
                created = now - dt.timedelta(seconds=span * (1 - rng.random() ** 0.8))
                theme = rng.choice(themes)
                area = rng.choice(areas)
                status = rng.choices(statuses, weights)[0]
                if created > now - dt.timedelta(days=3) and status in ("resolved", "not_actionable", "duplicate"):
                    status = "new"
                department = rng.choice(theme_departments[theme.pk]).pk if status != "new" else None
                lon = rng.uniform(area.min_longitude, area.max_longitude)
                lat = rng.uniform(area.min_latitude, area.max_latitude)
                history.append((pk, created, "", "new", "", True))
                answered = None
                if status != "new" or rng.random() < 0.3:
                    answered = min(created + dt.timedelta(hours=rng.expovariate(1 / 30)), now)
                    history.append((pk, answered, "new", "accepted", "Doorgezet naar de afdeling.", True))
                closed = None
                if status in ("resolved", "not_actionable", "duplicate"):
                    closed = min((answered or created) + dt.timedelta(hours=rng.expovariate(1 / (24 * theme.target_days))), now)
                    history.append((pk, closed, "accepted", status, "Afgehandeld.", True))
                duplicate_of = rng.randint(1, pk - 1) if status == "duplicate" and pk > 1 else None
                if status == "duplicate" and duplicate_of is None:
                    status = "resolved"
                reports.append((pk, "Melding", "Omschrijving", theme.pk, lat, lon, "", area.pk, status, department,
                                duplicate_of, "web", 0, False, "", 1, created, closed or answered or created, closed))
                if rng.random() < 0.2:
                    links.append((pk, challenges[min(int(rng.expovariate(1 / 6)), len(challenges) - 1)].pk))
            with transaction.atomic(), connection.cursor() as cursor:
                raw = cursor.cursor
                with raw.copy(f"COPY participation_report ({', '.join(report_columns)}) FROM STDIN") as copy:
                    for row in reports:
                        copy.write_row(row)
                with raw.copy(f"COPY participation_statuschange ({', '.join(history_columns)}) FROM STDIN") as copy:
                    for row in history:
                        copy.write_row(row)
                with raw.copy("COPY participation_report_societal_challenges (report_id, societalchallenge_id) FROM STDIN") as copy:
                    for row in links:
                        copy.write_row(row)
            bar.update(len(ids))
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('participation_report', 'id'), %s)", [count])
        cursor.execute("ANALYZE")


def measure(runs: int) -> list[tuple[str, float, float]]:
    from django.test import Client
    from django.test.utils import setup_test_environment

    from smartcity.models import Area, Department, Theme, User

    setup_test_environment()

    client = Client()
    client.force_login(User.objects.get(email="bench@example.org"))
    department = Department.objects.order_by("pk").first()
    theme, area = Theme.objects.order_by("pk").first(), Area.objects.order_by("pk").first()
    pages = [
        ("statistics (default: 12 months by month)", "/statistics/"),
        ("statistics, 12 months by week", "/statistics/?interval=week"),
        ("statistics, all 3 years by month", f"/statistics/?start={(dt.date.today() - dt.timedelta(days=3 * 365)).isoformat()}"),
        ("statistics, one theme and neighbourhood", f"/statistics/?theme={theme.slug}&area={area.slug}"),
        ("statistics CSV: response times", "/statistics/response-times.csv"),
        ("department dashboard", f"/staff/insight/departments/{department.slug}/"),
        ("pilot opportunities", "/staff/insight/pilot-opportunities/"),
    ]
    results = []
    for name, url in pages:
        started = time.perf_counter()
        response = client.get(url)
        cold = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code)
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        results.append((name, cold, statistics.median(timings)))
    return results


def measure_refresh(changed: int = 1000) -> None:
    """What the beat task costs after a busy few minutes: `changed` reports of the last four weeks touched since
    the last refresh (staff mostly act on recent reports)."""
    from django.db import connection

    from insight.services import insight_refresh

    insight_refresh()  # catch up first, so only the changes below count
    with connection.cursor() as cursor:
        cursor.execute("UPDATE participation_report SET updated_at = now() WHERE id IN "
                       "(SELECT id FROM participation_report WHERE created_at > now() - interval '28 days' "
                       "ORDER BY random() LIMIT %s)", [changed])
    started = time.perf_counter()
    insight_refresh()
    print(f"refresh after {changed:,} changed reports of the last four weeks: {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database (a second run with --keep reuses it)")
    args = parser.parse_args()
    name = urlparse(args.database_url).path.lstrip("/")
    exists = subprocess.run(["psql", urlparse(args.database_url)._replace(path="/postgres").geturl(), "-tAc",
                             f"SELECT 1 FROM pg_database WHERE datname = '{name}'"], capture_output=True, text=True).stdout.strip()
    reuse = args.keep and exists == "1"
    if not reuse:
        psql(args.database_url, f'DROP DATABASE IF EXISTS "{name}"')
        psql(args.database_url, f'CREATE DATABASE "{name}"')
    setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    from participation.models import Report

    try:
        call_command("migrate", verbosity=0)
        if not reuse:
            started = time.perf_counter()
            generate(args.reports, args.seed)
            print(f"generated {args.reports:,} reports in {time.perf_counter() - started:.0f} s")
            started = time.perf_counter()
            call_command("rebuild_insight")
            print(f"rebuild_insight: {time.perf_counter() - started:.0f} s")
        with connection.cursor() as cursor:  # what autovacuum does soon after a rebuild in production
            cursor.execute("VACUUM ANALYZE insight_daycount, insight_durationcount, insight_challengedaycount")
        from insight.models import ChallengeDayCount, DayCount, DurationCount

        print(f"{Report.objects.count():,} reports; aggregate rows: {DayCount.objects.count():,} day counts, "
              f"{DurationCount.objects.count():,} duration counts, {ChallengeDayCount.objects.count():,} challenge counts")
        measure_refresh()
        print(f"{'page':<45} {'cold ms':>8} {'warm median ms':>15}")
        for page, cold, warm in measure(args.runs):
            flag = "" if warm < 300 else "  (over 300 ms)"
            print(f"{page:<45} {cold:>8.0f} {warm:>15.0f}{flag}")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            psql(args.database_url, f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    main()
