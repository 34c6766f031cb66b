"""The matching engine: which societal challenge does a report, department challenge or pilot
belong to, and where do departments meet? Plain Python and sparse maths, no Django.

docs/matching.md explains the method, the signals, how confidence works and the figures.
"""
from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree
from scipy.special import expit
from scipy.stats import norm, poisson

from .features import Vectorizer, Vectors, row_norms, shared_weight
from .state import StateError, state_dump, state_load
from .text import OTHER, Analyzer, function_words

KINDS = ("report", "department_challenge", "pilot")
# Kinds whose texts are also read whole (``Document.whole_vector``), as every challenge's is: few, long, and encoded
# off the request path. A report is read up to semantic.MAX_TOKENS only (one new report is encoded within 60 ms).
WHOLE_KINDS = ("department_challenge", "pilot")


def read_whole(item: "Challenge | Document") -> bool:
    """Whether the item's text is also read whole (``whole_vector``): every challenge, and the ``WHOLE_KINDS``."""
    return isinstance(item, Challenge) or item.kind in WHOLE_KINDS
# Bumped when a stored Engine (state()) of an older version can no longer score: such a stored
# model is then ignored and a full run makes a new one.
MODEL_FORMAT = 8  # 5: each department's rows and sentence-vector sums (department_out) travel with the model; 6: the decisions' calibration;
# 7: the challenges' whole-text vectors; 8: the stems' document frequencies (_word_share)


@dataclass(frozen=True)
class Challenge:
    """A societal challenge: the hub that items are matched to."""
    key: str
    title: str
    description: str
    themes: tuple[str, ...] = ()
    linked_text: tuple[str, ...] = ()  # accepted for the interface; linked items carry the signal
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)  # see semantic.py
    whole_vector: np.ndarray | None = field(default=None, compare=False, repr=False)  # the whole text read (semantic.py)


@dataclass(frozen=True)
class Document:
    """An item to place: a report, a department challenge or a pilot."""
    key: str
    kind: str
    title: str
    description: str
    themes: tuple[str, ...] = ()
    department: str | None = None
    point: tuple[float, float] | None = None  # (lat, lon)
    linked: tuple[str, ...] = ()              # challenge keys staff confirmed
    rejected: tuple[str, ...] = ()            # challenge keys staff rejected for this item
    no_challenge: bool = False                # staff decided: about no societal challenge at all
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)  # see semantic.py
    # a long text (department challenge, pilot) read whole, beside ``vector``'s first 48 tokens
    whole_vector: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Decisions:
    """What staff decided about one item now: for ``Engine.suggest``, which reads the reports near a new one as the
    fit placed them, and as staff decided since."""
    linked: frozenset[str] = frozenset()    # challenge keys
    rejected: frozenset[str] = frozenset()  # challenge keys
    no_challenge: bool = False
    gone: bool = False  # no longer an item the engine reads: deleted, hidden, marked a duplicate or closed since


_NO_DECISIONS = Decisions()


@dataclass(frozen=True)
class Neighbour:
    """A located report that came in since the fit, near a new one (``Engine.suggest``'s ``recent``), and where its
    own scoring placed it: its first suggestion's challenge (a report's first suggestion is where the engine places
    it), or nothing."""
    key: str
    point: tuple[float, float]  # (lat, lon)
    placed: frozenset[str] = frozenset()  # challenge keys


# reports that came in since the fit, near a point: (point, radius in metres, how many at most, nearest first)
Recent = Callable[[tuple[float, float], float, int], Sequence[Neighbour]]


@dataclass(frozen=True)
class Reason:
    """Why: ``code`` is one of
    - "terms": values are the item's own words that also weigh in the challenge's profile,
      content words only (``Engine._topical``);
    - "themes": values are the theme slugs both sides carry;
    - "meaning": the sentence vectors alone make the item stand out for the challenge
      (close in meaning, also across languages);
    - "nearby": count is the number of nearby reports already linked or suggested to it;
    - "confirmed": count is the number of items staff confirmed for the challenge;
    - "departments": (flags) values are the departments that meet;
    - "reports" / "pilots": (flags) count is the number of supporting items.
    """
    code: str
    values: tuple[str, ...] = ()
    count: int = 0


@dataclass(frozen=True)
class Suggestion:
    item: str
    challenge: str
    score: float  # 0..1: how likely against "belongs to none" and the runner-up; an item's first is >= 0.5
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class MatchFlag:
    challenge: str | None
    proposed_title: str | None
    department_challenges: tuple[str, ...]
    reports: tuple[str, ...]
    pilots: tuple[str, ...]
    score: float
    reasons: tuple[Reason, ...]
    fingerprint: str


@dataclass(frozen=True)
class Config:
    """Weights and thresholds. Thresholds are z-scores: how far a score stands out from how
    the same challenge scores the other items of the same kind, never a raw similarity, so
    they carry over to other cities, languages and text lengths."""
    languages: tuple[str, ...] = ("nl", "en", "sv")  # the first is the fallback
    word_weight: float = 0.5        # stems versus character n-grams
    title_weight: float = 2.0       # a title word counts as this many body words
    ngram_range: tuple[int, int] = (3, 5)
    theme_weight: float = 0.1       # added to the similarity per shared-theme Jaccard, if both have themes
    prf_rounds: int = 2             # rounds of pseudo-relevance feedback
    prf_weight: float = 1.0         # weight of the confident members' centroid in a profile
    prf_min_z: float = 2.0          # an item joins a profile at this confidence...
    prf_min_margin: float = 0.6     # ...and this margin over its runner-up
    link_weight: float = 0.0        # weight of a staff-confirmed member the engine is not itself confident about
    reject_weight: float = 0.5      # weight subtracted for rejected members' centroid
    geo_neighbours: int = 8         # nearest reports looked at for the "nearby" signal
    geo_radius_m: float = 750.0
    geo_weight: float = 0.0         # z added per share of nearby reports on the same challenge
    # "belongs to none" (see _abstention): per kind, the none alternative's level is this quantile
    # of the items' runner-up z (what a challenge an item does not belong to reaches at best)...
    none_quantile: float = 0.5
    none_softness: float = 1.0      # ...and choices are soft by this many null spreads of z
    min_probability: float = 0.5    # a suggestion's challenge must be at least this likely
    competitors: int = 2            # challenges (best first) that compete with "none" in that choice
    # staff decisions calibrate that probability (see _calibration): the engine's own probabilities
    # count as this many decisions, so a few decisions move it a little and thousands decide it
    decision_prior: float = 100.0
    # ...and what they teach is where the engine decides: a decision counts fully on an item at the bar, half on one
    # whose own odds were this many times the bar's either way (1/3 or 2/3 at a bar of 0.5), less further away, but
    # never less than decision_far_count (_decision_counts); 0 counts every decision fully
    decision_half_odds: float = 2.0
    decision_far_count: float = 0.1
    # a reason's word is significantly more frequent in the challenge's texts than in texts
    # like them (one-sided: 3.09 is 1 in 1,000 by chance; _topical)...
    term_min_z: float = 3.09
    term_min_lift: float = 2.0      # ...and at least this many times as frequent
    term_prior_texts: float = 20.0  # ...where a small kind's word rates lean on its language's as if it had this many texts more
    multi_kinds: tuple[str, ...] = ("pilot",)  # kinds that may serve several challenges
    extra_within: float = 0.5       # further suggestions within this of the best
    max_suggestions: int = 3
    cluster_min_z: float = 3.0      # unmatched department challenges group at this pair z
    cluster_meaning: bool = True    # ...in words and meaning, as the neighbour rule reads pairs (round 17); off: words alone
    flag_neighbours: bool = True    # an unplaced department challenge joins the flag of its mutual nearest one (_neighbours)
    flag_one_claim: bool = True     # ...only when no member of another flag has it as its nearest too
    # ...nearest in meaning by whole-text readings, for the kinds read whole (``_pair_z``, ``_readings``; round 17)
    flag_whole_texts: bool = True
    cluster_reference: int = 2000   # items sampled as the yardstick for pair similarities
    flag_reports: int = 20          # at most this many supporting reports per flag
    min_kind_size: int = 8          # below this many items of a kind, use all items' statistics
    # ...and below this many items per challenge for a kind of one answer (_own_yardstick): a column's
    # spread over fewer is set by whether its one member happens to be among them
    min_items_per_challenge: float = 2.0
    per_language: bool = False      # standardise per kind and language
    language_shift: bool = True     # judge a kind's other languages against its main language (see _language_shifts)
    language_levels: bool = True    # ...and give each such language its own "none" level (_abstention; round 18)
    robust: bool = False            # median/MAD instead of mean/standard deviation
    semantic_weight: float = 0.5    # share of the sentence-vector z in an item's z, where vectors are given
    # ...and an item with less than this share of its words' weight on words that other texts of the city use too
    # takes the blend its meaning leads one to expect: words cannot compare a text in a language the city hardly
    # writes in (_word_share, _channel_slope; round 19)
    min_word_share: float = 0.1
    # ...and within that, the share of the challenges' texts read whole (_whole_setup): each item's vector (a long
    # item's whole-text one) against each challenge's whole-text vector, without profiles
    whole_text_weight: float = 0.5
    department_out: bool = True     # a department challenge is scored against profiles without its own department's members


BLOCK = 8192  # rows per block where a whole (items x challenges) temporary would double the memory


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def _nearest(semantic_z: np.ndarray, has: np.ndarray) -> np.ndarray:
    """Per row: the challenge nearest in meaning by the sentence vectors alone (the best
    semantic z, and above the usual), or -1. What the "meaning" reason says; for an English
    report on a Dutch challenge it is often the whole case, since few words match."""
    if semantic_z.shape[1] == 0:
        return np.full(len(semantic_z), -1, dtype=np.int64)
    best = np.argmax(semantic_z, axis=1)
    above = semantic_z[np.arange(len(best)), best] > 0
    return np.where(has & above, best, -1)


def _row_columns(matrix: sp.csr_matrix | None, row: int) -> np.ndarray:
    """The columns of a CSR matrix's stored entries in one row (none for no matrix): without slicing the matrix."""
    if matrix is None:
        return np.zeros(0, dtype=np.int32)
    return matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]


def _dense(matrix) -> np.ndarray:
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)


def _logistic_map(features: np.ndarray, labels: np.ndarray, prior: np.ndarray, precision: float,
                  counts: np.ndarray | None = None) -> tuple[float, float, float]:
    """The most likely weights of a logistic regression of ``labels`` (0/1) on ``features``
    under a normal prior around ``prior`` with this ``precision`` per weight (Newton's method;
    the problem is convex), each example counting ``counts`` times (1 without). The slope on the
    log-odds (the second weight) stays positive."""
    weights = prior.astype(np.float64).copy()
    counts = np.ones(len(labels)) if counts is None else counts
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(features @ weights)))
        gradient = features.T @ (counts * (p - labels)) + precision * (weights - prior)
        hessian = (features * (counts * p * (1 - p))[:, None]).T @ features + precision * np.eye(len(weights))
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-9:
            break
    a, b, c = (float(w) for w in weights)
    return a, max(b, 0.05), c


@dataclass
class _Profiles:
    words: sp.csr_matrix       # challenges x stems, not normalised
    chars: sp.csr_matrix       # challenges x n-grams, not normalised
    weights: sp.csr_matrix     # items x challenges: each item's weight in each profile
    word_norms: np.ndarray     # squared norms of the profiles
    char_norms: np.ndarray
    words_t: sp.csr_matrix     # the transposes, for scoring a few items
    chars_t: sp.csr_matrix
    # for scoring all items at once during the fit (dense, so left out of a pickle):
    dense_words_t: np.ndarray | None = None   # stems x challenges
    token_scores: np.ndarray | None = None    # fitted tokens x challenges: grams @ chars.T
    # sentence vectors (semantic.py), when given: challenges x dimensions, not normalised
    semantic: np.ndarray | None = None
    semantic_norms: np.ndarray | None = None


