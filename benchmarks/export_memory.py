#!/usr/bin/env python3
"""Stream the open-data exports of 1,000,000 reports and print how much the memory grows.

    python benchmarks/export_memory.py [--reports 1000000] [--database-url postgres://postgres@127.0.0.1:5432/bench_export] [--keep]

It creates a PostgreSQL database of its own (dropped again at the end unless --keep), migrates it,
bulk-inserts the reports (with some comments, hidden reports and formula-like titles), and then, in a
fresh process so that the generation's memory does not blur the figure, streams the CSV and the
GeoJSON export through the real views (participation/exports.py) and samples the process's resident
memory (RSS) while the bytes go out. Flat memory means the growth stays a few MB whatever --reports is.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_export"
BATCH = 10_000
WORDS = ("lamp", "pavement", "bin", "litter", "bicycle", "tree", "noise", "parking", "graffiti", "bench", "crossing",
         "flooding", "dog", "playground", "bus stop", "scooter", "smell", "pothole", "fence", "drain")


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "benchmark-only-key")
    os.environ["DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["DJANGO_SETTINGS_MODULE"] = "smartcity.settings"
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def admin_connection(database_url: str):
    import psycopg

    parsed = urlparse(database_url)
    return psycopg.connect(parsed._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1),
                           autocommit=True), parsed.path.lstrip("/")


def recreate_database(database_url: str) -> None:
    connection, name = admin_connection(database_url)
    with connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(database_url: str) -> None:
    connection, name = admin_connection(database_url)
    with connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')


def generate(count: int) -> None:
    from django.core.management import call_command
    from django.utils import timezone
    from tqdm import tqdm

    from participation.models import Comment, Report
    from smartcity.models import Department, Theme

    call_command("migrate", verbosity=0)
    themes = [Theme.objects.create(slug=f"theme-{n}", name=f"Theme {n}") for n in range(5)]
    departments = [Department.objects.create(slug=f"department-{n}", name=f"Department {n}") for n in range(4)]
    rng = random.Random(7)
    now = timezone.now()
    statuses = [status for status, _label in Report.Status.choices if status != "duplicate"]
    with tqdm(total=count, unit="report", desc="reports") as progress:
        for start in range(0, count, BATCH):
            size = min(BATCH, count - start)
            batch = []
            for number in range(start, start + size):
                words = rng.sample(WORDS, 3)
                title = f"{words[0].capitalize()} {words[1]} near {words[2]} {number}"
                if number % 1000 == 0:
                    title = "=" + title  # formula-like text, to be neutralised
                status = rng.choice(statuses)
                batch.append(Report(
                    title=title,
                    description=f"The {words[0]} by the {words[1]} has been a problem for weeks; "
                                f"residents near the {words[2]} ask the city to act. Report {number}.",
                    theme=rng.choice(themes), department=rng.choice(departments) if number % 3 else None,
                    latitude=52.0 + rng.random() * 0.14, longitude=4.18 + rng.random() * 0.24,
                    address=f"Straat {number % 500}", status=status,
                    closed_at=now if status in Report.CLOSED_STATUSES else None,
                    support_count=rng.randrange(0, 40), is_hidden=number % 997 == 0,
                    created_at=now - timezone.timedelta(minutes=number), source="web",
                ))
            Report.objects.bulk_create(batch)
            progress.update(size)
    # Some comments, so that the visible-comment count does real work.
    report_ids = list(Report.objects.order_by("pk").values_list("pk", flat=True)[: count // 20])
    comments = [Comment(report_id=pk, text="Same here.", is_hidden=pk % 5 == 0) for pk in report_ids]
    for start in tqdm(range(0, len(comments), BATCH), unit="batch", desc="comments"):
        Comment.objects.bulk_create(comments[start:start + BATCH])


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure() -> None:
    """Run in a fresh process: stream each export through its view and sample RSS."""
    import gc

    from django.test import RequestFactory

    from participation import exports

    factory = RequestFactory()
    # Warm up: imports, the URL resolver, the database connection, the template-free code paths.
    for view in (exports.report_export_csv, exports.report_export_geojson):
        response = view(factory.get("/", {"q": "nothing-matches-this"}))
        b"".join(response.streaming_content)
    gc.collect()
    for name, view in (("CSV", exports.report_export_csv), ("GeoJSON", exports.report_export_geojson)):
        gc.collect()
        baseline = peak = rss_mb()
        started = time.perf_counter()
        total = chunks = 0
        for chunk in view(factory.get("/")).streaming_content:
            total += len(chunk)
            chunks += 1
            if chunks % 50 == 0:
                peak = max(peak, rss_mb())
        seconds = time.perf_counter() - started
        peak = max(peak, rss_mb())
        print(f"{name:8} {total / 2**20:8.1f} MB in {seconds:6.1f} s ({total / 2**20 / seconds:5.1f} MB/s, "
              f"{chunks} chunks): RSS {baseline:6.1f} MB before, peak {peak:6.1f} MB, growth {peak - baseline:5.1f} MB")
    print(f"process peak RSS (ru_maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure_only:
        setup_django(args.database_url)
        measure()
        return

    recreate_database(args.database_url)
    try:
        setup_django(args.database_url)
        started = time.perf_counter()
        generate(args.reports)
        print(f"generated {args.reports:,} reports in {time.perf_counter() - started:.0f} s")
        from django.db import connections

        connections.close_all()
        subprocess.run([sys.executable, __file__, "--measure-only", "--database-url", args.database_url],
                       check=True, cwd=ROOT)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(args.database_url)


if __name__ == "__main__":
    main()
