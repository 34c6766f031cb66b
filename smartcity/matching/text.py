"""Text to tokens to stems, for Dutch, English and Swedish mixed in one city.

Language is detected per text (py3langid, restricted to the configured languages) and
each token is stemmed with that language's Snowball stemmer. Stems are cached per
(language, token): a city's vocabulary is bounded, so after warm-up stemming is a dict
look-up. Short texts whose language is uncertain fall back to the corpus' main language.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

try:  # PyStemmer is the C implementation; snowballstemmer the pure-Python one
    import Stemmer as _stemmer_module  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - exercised only where PyStemmer is absent
    _stemmer_module = None
import snowballstemmer

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
    return [t.replace("’", "'") for t in _TOKEN.findall(text.lower())]


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
    """Cheap per-text language detection with a corpus-level fallback."""

    def __init__(self, languages: Sequence[str], min_confidence: float = 0.9):
        self.languages = tuple(languages)
        self.min_confidence = min_confidence
        self._identifier = None
        if len(self.languages) > 1:
            try:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                self._identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                self._identifier.set_languages(list(self.languages))
            except (ImportError, ValueError, OSError):  # detection is a nicety, not a must
                self._identifier = None

    def __getstate__(self) -> dict:
        # The identifier's model is tens of megabytes and ships with py3langid: load it again instead.
        return {"languages": self.languages, "min_confidence": self.min_confidence}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["languages"], state["min_confidence"])

    def detect(self, text: str, fallback: str) -> str:
        if self._identifier is None or not text.strip():
            return fallback
        # the first few hundred characters tell the language as well as the whole text
        language, confidence = self._identifier.classify(text[:300])
        return language if confidence >= self.min_confidence else fallback


class Analyzer:
    """Turns a text into stems (word features) and folded tokens (for char n-grams)."""

    def __init__(self, languages: Sequence[str] = ("nl", "en", "sv"), min_token_length: int = 2):
        self.detector = LanguageDetector(languages)
        self.default_language = languages[0] if languages else "en"
        self.min_token_length = min_token_length
        self._stemmers: dict[str, _Stemmer] = {}
        self._stem_cache: dict[tuple[str, str], str] = {}
        self._fold_cache: dict[str, str] = {}
        # stem -> surface words seen with it, to explain matches in readable words
        self.surface: dict[str, Counter[str]] = {}

    def __getstate__(self) -> dict:
        # The C stemmers cannot be pickled; they are made again on first use after loading.
        return {**self.__dict__, "_stemmers": {}}

    def set_default_language(self, texts: Iterable[str]) -> None:
        """The corpus' main language: the fallback for texts too short to tell."""
        long_enough = [t for t in texts if len(t) > 40]
        # a deterministic sample is plenty to tell the main language of a city
        sample = long_enough[:: max(1, len(long_enough) // 500)]
        counts = Counter(self.detector.detect(t, "") for t in sample)
        counts.pop("", None)
        if counts:
            self.default_language = counts.most_common(1)[0][0]

    def language(self, text: str) -> str:
        return self.detector.detect(text, self.default_language)

    def stem(self, token: str, language: str) -> str:
        key = (language, token)
        stem = self._stem_cache.get(key)
        if stem is None:
            stemmer = self._stemmers.get(language)
            if stemmer is None:
                stemmer = self._stemmers[language] = _Stemmer(language)
            stem = fold(stemmer(token))
            self._stem_cache[key] = stem
        return stem

    def analyze(self, text: str, language: str | None = None) -> tuple[list[str], list[str]]:
        """(stems, folded tokens) of a text; tokens shorter than the minimum are dropped."""
        language = language or self.language(text)
        tokens = [t for t in tokenize(text) if len(t) >= self.min_token_length]
        cache, folded = self._stem_cache, self._fold_cache
        stems = [cache.get((language, t)) or self.stem(t, language) for t in tokens]
        return stems, [folded.get(t) or folded.setdefault(t, fold(t)) for t in tokens]

    def remember_surface(self, stems: Sequence[str], title: str, description: str) -> None:
        tokens = [t for text in (title, description) for t in tokenize(text)
                  if len(t) >= self.min_token_length]
        for stem, token in zip(stems, tokens):
            self.surface.setdefault(stem, Counter())[token] += 1

    def readable(self, stem: str) -> str:
        seen = self.surface.get(stem)
        return seen.most_common(1)[0][0] if seen else stem
