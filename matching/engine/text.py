"""Text to tokens to stems, for Dutch, English and Swedish mixed in one city.

Language is detected per text (py3langid: one of the configured languages, or ``OTHER`` when it is sure that a text
is in none of them) and each token is stemmed with that language's Snowball stemmer. Stems are cached per
(language, token): a city's vocabulary is bounded, so after warm-up stemming is a dict
look-up. Short texts whose language is uncertain fall back to the corpus' main language.
"""
from __future__ import annotations

import copy
import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

try:  # PyStemmer is the C implementation; snowballstemmer the pure-Python one
    import Stemmer as _stemmer_module
except ImportError:  # pragma: no cover - exercised only where PyStemmer is absent
    _stemmer_module = None
import snowballstemmer
from stop_words import StopWordError, get_stop_words

# The language of a text that is none of the configured ones (Polish, Arabic, Urdu... in a Dutch, English or Swedish
# city): its words are stemmed by no stemmer, and the engine reads such texts by their meaning, as one group
OTHER = "other"

SNOWBALL_NAMES = {
    "nl": "dutch", "en": "english", "sv": "swedish", "da": "danish", "no": "norwegian",
    "de": "german", "fr": "french", "es": "spanish", "it": "italian", "pt": "portuguese",
    "fi": "finnish",
}

