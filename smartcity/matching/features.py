"""Texts to two sparse TF-IDF spaces: Snowball stems, and character n-grams of words.

Character n-grams (like scikit-learn's ``char_wb``) are built once per unique token; a
document's n-gram vector is its token counts times that token-to-n-gram matrix. So the cost
grows with the vocabulary, not with the characters in the corpus, and a score against a
profile factorises: ``x . p = tokens(x) @ (grams @ p) / |x|``, which keeps 100,000 reports
against 500 profiles a product with a (tokens x profiles) matrix instead of with every n-gram.
The same per-token n-grams catch compounds, inflection, typos and cognates across languages.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .text import Analyzer


@dataclass
class Analysed:
    language: str
    stems: list[str]
    tokens: list[str]      # folded surface tokens, aligned with stems
    n_title: int           # the first n_title stems/tokens come from the title


@dataclass
class Vectors:
    """One block of documents in both spaces; ``chars`` is materialised lazily."""
    words: sp.csr_matrix         # l2-normalised stem TF-IDF
    tokens: sp.csr_matrix        # weighted token counts, rows scaled so tokens @ grams is l2-normal
    grams: sp.csr_matrix         # token -> idf-weighted n-grams (shared, may have extra rows)

    def chars(self) -> sp.csr_matrix:
        return sp.csr_matrix(self.tokens @ self.grams)

    def __len__(self) -> int:
        return self.words.shape[0]


def ngrams(token: str, low: int, high: int) -> list[str]:
    padded = f" {token} "
    grams = []
    for n in range(low, high + 1):
        if n > len(padded):
            break
        grams.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return grams


def idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    # Unlike the textbook "+1" smoothing, a term found in most texts weighs almost nothing:
    # with no stop-word lists per language, this is what keeps "de", "the", "och" quiet.
    return np.maximum(np.log((n_docs + 1.0) / (df + 0.5)), 0.0).astype(np.float32)


def row_norms(matrix: sp.spmatrix) -> np.ndarray:
    return np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())


def scale_rows(matrix: sp.spmatrix, factors: np.ndarray) -> sp.csr_matrix:
    return sp.csr_matrix(sp.diags(factors.astype(np.float32)) @ matrix)


def l2(matrix: sp.spmatrix) -> sp.csr_matrix:
    norms = row_norms(matrix)
    norms[norms == 0] = 1.0
    return scale_rows(matrix, 1.0 / norms)


class Vectorizer:
    """Fits vocabularies and IDF once; transforms new texts against them."""

    def __init__(self, analyzer: Analyzer, ngram_range: tuple[int, int] = (3, 5),
                 title_weight: float = 2.0):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.title_weight = title_weight
        self.stem_index: dict[str, int] = {}
        self.token_index: dict[str, int] = {}
        self.gram_index: dict[str, int] = {}
        self.word_idf = np.zeros(0, dtype=np.float32)
        self.grams = sp.csr_matrix((0, 0), dtype=np.float32)

    def analyse(self, title: str, description: str) -> Analysed:
        language = self.analyzer.language(f"{title}. {description}")
        title_stems, title_tokens = self.analyzer.analyze(title, language)
        body_stems, body_tokens = self.analyzer.analyze(description, language)
        return Analysed(language, title_stems + body_stems, title_tokens + body_tokens, len(title_stems))

    def _counts(self, analysed: Sequence[Analysed], index: dict[str, int], attr: str,
                grow: bool) -> sp.csr_matrix:
        rows, cols, vals = [], [], []
        for row, item in enumerate(analysed):
            counts: dict[int, float] = {}
            for position, term in enumerate(getattr(item, attr)):
                column = index.get(term)
                if column is None:
                    if not grow:
                        continue
                    column = index[term] = len(index)
                weight = self.title_weight if position < item.n_title else 1.0
                counts[column] = counts.get(column, 0.0) + weight
            rows.extend([row] * len(counts))
            cols.extend(counts.keys())
            vals.extend(counts.values())
        matrix = sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)),
                               shape=(len(analysed), len(index)))
        matrix.data = 1.0 + np.log(matrix.data)  # sublinear: repeating a word adds little
        return matrix

    def _gram_counts(self, tokens: Sequence[str], grow: bool) -> sp.csr_matrix:
        rows, cols = [], []
        for row, token in enumerate(tokens):
            for gram in ngrams(token, *self.ngram_range):
                column = self.gram_index.get(gram)
                if column is None:
                    if not grow:
                        continue
                    column = self.gram_index[gram] = len(self.gram_index)
                rows.append(row)
                cols.append(column)
        data = np.ones(len(rows), dtype=np.float32)
        return sp.csr_matrix((data, (rows, cols)), shape=(len(tokens), len(self.gram_index)))

    def fit_transform(self, texts: Sequence[tuple[str, str]]) -> tuple[list[Analysed], Vectors]:
        self.analyzer.set_default_language([f"{t}. {d}" for t, d in texts])
        analysed = [self.analyse(t, d) for t, d in texts]
        # readable words for stems: a deterministic sample of texts is enough to know them
        for k in range(0, len(texts), max(1, len(texts) // 5000)):
            self.analyzer.remember_surface(analysed[k].stems, *texts[k])
        word_counts = self._counts(analysed, self.stem_index, "stems", grow=True)
        token_counts = self._counts(analysed, self.token_index, "tokens", grow=True)
        vocabulary = sorted(self.token_index, key=self.token_index.__getitem__)
        gram_counts = self._gram_counts(vocabulary, grow=True)
        n = len(texts)
        self.word_idf = idf(np.bincount(word_counts.indices, minlength=word_counts.shape[1]), n)
        present = sp.csr_matrix(token_counts @ gram_counts)
        gram_idf = idf(np.bincount(present.indices, minlength=present.shape[1]), n)
        self.grams = sp.csr_matrix(gram_counts @ sp.diags(gram_idf))
        return analysed, self._vectors(word_counts, token_counts, self.grams)

    def transform(self, texts: Sequence[tuple[str, str]]) -> tuple[list[Analysed], Vectors]:
        analysed = [self.analyse(t, d) for t, d in texts]
        word_counts = self._counts(analysed, self.stem_index, "stems", grow=False)
        known = dict(self.token_index)
        # a token never seen at fit time still shares n-grams with known words
        unseen = sorted({tok for a in analysed for tok in a.tokens if tok not in known})
        for token in unseen:
            known[token] = len(known)
        token_counts = self._counts(analysed, known, "tokens", grow=False)
        grams = self.grams
        if unseen:
            extra = sp.csr_matrix(self._gram_counts(unseen, grow=False) @ sp.diags(self._gram_idf()))
            grams = sp.vstack([grams, extra], format="csr")
        return analysed, self._vectors(word_counts, token_counts, grams)

    def _gram_idf(self) -> np.ndarray:
        # recover the n-gram idf from the stored matrix: every n-gram occurs in some token
        values = np.zeros(self.grams.shape[1], dtype=np.float32)
        coo = self.grams.tocoo()
        values[coo.col] = coo.data
        return values

    def _vectors(self, word_counts: sp.csr_matrix, token_counts: sp.csr_matrix,
                 grams: sp.csr_matrix) -> Vectors:
        words = l2(sp.csr_matrix(word_counts @ sp.diags(self.word_idf)))
        norms = row_norms(sp.csr_matrix(token_counts @ grams))
        norms[norms == 0] = 1.0
        return Vectors(words, scale_rows(token_counts, 1.0 / norms), grams)
