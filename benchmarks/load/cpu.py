"""CPU time per request in-process (Django's test client through every middleware, no network, no locust):
a steadier figure than the load run's for comparing one change, and a profile of where it goes.

    DATABASE_URL=... REDIS_URL=... DEBUG=0 SECRET_KEY=... .venv/bin/python benchmarks/load/cpu.py \\
        [--requests 200] [--profile] [--staff triage@example.org] /reports/?status=new /reports/123/ ...

Each URL is asked --requests times (after 5 warm-up requests) as an anonymous first-time visitor (no
cookies), or signed in as --staff; prints the mean CPU ms per request (time.process_time) and the
status. --profile prints the 25 functions with the most cumulative time over all of them.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--staff", default="", help="sign in as this account first")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.load.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.test import Client

    profiler = cProfile.Profile() if args.profile else None
    for url in args.urls:
        client = Client()
        if args.staff:
            from smartcity.models import User

            client.force_login(User.objects.get(email=args.staff))
        for _ in range(5):
            status = client.get(url).status_code
        if not args.staff:
            client.cookies.clear()
        started = time.process_time()
        if profiler:
            profiler.enable()
        for _ in range(args.requests):
            if not args.staff:
                client.cookies.clear()  # a first visit each time, as the load run's residents are
            status = client.get(url).status_code
        if profiler:
            profiler.disable()
        print(f"{(time.process_time() - started) * 1000 / args.requests:8.2f} ms CPU/request  {status}  {url}", flush=True)
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