_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def fold(text: str) -> str:
    """Lower case without diacritics, so 'geïsoleerde' and 'geisoleerde' meet."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("’", "'"))


class _Memo(dict):
    """A dict that computes a missing value once: ``list(map(memo.__getitem__, tokens))``
    then runs at C speed for every token seen before."""

    def __init__(self, compute):
        super().__init__()
        self.compute = compute

    def __missing__(self, key: str) -> str:
        value = self[key] = self.compute(key)
        return value

    def __reduce__(self):
        return (_Memo, (self.compute,), None, None, iter(self.items()))


class _StemOf:
    """Picklable: stems and folds a token in one language (the stemmer is made on first use)."""

    def __init__(self, language: str):
        self.language = language
        self._stemmer: _Stemmer | None = None

    def __getstate__(self) -> dict:
        return {"language": self.language, "_stemmer": None}

    def __call__(self, token: str) -> str:
        if self._stemmer is None:
            self._stemmer = _Stemmer(self.language)
        return fold(self._stemmer(token))


class _Stemmer:
    def __init__(self, language: str):
        name = SNOWBALL_NAMES.get(language)
        self._stem = None
        if name and _stemmer_module is not None and name in _stemmer_module.algorithms():
            self._stem = _stemmer_module.Stemmer(name).stemWord
        elif name and name in snowballstemmer.algorithms():
            self._stem = snowballstemmer.stemmer(name).stemWord

    def __call__(self, token: str) -> str:
        return self._stem(token) if self._stem else token


class LanguageDetector:
    """Cheap per-text language detection with a corpus-level fallback.

    A text is one of the configured languages, or ``OTHER`` when the identifier, among all the languages it knows, is
    sure (``min_confidence``) that it is another one (``other``: a detector made before round 24, read from a stored
    model, keeps to the configured languages, as that model's fit did)."""

    def __init__(self, languages: Sequence[str], min_confidence: float = 0.9, other: bool = True):
        self.languages = tuple(languages)
        self.min_confidence = min_confidence
        self.other = other
        self._identifier = self._any = None
        if len(self.languages) > 1 or (self.languages and other):
            try:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                self._any = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                if len(self.languages) > 1:
                    self._identifier = copy.copy(self._any)  # the same model, its classes restricted to ours
                    self._identifier.set_languages(list(self.languages))
            except (ImportError, ValueError, OSError):  # detection is a nicety, not a must
                self._identifier = self._any = None

    def __getstate__(self) -> dict:
        # The identifier's model is tens of megabytes and ships with py3langid: load it again instead.
        return {"languages": self.languages, "min_confidence": self.min_confidence, "other": self.other}

    def __setstate__(self, state: dict) -> None:
        LanguageDetector.__init__(self, state["languages"], state["min_confidence"], state.get("other", False))

    def detect(self, text: str, fallback: str) -> str:
        if self._any is None or not text.strip():
            return fallback
        # the first few hundred characters tell the language as well as the whole text
        start = text[:300]
        if self.other:
            language, confidence = self._any.classify(start)
            if confidence >= self.min_confidence:
                # sure among all: one of ours is then also the answer among ours alone (surer still)
                return language if language in self.languages else OTHER
        if self._identifier is None:  # one language: a text that is not another one is in it
            return fallback
        language, confidence = self._identifier.classify(start)
        return language if confidence >= self.min_confidence else fallback

    def detect_many(self, texts: Sequence[str], counts: sp.csr_matrix, fallback: str,
                    sample_size: int = 3000, min_posterior: float = 0.999) -> list[str]:
        """The language of many texts at once; ``counts`` are their token counts (texts x tokens).

        py3langid walks each text byte by byte in Python: fine for a few thousand texts, a
        third of a full run for a hundred thousand. So it labels a deterministic sample, a
        naive Bayes model over the corpus' own tokens learns from that sample, and one sparse
        product labels everything. A text the model is not sure about (short, mixed, or in
        words the sample never showed) still goes to py3langid.
        """
        n = len(texts)
        if self._any is None:
            return [fallback] * n
        if n <= sample_size:
            return [self.detect(t, fallback) for t in texts]
        sample = np.arange(0, n, max(1, n // sample_size))
        unsure = "" if self._identifier is not None else self.languages[0]  # one language: any text not another
        labels = np.array([self.detect(texts[int(i)], unsure) for i in sample])
        languages = [lang for lang in (*self.languages, OTHER) if (labels == lang).any()]
        if len(languages) < 2:
            counted = Counter(labels.tolist())
            counted.pop("", None)
            only = counted.most_common(1)[0][0] if counted else fallback
            return [only] * n if languages else [self.detect(t, fallback) for t in texts]
        sample_counts = counts[sample]
        seen = np.asarray(sample_counts.sum(axis=0)).ravel() > 0
        log_probs = np.zeros((counts.shape[1], len(languages)), dtype=np.float64)
        priors = np.zeros(len(languages))
        for k, lang in enumerate(languages):
            totals = np.asarray(sample_counts[labels == lang].sum(axis=0)).ravel()
            log_probs[:, k] = np.log((totals + 0.5) / (totals.sum() + 0.5 * seen.sum()))
            priors[k] = np.log((labels == lang).mean())
        log_probs[~seen] = 0.0  # a token the sample never showed says nothing
        scores = np.asarray(counts @ log_probs) + priors
        scores -= scores.max(axis=1, keepdims=True)
        posterior = np.exp(scores)
        posterior /= posterior.sum(axis=1, keepdims=True)
        best = posterior.argmax(axis=1)
        known = np.asarray(counts @ seen.astype(np.float64).reshape(-1, 1)).ravel()  # tokens the model knows
        sure = (posterior.max(axis=1) >= min_posterior) & (known >= 3)
        out = [languages[k] for k in best]
        for i in np.flatnonzero(~sure).tolist():
            out[i] = self.detect(texts[i], fallback)
        for j, label in zip(sample.tolist(), labels.tolist()):  # the sample keeps py3langid's own word
            out[j] = label or fallback
        return out


@functools.cache
def function_words(language: str) -> frozenset[str]:
    """A language's function words ("een", "the", "och", "kan", "niet"...), lower case, from the stop-words package
    (empty for a language it does not have). Matching never uses them: the city's own texts weigh its words. They
    keep grammar out of the words a reason shows where the city's texts cannot tell (Engine._topical)."""
    try:
        return frozenset(word.lower() for word in get_stop_words(language))
    except StopWordError:
        return frozenset()


class Analyzer:
    """Turns a text into stems (word features) and folded tokens (for char n-grams)."""

    def __init__(self, languages: Sequence[str] = ("nl", "en", "sv"), min_token_length: int = 2):
        self.detector = LanguageDetector(languages)
        self.default_language = languages[0] if languages else "en"
        self.min_token_length = min_token_length
        self._stem_caches: dict[str, _Memo] = {}  # language -> token -> folded stem
        self._fold_cache = _Memo(fold)
        # stem -> surface words seen with it, to explain matches in readable words
        self.surface: dict[str, Counter[str]] = {}

    def set_default_language(self, texts: Iterable[str]) -> None:
        """The corpus' main language: the fallback for texts too short to tell."""
        long_enough = [t for t in texts if len(t) > 40]
        # a deterministic sample is plenty to tell the main language of a city
        sample = long_enough[:: max(1, len(long_enough) // 500)]
        counts = Counter(self.detector.detect(t, "") for t in sample)
        counts.pop("", None)
        counts.pop(OTHER, None)  # the fallback is one of the configured languages
        if counts:
            self.default_language = counts.most_common(1)[0][0]

    def language(self, text: str) -> str:
        return self.detector.detect(text, self.default_language)

    def stem(self, token: str, language: str) -> str:
        return self._stems(language)[token]

    def _stems(self, language: str) -> _Memo:
        # stems are cached per (language, word): a city's vocabulary is bounded
        cache = self._stem_caches.get(language)
        if cache is None:
            cache = self._stem_caches[language] = _Memo(_StemOf(language))
        return cache

    def tokens(self, text: str) -> list[str]:
        """Lower-case tokens of at least the minimum length, not yet folded."""
        pattern = self.__dict__.get("_pattern") or self._compile()
        return pattern.findall(text.lower().replace("’", "'"))

    def _compile(self) -> re.Pattern:
        # the length rule inside the expression: no second pass over every token
        m = self.min_token_length
        letter = r"[^\W\d_]"
        if m <= 1:
            self._pattern = _TOKEN
        elif m <= 3:  # a word with an apostrophe inside is at least three characters long
            self._pattern = re.compile(rf"{letter}{{{m},}}(?:'{letter}+)?|{letter}{{1,{m - 1}}}'{letter}+")
        else:
            raise ValueError("min_token_length above 3 is not supported")
        return self._pattern

    def fold_all(self, tokens: Sequence[str]) -> list[str]:
        return list(map(self._fold_cache.__getitem__, tokens))

    def stem_all(self, tokens: Sequence[str], language: str) -> list[str]:
        return list(map(self._stems(language).__getitem__, tokens))

    def analyze(self, text: str, language: str | None = None) -> tuple[list[str], list[str]]:
        """(stems, folded tokens) of a text; tokens shorter than the minimum are dropped."""
        language = language or self.language(text)
        tokens = self.tokens(text)
        return self.stem_all(tokens, language), self.fold_all(tokens)

    def remember_surface(self, stems: Sequence[str], title: str, description: str) -> None:
        tokens = self.tokens(title) + self.tokens(description)
        for stem, token in zip(stems, tokens):
            self.surface.setdefault(stem, Counter())[token] += 1

    def readable(self, stem: str) -> str:
        seen = self.surface.get(stem)
        return seen.most_common(1)[0][0] if seen else stem