class Engine:
    # The fitted state that fit() sets and later steps read, typed for mypy: None where a feature is off
    # (no sentence vectors, no located reports) or not computed yet.
    profiles: _Profiles
    z: np.ndarray
    semantic_challenges: np.ndarray | None
    semantic_stats: dict[str, tuple[np.ndarray, np.ndarray]] | None
    combined_stats: dict[str, tuple[np.ndarray, np.ndarray]] | None
    whole_challenges: np.ndarray | None
    whole_stats: dict[str, tuple[np.ndarray, np.ndarray]] | None
    whole_items: dict[int, np.ndarray] | None
    item_vectors: np.ndarray | None
    has_vector: np.ndarray | None
    nearest_meaning: np.ndarray | None
    tree: cKDTree | None
    _support: sp.csc_matrix | None
    pilot_rows: np.ndarray | None
    _stem_names: list[str] | None
    _topical_keys: np.ndarray | None
    # department_out: each department's fitted department challenges, and its members' sums per profile
    department_rows: dict[str, np.ndarray]
    department_semantic: dict[str, tuple[np.ndarray, np.ndarray]]
    department_terms: dict[str, dict[str, tuple]]

    def __init__(self, config: Config | None = None):
        self.config = config or Config()
        self.model_format = MODEL_FORMAT
        self.analyzer = Analyzer(self.config.languages)
        self.vectorizer = Vectorizer(self.analyzer, self.config.ngram_range, self.config.title_weight)

    # What the fit needs but scoring a new item with ``suggest`` does not: left out of state() (and a pickle),
    # so the model the Django layer stores after a full run stays small. A loaded engine
    # scores new items; ``suggestions()`` and ``match_flags()`` belong to the fit itself.
    _FIT_ONLY = ("z", "analysed", "challenge_analysed", "documents", "kinds", "kind_languages", "kinds_plain",
                 "neighbours", "geo", "members", "linked", "rejected", "theme_matrix", "challenge_words",
                 "challenge_chars", "_support", "linked_by_challenge", "pilot_rows", "_stem_names",
                 "item_vectors", "has_vector", "nearest_meaning", "nones", "_topical_keys", "_pair_cache", "whole_items",
                 "meaning_alone", "_document_keys")

    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in self._FIT_ONLY}
        if "profiles" in state:
            state["profiles"] = replace(state["profiles"], dense_words_t=None, token_scores=None)
        return state

    def compact(self) -> "Engine":
        """Drop what only the fit needs, in place (see ``_FIT_ONLY``): for keeping a fitted
        engine in memory to score new items after ``suggestions()`` and ``match_flags()``."""
        self.__setstate__(self.__getstate__())
        for name in self._FIT_ONLY:
            self.__dict__.pop(name, None)
        return self

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._stem_names = self._topical_keys = None

    def state(self) -> tuple[dict[str, np.ndarray], dict]:
        """The fitted engine as numpy arrays and plain JSON (state.py), without pickle: what ``__getstate__``
        keeps, which is what scoring new items needs. ``Engine.from_state(*engine.state())`` scores alike."""
        arrays, meta = state_dump(self)
        return arrays, {"model_format": MODEL_FORMAT, **meta}

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict) -> "Engine":
        """The engine ``state()`` described. StateError for a state of another engine version or format."""
        if meta.get("model_format") != MODEL_FORMAT:
            raise StateError(f"engine model format {meta.get('model_format')!r}, expected {MODEL_FORMAT}")
        engine = state_load(arrays, meta)
        if not isinstance(engine, cls):
            raise StateError(f"the state holds a {type(engine).__name__}, not an engine")
        return engine

    # fitting ------------------------------------------------------------------------------

    def fit_stages(self) -> int:
        """How many steps ``fit`` reports to its ``progress`` callback."""
        return 4 + self.config.prf_rounds

    def fit(self, challenges: Sequence[Challenge], documents: Sequence[Document],
            progress: Callable[[int, int], None] | None = None) -> "Engine":
        cfg = self.config
        report = progress or (lambda done, total: None)
        self._readable: dict[int, str] = {}
        self._stem_names = self._topical_keys = None
        self._pair_cache: dict[tuple, np.ndarray] = {}
        stages = self.fit_stages()
        report(0, stages)
        self.challenges = list(challenges)
        self.documents = list(documents)
        self.challenge_index = {c.key: j for j, c in enumerate(self.challenges)}
        self.document_index = {d.key: i for i, d in enumerate(self.documents)}
        nc = len(self.challenges)
        texts = [(c.title, c.description) for c in self.challenges]
        texts += [(d.title, d.description) for d in self.documents]
        analysed, vectors = self.vectorizer.fit_transform(texts)
        self.n_tokens = vectors.grams.shape[0]
        self.challenge_analysed = analysed[:nc]
        self.analysed = analysed[nc:]
        self.challenge_words = vectors.words[:nc]
        self.challenge_chars = sp.csr_matrix(vectors.tokens[:nc] @ vectors.grams)
        self.vectors = Vectors(vectors.words[nc:], vectors.tokens[nc:], vectors.grams)
        self._themes_setup()
        self.kinds = np.array([self._group(d.kind, a.language) for d, a in zip(self.documents, self.analysed)])
        self.kind_languages = np.array([f"{d.kind}:{a.language}" for d, a in zip(self.documents, self.analysed)])
        self.linked = self._pairs(lambda d: d.linked)
        self._departments_setup()
        self.rejected = self._pairs(lambda d: d.rejected)
        self._geo_setup()
        self._semantic_setup()
        # items staff decided are about no challenge: never a profile member, never suggested
        self.nones = np.fromiter((d.no_challenge and not d.linked for d in self.documents), dtype=bool,
                                 count=len(self.documents))
        report(1, stages)

        members = sp.csr_matrix((len(self.documents), nc), dtype=np.float32)
        z = None
        for round_ in range(cfg.prf_rounds + 1):
            del z  # one (items x challenges) array at a time
            self.profiles = self._profiles(members)
            raw = self._raw(self.vectors, self.theme_matrix)
            self.stats = self._statistics(raw)
            z = self._standardise(raw, self.kinds)
            del raw
            if self.semantic_challenges is not None:
                z = self._with_semantic(z)
            self.shifts = self._language_shifts(z)
            z = self._shift(z, self.kind_languages)
            if round_ < cfg.prf_rounds:
                members = self._decided(self._confident(z, cfg.prf_min_z, cfg.prf_min_margin))
            report(2 + round_, stages)
        assert z is not None  # the loop runs at least once
        self.members = members
        self._support = self.pilot_rows = None  # see _flag_support
        self.kinds_plain = np.array([d.kind for d in self.documents])
        self.confirmed_counts = np.asarray(self.linked.sum(axis=0)).ravel().astype(int)
        self.abstention = self._abstention(z)
        self.calibration = self._calibration(z)
        own = self._placed(z, keep_nones=True)
        placed = sp.csr_matrix(own.multiply((~self.nones)[:, None]), dtype=np.float32)
        placed.eliminate_zeros()
        # a challenge's texts, for telling its content words: its own, and the items placed on it
        self.topical = self._topical(sp.csr_matrix(placed.maximum(members).maximum(self.linked)))
        self.geo = self._geo_counts(placed, own)
        if not cfg.geo_weight:  # the scores stay as they are: what is placed now is what flags count
            self._support = sp.csc_matrix(placed)
        if cfg.geo_weight:
            z += cfg.geo_weight * self.geo_share()
        self.z = z
        report(stages, stages)
        return self

    # sentence vectors ------------------------------------------------------------------------
    def _semantic_setup(self) -> None:
        """The semantic channel is on when every challenge and at least one item carries a
        sentence vector of one width and ``semantic_weight`` is set; items without a vector
        (not encoded yet) are then scored on words alone."""
        self.semantic_challenges = None
        self.semantic_stats = self.combined_stats = None
        self.item_vectors = self.has_vector = self.nearest_meaning = self.meaning_alone = None
        self.other_alone = False
        self.channel_slope = 0.0
        self.whole_challenges = self.whole_stats = self.whole_items = None
        widths = {None if c.vector is None else len(c.vector) for c in self.challenges}
        if not self.config.semantic_weight or not self.challenges or len(widths) != 1 or None in widths:
            return
        width = widths.pop()
        assert width is not None  # None in widths returned above
        has = np.fromiter((d.vector is not None and len(d.vector) == width for d in self.documents),
                          dtype=bool, count=len(self.documents))
        if not has.any():
            return
        self.semantic_challenges = _unit_rows(np.stack([c.vector for c in self.challenges if c.vector is not None]))
        items = np.zeros((len(self.documents), width), dtype=np.float32)
        rows = np.flatnonzero(has)
        items[rows] = _unit_rows(np.stack([v for i in rows if (v := self.documents[i].vector) is not None]))
        self.item_vectors, self.has_vector = items, has
        # no words to speak of: none another text uses (_word_share), or in a language none of ours (OTHER), unless
        # the challenges are written in such a language themselves (a city whose language is not configured)
        self.other_alone = sum(a.language == OTHER for a in self.challenge_analysed) * 2 <= len(self.challenge_analysed)
        foreign = np.fromiter((a.language == OTHER and self.other_alone for a in self.analysed), dtype=bool,
                              count=len(self.analysed))
        self.meaning_alone = has & ((self._word_share() < self.config.min_word_share) | foreign)
        self._whole_setup(width)

    def _whole_setup(self, width: int) -> None:
        """The challenges' texts read whole: a second part of the meaning channel (issue 19, round 16).

        The encoder reads 48 tokens of a text (semantic.MAX_TOKENS): a report's title and first sentences, but only
        the start of a challenge's or a department challenge's 120 to 300. Those few long texts are encoded whole too
        (``whole_vector``, off the request path). Each item's vector (a long item's whole-text one) against each
        challenge's whole-text vector is a score without profiles, standardised like the others per challenge and
        kind (``whole_stats``), and makes up ``whole_text_weight`` of an item's meaning z (``_mix_whole``). On when
        every challenge carries a whole-text vector of the vectors' width. The scores are made again, block by block,
        where they are blended (``_whole_z``): kept, they were one more (items x challenges) array through the fit."""
        if not self.config.whole_text_weight or any(
                c.whole_vector is None or len(c.whole_vector) != width for c in self.challenges):
            return
        assert self.has_vector is not None  # set by _semantic_setup
        self.whole_challenges = _unit_rows(np.stack([c.whole_vector for c in self.challenges if c.whole_vector is not None]))
        self.whole_items = {int(i): _unit_rows(np.asarray(v, dtype=np.float32).reshape(1, -1))[0]
                            for i in np.flatnonzero(self.has_vector)
                            if (v := self.documents[i].whole_vector) is not None and len(v) == width}
        raw = np.concatenate([self._whole_raw(start, min(start + BLOCK, len(self.documents)))
                              for start in range(0, len(self.documents), BLOCK)])
        self.whole_stats = self._statistics(raw, self.has_vector)

    def _whole_raw(self, start: int, stop: int) -> np.ndarray:
        """The fitted items ``start:stop``'s cosines with the challenges' whole-text vectors (a long item's read
        whole too)."""
        assert self.whole_challenges is not None
        return self._readings(range(start, stop)) @ self.whole_challenges.T

    def _whole_z(self, semantic: np.ndarray) -> None:
        """The fitted items' meaning z (``semantic``) blended with their whole-text z, in place, block by block."""
        assert self.has_vector is not None
        for start in range(0, len(semantic), BLOCK):
            stop = min(start + BLOCK, len(semantic))
            whole = self._standardise(self._whole_raw(start, stop), self.kinds[start:stop], self.whole_stats)
            rows = np.flatnonzero(self.has_vector[start:stop])
            block = semantic[start:stop]  # a view: the blend lands in ``semantic``
            self._mix_whole(block, whole, rows)

    def _mix_whole(self, semantic: np.ndarray, whole: np.ndarray, rows: np.ndarray) -> None:
        """``semantic``'s ``rows`` become their blend with ``whole`` (both standardised), in place, combined as
        independent evidence is (Stouffer's z: the weighted sum over the root of the squared weights). The two readings
        are of one text and often agree, and then their blend stands out further than either: a challenge that both
        the item's start and the challenge's whole text point to counts for more than one that only one of them
        does. (The blend standardised again instead lost that, and the reports' gains with it: docs/matching.md,
        round 16.) The words-and-meaning blend after it is standardised again (``combined_stats``)."""
        weight = self.config.whole_text_weight
        scale = 1.0 / math.sqrt((1 - weight) ** 2 + weight ** 2)
        for start in range(0, len(rows), BLOCK):
            block = rows[start:start + BLOCK]
            semantic[block] = ((1 - weight) * semantic[block] + weight * whole[block]) * scale

    def _semantic_raw(self, vectors: np.ndarray, rows: Sequence[int | None] | None = None,
                      departments: Sequence[str | None] | None = None) -> np.ndarray:
        """Cosine of each sentence vector with each challenge's semantic profile, an item that
        is part of a profile again left out of it (as in ``_raw``). Without ``rows`` the
        vectors are the fitted items'."""
        p = self.profiles
        assert p.semantic is not None and p.semantic_norms is not None  # called only with the channel on
        sims = np.asarray(vectors @ p.semantic.T, dtype=np.float32)
        if rows is None:
            assert self.has_vector is not None
            coo = p.weights.tocoo()
            r, c, m = coo.row, coo.col, coo.data
            own = self.has_vector[r].astype(np.float32)
        else:
            pairs = [(k, i) for k, i in enumerate(rows) if i is not None]
            r = np.concatenate([np.full(p.weights.indptr[i + 1] - p.weights.indptr[i], k) for k, i in pairs] or [np.zeros(0, int)])
            c = np.concatenate([p.weights.indices[p.weights.indptr[i]:p.weights.indptr[i + 1]] for _, i in pairs] or [np.zeros(0, int)])
            m = np.concatenate([p.weights.data[p.weights.indptr[i]:p.weights.indptr[i + 1]] for _, i in pairs] or [np.zeros(0, np.float32)])
            # the stored model keeps no item vectors: a changed item's old vector is taken to
            # be its new one, which is exact for an unchanged text
            own = np.ones(len(r), dtype=np.float32)
        corrected = (sims[r, c] - m * own) / np.sqrt(np.maximum(p.semantic_norms[c] - 2 * m * sims[r, c] + m * m * own, 1e-12))
        sims /= np.sqrt(np.maximum(p.semantic_norms, 1e-12))
        sims[r, c] = corrected
        if rows is None:
            assert self.item_vectors is not None
            self.department_semantic = {}
            for k, members, name in self._own_departments(True):
                own = np.asarray(sp.csr_matrix(p.weights[members].T) @ self.item_vectors[members], dtype=np.float32)
                columns = np.flatnonzero(np.abs(own).sum(axis=1) > 0)
                # what suggest() needs to score a department challenge of this department alike
                self.department_semantic[name] = (columns, own[columns])
                sims[np.ix_(k, columns)] = self._without_dense(vectors[k], columns, own[columns], p.semantic, p.semantic_norms)
        elif departments is not None:
            stored = self.__dict__.get("department_semantic") or {}
            for n, name in enumerate(departments):
                if self.config.department_out and name is not None and name in stored:
                    columns, own = stored[name]
                    sims[np.ix_([n], columns)] = self._without_dense(vectors[[n]], columns, own, p.semantic, p.semantic_norms)
        return sims

    # a department's own jargon ---------------------------------------------------------------------
    def _departments_setup(self) -> None:
        """The fitted department challenges of each department (rows), for ``department_out``."""
        rows: dict[str, list[int]] = defaultdict(list)
        for i, d in enumerate(self.documents):
            if d.kind == "department_challenge" and d.department:
                rows[d.department].append(i)
        self.department_rows = {name: np.array(found, dtype=np.int64) for name, found in rows.items()}
        self.department_semantic = {}
        self.department_terms = {}

    def _own_departments(self, fitted: bool, departments: Sequence[str | None] | None = None):
        """(rows to score, fitted rows of their department that are profile members, the department) per department:
        for the fitted items, or for new texts of the given ``departments`` (None: not a department challenge).

        A department writes its own jargon and its own clients into every challenge it files ("our
        care homes", "the park administration"): a department challenge scored against a profile that
        holds its department's other challenges finds that jargon again and is pulled to their
        challenge. So, with ``department_out``, a department challenge is scored against every
        profile without its own department's members (its own share included: this replaces the
        leave-one-out for it). The challenge's text, the residents' reports and the other
        departments' challenges still say what the challenge is about."""
        if not self.config.department_out:
            return
        stored = self.__dict__.get("department_rows") or {}
        weights = self.profiles.weights
        if fitted:
            for name, rows in stored.items():
                members = rows[np.diff(weights.indptr)[rows] > 0]
                if len(members):
                    yield rows, members, name
            return
        for k, name in enumerate(departments or ()):
            rows = stored.get(name) if name is not None else None
            if rows is not None:
                members = rows[np.diff(weights.indptr)[rows] > 0]
                if len(members):
                    yield np.array([k]), members, name

    def _without(self, space: str, name: str, x: sp.csr_matrix, plain: np.ndarray, members: np.ndarray,
                 member_vectors: sp.csr_matrix | None, member_plain: np.ndarray | None,
                 norms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(columns, cosines): the rows ``x`` of department ``name`` (``plain``: their products with the
        profiles, not yet divided by the profiles' norms) against each profile that holds any of the
        department's ``members``, without them; every other profile holds none of them, and there the
        plain cosine stands. In a fit (``member_vectors`` and the members' own products ``member_plain``
        given) the department's sums are computed and kept for ``suggest()``: the members' summed
        vectors per profile, their product with the profile and their squared norm."""
        kept: dict = self.__dict__.setdefault("department_terms", {}).setdefault(space, {})
        if member_vectors is not None and member_plain is not None:
            weights = sp.csr_matrix(self.profiles.weights[members])
            own = sp.csr_matrix(sp.csr_matrix(weights.T) @ member_vectors)           # challenges x features
            columns = np.flatnonzero(np.diff(own.indptr))
            own = sp.csr_matrix(own[columns])
            # (u - s).(u - s) needs u.s: the members' own products with u, weighted
            cross = np.asarray(weights[:, columns].multiply(member_plain[:, columns]).sum(axis=0)).ravel()
            square = np.asarray(own.multiply(own).sum(axis=1)).ravel()
            kept[name] = (columns, own, cross, square)
        elif name in kept:
            columns, own, cross, square = kept[name]
        else:
            return np.zeros(0, dtype=np.int64), np.zeros((x.shape[0], 0), dtype=np.float32)
        if x.shape[1] != own.shape[1]:  # a new text's unseen n-grams weigh in no profile
            x = sp.csr_matrix(x[:, : own.shape[1]]) if x.shape[1] > own.shape[1] else \
                sp.csr_matrix((x.data, x.indices, x.indptr), shape=(x.shape[0], own.shape[1]))
        dot = plain[:, columns] - _dense(x @ own.T)
        return columns, (dot / np.sqrt(np.maximum(norms[columns] - 2 * cross + square, 1e-12))[None, :]).astype(np.float32)

    @staticmethod
    def _without_dense(x: np.ndarray, columns: np.ndarray, own: np.ndarray, profiles: np.ndarray,
                       norms: np.ndarray) -> np.ndarray:
        """As ``_without``, for sentence vectors: ``own`` holds the members' sums for ``columns``."""
        part = profiles[columns]
        dot = x @ part.T - x @ own.T
        denominator = np.sqrt(np.maximum(norms[columns] - 2 * np.einsum("ij,ij->i", part, own)
                                         + np.einsum("ij,ij->i", own, own), 1e-12))
        return (dot / denominator[None, :]).astype(np.float32)

    def _with_semantic(self, z: np.ndarray) -> np.ndarray:
        """Blend the words' z with the sentence vectors' z, per item that has a vector, and
        standardise the blend again, so that thresholds keep their meaning."""
        assert self.item_vectors is not None and self.has_vector is not None  # the channel is on
        semantic = self._semantic_raw(self.item_vectors)
        self.semantic_stats = self._statistics(semantic, self.has_vector)
        semantic = self._standardise(semantic, self.kinds, self.semantic_stats)
        if self.whole_challenges is not None:
            self._whole_z(semantic)
        self.nearest_meaning = _nearest(semantic, self.has_vector)
        assert self.meaning_alone is not None  # set with has_vector
        self.channel_slope = self._channel_slope(z, semantic, self.has_vector & ~self.meaning_alone)
        self._blend(z, semantic, self.has_vector, self.meaning_alone)
        del semantic
        self.combined_stats = self._statistics(z)
        return self._standardise(z, self.kinds, self.combined_stats)

    def _blend(self, z: np.ndarray, semantic: np.ndarray, has: np.ndarray, alone: np.ndarray | None) -> None:
        """``z`` (the words') becomes the blend with ``semantic`` for the rows that have a vector, in place. The
        rows ``alone`` marks (``_word_share``) have no words to speak of: their words' z is estimated from their
        meaning's z (``channel_slope``), so they take the blend that their meaning leads one to expect."""
        weight = self.config.semantic_weight
        rows = np.flatnonzero(has)
        for start in range(0, len(rows), BLOCK):
            block = rows[start:start + BLOCK]
            z[block] = (1 - weight) * z[block] + weight * semantic[block]
        if alone is not None and alone.any():
            z[alone] = (weight + (1 - weight) * self.channel_slope) * semantic[alone]

    @staticmethod
    def _channel_slope(words: np.ndarray, semantic: np.ndarray, rows: np.ndarray) -> float:
        """How far the words' z of an (item, challenge) goes with its meaning's z, over the items that have both
        (``rows``; a few thousand evenly spread tell it as well as all): the slope of the one on the other, never
        below 0. It estimates the words' z of an item whose words no other text uses (round 19): in the six
        labelled sets 0.49 to 0.54, so such an item's meaning counts for about three quarters of a blend where it
        would count for half, and its z keeps the blend's spread instead of the meaning's wider one."""
        rows = np.flatnonzero(rows)
        rows = rows[:: max(1, len(rows) // 2000)]
        if len(rows) < 2:
            return 0.0
        x = semantic[rows].astype(np.float64).ravel()
        y = words[rows].astype(np.float64).ravel()
        x -= x.mean()
        spread = float(x @ x)
        return max(float(x @ (y - y.mean())) / spread, 0.0) if spread > 0 else 0.0

    def _word_share(self) -> np.ndarray:
        """Per fitted item: the share of its words' weight (squared TF-IDF of its stems) on stems that another
        text of the city uses too, the challenges' included (round 19; ``Vectorizer.shared_share`` for an item
        ``suggest()`` scores).

        Words compare a text only through the words it shares with others. A report in a language the city
        hardly writes in (Turkish, Portuguese or Persian in Rotterdam or Uppsala) shares almost none: its words' z
        against every challenge is what any text without common words gets, and blended in, it halves what the
        meaning says. Such an item is scored by its meaning (``_blend``), as an item without a vector is scored
        by its words. In the six labelled sets every text in the city's language or English has 0.18 or more, and the
        texts in other languages 0 to 0.12 (the Scandinavian neighbour languages 0.3 to 0.4: their words do
        compare)."""
        words = self.vectors.words.tocsr()
        n = words.shape[0]
        item = np.repeat(np.arange(n), np.diff(words.indptr))
        others = self.vectorizer.word_df[words.indices] > 1  # each fitted text counted itself
        return shared_weight(item, words.data.astype(np.float64) ** 2, others, n)

    def _pairs(self, attribute: Callable[[Document], tuple[str, ...]]) -> sp.csr_matrix:
        rows, cols = [], []
        for i, doc in enumerate(self.documents):
            for key in attribute(doc):
                j = self.challenge_index.get(key)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                             shape=(len(self.documents), len(self.challenges)))

    # themes --------------------------------------------------------------------------------
    def _themes_setup(self) -> None:
        names = sorted({t for c in self.challenges for t in c.themes})
        self.theme_index = {t: k for k, t in enumerate(names)}
        self.challenge_themes = self._theme_rows([c.themes for c in self.challenges])
        self.theme_matrix = self._theme_rows([d.themes for d in self.documents])

    def _theme_rows(self, themes: Sequence[tuple[str, ...]]) -> sp.csr_matrix:
        if not any(themes):  # most new reports: no theme
            return sp.csr_matrix((len(themes), len(self.theme_index)), dtype=np.float32)
        rows, cols = [], []
        for i, values in enumerate(themes):
            for t in set(values):
                k = self.theme_index.get(t)
                if k is not None:
                    rows.append(i)
                    cols.append(k)
        return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                             shape=(len(themes), len(self.theme_index)))

    def _theme_jaccard(self, doc_themes: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """(rows, jaccard) for the items that have themes; the others have no theme evidence."""
        sizes_d = np.asarray(doc_themes.sum(axis=1)).ravel()
        rows = np.flatnonzero(sizes_d)
        shared = _dense(doc_themes[rows] @ self.challenge_themes.T).astype(np.float32)
        sizes_c = np.asarray(self.challenge_themes.sum(axis=1)).ravel().astype(np.float32)
        union = sizes_d[rows].reshape(-1, 1) + sizes_c.reshape(1, -1) - shared
        jaccard = np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
        # themes only count when both sides have them: no themes is no evidence either way
        jaccard[:, sizes_c == 0] = 0
        return rows, jaccard

    # profiles and scores ----------------------------------------------------------------------
    def _member_weights(self, members: sp.csr_matrix) -> sp.csr_matrix:
        """How much each item weighs in each challenge's profile (items x challenges).

        Confident and staff-confirmed members share ``prf_weight`` (a confirmed one counting
        ``link_weight`` times), rejected ones ``-reject_weight``, each split over the challenge's items.
        """
        cfg = self.config
        # a confirmed item the engine is not itself confident about joins with ``link_weight``
        # (0 by default: see "Learning from decisions" in docs/matching.md)
        unsure = sp.csr_matrix(self.linked - self.linked.multiply(members))
        total = sp.csr_matrix(members.shape, dtype=np.float32)
        both = sp.csr_matrix(members + unsure * cfg.link_weight) if cfg.link_weight else members
        for weights, factor in ((both, cfg.prf_weight), (self.rejected, -cfg.reject_weight)):
            if weights.nnz and factor:
                counts = np.asarray(weights.sum(axis=0)).ravel()
                counts[counts == 0] = 1.0
                total = total + sp.csr_matrix(weights @ sp.diags((factor / counts).astype(np.float32)))
        total.eliminate_zeros()
        return sp.csr_matrix(total, dtype=np.float32)

    def _decided(self, members: sp.csr_matrix) -> sp.csr_matrix:
        """The confident members, as far as staff decisions allow: an item staff decided is about
        no challenge joins no profile, a linked item only the profile of a challenge it is
        linked to, and a rejected pairing none."""
        if not (self.nones.any() or self.linked.nnz or self.rejected.nnz):
            return members
        keep = (~self.nones).astype(np.float32)
        keep[np.diff(self.linked.indptr) > 0] = 0  # linked items: only where linked (below)
        allowed = sp.csr_matrix(sp.diags(keep) @ members)
        allowed = allowed + members.multiply(self.linked)
        allowed = allowed - allowed.multiply(self.rejected)
        allowed.eliminate_zeros()
        return sp.csr_matrix(allowed, dtype=np.float32)

    def _profiles(self, members: sp.csr_matrix) -> _Profiles:
        """Challenge text plus weighted member vectors, per space, not normalised: scoring
        needs the raw sums to leave an item's own contribution out (see ``_raw``)."""
        weights = self._member_weights(members)
        wt = sp.csr_matrix(weights.T)
        words = sp.csr_matrix(self.challenge_words + wt @ self.vectors.words, dtype=np.float32)
        chars = sp.csr_matrix(self.challenge_chars + (wt @ self.vectors.tokens) @ self.vectors.grams, dtype=np.float32)
        words_t, chars_t = sp.csr_matrix(words.T), sp.csr_matrix(chars.T)
        semantic = semantic_norms = None
        if self.semantic_challenges is not None:
            semantic = (self.semantic_challenges + np.asarray(wt @ self.item_vectors)).astype(np.float32)
            semantic_norms = np.einsum("ij,ij->i", semantic, semantic).astype(np.float32)
        return _Profiles(words, chars, weights,
                         (row_norms(words) ** 2).astype(np.float32), (row_norms(chars) ** 2).astype(np.float32),
                         words_t, chars_t,
                         dense_words_t=words_t.toarray(),
                         token_scores=_dense(self.vectors.grams @ chars_t).astype(np.float32),
                         semantic=semantic, semantic_norms=semantic_norms)

    def _raw(self, vectors: Vectors, themes: sp.csr_matrix, rows: Sequence[int | None] | None = None,
             departments: Sequence[str | None] | None = None) -> np.ndarray:
        """Cosine of each item with each profile, in both spaces, combined.

        ``rows`` says which fitted item each vector is (or None for a new one): an item that
        is itself part of a profile is scored against that profile without its own
        contribution. Otherwise a member's own rare words would vouch for it, and one lucky
        word would pull a one-off report in and keep it there.
        """
        cfg = self.config
        p = self.profiles
        tokens = vectors.tokens
        fitted = vectors is self.vectors  # else new texts (transform): their token columns are their own
        if p.token_scores is not None and fitted:  # all fitted items: dense products
            words = np.asarray(vectors.words @ p.dense_words_t, dtype=np.float32)
            chars = np.asarray(tokens @ p.token_scores, dtype=np.float32)
        else:  # a few items: sparse products, no (vocabulary x challenges) array needed
            words = _dense(vectors.words @ p.words_t).astype(np.float32)
            chars = _dense(vectors.chars() @ p.chars_t).astype(np.float32)
        if fitted:
            rows = list(range(len(vectors)))
        elif rows is None:
            rows = [None] * len(vectors)
        # (row, challenge, weight) of scored items that are part of a profile
        corrections = []
        for k, i in enumerate(rows):
            if i is not None and p.weights.indptr[i + 1] > p.weights.indptr[i]:
                lo, hi = p.weights.indptr[i], p.weights.indptr[i + 1]
                corrections.append((np.full(hi - lo, k), p.weights.indices[lo:hi], p.weights.data[lo:hi], i))
            if fitted:
                break  # the fitted case is vectorised below
        r: np.ndarray | None
        c: np.ndarray | None
        if fitted and p.weights.nnz:
            coo = p.weights.tocoo()
            r, c, m = coo.row, coo.col, coo.data
            # vectors are unit length, or empty for a text without words
            own_w = (np.diff(self.vectors.words.indptr) > 0).astype(np.float32)[r]
            own_c = (np.diff(self.vectors.tokens.indptr) > 0).astype(np.float32)[r]
            words_rc, chars_rc = words[r, c], chars[r, c]
            new_words = (words_rc - m * own_w) / np.sqrt(np.maximum(p.word_norms[c] - 2 * m * words_rc + m * m * own_w, 1e-12))
            new_chars = (chars_rc - m * own_c) / np.sqrt(np.maximum(p.char_norms[c] - 2 * m * chars_rc + m * m * own_c, 1e-12))
        elif corrections:
            r = np.concatenate([x[0] for x in corrections])
            c = np.concatenate([x[1] for x in corrections])
            m = np.concatenate([x[2] for x in corrections])
            items = np.concatenate([np.full(len(x[0]), x[3]) for x in corrections])
            x_chars = sp.csr_matrix(vectors.chars()[r])
            own_chars = sp.csr_matrix(self.vectors.tokens[items] @ self.vectors.grams)
            if own_chars.shape[1] < x_chars.shape[1]:  # the new text brought unseen tokens
                own_chars = sp.csr_matrix((own_chars.data, own_chars.indices, own_chars.indptr), shape=x_chars.shape)
            same_w = np.asarray(vectors.words[r].multiply(self.vectors.words[items]).sum(axis=1)).ravel()
            same_c = np.asarray(x_chars.multiply(own_chars).sum(axis=1)).ravel()
            own_w = row_norms(self.vectors.words[items]) ** 2
            own_c = row_norms(own_chars) ** 2
            # x_old . u, for the norm of u - m x_old
            old_w = np.asarray(self.vectors.words[items].multiply(sp.csr_matrix(p.words[c])).sum(axis=1)).ravel()
            old_c = np.asarray(own_chars[:, : p.chars.shape[1]].multiply(p.chars[c]).sum(axis=1)).ravel()
            new_words = (words[r, c] - m * same_w) / np.sqrt(np.maximum(p.word_norms[c] - 2 * m * old_w + m * m * own_w, 1e-12))
            new_chars = (chars[r, c] - m * same_c) / np.sqrt(np.maximum(p.char_norms[c] - 2 * m * old_c + m * m * own_c, 1e-12))
        else:
            r = c = None
        # department challenges: scored without their own department (below), from these raw products
        own_departments = [(k, members, name, words[k], chars[k])
                           for k, members, name in self._own_departments(fitted, departments)]
        words /= np.sqrt(np.maximum(p.word_norms, 1e-12))
        chars /= np.sqrt(np.maximum(p.char_norms, 1e-12))
        if r is not None:
            words[r, c] = new_words
            chars[r, c] = new_chars
        for k, members, name, plain_words, plain_chars in own_departments:
            at = np.searchsorted(k, members) if fitted else None  # the members' rows among k (a department's rows)
            for space, x, plain, norms, target in (
                    ("words", vectors.words[k], plain_words, p.word_norms, words),
                    ("chars", vectors.chars(k), plain_chars, p.char_norms, chars)):
                member_vectors = None
                if fitted:
                    member_vectors = self.vectors.words[members] if space == "words" else self.vectors.chars(members)
                columns, cosines = self._without(space, name, x, plain, members, member_vectors,
                                                 None if at is None else plain[at], norms)
                target[np.ix_(k, columns)] = cosines
        words *= cfg.word_weight  # in place: these arrays are (items x challenges)
        chars *= 1 - cfg.word_weight
        words += chars
        del chars
        raw = words
        if cfg.theme_weight and self.theme_index:
            theme_rows, jaccard = self._theme_jaccard(themes)
            raw[theme_rows] += cfg.theme_weight * jaccard
        return raw

    def _group(self, kind: str, language: str) -> str:
        return f"{kind}:{language}" if self.config.per_language else kind

    def _statistics(self, raw: np.ndarray, valid: np.ndarray | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per kind (and language, with ``per_language``), how each challenge scores such
        items: the yardstick for z. With ``valid``, only those rows count."""
        minimum = self.config.min_kind_size
        valid = np.ones(len(raw), dtype=bool) if valid is None else valid
        every_row = None if valid.all() else np.flatnonzero(valid)
        if self.config.robust:
            def location_scale(rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
                return self._median_mad(raw, rows)
        else:
            sums_all = self._sums(raw, every_row)

            def location_scale(rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
                if rows is None:
                    return self._mean_std(*sums_all)
                if 2 * len(rows) <= sums_all[0]:
                    return self._mean_std(*self._sums(raw, rows))
                # most rows (reports, in a city): all rows' sums minus the few others' is cheaper
                others = np.setdiff1d(np.flatnonzero(valid), rows, assume_unique=True)
                count, total, squares = self._sums(raw, others)
                return self._mean_std(sums_all[0] - count, sums_all[1] - total, sums_all[2] - squares)

        everything = location_scale(every_row)
        stats: dict[str, tuple[np.ndarray, np.ndarray]] = {"": everything}
        kinds = np.array([g.split(":")[0] for g in self.kinds])
        for kind in KINDS:
            rows = np.flatnonzero((kinds == kind) & valid)
            stats[kind] = location_scale(rows) if len(rows) >= self._own_yardstick(kind, raw.shape[1]) else everything
        for group in np.unique(self.kinds):
            if group in stats:  # without per_language the groups are the kinds: done above
                continue
            rows = np.flatnonzero((self.kinds == group) & valid)
            if len(rows) >= minimum:
                stats[group] = location_scale(rows)
        return stats

    def _own_yardstick(self, kind: str, challenges: int) -> int:
        """How many items a kind needs for statistics of its own; with fewer its items are measured
        against all items' (issue 19, round 7).

        A challenge's column of a kind is its few members and many non-members: with fewer than
        ``min_items_per_challenge`` items per challenge most columns hold one member or none, and
        whether that member is among the items sets the column's spread, and with it every z in
        the column (half of a city's 30 department challenges: 15 items for 8 challenges). All
        items' statistics are a steadier yardstick there, and all items' "belongs to none" level
        with them (``_abstention``). Kinds that serve several challenges (pilots) keep
        ``min_kind_size``: see docs/matching.md, round 7."""
        cfg = self.config
        if kind in cfg.multi_kinds:
            return cfg.min_kind_size
        return max(cfg.min_kind_size, math.ceil(cfg.min_items_per_challenge * challenges))

    @staticmethod
    def _median_mad(raw: np.ndarray, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        # median and MAD describe the many unrelated items, which is what a match must
        # stand out from; mean and spread would be pulled up by the challenge's own members
        part = raw if rows is None else raw[rows]
        median = np.median(part, axis=0)
        mad = np.median(np.abs(part - median), axis=0) * 1.4826
        return median, mad + 1e-3 * (np.abs(median) + 1e-3)

    @staticmethod
    def _sums(raw: np.ndarray, rows: np.ndarray | None) -> tuple[int, np.ndarray, np.ndarray]:
        """Count, sums and sums of squares per column, block by block: no copy of (items x challenges)."""
        count = raw.shape[0] if rows is None else len(rows)
        total = np.zeros(raw.shape[1], dtype=np.float64)
        squares = np.zeros(raw.shape[1], dtype=np.float64)
        for start in range(0, count, BLOCK):
            block = raw[start:start + BLOCK] if rows is None else raw[rows[start:start + BLOCK]]
            block = block.astype(np.float64)
            total += block.sum(axis=0)
            squares += np.einsum("ij,ij->j", block, block)
        return count, total, squares

    @staticmethod
    def _mean_std(count: int, total: np.ndarray, squares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = total / max(count, 1)
        std = np.sqrt(np.maximum(squares / max(count, 1) - mean * mean, 0.0))
        return mean.astype(np.float32), (std + 1e-6).astype(np.float32)

    def _standardise(self, raw: np.ndarray, groups: np.ndarray, stats: dict | None = None) -> np.ndarray:
        """z-scores, computed in place: ``raw`` becomes the result."""
        names = np.unique(groups)
        if len(names) == 0:
            return raw
        stats = self.stats if stats is None else stats
        found = [stats.get(g) or stats.get(g.split(":")[0]) or stats[""] for g in names]
        means = np.stack([mean for mean, _ in found]).astype(np.float32)
        stds = np.stack([std for _, std in found]).astype(np.float32)
        index = np.searchsorted(names, groups)
        for start in range(0, raw.shape[0], BLOCK):
            which = index[start:start + BLOCK]
            raw[start:start + BLOCK] -= means[which]
            raw[start:start + BLOCK] /= stds[which]
        return raw

    def _language_shifts(self, z: np.ndarray) -> dict[str, float]:
        """Per kind: how much lower its items in a minority language score than its items in
        the kind's main language, as the difference of the medians over all (item, challenge)
        scores.

        Challenge texts are mostly in the city's main language, so an English report scores
        lower against every challenge than a Dutch one: its best challenge may stand out
        clearly from its other challenges and still stay under ``min_z``. One number per
        (kind, language) moves the whole group back to the main language's level. It is one
        stable statistic over items x challenges, unlike standardising each challenge's
        column per language (``per_language``), which needs many items per language.
        """
        shifts: dict[str, float] = {}
        if not self.config.language_shift or z.shape[1] == 0:
            return shifts
        for kind in KINDS:
            groups = [g for g in np.unique(self.kind_languages) if g.split(":")[0] == kind]
            if len(groups) < 2:
                continue
            sizes = {g: int((self.kind_languages == g).sum()) for g in groups}
            main = max(groups, key=lambda g: (sizes[g], g))
            # medians over all (item, challenge) scores: an item's own best challenge hardly moves
            # them; a few thousand evenly spread items tell the median as well as all of them
            def median(group: str) -> float:
                rows = np.flatnonzero(self.kind_languages == group)
                return float(np.median(z[rows[:: max(1, len(rows) // 2000)]]))

            level = median(main)
            for group in groups:
                if group != main and sizes[group] >= self.config.min_kind_size:
                    shifts[group] = median(group) - level
        return shifts

    def _shift(self, z: np.ndarray, groups: np.ndarray) -> np.ndarray:
        for group, shift in self.shifts.items():
            rows = np.flatnonzero(groups == group)
            for start in range(0, len(rows), BLOCK):
                z[rows[start:start + BLOCK]] -= shift
        return z

    def _confident(self, z: np.ndarray, min_z: float, min_margin: float) -> sp.csr_matrix:
        """The best challenge of each item that is sure enough, as a 0/1 matrix."""
        if z.shape[1] == 0:
            return sp.csr_matrix(z.shape, dtype=np.float32)
        rows = np.arange(z.shape[0])
        top = np.argmax(z, axis=1)
        best = z[rows, top]
        second = np.full(len(z), -np.inf, dtype=np.float32)
        if z.shape[1] > 1:
            for start in range(0, len(z), BLOCK):  # block by block: a partition copies what it sorts
                second[start:start + BLOCK] = np.partition(z[start:start + BLOCK], -2, axis=1)[:, -2]
        sure = (best >= min_z) & (best - second >= min_margin)
        return sp.csr_matrix((np.ones(int(sure.sum()), dtype=np.float32), (rows[sure], top[sure])),
                             shape=z.shape)

    # "belongs to none" --------------------------------------------------------------------------
    def _abstention(self, z: np.ndarray) -> dict[str, tuple[float, float]]:
        """Per kind: the level of the "belongs to none" alternative and the softness of the choice,
        from the city's own scores, without labels.

        The level is the ``none_quantile`` (the median) of the items' runner-up z: every item's
        runner-up is a challenge it does not belong to (or, for an item about nothing here, the
        second of many it does not belong to), so this is how high such a challenge typically
        reaches at best. It grows by itself with the number of challenges, and with how alike
        they are. The softness is the spread of all (item, challenge) z of the kind, most of
        which are pairs that do not belong together (median absolute deviation). A kind too small
        for a yardstick of its own (``_own_yardstick``) takes all items' level and softness too:
        its z are in their units, and a median over a few runner-ups swings.
        """
        cfg = self.config
        out: dict[str, tuple[float, float]] = {}
        if z.shape[1] == 0:
            return out
        # every item of the kind, decided or not: an item staff linked has a runner-up that is a challenge
        # it does not belong to, like anyone's. Leaving the linked ones out moved the level as staff
        # decided: the items they confirm are the clear ones, whose runner-ups stand higher than those of
        # the items still open, so each confirmation lowered it and made the engine louder on the rest
        # (docs/matching.md, round 14). What decisions teach goes through the calibration (_calibration).
        def level_of(rows: np.ndarray) -> float:
            part = z[rows].astype(np.float64)
            second = np.partition(part, -2, axis=1)[:, -2] if part.shape[1] > 1 else part[:, 0]
            # never below a challenge's own average (z = 0): an item that does not stand out
            # for its best challenge has no evidence at all, however few items are about nothing
            return max(float(np.quantile(second, cfg.none_quantile)), 0.0)

        for kind in ("", *KINDS):
            rows = np.flatnonzero(self.kinds_plain == kind) if kind else np.arange(len(z))
            # a kind that serves several challenges (pilots): its runner-up is often a challenge it
            # serves, so it takes the level of all items, in the same z units
            if kind and (len(rows) < self._own_yardstick(kind, z.shape[1]) or kind in cfg.multi_kinds):
                continue
            # a few thousand evenly spread items tell these as well as all of them
            rows = rows[:: max(1, len(rows) // 4000)]
            if not len(rows):
                continue
            part = z[rows].astype(np.float64)
            spread = 1.4826 * float(np.median(np.abs(part - np.median(part))))
            out[kind] = (level_of(rows), max(spread * cfg.none_softness, 1e-3))
        # A kind's items in a minority language (a group _language_shifts moved) reach lower against every
        # challenge, the ones they belong to as much as the others, however far the shift moved them: their
        # "none" is measured among them, by their own runner-ups, in the kind's softness (round 18)
        for group in self.shifts if cfg.language_levels else ():
            kind = str(group).split(":")[0]
            if kind in out and kind not in cfg.multi_kinds:
                rows = np.flatnonzero(self.kind_languages == group)
                out[str(group)] = (level_of(rows[:: max(1, len(rows) // 4000)]), out[kind][1])
        return out

    def _levels(self, kinds: Sequence[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row: the level of the "belongs to none" alternative and the softness, by kind, or by
        "kind:language" where a minority language has a level of its own."""
        fallback = self.abstention.get("", (0.0, 1.0))
        found = [self.abstention.get(k) or self.abstention.get(str(k).split(":")[0], fallback) for k in kinds]
        level = np.array([f[0] for f in found], dtype=np.float64)
        softness = np.array([f[1] for f in found], dtype=np.float64)
        return level, softness

    def _choose(self, z: np.ndarray, kinds: Sequence[str] | np.ndarray, multi: np.ndarray,
                groups: Sequence[str] | np.ndarray | None = None,
                calibrated: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row: the best challenges (columns, best first), and the probability of each
        against the alternatives: "belongs to none" and the ``competitors`` best challenges.

        The choice is a softmax over those options with the kind's softness: an item gets its
        best challenge only when that is more likely than all the alternatives together
        (``min_probability``). For kinds that serve several challenges (pilots), each
        challenge competes with "none" alone. ``calibrated``: as staff decisions calibrate it
        (``_calibration``; ``groups``, each row's "kind:language", tell a minority language).
        """
        cfg = self.config
        n, nc = z.shape
        k = min(max(cfg.max_suggestions, cfg.competitors, 2), nc)
        top = np.empty((n, k), dtype=np.int64)
        for i in range(0, n, BLOCK):  # block by block: a full argpartition index is (items x challenges) int64
            block = z[i:i + BLOCK]
            top[i:i + BLOCK] = np.argpartition(block, nc - k, axis=1)[:, nc - k:] if k < nc else np.arange(nc)
        values = np.take_along_axis(z, top, axis=1).astype(np.float64)
        order = np.lexsort((top, -values), axis=1)  # best first; on a tie, the first challenge
        top, values = np.take_along_axis(top, order, axis=1), np.take_along_axis(values, order, axis=1)
        level, softness = self._levels(kinds if groups is None else groups)
        c = min(cfg.competitors, k)
        logits = values / softness[:, None]
        none = level / softness
        ceiling = np.maximum(logits[:, 0], none)
        shared = np.exp(none - ceiling) + np.exp(logits[:, :c] - ceiling[:, None]).sum(axis=1)
        own = np.exp(logits - ceiling[:, None])
        # a challenge beyond the competitors competes with them too when it is shown
        outside = np.zeros_like(own)
        outside[:, c:] = own[:, c:]
        probability = own / (shared[:, None] + outside)
        alone = expit(logits - none[:, None])  # against "none" only (the logistic, without overflow)
        probability[multi] = alone[multi]
        if calibrated:
            probability = self._calibrated(probability, kinds, groups, multi)
        return top, values, probability

    # learning from staff decisions -------------------------------------------------------------
    def _minority(self, groups: Sequence[str] | np.ndarray | None, n: int) -> np.ndarray:
        """Per row (its "kind:language"): 1 where the language is a minority language of its kind
        (one ``_language_shifts`` moved), else 0."""
        if groups is None:
            return np.zeros(n)
        return np.fromiter((g in self.shifts for g in groups), dtype=np.float64, count=n)

    @staticmethod
    def _log_odds(probability: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(probability, dtype=np.float64), 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))

    def _calibration(self, z: np.ndarray) -> dict[str, tuple[float, float, float]]:
        """Per kind: how staff decisions calibrate the engine's probability that an item's best
        challenge is its answer, as (a, b, c) of ``sigmoid(a + b log-odds + c minority)``.

        The decided items of the kind (linked: the best challenge is right when staff linked it;
        "belongs to none": it never is; a rejected best challenge: wrong, whatever the answer is)
        are the examples of a logistic regression on the engine's own log-odds and on whether the
        item is in a minority language of its kind. Its prior is
        the engine as it is (a = 0, b = 1, c = 0), worth ``decision_prior`` decisions: without
        decisions nothing changes, a few move it a little, and a city's thousands decide it. A decision
        counts as much as it tells about the bar (``_decision_counts``): fully on an item at the bar.
        What it learns is how sure the engine should be, per kind: that its items in English are
        right more often than their scores say, say, or that "none" is rarer than it assumes.
        Nothing of an item's words: a decided one-off resembles the next one only by chance
        (docs/matching.md, "Learning from decisions"). Kinds that serve several challenges keep
        their own probabilities.
        """
        cfg = self.config
        out: dict[str, tuple[float, float, float]] = {}
        answered = self.nones | (np.diff(self.linked.indptr) > 0)
        decided = answered | (np.diff(self.rejected.indptr) > 0)
        if not cfg.decision_prior or z.shape[1] == 0 or not decided.any():
            return out
        for kind in KINDS:
            rows = np.flatnonzero(decided & (self.kinds_plain == kind))
            if kind in cfg.multi_kinds or not len(rows):
                continue
            top, _, probability = self._choose(z[rows], self.kinds_plain[rows], np.zeros(len(rows), dtype=bool),
                                               self.kind_languages[rows], calibrated=False)
            # an item with rejections only tells whether its best challenge is wrong
            known = answered[rows] | np.fromiter((top[k, 0] in self.rejected[i].indices for k, i in enumerate(rows.tolist())),
                                                 dtype=bool, count=len(rows))
            rows, top, probability = rows[known], top[known], probability[known]
            if not len(rows):
                continue
            right = np.fromiter((top[k, 0] in self.linked[i].indices for k, i in enumerate(rows.tolist())),
                                dtype=np.float64, count=len(rows))
            log_odds = self._log_odds(probability[:, 0])
            features = np.column_stack([np.ones(len(rows)), log_odds,
                                        self._minority(self.kind_languages[rows], len(rows))])
            out[kind] = _logistic_map(features, right, np.array([0.0, 1.0, 0.0]), cfg.decision_prior / 4,
                                      self._decision_counts(log_odds))
        return out

    def _decision_counts(self, log_odds: np.ndarray) -> np.ndarray:
        """How much each decided item counts in the calibration: what decides is whether an item's probability is
        over the bar (``min_probability``), so the decisions that tell where the bar should be are those on items
        near it. A Gaussian kernel in log-odds around the bar, 1 there and one half at ``decision_half_odds`` to one
        either way, never less than ``decision_far_count``. A report the engine was sure of (0.95) and staff
        confirmed says little about whether one at 0.48 should be suggested; counted fully, the sure ones' slope
        decided the bar's place (issue 19, round 22)."""
        cfg = self.config
        if not cfg.decision_half_odds:
            return np.ones(len(log_odds))
        if cfg.decision_half_odds <= 1 or not 0 < cfg.min_probability < 1:
            raise ValueError("decision_half_odds must be above 1 (or 0) and min_probability between 0 and 1")
        bar = math.log(cfg.min_probability / (1 - cfg.min_probability))
        spread = math.log(cfg.decision_half_odds) / math.sqrt(2 * math.log(2))
        # every decision still says something about how sure the engine is as a whole (the slope), so the far
        # ones keep a floor: thousands of them still teach it, a few dozen do not move the bar
        return np.maximum(np.exp(-0.5 * ((log_odds - bar) / spread) ** 2), cfg.decision_far_count)

    def _calibrated(self, probability: np.ndarray, kinds: Sequence[str] | np.ndarray,
                    groups: Sequence[str] | np.ndarray | None, multi: np.ndarray) -> np.ndarray:
        """``probability`` (rows x options) as staff decisions calibrate it, per row's kind."""
        calibration = getattr(self, "calibration", None)
        if not calibration or not len(probability):
            return probability
        kinds = np.asarray(kinds)
        out = probability
        for kind, (a, b, c) in calibration.items():
            rows = np.flatnonzero((kinds == kind) & ~multi)
            if not len(rows):
                continue
            if out is probability:
                out = probability.copy()
            minority = self._minority(None if groups is None else np.asarray(groups)[rows], len(rows))
            # one monotone map of every option's probability: an item's suggestions keep their order
            out[rows] = 1.0 / (1.0 + np.exp(-(a + b * self._log_odds(probability[rows]) + c * minority[:, None])))
        return out

    def _placed(self, z: np.ndarray, keep_nones: bool = False) -> sp.csr_matrix:
        """The fitted items' best challenge where it is chosen over "belongs to none", as a 0/1 matrix. Items staff
        decided are about no challenge are placed nowhere, unless ``keep_nones`` (where the engine would place them)."""
        n, nc = z.shape
        if nc == 0 or n == 0:
            return sp.csr_matrix(z.shape, dtype=np.float32)
        single = np.zeros(n, dtype=bool)
        top, _, probability = self._choose(z, self.kinds_plain, single, self.kind_languages)
        sure = probability[:, 0] >= self.config.min_probability
        if not keep_nones:
            sure &= ~self.nones
        rows = np.flatnonzero(sure)
        placed = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, top[rows, 0])), shape=z.shape)
        if self.rejected.nnz:  # a pairing staff rejected is never suggested again, so it places nothing either
            placed = sp.csr_matrix(placed - placed.multiply(self.rejected > 0), dtype=np.float32)
            placed.eliminate_zeros()
        return placed

    # geography -----------------------------------------------------------------------------
    def _geo_setup(self) -> None:
        located = [i for i, d in enumerate(self.documents) if d.kind == "report" and d.point]
        points = [point for i in located if (point := self.documents[i].point)]
        self.located = np.array(located, dtype=np.int64)
        self.tree = cKDTree(self._xy(points)) if located else None
        self.neighbours: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(self.documents)
        if self.tree is None:
            return
        k = min(self.config.geo_neighbours + 1, len(located))
        distances, indices = self.tree.query(self._xy(points), k=k)
        distances = distances.reshape(len(located), -1)
        indices = indices.reshape(len(located), -1)
        for row, i in enumerate(located):
            near = indices[row][(distances[row] <= self.config.geo_radius_m) & (indices[row] != row)]
            self.neighbours[i] = self.located[near]

    @staticmethod
    def _xy(points: Sequence[tuple[float, float]]) -> np.ndarray:
        """Metres on a local plane: good enough within a city."""
        array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        lat, lon = array[:, 0], array[:, 1]
        return np.column_stack([lat * 111_320.0, lon * 111_320.0 * np.cos(np.radians(lat))])

    def _geo_counts(self, assigned: sp.csr_matrix, own: sp.csr_matrix) -> sp.csr_matrix:
        """Per report and challenge: nearby reports already linked or confidently placed there.

        ``own`` is ``assigned`` with the items decided "about no challenge" placed where the engine would place them.
        ``suggest()`` reads decisions made since the fit against what this keeps of them (``_placed_now``), reports
        only: the links that alone place an item (``placed_links``: where the engine places it as well, the next run
        would count it there without the link too) and where its "none" items would go (``placed_if_undone``)."""
        self.placed = sp.csr_matrix(assigned.maximum(self.linked))
        reports = np.zeros(len(self.documents), dtype=bool)
        reports[self.located] = True
        links = sp.csr_matrix(self.linked.multiply(reports[:, None]), dtype=np.float32)
        self.placed_links = sp.csr_matrix(links - links.multiply(assigned > 0), dtype=np.float32)
        self.placed_links.eliminate_zeros()
        self.placed_if_undone = sp.csr_matrix(own.multiply((self.nones & reports)[:, None]), dtype=np.float32)
        self.placed_if_undone.eliminate_zeros()
        rows = np.repeat(np.arange(len(self.neighbours)), [len(n) for n in self.neighbours])
        cols = np.concatenate(self.neighbours) if self.neighbours else np.zeros(0, dtype=np.int64)
        near = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                             shape=(len(self.documents), len(self.documents)))
        return sp.csr_matrix(near @ self.placed)

    def _placed_now(self, near: Sequence[int | Neighbour],
                    decisions: Callable[[list[str]], Mapping[str, Decisions]] | None) -> tuple[np.ndarray, np.ndarray]:
        """Where these reports are placed now, in their order, and which of them the engine still reads: the fit's
        (rows of ``placed``) and those that came in since (``Neighbour``, as their own scoring placed them), with staff
        decisions as they stand now, as the next full run would count them: a link removed since no longer places a
        fitted item there unless the engine places it there itself, and a "none" undone since places it where the
        engine would; "about no challenge" places the item nowhere, a rejection not on that challenge, a link on its
        challenge; a report deleted, hidden or marked a duplicate since (``gone``) is no one's neighbour. ``decisions``
        leaves out the items with no decision now; without it the items count as the fit or their scoring placed
        them."""
        if getattr(self, "_document_keys", None) is None:
            self._document_keys = {row: key for key, row in self.document_index.items()}
        keys = [what.key if isinstance(what, Neighbour) else self._document_keys[what] for what in near]
        placed = np.zeros((len(near), len(self.challenges)), dtype=np.float32)
        present = np.ones(len(near), dtype=bool)
        fitted = [r for r, what in enumerate(near) if not isinstance(what, Neighbour)]
        placed[fitted] = self.placed[[near[r] for r in fitted]].toarray()
        for r, what in enumerate(near):
            if isinstance(what, Neighbour):
                placed[r, [self.challenge_index[c] for c in what.placed if c in self.challenge_index]] = 1
        if decisions is None:
            return placed, present
        now = decisions(keys)
        fit_links, if_undone = getattr(self, "placed_links", None), getattr(self, "placed_if_undone", None)
        for r, (what, key) in enumerate(zip(near, keys)):
            decided = now.get(key, _NO_DECISIONS)
            present[r] = not decided.gone
            if not isinstance(what, Neighbour):
                if len(would := _row_columns(if_undone, what)):  # a "none" of the fit: placed as if undone, unless below
                    placed[r] = 0
                    placed[r, would] = 1
                placed[r, _row_columns(fit_links, what)] = 0  # links of the fit that alone placed it; today's below
            if decided.no_challenge and not decided.linked:
                placed[r] = 0
            for value, challenges in ((0, decided.rejected), (1, decided.linked)):
                columns = [self.challenge_index[c] for c in challenges if c in self.challenge_index]
                placed[r, columns] = value
        return placed, present

    def _nearby_now(self, document: Document, decisions: Callable[[list[str]], Mapping[str, Decisions]] | None,
                    recent: Recent | None) -> sp.csr_matrix:
        """Per challenge: how many of the reports nearest a new one (``geo_neighbours`` within ``geo_radius_m``, the
        fit's and those that came in since) are placed there now (``_placed_now``). Twice as many are read, so that
        the next nearest take the place of reports gone since the fit."""
        cfg = self.config
        point = document.point
        empty = sp.csr_matrix((1, len(self.challenges)), dtype=np.float32)
        if point is None:
            return empty
        pool = 2 * cfg.geo_neighbours
        own = self.document_index.get(document.key)
        found: list[tuple[float, int | Neighbour]] = []
        if self.tree is not None:
            k = min(pool + 1, len(self.located))
            distances, indices = self.tree.query(self._xy([point]), k=k)
            found += [(float(d), int(self.located[n])) for d, n in zip(np.ravel(distances), np.ravel(indices))
                      if d <= cfg.geo_radius_m and self.located[n] != own]
        if recent is not None:
            came = [n for n in recent(point, cfg.geo_radius_m, pool + 1)
                    if n.key != document.key and n.key not in self.document_index]
            if came:
                metres = np.linalg.norm(self._xy([n.point for n in came]) - self._xy([point]), axis=1)
                found += [(float(d), n) for d, n in zip(metres, came) if d <= cfg.geo_radius_m]
        found.sort(key=lambda pair: pair[0])  # stable: on a tie, the fit's report first
        near = [what for _, what in found[:pool if decisions is not None else cfg.geo_neighbours]]
        if not near:
            return empty
        placed, present = self._placed_now(near, decisions)
        return sp.csr_matrix(placed[present][:cfg.geo_neighbours].sum(axis=0, keepdims=True), dtype=np.float32)

    def geo_share(self) -> np.ndarray:
        share = _dense(self.geo) / max(self.config.geo_neighbours, 1)
        return share.astype(np.float32)

    # suggestions ----------------------------------------------------------------------------
    def suggestions(self) -> list[Suggestion]:
        return self._suggestions_for(self.documents, self.z, self.vectors.words, self.geo, self.nearest_meaning,
                                     self.kind_languages)

    def suggest(self, document: Document,
                decisions: Callable[[list[str]], Mapping[str, Decisions]] | None = None,
                recent: Recent | None = None) -> list[Suggestion]:
        """Score one new or changed item against the fitted model, without refitting.

        ``decisions`` gives, for the keys of the reports near a new report, what staff decided about them now (items
        it leaves out: nothing). The fit counted them as they were then; a report decided "about no challenge" since,
        rejected for a challenge or unlinked from one the engine does not place it on itself then no longer counts as
        placed there, one linked since does, and one whose "none" was undone since counts where the engine places
        it. ``recent`` gives the located reports that came in since the fit near a point, nearest first, with where
        their own scoring placed them: they are the new report's neighbours as well (the ones the fit knows are left
        out of what it gives), and staff decisions on them count as on the fit's."""
        cfg = self.config
        analysed, vectors = self.vectorizer.transform([(document.title, document.description)])
        themes = self._theme_rows([document.themes])
        row = self.document_index.get(document.key)
        department = [document.department if document.kind == "department_challenge" else None]
        raw = self._raw(vectors, themes, [row], department)
        language = analysed[0].language
        groups = np.array([self._group(document.kind, language)])
        z = self._standardise(raw, groups)
        nearest = None
        if self.combined_stats is not None:
            semantic_profiles = self.profiles.semantic  # set whenever combined_stats is
            if (document.vector is not None and semantic_profiles is not None
                    and len(document.vector) == semantic_profiles.shape[1]):
                semantic = self._semantic_raw(_unit_rows(np.asarray(document.vector).reshape(1, -1)), [row], department)
                semantic = self._standardise(semantic, groups, self.semantic_stats)
                whole_challenges = self.whole_challenges
                if whole_challenges is not None:
                    read = document.whole_vector
                    if read is None or len(read) != whole_challenges.shape[1]:
                        read = document.vector
                    whole = _unit_rows(np.asarray(read, dtype=np.float32).reshape(1, -1)) @ whole_challenges.T
                    self._mix_whole(semantic, self._standardise(whole, groups, self.whole_stats), np.zeros(1, dtype=int))
                nearest = _nearest(semantic, np.ones(1, dtype=bool))
                own = None if row is None else self.vectors.words[row].indices
                foreign = language == OTHER and getattr(self, "other_alone", False)  # a model from before: no
                alone = (self.vectorizer.shared_share(analysed, [own]) < cfg.min_word_share) | foreign
                self._blend(z, semantic, np.ones(1, dtype=bool), alone)
            z = self._standardise(z, groups, self.combined_stats)
        z = self._shift(z, np.array([f"{document.kind}:{language}"]))
        geo = sp.csr_matrix((1, len(self.challenges)), dtype=np.float32)
        if document.kind == "report":
            geo = self._nearby_now(document, decisions, recent)
        z = z + cfg.geo_weight * _dense(geo) / max(cfg.geo_neighbours, 1)
        return self._suggestions_for([document], z, sp.csr_matrix(vectors.words), sp.csr_matrix(geo), nearest,
                                     [f"{document.kind}:{language}"])

    def _suggestions_for(self, docs: Sequence[Document], z: np.ndarray, words: sp.csr_matrix,
                         geo: sp.csr_matrix, nearest_meaning: np.ndarray | None = None,
                         groups: Sequence[str] | np.ndarray | None = None) -> list[Suggestion]:
        """Suggestions for the rows of ``z`` (one per document), decided for all rows at once.

        An item gets suggestions only when its best challenge is more likely than "belongs to
        none" and its runner-up together (``_choose``); further ones (up to ``max_suggestions``)
        must also beat "none" on their own and lie within ``extra_within`` of the best. Kinds
        that serve several challenges get each one that beats "none". Pairs staff already
        decided, and items staff decided are about no challenge, are left out.
        """
        cfg = self.config
        n, nc = z.shape
        if n == 0 or nc == 0:
            return []
        multi = np.fromiter((d.kind in cfg.multi_kinds for d in docs), dtype=bool, count=n)
        kinds = [d.kind for d in docs]
        top, values, probability = self._choose(z, kinds, multi, groups)
        level, _ = self._levels(kinds if groups is None else groups)
        wanted = min(cfg.max_suggestions, nc)
        top, values, probability = top[:, :wanted], values[:, :wanted], probability[:, :wanted]
        decided_none = np.fromiter((d.no_challenge and not d.linked for d in docs), dtype=bool, count=n)
        sure = (probability[:, 0] >= cfg.min_probability) & ~decided_none
        beats_none = values >= level[:, None]
        chosen = np.where(multi[:, None], beats_none & ~decided_none[:, None],
                          sure[:, None] & (beats_none | (np.arange(wanted) == 0))
                          & (values >= values[:, :1] - cfg.extra_within))
        rows, positions = np.nonzero(chosen)
        columns = top[rows, positions]
        chosen_probability = probability[rows, positions]
        keep = np.ones(len(rows), dtype=bool)
        decided = [r for r in np.unique(rows).tolist() if docs[r].linked or docs[r].rejected]
        if decided:  # already decided by staff: linked, or rejected
            index = self.challenge_index
            done = {(r, index[key]) for r in decided for key in docs[r].linked + docs[r].rejected if key in index}
            keep = np.fromiter(((r, j) not in done for r, j in zip(rows.tolist(), columns.tolist())),
                               dtype=bool, count=len(rows))
        rows, columns = rows[keep], columns[keep]
        scores = chosen_probability[keep]
        terms = self._shared_terms(rows, columns, words, limit=5)
        nearby = np.asarray(geo[rows, columns]).ravel().astype(int) if len(rows) else np.zeros(0, dtype=int)
        # the "meaning" reason: the challenge is the item's nearest by the sentence vectors alone
        meaning = nearest_meaning[rows] == columns if nearest_meaning is not None else np.zeros(len(rows), dtype=bool)
        out = []
        for p, (r, j) in enumerate(zip(rows.tolist(), columns.tolist())):
            doc, challenge = docs[r], self.challenges[j]
            reasons = []
            if terms[p]:
                reasons.append(Reason("terms", tuple(terms[p]), len(terms[p])))
            if meaning[p]:
                reasons.append(Reason("meaning"))
            if doc.themes and challenge.themes:
                shared = sorted(set(doc.themes) & set(challenge.themes))
                if shared:
                    reasons.append(Reason("themes", tuple(shared), len(shared)))
            if nearby[p]:
                reasons.append(Reason("nearby", (), int(nearby[p])))
            confirmed = int(self.confirmed_counts[j])
            if confirmed:
                reasons.append(Reason("confirmed", (), confirmed))
            out.append(Suggestion(doc.key, challenge.key, round(float(scores[p]), 4), tuple(reasons)))
        return out

    def _topical(self, groups: sp.csr_matrix) -> sp.csr_matrix:
        """Per group (a column of ``groups``, items x groups; a challenge's own text joins its
        column): the stems that are significantly more frequent in the group's texts than in
        texts of the same kind and language in general, as a 0/1 (groups x stems) matrix.

        This is what tells content words from function words without a list: "niet", "the",
        "och" are as frequent in a challenge's texts as in any other text of their language
        and register, whatever the challenge; "riool", "flooded", "översvämning" are not. Each
        text is compared with texts like it (same kind, same language: residents and
        departments write differently), so that English function words do not look topical
        in a group with many English reports, nor officialese in a group of department
        challenges. The test: how unlikely the observed count is against the expected one
        (``term_min_z``, as a one-sided tail probability).
        """
        texts = (self.vectors.words > 0).astype(np.float32)
        strata = [f"{d.kind}:{a.language}" for d, a in zip(self.documents, self.analysed)]
        if groups.shape[1] == len(self.challenges):  # the challenges' own texts are part of their groups
            strata += [f"challenge:{a.language}" for a in self.challenge_analysed]
            texts = sp.vstack([texts, (self.challenge_words > 0).astype(np.float32)], format="csr")
            groups = sp.vstack([groups, sp.identity(len(self.challenges), dtype=np.float32, format="csr")], format="csr")
        names, stratum = np.unique(np.array(strata), return_inverse=True)
        languages, language = np.unique([n.split(":", 1)[1] for n in names], return_inverse=True)
        observed = sp.csr_matrix(groups.T @ texts)                                  # groups x stems
        observed.sum_duplicates()
        observed.sort_indices()
        coo = observed.tocoo()
        r, c = coo.row, coo.col
        expected = np.zeros(len(r))
        prior = self.config.term_prior_texts
        language_rates = np.zeros((len(languages), texts.shape[1]))
        for k in range(len(languages)):
            rows = np.flatnonzero(language[stratum] == k)
            language_rates[k] = np.asarray(texts[rows].sum(axis=0)).ravel() / len(rows)
        for s_ in range(len(names)):
            rows = np.flatnonzero(stratum == s_)
            part, member = texts[rows], sp.csr_matrix(groups[rows])
            total = np.asarray(part.sum(axis=0)).ravel()                           # texts of the stratum with the word
            inside = sp.csr_matrix(member.T @ part)                                  # ... of them in each group
            # on the pattern of ``observed``, which holds every group's words: same order of data
            both = sp.csr_matrix(inside + observed)
            both.sum_duplicates()
            both.sort_indices()
            inside = both.data - observed.data
            size = len(rows)
            size_in = np.asarray(member.sum(axis=0)).ravel()[r]
            # the rate outside the group: the group's own texts do not set their yardstick; a
            # small stratum leans on its language's rate as if it had ``prior`` texts more
            rate = (total[c] - inside + prior * language_rates[language[s_], c]) / (size - size_in + prior)
            expected += size_in * rate
        # the chance of seeing the word this often in texts like these, if it had nothing to do
        # with the group: a Poisson tail, exact enough for the small counts of a small group
        chance = poisson.sf(observed.data - 1, np.maximum(expected, 1e-12))
        # ...and by a clear margin: a grammatical word that a topic's texts happen to use a
        # little more is still grammar
        significant = (chance <= norm.sf(self.config.term_min_z)) & (observed.data >= self.config.term_min_lift * expected)
        significant &= ~self._grammar(c, significant, texts, languages, language[stratum])
        return sp.csr_matrix((np.ones(int(significant.sum()), dtype=np.float32), (r[significant], c[significant])),
                             shape=(groups.shape[1], texts.shape[1]))

    def _grammar(self, columns: np.ndarray, candidates: np.ndarray, texts: sp.csr_matrix, languages: np.ndarray,
                 row_language: np.ndarray) -> np.ndarray:
        """Which of the ``candidates`` (entries of ``columns``, stems) are a function word of the language most of
        the texts that use the stem are written in (``text.function_words``; its readable form, as a reason would
        show it). The test above tells grammar from content in a city's real texts; where a topic's texts repeat
        the same sentences (a demo's templates, a resident reporting one thing six times in the same words), "een"
        or "na" can pass it, and no reason should show them. Read per language, so that the Swedish "is" (ice) is no
        English "is" and the Dutch "vol" (full) no English "vol"."""
        out = np.zeros(len(columns), dtype=bool)
        stems = np.unique(columns[candidates])
        if not len(stems):
            return out
        used = np.column_stack([np.asarray(texts[row_language == k][:, stems].sum(axis=0)).ravel()
                                for k in range(len(languages))])
        names = self._stems_by_column()
        grammar = {int(stem) for stem, k in zip(stems.tolist(), used.argmax(axis=1).tolist())
                   if self.analyzer.readable(names[stem]) in function_words(str(languages[k]))}
        if grammar:
            out = candidates & np.isin(columns, list(grammar))
        return out

    def _shared_terms(self, rows: np.ndarray, columns: np.ndarray, words: sp.csr_matrix, limit: int) -> list[list[str]]:
        """Per (item row, challenge) pair: the item's words that weigh most in the challenge's
        profile, as readable surface words; all pairs in a few array operations."""
        lengths = (words.indptr[rows + 1] - words.indptr[rows]).astype(np.int64)
        pair = np.repeat(np.arange(len(rows)), lengths)
        ends = np.cumsum(lengths)
        at = np.repeat(words.indptr[rows].astype(np.int64) - (ends - lengths), lengths) + np.arange(int(lengths.sum()))
        stems = words.indices[at]
        p = self.profiles
        if p.dense_words_t is not None:
            in_profile = p.dense_words_t[stems, columns[pair]]
        else:
            in_profile = np.asarray(p.words_t[stems, columns[pair]]).ravel()
        weight = words.data[at] * in_profile
        # content words only: words the challenge's texts use more than the city's texts in
        # that language (``_topical``), never grammar ("niet", "the", "och")
        width = self.topical.shape[1]
        keys = self.__dict__.get("_topical_keys")
        if keys is None:  # (challenge, stem) pairs as sorted numbers, made once per fitted or loaded model
            coo = self.topical.tocoo()
            keys = self._topical_keys = np.sort(coo.row.astype(np.int64) * width + coo.col)
        wanted = columns[pair].astype(np.int64) * width + stems
        found = np.searchsorted(keys, wanted)
        topical = (found < len(keys)) & (keys[np.minimum(found, len(keys) - 1)] == wanted) if len(keys) else np.zeros(len(wanted), dtype=bool)
        positive = (weight > 0) & topical
        pair, stems, weight = pair[positive], stems[positive], weight[positive]
        names = self._readable_names(np.unique(stems))
        order = np.lexsort((-weight, pair))  # per pair, heaviest first; stable on ties
        pair, stems = pair[order], stems[order]
        first = np.searchsorted(pair, pair)
        picked = np.arange(len(pair)) - first < limit
        out: list[list[str]] = [[] for _ in range(len(rows))]
        for p, s in zip(pair[picked].tolist(), stems[picked].tolist()):
            out[p].append(names[s])
        return out

    def _readable_names(self, columns: np.ndarray) -> dict[int, str]:
        cache = self.__dict__.setdefault("_readable", {})
        stems = self._stems_by_column()
        for c in columns.tolist():
            if c not in cache:
                cache[c] = self.analyzer.readable(stems[c])
        return cache

    def _stems_by_column(self) -> list[str]:
        names = getattr(self, "_stem_names", None)
        if names is None or len(names) != len(self.vectorizer.stem_index):
            names = self._stem_names = sorted(self.vectorizer.stem_index, key=self.vectorizer.stem_index.__getitem__)
        return names

    # match flags -------------------------------------------------------------------------------
    def match_flags(self) -> list[MatchFlag]:
        departments = [i for i, d in enumerate(self.documents) if d.kind == "department_challenge"]
        if not departments:
            return []
        placed = self._flag_support()
        groups: dict[int, list[int]] = defaultdict(list)
        for i, j in zip(*placed.nonzero()):
            if self.kinds_plain[i] == "department_challenge":
                groups[int(j)].append(int(i))
        for i in departments:  # staff links count as placed, whatever the scores say
            for j in self.linked[i].indices:
                if i not in groups[int(j)]:
                    groups[int(j)].append(i)
        if self.config.flag_neighbours:
            self._neighbours(departments, groups, lambda: self._pair_z(departments))
        flags = []
        grouped: set[int] = set()
        for j, members in sorted(groups.items()):
            if len({self.documents[i].department for i in members}) < 2:
                continue
            grouped.update(members)
            flags.append(self._flag(j, sorted(members), self.topical[j].toarray().ravel() > 0))
        # a department challenge staff decided is about no challenge proposes none either: it is a one-off
        rest = [i for i in departments if i not in grouped and not self.nones[i]]
        clusters = self._clusters(rest, departments)
        if clusters:  # each proposed challenge's content words, all in one pass over the texts
            rows = [i for members in clusters for i in members]
            columns = [k for k, members in enumerate(clusters) for _ in members]
            content = self._topical(sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, columns)),
                                                  shape=(len(self.documents), len(clusters))))
            for k, members in enumerate(clusters):
                flags.append(self._flag(None, members, content[k].toarray().ravel() > 0))
        flags.sort(key=lambda f: (-f.score, f.fingerprint))
        return flags

    def _neighbours(self, departments: list[int], groups: dict[int, list[int]],
                    pair_z: Callable[[], np.ndarray]) -> None:
        """Department challenges that no challenge took, placed beside their mutual nearest
        department challenge of another department, in place in ``groups``.

        An item joins challenge j's group when (a) among the department challenges of other
        departments its nearest one (``pair_z``: words and meaning, each side's similarity
        measured against what it shares with everything) is a member of j's group, (b) it is
        that member's nearest too, (c) j is one of the item's ``competitors`` best challenges and
        (d) the item scores above j's average (z >= 0: some evidence of its own). Two departments
        describing one problem in their own jargon are often each other's closest text while
        the challenge's profile, which residents' words shaped, is only the item's runner-up.
        """
        placed = {i: j for j, members in groups.items() for i in members}
        rest = [i for i in departments if i not in placed and not self.nones[i]]
        if not rest or not placed:
            return
        scores = pair_z().copy()
        names = np.array([self.documents[i].department or "" for i in departments])
        scores[names[:, None] == names[None, :]] = -np.inf
        nearest = np.argmax(scores, axis=1)
        position = {i: k for k, i in enumerate(departments)}
        c = min(self.config.competitors, self.z.shape[1])
        # the groups whose members have each item as their nearest: more than one is no evidence
        claims: dict[int, set[int]] = defaultdict(set)
        for m, i in enumerate(departments):
            if i in placed and np.isfinite(scores[m, nearest[m]]):
                claims[int(nearest[m])].add(placed[i])
        for i in rest:
            k = position[i]
            partner = int(nearest[k])
            if not np.isfinite(scores[k, partner]) or int(nearest[partner]) != k:
                continue
            j = placed.get(departments[partner])
            if j is None or j not in np.argsort(-self.z[i])[:c] or self.z[i, j] < 0 or self.rejected[i, j]:
                continue
            if self.config.flag_one_claim and len(claims[k]) > 1:
                continue
            groups[j].append(i)

    def _pair_z(self, items: list[int], meaning: bool = True) -> np.ndarray:
        """(items x items): how far each pair's similarity stands out from what either side
        shares with a fixed sample of all items (the smaller of the two), in words and, with
        ``meaning`` and where every item carries a vector, blended with the same in meaning as
        items' scores are (long texts read whole: ``_readings``). The diagonal is -inf."""
        cache: dict[tuple, np.ndarray] = self.__dict__.setdefault("_pair_cache", {})
        key = (tuple(items), meaning)
        if key in cache:
            return cache[key]
        stride = max(1, len(self.documents) // self.config.cluster_reference)
        reference = sorted(set(range(0, len(self.documents), stride)) | set(items))
        position = {i: k for k, i in enumerate(reference)}
        columns = [position[i] for i in items]

        def standardised(similarity: np.ndarray) -> np.ndarray:
            similarity = similarity.astype(np.float64)
            similarity[np.arange(len(items)), columns] = np.nan
            mean = np.nanmean(similarity, axis=1, keepdims=True)
            std = np.nanstd(similarity, axis=1, keepdims=True) + 1e-6
            own = (similarity[:, columns] - mean) / std
            return np.nan_to_num(np.minimum(own, own.T), nan=-np.inf)

        words_key = (tuple(items), False)
        if words_key not in cache:
            cache.clear()  # one set of items at a time (a fit's department challenges)
            cache[words_key] = standardised(self._similarity(items, reference))
        pair_z = cache[words_key]
        if meaning and self.item_vectors is not None and self.has_vector is not None \
                and self.has_vector[items].all() and self.has_vector[reference].all():
            weight, whole = self.config.semantic_weight, self.config.flag_whole_texts
            meaning_z = standardised(self._readings(items, whole) @ self._readings(reference, whole).T)
            pair_z = (1 - weight) * pair_z + weight * meaning_z
        cache[key] = pair_z
        return pair_z

    def _readings(self, rows: Sequence[int], whole: bool = True) -> np.ndarray:
        """The fitted items' sentence vectors: a long item's whole-text reading where it has one (and ``whole``),
        else the first 48 tokens. What each item is compared with the challenges' whole texts by (``_whole_raw``),
        and, with ``flag_whole_texts``, with other items (``_pair_z``): two department challenges compared at 48
        tokens are only their starts."""
        assert self.item_vectors is not None
        vectors = self.item_vectors[list(rows)]
        readings = self.whole_items if whole else None
        if readings:
            for k, i in enumerate(rows):
                if (read := readings.get(i)) is not None:
                    vectors[k] = read
        return vectors

    def _clusters(self, items: list[int], departments: list[int]) -> list[list[int]]:
        """Department challenges that fit no challenge but one another, across departments:
        a pair groups when it is mutually best and stands out by ``cluster_min_z`` in words and meaning
        (``_pair_z`` over all ``departments``, of which ``items`` are some; words alone without ``cluster_meaning``)."""
        cfg = self.config
        if len(items) < 2:
            return []
        position = {i: k for k, i in enumerate(departments)}
        rows = [position[i] for i in items]
        pair_z = self._pair_z(departments, meaning=cfg.cluster_meaning)[np.ix_(rows, rows)]
        parent = list(range(len(items)))

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        names = np.array([self.documents[i].department or "" for i in items])
        # mutual best and clearly above the pair distribution: no chains of weak links
        linked = ((names[:, None] != names[None, :]) & (pair_z >= cfg.cluster_min_z)
                  & (pair_z >= pair_z.max(axis=1, keepdims=True) - 1e-9)
                  & (pair_z >= pair_z.max(axis=0, keepdims=True) - 1e-9))
        for a, b in zip(*np.nonzero(np.triu(linked, k=1))):
            parent[find(int(a))] = find(int(b))
        clusters: dict[int, list[int]] = defaultdict(list)
        for k, i in enumerate(items):
            clusters[find(k)].append(i)
        return [sorted(m) for m in clusters.values()
                if len({self.documents[i].department for i in m}) >= 2]

    def _flag_support(self) -> sp.csc_matrix:
        """Confidently placed items per challenge, computed once per fit."""
        if getattr(self, "_support", None) is None:
            self._support = sp.csc_matrix(self._placed(self.z))
        if getattr(self, "pilot_rows", None) is None:
            self.linked_by_challenge = sp.csc_matrix(self.linked)
            self.pilot_rows = np.flatnonzero(self.kinds_plain == "pilot")
        assert self._support is not None
        return self._support

    def _similarity(self, rows: list[int], columns: list[int]) -> np.ndarray:
        cfg = self.config
        words = _dense(self.vectors.words[rows] @ self.vectors.words[columns].T)
        chars = _dense(self.vectors.chars(rows) @ self.vectors.chars(columns).T)
        return cfg.word_weight * words + (1 - cfg.word_weight) * chars

    def _flag(self, j: int | None, members: list[int], content: np.ndarray) -> MatchFlag:
        cfg = self.config
        docs = self.documents
        if j is not None:
            column = self.z[:, j]
            confident = self._flag_support()
            assert self.pilot_rows is not None  # set by _flag_support
            supporters = set(confident[:, j].indices) | set(self.linked_by_challenge[:, j].indices)
            reports = sorted((i for i in supporters if docs[i].kind == "report"), key=lambda i: -column[i])
            pilots = [int(i) for i in self.pilot_rows if column[i] >= self._levels(["pilot"])[0][0]
                      and not self.nones[i] and not self.rejected[i, j]]
            level, softness = self._levels(["department_challenge"])
            score = float(np.mean([_sigmoid((column[i] - level[0]) / softness[0]) for i in members]))
            title = None
        else:
            reports, pilots = [], []
            score = 0.5
            title = self._proposed_title(members)
        reports = reports[: cfg.flag_reports]
        departments = sorted({docs[i].department or "" for i in members})
        words = sp.csr_matrix(self.vectors.words[members].mean(axis=0))
        shared = self._common_terms(members, content, limit=6)
        reasons = [Reason("departments", tuple(departments), len(departments))]
        if shared:
            reasons.append(Reason("terms", tuple(shared), len(shared)))
        if reports:
            reasons.append(Reason("reports", (), len(reports)))
        if pilots:
            reasons.append(Reason("pilots", (), len(pilots)))
        del words
        return MatchFlag(
            challenge=self.challenges[j].key if j is not None else None,
            proposed_title=title,
            department_challenges=tuple(docs[i].key for i in members),
            reports=tuple(docs[i].key for i in reports),
            pilots=tuple(docs[i].key for i in pilots),
            score=round(score, 4),
            reasons=tuple(reasons),
            fingerprint=self._fingerprint(j, members),
        )

    def _common_terms(self, members: list[int], content: np.ndarray, limit: int) -> list[str]:
        """Content words (``content``: of the challenge, or of the members as a group, see
        ``_topical``) that weigh in at least two members' texts, heaviest first."""
        words = self.vectors.words[members]
        present = np.asarray((words > 0).sum(axis=0)).ravel()
        weight = np.asarray(words.sum(axis=0)).ravel() * (present >= 2) * content
        stems = self._stems_by_column()
        return [self.analyzer.readable(stems[k]) for k in np.argsort(-weight)[:limit] if weight[k] > 0]

    def _proposed_title(self, members: list[int]) -> str:
        """The title of the member closest to the group's centre: a real phrase, in its language."""
        words = self.vectors.words[members]
        centre = np.asarray(words.mean(axis=0)).ravel()
        closeness = _dense(words @ centre.reshape(-1, 1)).ravel()
        return self.documents[members[int(np.argmax(closeness))]].title

    def _fingerprint(self, j: int | None, members: list[int]) -> str:
        """Same flag, same texts in substance: same fingerprint.

        It hashes the challenge, the member keys and each member's set of stems of four or
        more letters. So case, punctuation, word order, repeated words and inflection do not
        change it; adding, removing or replacing a content word in a member, or a member
        joining or leaving, does. Supporting reports and pilots are left out: they come and go.
        """
        digest = hashlib.sha256()
        digest.update((self.challenges[j].key if j is not None else "(new)").encode())
        for i in sorted(members, key=lambda i: self.documents[i].key):
            stems = sorted({s for s in self.analysed[i].stems if len(s) >= 4})
            digest.update(b"\x00" + self.documents[i].key.encode() + b"\x01" + " ".join(stems).encode())
        return digest.hexdigest()[:32]
