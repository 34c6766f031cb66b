#!/usr/bin/env python3
"""Possible duplicates (issue #18): precision and recall at 3 of the one ranking (participation/duplicates.py)
on a labelled set of duplicate pairs.

    .venv/bin/python benchmarks/duplicates.py [--generated 3] [--keep]

The labelled set: the demo city's clusters (participation/demo.py: several residents reporting one concern in
their own words and languages, metres and days apart) and as many generated cities again (other seeds, each
further back in time, so that their reports never meet inside the 30-day window), whose clusters each have
--distractors reports about other concerns on the same spot in the same weeks (the demo has 2 per cluster). Two reports are duplicates
when they belong to one cluster; the background reports of a cluster's concern are kept 400 m away from it.
The reports go into a fresh SQLite database in a temporary folder, with the hub's demo (themes, departments),
their sentence vectors (encode_texts, where the encoder is installed) and a matching run's stored model.

For each open report of a cluster, the top 3 possible duplicates are compared with the other open reports of
its cluster (a merged one is closed, so never a candidate):
  P@3 = hits in the top 3 / 3, averaged; and the same over what was shown (fewer than 3 when fewer are near);
  R@3 = hits in the top 3 / the cluster's other open reports, averaged.
Printed for the platform's ranking (words, character n-grams and meaning), the same without the sentence
vectors, and the plain shared-words fallback.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generated", type=int, default=3, help="generated cities besides the demo (default 3)")
    parser.add_argument("--distractors", type=int, default=8,
                        help="reports about other concerns on each generated cluster's spot, in its weeks (default 8)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and print where it is")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="bench-duplicates-")
    os.environ.update(DEBUG="1", DATABASE_URL=f"sqlite:///{folder}/db.sqlite3", MATCHING_MODEL_DIR=f"{folder}/model",
                      REDIS_URL="")  # Celery tasks run in-process
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartcity.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from participation import demo, duplicates
    from participation.models import Report

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=0)  # the demo city: demo.city() with its default seed
    rows = demo.city()
    for k in range(1, args.generated + 1):
        generated = demo.city(seed=1000 + k, prefix=f"gen{k}", days_back=120 * k, distractors=args.distractors)
        demo.write(generated)
        rows += generated
    call_command("encode_texts", if_enabled=True, verbosity=0)
    call_command("run_matching", verbosity=0)
    print(f"loaded {Report.objects.count()} reports in {time.perf_counter() - started:.0f} s ({folder})")

    cluster_of = {row.key: row.cluster for row in rows if row.cluster}
    pairs = demo.duplicate_pairs(rows)
    reports = {report.reference: report for report in Report.objects.filter(reference__in=list(cluster_of))}
    open_members = {key for key, report in reports.items() if report.is_open}
    print(f"labelled: {len(pairs)} duplicate pairs in {len(set(cluster_of.values()))} clusters; "
          f"{len(open_members)} open cluster reports are the queries")

    from matching.similarity import report_text_similarity

    def words_only(query, candidates, query_id):
        return report_text_similarity(query, candidates, None)  # no query vector: the meaning is left out

    rankings = [("words, n-grams and meaning (the platform)", report_text_similarity),
                ("words and n-grams, without sentence vectors", words_only),
                ("shared words only (the fallback)", duplicates._shared_words)]
    for name, function in rankings:
        duplicates.register_similarity(function)
        precision, shown_precision, recall, timings = [], [], [], []
        for key in sorted(open_members):
            relevant = {other for other in open_members if other != key and cluster_of[other] == cluster_of[key]}
            if not relevant:
                continue
            start = time.perf_counter()
            top = [c.report.reference for c in duplicates.duplicates_of(reports[key], limit=3)]
            timings.append(time.perf_counter() - start)
            hits = len(relevant & set(top))
            precision.append(hits / 3)
            shown_precision.append(hits / len(top) if top else 0.0)
            recall.append(hits / len(relevant))
        timings.sort()
        print(f"\n{name}: {len(precision)} queries")
        print(f"  P@3 {sum(precision) / len(precision):.3f}   (over what was shown: "
              f"{sum(shown_precision) / len(shown_precision):.3f})")
        print(f"  R@3 {sum(recall) / len(recall):.3f}")
        print(f"  one ranking: p50 {timings[len(timings) // 2] * 1000:.1f} ms, "
              f"p95 {timings[int(len(timings) * 0.95)] * 1000:.1f} ms")
    sizes = [len([o for o in open_members if o != k and cluster_of[o] == cluster_of[k]]) for k in open_members]
    best = sum(min(3, size) / 3 for size in sizes if size) / max(1, sum(1 for size in sizes if size))
    print(f"\nthe highest P@3 these clusters allow (most have 2 or 3 members): {best:.3f}")
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
