#!/usr/bin/env python3
"""Address search at city scale, and the category suggestion's accuracy and latency (issue #16).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smartcity .venv/bin/python benchmarks/geocode.py
        [--addresses 500000] [--queries 500] [--skip-load] [--suggestion-only | --geocoder-only]

Works in a database of its own beside DATABASE_URL's (`bench_geocode_<name>`, kept between runs), never in
yours. Prints:

- the time `manage.py load_addresses` takes for N synthetic addresses in the BAG export's shape (a large city:
  about 5,000 streets of up to 100 numbers in CITY_BOUNDS);
- search p50/p95 through the local geocoder for what residents type: a street's first letters, a street and
  number, a street with a typo, a postcode; and reverse p50/p95 for points near and between addresses;
- the category suggestion's top-1 and top-3 accuracy on benchmarks/data/category_labels.json (leave-one-out:
  each report is predicted by a model fitted on the category names and every other labelled report; and with
  the category names alone, as on a new platform), and its latency p50/p95 through the HTTP endpoint.

Targets: load < 2 min, search and reverse p95 < 30 ms on PostgreSQL, suggestion p95 < 100 ms.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartcity.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only")
os.environ.setdefault("DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

PARTS = ["Kerk", "Molen", "Zee", "Duin", "Haven", "Linden", "Eiken", "Beuken", "Kastanje", "Prinses", "Koning",
         "Graaf", "Hof", "Markt", "Bloemen", "Rozen", "Tulpen", "Vaart", "Sluis", "Brug", "Water", "Veen", "Berg",
         "Noord", "Zuid", "Oost", "West", "Nieuwe", "Oude", "Lange", "Korte", "Brede", "Smalle", "Groene",
         "Gevers Deynoot", "Van Alkemade", "Frederik Hendrik", "Laan van Meerdervoort", "Willem", "Juliana",
         "Schilders", "Vissers", "Bakkers", "Smids", "Kuipers", "Scheveningse", "Haagse", "Delftse", "Leidse", "Wassenaarse"]
SECOND = ["", "hout", "veld", "dijk", "kamp", "wijk", "hoek", "zicht", "rust", "bos"]
KINDS = ["straat", "weg", "laan", "plein", "kade", "gracht", "hof", "pad", "singel", "dreef"]


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {p50:6.1f} ms   p95 {p95:6.1f} ms"


def synthetic_streets() -> list[str]:
    return [f"{part}{second}{kind}" if not part.endswith(("noot", "kade", "voort")) and " " not in part
            else f"{part}{second} {kind}".replace("  ", " ")
            for part in PARTS for second in SECOND for kind in KINDS]


def write_addresses(path: Path, count: int, rng: random.Random) -> list[tuple[str, int, str, float, float]]:
    """A BAG-shaped CSV with `count` addresses: streets as short lines of numbers spread over the city."""
    min_lon, min_lat, max_lon, max_lat = settings.CITY_BOUNDS
    streets = synthetic_streets()
    rows = []
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["openbareruimte", "huisnummer", "huisletter", "huisnummertoevoeging", "postcode", "woonplaats",
                         "nummeraanduiding", "lon", "lat"])
        n = 0
        while n < count:
            for index, street in enumerate(streets):
                if n >= count:
                    break
                lat0, lon0 = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
                angle = rng.uniform(0, 3.14)
                postcode = f"{2500 + index % 100:04d} {chr(65 + index % 26)}{chr(65 + (index // 26) % 26)}"
                numbers = rng.randint(20, 100)
                for number in range(1, numbers + 1):
                    if n >= count:
                        break
                    lat = lat0 + number * 0.00008 * math.sin(angle)
                    lon = lon0 + number * 0.00012 * math.cos(angle)
                    letter = "A" if number % 17 == 0 else ""
                    writer.writerow([street, number, letter, "", postcode, "Den Haag", f"bench-{n}", f"{lon:.6f}",
                                     f"{lat:.6f}"])
                    if n % 97 == 0:
                        rows.append((street, number, postcode, lat, lon))
                    n += 1
    return rows


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 6:
        return word
    i = rng.randint(2, len(word) - 3)
    return word[:i] + word[i + 1:]  # one letter left out


def bench_geocoder(count: int, queries: int, skip_load: bool, rng: random.Random) -> None:
    from participation.geocoding import LocalGeocoder
    from participation.models import Address

    path = Path(tempfile.gettempdir()) / f"bench-addresses-{count}.csv"
    sample = write_addresses(path, count, rng)
    if not skip_load:
        started = time.perf_counter()
        call_command("load_addresses", str(path), "--replace", verbosity=0)
        seconds = time.perf_counter() - started
        print(f"load_addresses: {Address.objects.count():,} addresses in {seconds:.1f} s "
              f"({count / seconds:,.0f} per second)   target < 120 s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE participation_address")
    geocoder = LocalGeocoder()
    picks = [rng.choice(sample) for _ in range(queries)]
    kinds = {
        "street prefix": lambda s: s[0][: max(4, len(s[0]) // 2)],
        "street + number": lambda s: f"{s[0]} {s[1]}",
        "typo + number": lambda s: f"{typo(s[0], rng)} {s[1]}",
        "postcode": lambda s: s[2],
    }
    for name, make in kinds.items():
        texts = [make(pick) for pick in picks]
        for text in texts[:20]:  # warm up
            geocoder.search(text)
        timings, found, answered = [], 0, 0
        for text, pick in zip(texts, picks):
            started = time.perf_counter()
            places = geocoder.search(text)
            timings.append((time.perf_counter() - started) * 1000)
            found += any(place.label.startswith(f"{pick[0]} ") for place in places)
            answered += bool(places)
        print(f"search {name:<16} {percentiles(timings)}   answered: {answered / len(texts):.0%}, "
              f"with the street meant: {found / len(texts):.0%}")
    timings, hits = [], 0
    for pick in picks:
        latitude, longitude = pick[3] + rng.uniform(-0.0002, 0.0002), pick[4] + rng.uniform(-0.0002, 0.0002)
        started = time.perf_counter()
        place = geocoder.reverse(latitude, longitude)
        timings.append((time.perf_counter() - started) * 1000)
        hits += place is not None
    print(f"reverse                 {percentiles(timings)}   an address within 50 m: {hits / len(picks):.0%}")


def labelled_reports(dev: Path) -> list[tuple[str, str]]:
    """(text, category slug) from the labelled set."""
    from participation.management.commands.load_demo_categories import DEMO_REPORT_CATEGORIES
    from participation.management.commands.load_demo_reports import REPORTS

    labels = json.loads((ROOT / "benchmarks" / "data" / "category_labels.json").read_text(encoding="utf-8"))
    out = []
    if dev.exists():
        reports = {report["key"]: report for report in json.loads(dev.read_text(encoding="utf-8"))["reports"]}
        out += [(f"{reports[key]['title']}. {reports[key]['description']}", slug)
                for key, slug in labels["dev_denhaag"].items() if key in reports]
    else:
        print(f"({dev} not found: the labelled set holds the demo reports only)")
    out += [(f"{row[1]}. {row[2]}", DEMO_REPORT_CATEGORIES[row[0]]) for row in REPORTS if row[0] in DEMO_REPORT_CATEGORIES]
    return out


def bench_suggestion(rng: random.Random, dev: Path) -> None:
    from django.test import Client

    from matching import categories
    from participation.models import Category, Report

    call_command("load_demo_categories", verbosity=0)
    Report.objects.filter(reference__startswith="bench-cat-").delete()  # left by an interrupted run: no leakage
    labelled = labelled_reports(dev)
    ids = dict(Category.objects.values_list("slug", "pk"))
    names_only = categories.training_examples()
    examples = [(text, ids[slug], 1.0) for text, slug in labelled]

    def accuracy(fit_on) -> tuple[float, float]:
        top1 = top3 = 0
        for index, (text, slug) in enumerate(labelled):
            model = categories.CategoryClassifier().fit(fit_on(index))
            ranked = [guess.category_id for guess in model.rank(text, limit=3)]
            top1 += bool(ranked) and ranked[0] == ids[slug]
            top3 += ids[slug] in ranked
        return top1 / len(labelled), top3 / len(labelled)

    cold1, cold3 = accuracy(lambda index: names_only)
    warm1, warm3 = accuracy(lambda index: names_only + examples[:index] + examples[index + 1:])
    print(f"category suggestion on {len(labelled)} labelled reports ({len({s for _, s in labelled})} categories "
          f"of {len(ids)}):")
    print(f"  category names only (a new platform)         top-1 {cold1:.0%}   top-3 {cold3:.0%}")
    print(f"  names + staff decisions (leave-one-out)      top-1 {warm1:.0%}   top-3 {warm3:.0%}")

    # Latency through the endpoint, with the labelled reports stored as staff decisions.
    Report.objects.filter(reference__startswith="bench-cat-").delete()
    for index, (text, slug) in enumerate(labelled):
        Report.objects.create(title=text[:100], description=text, latitude=52.08, longitude=4.3,
                              category_id=ids[slug], reference=f"bench-cat-{index}")
    categories.forget()
    client = Client()
    texts = [text for text, _ in labelled]
    client.get("/reports/category-suggestion", {"title": "warm", "description": texts[0]})
    timings = []
    for _ in range(300):
        text = rng.choice(texts)
        cut = text[: rng.randint(20, len(text))]
        started = time.perf_counter()
        response = client.get("/reports/category-suggestion", {"title": "", "description": cut})
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    print(f"  suggestion request (HTTP, debounced keystroke) {percentiles(timings)}   target p95 < 100 ms")
    Report.objects.filter(reference__startswith="bench-cat-").delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--addresses", type=int, default=500_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--skip-load", action="store_true", help="search what the last run loaded")
    parser.add_argument("--suggestion-only", action="store_true")
    parser.add_argument("--geocoder-only", action="store_true")
    default_dev = next((path for path in (ROOT.parent / "shared" / "eval" / "dev_denhaag.json",
                                          ROOT.parents[1] / "shared" / "eval" / "dev_denhaag.json") if path.exists()),
                       ROOT.parent / "shared" / "eval" / "dev_denhaag.json")
    parser.add_argument("--dev", type=Path, default=default_dev, help="the Den Haag dev set (texts of the labels)")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    # Our own database beside DATABASE_URL's (bench_geocode_<name>), kept between runs; never yours, nor the tests'.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_geocode_{connection.settings_dict['NAME']}"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=True)
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    rng = random.Random(16)
    if not args.suggestion_only:
        bench_geocoder(args.addresses, args.queries, args.skip_load, rng)
    if not args.geocoder_only:
        bench_suggestion(rng, args.dev)


if __name__ == "__main__":
    main()
