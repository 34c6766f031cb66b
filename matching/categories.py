"""Suggesting a report's category as the resident types ("This looks like: Street lighting › Lamp out").

A classifier beside the matching engine, with the engine's text handling (matching/engine/text.py: its tokens,
diacritics folded) and character 4- and 5-grams of each word, so Dutch compounds meet their parts
("lantaarnpaal", "paal") and a misspelling still shares most of its grams. Everything comes from the city's
own data:

- each category's names (in every language) and its main category's, as one short example each;
- every report that has a category, the newest MAX_TRAINING_REPORTS: what staff decided, so a civil
  servant who corrects a category (participation.workflow.change_category) teaches it.

Model: TF-IDF vectors, one L2-normalised centroid per category (Rocchio), cosine to the typed text. It refits
when the categories or the categorised reports change (checked at most every CHECK_SECONDS per process).
"""
from __future__ import annotations

import math
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Max

from matching.engine.text import Analyzer
from participation.models import Category, Report

MAX_TRAINING_REPORTS = 20_000
CHECK_SECONDS = 60
NAME_WEIGHT = 2.0  # a category's own name says more than one resident's words
MIN_SCORE = 0.08


@dataclass(frozen=True)
class Guess:
    category_id: int
    score: float


class CategoryClassifier:
    def __init__(self) -> None:
        self.analyzer = Analyzer(("nl", "en", "sv"), min_token_length=2)
        self.idf: dict[str, float] = {}
        self.index: dict[str, list[tuple[int, float]]] = {}  # feature -> (category id, centroid weight)

    def features(self, text: str) -> Counter[str]:
        """Character 4- and 5-grams of each folded word, with its edges marked. On the labelled set
        (benchmarks/geocode.py) they beat the engine's stems, alone or added: residents write compounds and
        misspell, and category names are short."""
        counted: Counter[str] = Counter()
        for token in self.analyzer.fold_all(self.analyzer.tokens(text)):
            padded = f"<{token}>"
            counted.update(padded[i:i + 4] for i in range(len(padded) - 3))
            counted.update(padded[i:i + 5] for i in range(len(padded) - 4))
        return counted

    def fit(self, examples: list[tuple[str, int, float]]) -> CategoryClassifier:
        """`examples`: (text, category id, weight)."""
        analysed = [(self.features(text), category, weight) for text, category, weight in examples if text.strip()]
        document_frequency: Counter[str] = Counter()
        for counted, _, _ in analysed:
            document_frequency.update(counted.keys())
        n = len(analysed) or 1
        self.idf = {feature: math.log((1 + n) / (1 + df)) + 1 for feature, df in document_frequency.items()}
        centroids: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for counted, category, weight in analysed:
            vector = self._vector(counted)
            for feature, value in vector.items():
                centroids[category][feature] += value * weight
        self.index = defaultdict(list)
        for category, centroid in centroids.items():
            norm = math.sqrt(sum(value * value for value in centroid.values())) or 1.0
            for feature, value in centroid.items():
                self.index[feature].append((category, value / norm))
        return self

    def _vector(self, counted: Counter[str]) -> dict[str, float]:
        vector = {feature: (1 + math.log(count)) * self.idf[feature]
                  for feature, count in counted.items() if feature in self.idf}
        norm = math.sqrt(sum(value * value for value in vector.values())) or 1.0
        return {feature: value / norm for feature, value in vector.items()}

    def rank(self, text: str, limit: int = 3) -> list[Guess]:
        scores: dict[int, float] = defaultdict(float)
        for feature, value in self._vector(self.features(text)).items():
            for category, weight in self.index.get(feature, ()):
                scores[category] += value * weight
        best = sorted(scores.items(), key=lambda item: -item[1])[:limit]
        return [Guess(category, score) for category, score in best]


def training_examples(exclude_report_ids: set[int] | frozenset[int] = frozenset()) -> list[tuple[str, int, float]]:
    """The city's own data: category names, and what staff decided on reports."""
    examples: list[tuple[str, int, float]] = []
    for category in Category.objects.choosable().select_related("parent"):
        names = {category.name, category.name_nl, category.name_en, category.name_sv}
        if category.parent_id:
            parent = category.parent
            names |= {f"{parent_name} {name}" for parent_name in (parent.name, parent.name_nl, parent.name_en,
                                                                   parent.name_sv) if parent_name for name in names}
        examples += [(name, category.pk, NAME_WEIGHT) for name in names if name]
    reports = (Report.objects.filter(category__isnull=False, category__is_active=True).exclude(pk__in=exclude_report_ids)
               .order_by("-created_at").values_list("title", "description", "category_id")[:MAX_TRAINING_REPORTS])
    examples += [(f"{title}. {description}", category_id, 1.0) for title, description, category_id in reports]
    return examples


_lock = threading.Lock()
_fitted: dict[str, object] = {"signature": None, "checked": 0.0, "model": None}


def _signature() -> tuple:
    cached = cache.get("matching:category-signature")
    if cached is None:
        categories = Category.objects.aggregate(n=Count("pk"), last=Max("pk"))
        reports = Report.objects.filter(category__isnull=False).aggregate(n=Count("pk"), last=Max("updated_at"))
        cached = (categories["n"], categories["last"], reports["n"], str(reports["last"]))
        cache.set("matching:category-signature", cached, CHECK_SECONDS)
    return tuple(cached)


def classifier() -> CategoryClassifier:
    """The fitted classifier of this process, refitted when the city's categories or decisions changed."""
    with _lock:
        now = time.monotonic()
        if _fitted["model"] is None or now - float(_fitted["checked"]) > CHECK_SECONDS:  # type: ignore[arg-type]
            signature = _signature()
            if signature != _fitted["signature"] or _fitted["model"] is None:
                _fitted["model"] = CategoryClassifier().fit(training_examples())
                _fitted["signature"] = signature
            _fitted["checked"] = now
        return _fitted["model"]  # type: ignore[return-value]


def forget() -> None:
    """Tests and a category change in the admin: fit again on the next request."""
    with _lock:
        _fitted.update(signature=None, checked=0.0, model=None)
    cache.delete("matching:category-signature")


def suggest(text: str) -> tuple[Category, float] | None:
    """The likeliest category for the text, when there is enough text and one stands out."""
    if len(text.split()) < 3:
        return None
    guesses = classifier().rank(text, limit=2)
    if not guesses or guesses[0].score < MIN_SCORE:
        return None
    category = Category.objects.select_related("parent").filter(pk=guesses[0].category_id, is_active=True).first()
    return (category, guesses[0].score) if category else None
