"""Possible duplicates: open reports near a point, made within a window of time, ranked by how alike their
texts are. One ranking in one place, for the staff page ("merge into this one") and the resident's
"already reported?" step on the report form.

How alike two texts are is the matching engine's judgement (its words, character n-grams and, where
stored, sentence vectors). Matching sits above participation, so it hands its function in from its own
apps.py (`register_similarity`); without it (a site without the matching app) shared words decide.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from participation.models import Report

# (query title, query description, candidates as (report id, title, description), the query's own report id
# or None) -> one similarity in [0, 1] per candidate.
Similarity = Callable[[tuple[str, str], Sequence[tuple[int, str, str]], "int | None"], list[float]]

POOL = 100  # at most this many reports near the point are ranked: the newest first
# A candidate's place in the ranking: mostly how alike the texts are, a little how near it is.
TEXT_WEIGHT = 0.85
_WORD = re.compile(r"[^\W\d_]{3,}")
_similarity: Similarity | None = None


def register_similarity(function: Similarity | None) -> None:
    """The matching app registers its text similarity here (matching/apps.py)."""
    global _similarity
    _similarity = function


def _shared_words(query: tuple[str, str], candidates: Sequence[tuple[int, str, str]], query_id: int | None) -> list[float]:
    """The fallback: the share of words in common (Jaccard), when no engine is registered."""
    def words(title: str, description: str) -> set[str]:
        return set(_WORD.findall(f"{title} {description}".lower()))

    mine = words(*query)
    scores = []
    for _pk, title, description in candidates:
        theirs = words(title, description)
        scores.append(len(mine & theirs) / len(mine | theirs) if mine and theirs else 0.0)
    return scores


def distance_metres(latitude: float, longitude: float, other_latitude: float, other_longitude: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(latitude), math.radians(other_latitude)
    dphi, dlambda = phi2 - phi1, math.radians(other_longitude - longitude)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(a)))


@dataclass
class Candidate:
    report: Report
    similarity: float  # how alike the texts are, 0..1
    metres: float
    score: float       # the ranking: TEXT_WEIGHT of the similarity, the rest nearness

    @property
    def percent(self) -> int:
        return round(self.similarity * 100)


def possible_duplicates(*, latitude: float, longitude: float, title: str, description: str = "",
                        exclude: int | None = None, around: datetime | None = None, metres: float | None = None,
                        days: int | None = None, limit: int = 5, public_only: bool = False) -> list[Candidate]:
    """Open reports within `metres` (DUPLICATE_DISTANCE_METRES) of the point, made within `days`
    (DUPLICATE_WINDOW_DAYS) of `around` (now), best first. `exclude` is the report itself."""
    metres = settings.DUPLICATE_DISTANCE_METRES if metres is None else metres
    days = settings.DUPLICATE_WINDOW_DAYS if days is None else days
    around = around or timezone.now()
    reports = Report.objects.open().near(latitude, longitude, metres).filter(
        created_at__gte=around - timedelta(days=days), created_at__lte=around + timedelta(days=days))
    if public_only:
        reports = reports.public()
    if exclude is not None:
        reports = reports.exclude(pk=exclude)
    pool = []
    for report in reports.select_related("theme", "department").order_by("-created_at")[:POOL]:
        distance = distance_metres(latitude, longitude, report.latitude, report.longitude)
        if distance <= metres:
            pool.append((report, distance))
    if not pool:
        return []
    similarity = _similarity or _shared_words
    scores = similarity((title, description), [(r.pk, r.title, r.description) for r, _d in pool], exclude)
    found = [Candidate(report, float(s), distance, TEXT_WEIGHT * float(s) + (1 - TEXT_WEIGHT) * (1 - distance / metres))
             for (report, distance), s in zip(pool, scores)]
    found.sort(key=lambda c: (-c.score, c.metres, c.report.pk))
    return found[:limit]


def duplicates_of(report: Report, *, limit: int = 5) -> list[Candidate]:
    """The possible duplicates of a report, for its staff page."""
    return possible_duplicates(latitude=report.latitude, longitude=report.longitude, title=report.title,
                               description=report.description, exclude=report.pk, around=report.created_at,
                               limit=limit)
