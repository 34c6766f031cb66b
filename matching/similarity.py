"""How alike one text is to a few reports' texts, by the engine's own measures: its stems (language per
text), its character n-grams, the title's weight, and the sentence vectors where they are stored.

Participation ranks possible duplicates with this (participation/duplicates.py); matching/apps.py
registers it there, so participation never imports matching.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matching.engine import engine as matching
from matching.engine import semantic
from matching.engine.features import Vectorizer
from matching.engine.text import Analyzer
from matching.models import TextVector

MEANING_WEIGHT = 0.5  # the sentence vectors' share where both texts have one; as the engine's semantic_weight
BASELINE_SAMPLE = 2000  # stored report vectors that tell how alike two unrelated reports look
BASELINE_SECONDS = 3600


def meaning_baseline() -> float:
    """The cosine two of the city's reports have on average (for unit vectors the mean pairwise cosine is about
    the squared length of their mean): sentence encoders put unrelated texts far above 0, so a cosine counts
    from there. Read from the newest stored vectors, cached for an hour."""
    from django.core.cache import cache

    cached = cache.get("matching:meaning-baseline")
    if cached is not None:
        return float(cached)
    vectors = [np.frombuffer(v, dtype="<f4") for v in TextVector.objects.filter(report__isnull=False)
               .order_by("-pk").values_list("vector", flat=True)[:BASELINE_SAMPLE]]
    widths = {len(v) for v in vectors}
    baseline = 0.0
    if len(vectors) >= 2 and len(widths) == 1:
        n = len(vectors)
        mean = np.mean(vectors, axis=0)
        # the mean over pairs of distinct vectors: (n^2 |mean|^2 - n) / (n (n - 1))
        baseline = float(max(0.0, min(0.99, (n * n * float(mean @ mean) - n) / (n * (n - 1)))))
    cache.set("matching:meaning-baseline", baseline, BASELINE_SECONDS)
    return baseline


def _vectorizer(texts: list[tuple[str, str]]) -> tuple[Vectorizer, bool]:
    """The stored model's vectorizer (the city's vocabulary and word weights), or one fitted on these texts."""
    from matching.services import model_load

    engine = model_load()
    if engine is not None:
        return engine.vectorizer, True
    config = matching.Config()
    return Vectorizer(Analyzer(config.languages), config.ngram_range, config.title_weight), False


def _stored_vectors(report_ids: list[int]) -> dict[int, tuple[str, np.ndarray]]:
    rows = TextVector.objects.filter(report_id__in=report_ids).values_list("report_id", "fingerprint", "vector")
    return {pk: (fingerprint, np.frombuffer(vector, dtype="<f4")) for pk, fingerprint, vector in rows}


def report_text_similarity(query: tuple[str, str], candidates: Sequence[tuple[int, str, str]],
                           query_id: int | None) -> list[float]:
    """One similarity in [0, 1] per candidate (report id, title, description)."""
    if not candidates:
        return []
    texts = [query, *[(title, description) for _pk, title, description in candidates]]
    vectorizer, fitted = _vectorizer(texts)
    _analysed, vectors = vectorizer.transform(texts) if fitted else vectorizer.fit_transform(texts)
    words = vectors.words
    chars = vectors.chars()
    weight = matching.Config().word_weight
    text = weight * (words[1:] @ words[0].T).toarray().ravel() + (1 - weight) * (chars[1:] @ chars[0].T).toarray().ravel()
    scores = np.clip(text, 0.0, 1.0)

    # Meaning: the stored sentence vectors whose text is still the one they were made of.
    ids = [pk for pk, _t, _d in candidates]
    stored = _stored_vectors(ids + ([query_id] if query_id else []))
    mine = stored.get(query_id) if query_id else None
    if mine is not None and mine[0] == semantic.fingerprint(*query):
        baseline = meaning_baseline()
        for k, (pk, title, description) in enumerate(candidates):
            theirs = stored.get(pk)
            if theirs is not None and theirs[0] == semantic.fingerprint(title, description) and len(theirs[1]) == len(mine[1]):
                meaning = (float(np.dot(mine[1], theirs[1])) - baseline) / (1 - baseline)
                scores[k] = (1 - MEANING_WEIGHT) * scores[k] + MEANING_WEIGHT * min(1.0, max(meaning, 0.0))
    return [float(score) for score in scores]
