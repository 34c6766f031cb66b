"""CPU time per request in-process (Django's test client through every middleware, no network, no locust):
a steadier figure than the load run's for comparing one change, and a profile of where it goes.

    DATABASE_URL=... REDIS_URL=... DEBUG=0 SECRET_KEY=... .venv/bin/python benchmarks/load/cpu.py \\
        [--requests 200] [--profile] [--miss] [--staff triage@example.org | --post-api EMAIL | --post-form] /reports/?status=new ...

Each URL is asked --requests times (after 5 warm-up requests) as an anonymous first-time visitor (no
cookies), or signed in as --staff; prints the mean CPU ms per request (time.process_time) and the
status. --miss moves the public pages' version (smartcity.pagecache.bump) before each request, outside
the measured time, so every answer is rendered as for a page not in the page cache (what is kept per
process stays kept, as in the load run). --profile prints the 25 functions with the most cumulative CPU time
over all of them (process time, so the database's and Redis's answers are not counted while the process waits
for them).
--post-api posts a new report to each URL (/api/v1/reports) as the load run does; --post-form sends the
web form without photos to each URL (/reports/new/) as the load run's residents do: anonymously, with the
CSRF token of one earlier visit to the form and its cookies, past the "already reported nearby?" step.
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
    parser.add_argument("--miss", action="store_true", help="every request a page not in the page cache")
    parser.add_argument("--staff", default="", help="sign in as this account first")
    parser.add_argument("--post-api", default="", metavar="EMAIL",
                        help="POST a new report to each URL (/api/v1/reports) as the locust run does, with EMAIL's token")
    parser.add_argument("--post-form", action="store_true",
                        help="send the web form without photos to each URL (/reports/new/) as the locust run does")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.load.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.test import Client

    from smartcity.pagecache import PUBLIC_PAGES, bump

    profiler = cProfile.Profile(time.process_time) if args.profile else None
    headers: dict = {}
    if args.post_api:
        import random
        import uuid

        from rest_framework.authtoken.models import Token

        from smartcity.models import User

        token, _created = Token.objects.get_or_create(user=User.objects.get(email=args.post_api))
        headers = {"HTTP_AUTHORIZATION": f"Token {token.key}"}

        def ask(client, url):
            body = {"title": "Losliggende stoeptegels", "description": "Een paar tegels liggen los bij de tramhalte.",
                    "latitude": round(random.uniform(52.03, 52.11), 6), "longitude": round(random.uniform(4.22, 4.36), 6),
                    "reference": f"cpu-{uuid.uuid4().hex[:12]}"}
            return client.post(url, body, content_type="application/json", **headers)
    elif args.post_form:
        import random
        import re
        import uuid

        from participation.models import Category, ServiceQuestion
        from smartcity.models import Theme

        # The load run's choice (benchmarks/load/run.py): a category that asks nothing and shows no notice.
        asking = ServiceQuestion.objects.filter(required=True).values("category_id")
        category = (Category.objects.choosable().exclude(pk__in=asking).exclude(parent__in=asking)
                    .exclude(notice__gt="").order_by("pk").values_list("pk", flat=True).first())
        theme = Theme.objects.order_by("pk").values_list("pk", flat=True).first()
        tokens: dict[int, str] = {}

        def ask(client, url):
            if id(client) not in tokens:  # the form page once per resident, for its CSRF token and cookie
                page = client.get(url).content.decode()
                tokens[id(client)] = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
            body = {"csrfmiddlewaretoken": tokens[id(client)], "submission_key": str(uuid.uuid4()), "nearby_seen": "on",
                    "notice_seen": "on", "title": f"Losse tegels cpu-{uuid.uuid4().hex[:12]}",
                    "description": "Een paar tegels liggen los bij de tramhalte.", "category": category or "",
                    "theme": theme or "", "latitude": f"{random.uniform(52.03, 52.11):.6f}",
                    "longitude": f"{random.uniform(4.22, 4.36):.6f}"}
            response = client.post(url, body, HTTP_REFERER=f"http://testserver{url}")
            if response.status_code != 302:
                raise SystemExit(f"the form answered {response.status_code}, not the redirect to the new report")
            # A browser follows the redirect to the report's page, which shows the thank-you message and clears
            # it; without that, every earlier message would be sent back and stored again in the cookie.
            client.cookies.pop("messages", None)
            return response
    else:
        def ask(client, url):
            return client.get(url)
    for url in args.urls:
        client = Client(enforce_csrf_checks=True) if args.post_form else Client()
        if args.staff:
            from smartcity.models import User

            client.force_login(User.objects.get(email=args.staff))
        for _ in range(5):
            status = ask(client, url).status_code
        first_visits = not args.staff and not args.post_form  # a form keeps its cookies, as the load run's residents do
        if first_visits:
            client.cookies.clear()
        spent = 0.0
        for _ in range(args.requests):
            if first_visits:
                client.cookies.clear()  # a first visit each time, as the load run's residents are
            if args.miss:
                bump(PUBLIC_PAGES)
            started = time.process_time()
            if profiler:
                profiler.enable()
            status = ask(client, url).status_code
            if profiler:
                profiler.disable()
            spent += time.process_time() - started
        print(f"{spent * 1000 / args.requests:8.2f} ms CPU/request  {status}  {url}", flush=True)
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(int(os.environ.get("PROFILE_LINES", "25")))


if __name__ == "__main__":
    main()
